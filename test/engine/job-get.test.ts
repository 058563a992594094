/** Job → Get through n8n's real engine, over real HTTP to the simulator. */
import type { Simulator } from '../../simulator';
import { createJob, geminiCredential, keyHex, keyTail, logOf, runGeminiNode, startTestSimulator } from './support';

let sim: Simulator;
beforeAll(async () => {
	sim = await startTestSimulator();
});
afterAll(async () => await sim.close());
beforeEach(() => sim.clearLog());

const getJob = (jobId: string) => ({ resource: 'job', operation: 'get', jobId });

describe('Job → Get', () => {
	it('returns the job, authenticated by the credential’s own authenticate()', async () => {
		const accepted = await createJob(sim, { model: 'gemini-omni-video', prompt: 'a lighthouse' });
		sim.clearLog();
		const { status, items } = await runGeminiNode(sim, getJob(String(accepted.jobId)));
		expect(status).toBe('success');
		expect(items).toHaveLength(1);
		expect(items[0].json).toMatchObject({ jobId: accepted.jobId, model: 'gemini-omni-video' });
		expect(['accepted', 'generating', 'done']).toContain(items[0].json.status);
		expect(items[0].pairedItem).toEqual({ item: 0 });
		const [request] = logOf(sim, { method: 'GET', kind: 'api' });
		expect(request.path).toBe(`/api/v1/jobs/${accepted.jobId}`);
		expect(request.status).toBe(200);
		expect(request.key).toBe(keyTail(sim.keys.pro));
	});

	it('evaluates the job ID expression per item and keeps input order', async () => {
		const first = await createJob(sim, { model: 'gemini-omni-video', prompt: 'one' });
		const second = await createJob(sim, { model: 'gemini-omni-audio', script: 'two', language: 'en-US', voiceProfile: 'narrator' });
		const { items } = await runGeminiNode(sim, { ...getJob('={{ $json.id }}') }, { items: [{ id: second.jobId }, { id: first.jobId }] });
		expect(items.map((item) => item.json.jobId)).toEqual([second.jobId, first.jobId]);
		expect(items.map((item) => item.json.model)).toEqual(['gemini-omni-audio', 'gemini-omni-video']);
		expect(items.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
	});

	it('adds expiresAt = completedAt + 7 days to a done job', async () => {
		const accepted = await createJob(sim, { model: 'gemini-omni-video', prompt: 'quick [sim:seconds=0]' });
		const { items } = await runGeminiNode(sim, getJob(String(accepted.jobId)));
		expect(items[0].json.status).toBe('done');
		const completedAt = Date.parse(String(items[0].json.completedAt));
		expect(Date.parse(String(items[0].json.expiresAt)) - completedAt).toBe(7 * 24 * 3600 * 1000);
	});

	it('refuses a malformed key before sending anything', async () => {
		const badKey = 'gomni_not-a-real-key-0123456789';
		const { status, error } = await runGeminiNode(sim, getJob('job_x'), { credential: geminiCredential(sim, { apiKey: badKey }) });
		expect(status).toBe('error');
		expect(error?.message).toMatch(/gomni_.*64 hexadecimal/);
		expect(error?.message).not.toContain(badKey);
		expect(sim.log).toHaveLength(0);
	});

	it('explains a wrong key (401) without retrying', async () => {
		const wrongKey = `gomni_${'0'.repeat(64)}`;
		const { error } = await runGeminiNode(sim, getJob('job_x'), { credential: geminiCredential(sim, { apiKey: wrongKey }) });
		expect(error?.message).toMatch(/Invalid API key/);
		expect(logOf(sim, { kind: 'api' })).toHaveLength(1);
	});

	it('explains a Starter key (403)', async () => {
		const { error } = await runGeminiNode(sim, getJob('job_x'), { credential: geminiCredential(sim, { apiKey: sim.keys.starter }) });
		expect(error?.message).toMatch(/Not permitted on this plan/);
		expect((error as { description?: string }).description).toMatch(/Pro or Premium/);
		expect(logOf(sim, { kind: 'api' })).toHaveLength(1);
	});

	it('explains an unknown job (404), naming the item', async () => {
		const { error } = await runGeminiNode(sim, getJob('job_does_not_exist'));
		expect(error?.message).toMatch(/Job not found/);
		expect(error?.message).toMatch(/\[item 0, job job_does_not_exist\]/);
		expect(logOf(sim, { kind: 'api' })).toHaveLength(1);
	});

	it('with Continue On Fail, gives one item per input: results and errors in order, no key anywhere', async () => {
		const accepted = await createJob(sim, { model: 'gemini-omni-video', prompt: 'ok' });
		const { status, items, run } = await runGeminiNode(sim, getJob('={{ $json.id }}'), {
			items: [{ id: 'job_missing' }, { id: accepted.jobId }, { id: '' }],
			continueOnFail: true,
		});
		expect(status).toBe('success');
		expect(items).toHaveLength(3);
		expect(items[0].json.error).toMatch(/Job not found/);
		expect(items[0].json.httpCode).toBe('404');
		expect(items[1].json.jobId).toBe(accepted.jobId);
		expect(items[2].json.error).toMatch(/Job ID is empty/);
		expect(items.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		expect(JSON.stringify(run)).not.toContain(keyHex(sim.keys.pro));
	});
});

describe('a malformed key with Continue On Fail', () => {
	it('turns every item into an error item, sending nothing', async () => {
		const { status, items } = await runGeminiNode(sim, getJob('job_x'), {
			credential: geminiCredential(sim, { apiKey: 'gomni_123' }),
			items: [{}, {}],
			continueOnFail: true,
		});
		expect(status).toBe('success');
		expect(items.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		for (const item of items) expect(item.json.error).toMatch(/64 hexadecimal/);
		expect(sim.log).toHaveLength(0);
	});
});
