/**
 * The signature verifier against vectors computed independently with OpenSSL, e.g.
 *   printf '%s' '<body>' | openssl dgst -sha256 -hmac '<secret>'
 * (not with the verifier or node:crypto), so a wrong algorithm or encoding cannot pass.
 */
import { deliveryAge } from '../../nodes/GeminiOmniTrigger/deliveries';
import { parseJobEvent, verifySignature } from '../../nodes/GeminiOmni/webhooks/verifySignature';

const completedBody =
	'{"event":"job.completed","jobId":"job_abc123","status":"done","outputUrl":"https://r2.googlegeminiomni.com/omni/usr_xyz/job_abc123/output.mp4","creditCost":150,"model":"gemini-omni-video","timestamp":"2026-05-15T14:23:00Z"}';
const completedSecret = 'whsec_n8n_test_secret';
const completedSignature = '5950b1382d8d9cb3ec6f7c9386ad3d7648dd678470d83f517635eb50d32c787a';

// Pretty-printed, with newlines: the exact bytes matter, whitespace included.
const failedBody =
	'{\n  "event": "job.failed",\n  "jobId": "job_abc123",\n  "status": "failed",\n  "error": "Content policy: prompt contains restricted subject matter",\n  "creditCost": 0,\n  "timestamp": "2026-05-15T14:23:00Z"\n}';
const failedSecret = 'another secret ✓';
const failedSignature = 'de2270347d02d8d60970d3d323644f951c63a0e1498af7720e16735550068264';

describe('verifySignature (OpenSSL vectors)', () => {
	it('accepts the genuine signatures, for Buffer and string bodies', () => {
		expect(verifySignature(Buffer.from(completedBody), completedSignature, completedSecret)).toBe(true);
		expect(verifySignature(completedBody, completedSignature, completedSecret)).toBe(true);
		expect(verifySignature(Buffer.from(failedBody), failedSignature, failedSecret)).toBe(true);
		expect(verifySignature(Buffer.alloc(0), '8bb990c40a7d61cb97597a942125025be50ac8beb74436e3735b98893a7f6620', 'k')).toBe(true);
	});

	it('takes the first value of a repeated header', () => {
		expect(verifySignature(completedBody, [completedSignature, 'x'], completedSecret)).toBe(true);
	});

	it.each([
		['a missing secret', completedBody, completedSignature, ''],
		['an undefined secret', completedBody, completedSignature, undefined],
		['another secret', completedBody, completedSignature, 'whsec_other'],
		['a missing header', completedBody, undefined, completedSecret],
		['an empty header', completedBody, '', completedSecret],
		['an uppercase signature', completedBody, completedSignature.toUpperCase(), completedSecret],
		['a truncated signature', completedBody, completedSignature.slice(0, 63), completedSecret],
		['a longer signature', completedBody, completedSignature + '00', completedSecret],
		['a "sha256=" prefix', completedBody, `sha256=${completedSignature}`, completedSecret],
		['non-hex characters of the right length', completedBody, 'z'.repeat(64), completedSecret],
		['one flipped digit', completedBody, completedSignature.replace(/^5/, '6'), completedSecret],
		['a body re-serialised with other whitespace', JSON.stringify(JSON.parse(failedBody)), failedSignature, failedSecret],
		['a body re-serialised pretty', JSON.stringify(JSON.parse(completedBody), null, 2), completedSignature, completedSecret],
		['no body', undefined, completedSignature, completedSecret],
		['a header that is not a string', completedBody, 12345, completedSecret],
	])('rejects %s, without throwing', (_label, body, signature, secret) => {
		expect(verifySignature(body as string | undefined, signature, secret as string | undefined)).toBe(false);
	});
});

describe('parseJobEvent', () => {
	it('normalises a completed event and derives expiresAt = timestamp + 7 days', () => {
		expect(parseJobEvent(Buffer.from(completedBody))).toEqual({
			event: 'job.completed',
			jobId: 'job_abc123',
			status: 'done',
			model: 'gemini-omni-video',
			creditCost: 150,
			outputUrl: 'https://r2.googlegeminiomni.com/omni/usr_xyz/job_abc123/output.mp4',
			expiresAt: '2026-05-22T14:23:00.000Z',
			error: undefined,
			timestamp: '2026-05-15T14:23:00Z',
		});
	});

	it('keeps a failed event’s error', () => {
		expect(parseJobEvent(Buffer.from(failedBody))).toMatchObject({ event: 'job.failed', status: 'failed', creditCost: 0, error: 'Content policy: prompt contains restricted subject matter' });
	});

	it('reads a numeric timestamp (epoch seconds or milliseconds), so the replay window still applies', () => {
		const at = Date.parse('2026-05-15T14:23:00Z');
		for (const timestamp of [at / 1000, at]) {
			const event = parseJobEvent(Buffer.from(JSON.stringify({ event: 'job.completed', jobId: 'job_1', timestamp })));
			expect(event?.timestamp).toBe('2026-05-15T14:23:00.000Z');
			expect(deliveryAge(event?.timestamp, at + 2 * 3_600_000)).toBe('tooOld');
		}
	});

	it('treats a numeric timestamp past the last JavaScript date as missing, without throwing', () => {
		expect(parseJobEvent(Buffer.from(JSON.stringify({ event: 'job.completed', jobId: 'job_1', timestamp: 9e15 })))?.timestamp).toBeUndefined();
	});

	it.each([['not json'], ['[]'], ['{"event":"job.completed"}'], ['{"jobId":"job_1"}']])('refuses %s', (body) => {
		expect(parseJobEvent(Buffer.from(body))).toBeUndefined();
	});
});
