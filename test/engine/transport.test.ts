/**
 * The transport's retry rules, observed from the simulator's request log (its clock, not ours):
 * Retry-After honoured, 4xx never retried, bounded attempts, no double submission, no key in errors.
 */
import type { Simulator } from '../../simulator';
import { createJob, keyHex, logOf, runGeminiNode, startTestSimulator } from './support';

let sim: Simulator;
let jobId: string;
beforeAll(async () => {
	sim = await startTestSimulator();
	jobId = String((await createJob(sim, { model: 'gemini-omni-video', prompt: 'retry target' })).jobId);
});
afterAll(async () => await sim.close());
beforeEach(() => {
	sim.clearFaults();
	sim.clearLog();
});

const getJob = () => ({ resource: 'job', operation: 'get', jobId });
const jobRequests = () => logOf(sim, { method: 'GET', path: `/api/v1/jobs/${jobId}` });

describe('transport retries', () => {
	it.each([
		['fractional seconds', '0.4', 400],
		['integer seconds', '1', 1000],
	])('waits the Retry-After of a 429 (%s) before trying again', async (_label, header, expectedMs) => {
		sim.injectFault({ method: 'GET', path: '/api/v1/jobs/', status: 429, retryAfter: header, body: { error: 'Rate limit exceeded' } });
		const { status, items } = await runGeminiNode(sim, getJob());
		expect(status).toBe('success');
		expect(items[0].json.jobId).toBe(jobId);
		const [limited, retried] = jobRequests();
		expect(limited.status).toBe(429);
		expect(limited.retryAfter).toBe(header);
		expect(retried.status).toBe(200);
		const gap = retried.at - limited.at;
		expect(gap).toBeGreaterThanOrEqual(expectedMs - 5);
		// It waited for Retry-After, not for a long backoff of its own.
		expect(gap).toBeLessThan(expectedMs + 700);
	});

	it('honours Retry-After given as an HTTP date', async () => {
		const until = new Date(Math.ceil((Date.now() + 1500) / 1000) * 1000);
		sim.injectFault({ method: 'GET', path: '/api/v1/jobs/', status: 503, retryAfter: until.toUTCString() });
		const { status } = await runGeminiNode(sim, getJob());
		expect(status).toBe('success');
		const [unavailable, retried] = jobRequests();
		expect(unavailable.status).toBe(503);
		expect(retried.at).toBeGreaterThanOrEqual(until.getTime() - 5);
	});

	it('retries a 500 with backoff, then succeeds', async () => {
		sim.injectFault({ method: 'GET', path: '/api/v1/jobs/', status: 500, times: 2 });
		const { status } = await runGeminiNode(sim, getJob());
		expect(status).toBe('success');
		const statuses = jobRequests().map((entry) => entry.status);
		expect(statuses).toEqual([500, 500, 200]);
		const [first, second, third] = jobRequests();
		// Full-jitter backoff from a 1 s base: at least 0.5 s, then at least 1 s.
		expect(second.at - first.at).toBeGreaterThanOrEqual(495);
		expect(third.at - second.at).toBeGreaterThanOrEqual(995);
	}, 20_000);

	it('retries a dropped connection on a GET', async () => {
		sim.injectFault({ method: 'GET', path: '/api/v1/jobs/', drop: true });
		const { status } = await runGeminiNode(sim, getJob());
		expect(status).toBe('success');
		expect(jobRequests().map((entry) => entry.status)).toEqual([0, 200]);
	});

	it('gives up after a bounded number of attempts and says what it tried', async () => {
		sim.injectFault({ method: 'GET', path: '/api/v1/jobs/', status: 503, retryAfter: '0.05', times: 50, body: { error: 'Maintenance' } });
		const { status, error } = await runGeminiNode(sim, getJob());
		expect(status).toBe('error');
		expect(jobRequests()).toHaveLength(5);
		expect(error?.message).toMatch(/Gemini Omni is unavailable: Maintenance/);
		expect((error as { description?: string }).description).toMatch(/Tried 5 attempts over [\d.]+ s, honouring Retry-After 4 time\(s\)/);
	});

	it('keeps retrying 429s past the attempt limit: a wait cures them', async () => {
		sim.injectFault({ method: 'GET', path: '/api/v1/jobs/', status: 429, retryAfter: '0.02', times: 8, body: { error: 'Rate limit exceeded' } });
		const { status } = await runGeminiNode(sim, getJob());
		expect(status).toBe('success');
		expect(jobRequests().map((entry) => entry.status)).toEqual([...Array(8).fill(429), 200]);
	});

	it('does not resend a generate after a gateway timeout (504): the job may exist', async () => {
		sim.injectFault({ method: 'POST', path: '/api/v1/generate', status: 504, body: { error: 'Gateway Timeout' } });
		const { error } = await runGeminiNode(sim, { resource: 'video', operation: 'textToVideo', prompt: 'once', waitForCompletion: false });
		expect((error as { description?: string }).description).toMatch(/created a job, so it was not sent again/);
		expect(`${error?.message} ${(error as { description?: string }).description}`).not.toMatch(/retry the request|try again/i);
		expect(logOf(sim, { method: 'POST', path: '/api/v1/generate' })).toHaveLength(1);
	});

	it.each([400, 401, 402, 403, 404])('never retries %i', async (code) => {
		sim.injectFault({ method: 'GET', path: '/api/v1/jobs/', status: code, body: { error: `server says ${code}` } });
		const { status, error } = await runGeminiNode(sim, getJob());
		expect(status).toBe('error');
		expect(error?.message).toContain(`server says ${code}`);
		expect(jobRequests()).toHaveLength(1);
	});

	it('does not resend a generate whose connection dropped (the job may exist)', async () => {
		sim.injectFault({ method: 'POST', path: '/api/v1/generate', drop: true });
		const { status, error } = await runGeminiNode(sim, {
			resource: 'video',
			operation: 'textToVideo',
			prompt: 'one submission only',
			waitForCompletion: false,
		});
		expect(status).toBe('error');
		expect((error as { description?: string }).description).toMatch(/created a job, so it was not sent again/);
		expect(`${error?.message} ${(error as { description?: string }).description}`).not.toMatch(/retry the request|try again/i);
		expect(logOf(sim, { method: 'POST', path: '/api/v1/generate' })).toHaveLength(1);
	});

	it('keeps the key out of every error, even when the server echoes it', async () => {
		sim.injectFault({ method: 'GET', path: '/api/v1/jobs/', status: 400, body: { error: `Bad request from ${sim.keys.pro}` } });
		const failed = await runGeminiNode(sim, getJob());
		expect(failed.error?.message).toMatch(/Bad request from \[redacted\]/);
		sim.injectFault({ method: 'GET', path: '/api/v1/jobs/', status: 400, body: { error: `Bad request from ${sim.keys.pro}` } });
		const continued = await runGeminiNode(sim, getJob(), { continueOnFail: true });
		for (const result of [failed, continued]) {
			const everything = JSON.stringify({ run: result.run, error: result.error, stack: result.error?.stack, description: (result.error as { description?: string })?.description });
			expect(everything).not.toContain(keyHex(sim.keys.pro));
		}
	});
});
