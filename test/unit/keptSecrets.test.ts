/** The Trigger's kept webhook secret, on an explicit clock: when the credential is read, and what is accepted. */
import { KEEP_SECRET_MS, forgetKeptSecrets, matchesWebhookSecret } from '../../nodes/GeminiOmniTrigger/keptSecrets';

const T0 = Date.parse('2026-12-01T10:00:00Z');

/** A credential whose secret the test can change, counting its reads. */
function credential(secret: string) {
	const state = { secret, reads: 0 };
	return { state, read: async () => (state.reads++, state.secret) };
}
/** A delivery signed with `secret` (the check the Trigger makes, reduced to equality). */
const signedWith = (secret: string) => (candidate: string) => candidate === secret;

beforeEach(() => forgetKeptSecrets());

describe('matchesWebhookSecret', () => {
	it('reads the credential once for a burst of deliveries within KEEP_SECRET_MS', async () => {
		const { state, read } = credential('s1');
		for (let i = 0; i < 50; i++) expect(await matchesWebhookSecret('cred1', read, signedWith('s1'), T0 + i * 1_000)).toBe(true);
		expect(state.reads).toBe(1);
	});

	it('reads it again once KEEP_SECRET_MS has passed since the read', async () => {
		const { state, read } = credential('s1');
		await matchesWebhookSecret('cred1', read, signedWith('s1'), T0);
		await matchesWebhookSecret('cred1', read, signedWith('s1'), T0 + KEEP_SECRET_MS - 1);
		expect(state.reads).toBe(1);
		await matchesWebhookSecret('cred1', read, signedWith('s1'), T0 + KEEP_SECRET_MS);
		expect(state.reads).toBe(2);
	});

	it('never refuses a secret changed in n8n: a delivery that fails the kept secret is checked against a fresh read', async () => {
		const { state, read } = credential('old');
		await matchesWebhookSecret('cred1', read, signedWith('old'), T0);
		state.secret = 'new';
		expect(await matchesWebhookSecret('cred1', read, signedWith('new'), T0 + 1_000)).toBe(true);
		expect(state.reads).toBe(2);
		// The fresh secret is the one kept now.
		expect(await matchesWebhookSecret('cred1', read, signedWith('new'), T0 + 2_000)).toBe(true);
		expect(state.reads).toBe(2);
	});

	it('accepts a replaced secret at most KEEP_SECRET_MS after it was read', async () => {
		const { state, read } = credential('old');
		await matchesWebhookSecret('cred1', read, signedWith('old'), T0);
		state.secret = 'new';
		expect(await matchesWebhookSecret('cred1', read, signedWith('old'), T0 + KEEP_SECRET_MS - 1)).toBe(true);
		expect(await matchesWebhookSecret('cred1', read, signedWith('old'), T0 + KEEP_SECRET_MS)).toBe(false);
		expect(await matchesWebhookSecret('cred1', read, signedWith('old'), T0 + KEEP_SECRET_MS + 1)).toBe(false);
	});

	it('refuses a forged delivery, reading the credential each time (as without the kept secret)', async () => {
		const { state, read } = credential('s1');
		await matchesWebhookSecret('cred1', read, signedWith('s1'), T0);
		expect(await matchesWebhookSecret('cred1', read, signedWith('forged'), T0 + 1)).toBe(false);
		expect(await matchesWebhookSecret('cred1', read, signedWith('forged'), T0 + 2)).toBe(false);
		expect(state.reads).toBe(3);
		// The genuine secret is still kept.
		expect(await matchesWebhookSecret('cred1', read, signedWith('s1'), T0 + 3)).toBe(true);
		expect(state.reads).toBe(3);
	});

	it('keeps secrets per credential, and keeps nothing without a credential ID', async () => {
		const a = credential('a');
		const b = credential('b');
		expect(await matchesWebhookSecret('credA', a.read, signedWith('a'), T0)).toBe(true);
		expect(await matchesWebhookSecret('credB', b.read, signedWith('a'), T0)).toBe(false);
		expect(await matchesWebhookSecret('credB', b.read, signedWith('b'), T0)).toBe(true);
		const none = credential('n');
		await matchesWebhookSecret(undefined, none.read, signedWith('n'), T0);
		await matchesWebhookSecret(undefined, none.read, signedWith('n'), T0);
		expect(none.state.reads).toBe(2);
	});

	it('keeps nothing when the read fails', async () => {
		let fail = true;
		const read = async () => {
			if (fail) throw new Error('Credential not found');
			return 's1';
		};
		await expect(matchesWebhookSecret('cred1', read, signedWith('s1'), T0)).rejects.toThrow('Credential not found');
		fail = false;
		expect(await matchesWebhookSecret('cred1', read, signedWith('s1'), T0 + 1)).toBe(true);
	});
});
