/**
 * The credential's "Test connection" inside real n8n (POST /rest/credentials/test, what the editor's
 * button calls): success for a good key, clear messages for a wrong key (401) and a Starter key (403),
 * and a malformed key refused with no request sent.
 */
import { startSimulator, type Simulator } from '../../simulator';
import { startN8n, type N8nInstance } from '../../scripts/lib/n8n-instance';
import { GEMINI_OMNI_CREDENTIAL_TYPE } from '../../scripts/lib/workflows';

jest.setTimeout(120_000);

let sim: Simulator;
let n8n: N8nInstance;

beforeAll(async () => {
	sim = await startSimulator({ timeScale: 0.05 });
	n8n = await startN8n({});
});
afterAll(async () => {
	await n8n?.stop();
	await sim?.close();
});
beforeEach(() => sim.clearLog());

async function testConnection(apiKey: string): Promise<{ status: string; message: string }> {
	const data = { apiKey, baseUrl: sim.url, plan: 'pro', webhookSecret: '' };
	const name = `test ${Math.random()}`;
	const id = await n8n.createCredential(name, GEMINI_OMNI_CREDENTIAL_TYPE, data);
	return await n8n.rest('POST', '/credentials/test', { credentials: { id, name, type: GEMINI_OMNI_CREDENTIAL_TYPE, data } });
}

describe('credential test in real n8n', () => {
	it('passes for a valid Pro key, with one authenticated request', async () => {
		const result = await testConnection(sim.keys.pro);
		expect(result.status).toBe('OK');
		const requests = sim.log.filter((entry) => entry.kind === 'api');
		expect(requests).toHaveLength(1);
		expect(requests[0].key).toBe(sim.keys.pro.slice(-6));
		expect(requests[0].status).toBe(404);
	});

	it('explains a wrong key (401)', async () => {
		const result = await testConnection(`gomni_${'0'.repeat(64)}`);
		expect(result).toEqual({ status: 'Error', message: expect.stringMatching(/Invalid API key \(HTTP 401\)/) });
	});

	it('explains a Starter key (403)', async () => {
		const result = await testConnection(sim.keys.starter);
		expect(result).toEqual({ status: 'Error', message: expect.stringMatching(/not available on the Starter plan \(HTTP 403\)/) });
	});

	it('refuses a malformed key without sending a request', async () => {
		const result = await testConnection('gomni_short');
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/gomni_.*64 hexadecimal/);
		expect(sim.log).toHaveLength(0);
	});
});
