import { startSimulator, DEMO_KEYS, type Simulator } from '../../simulator';
import { parseDirectives, runFactor } from '../../simulator/jobs';
import { generate, getJob, randomKey, sleep } from './helpers';

describe('simulator: job lifecycle over scaled time', () => {
	let sim: Simulator;
	beforeAll(async () => {
		sim = await startSimulator({ timeScale: 0.01 });
	});
	afterAll(() => sim.close());

	test('accepted, then generating, then done with an outputUrl at createdAt + duration', async () => {
		// 200 s nominal × 0.01 = 2 s; accepted for the first 10 % (200 ms)
		const submitted = await generate(sim, DEMO_KEYS.pro, { model: 'gemini-omni-video', prompt: 'Storm [sim:seconds=200]' });
		expect(submitted.status).toBe(200);
		expect(submitted.body.estimatedSeconds).toBe(2);
		const { jobId } = submitted.body;

		const early = await getJob(sim, DEMO_KEYS.pro, jobId);
		expect(early.status).toBe(200);
		expect(early.body).toMatchObject({ jobId, status: 'accepted', model: 'gemini-omni-video', creditCost: 150, estimatedSeconds: 2 });
		expect(early.body.outputUrl).toBeUndefined();
		expect(early.body.completedAt).toBeUndefined();

		await sleep(500);
		expect((await getJob(sim, DEMO_KEYS.pro, jobId)).body.status).toBe('generating');

		await sleep(1700);
		const done = await getJob(sim, DEMO_KEYS.pro, jobId);
		expect(done.body).toMatchObject({ status: 'done', creditCost: 150 });
		expect(done.body.outputUrl).toMatch(new RegExp(`^${sim.url}/r2/omni/${jobId}/output\\.mp4\\?expires=.+&sig=[0-9a-f]{64}$`));
		expect(Date.parse(done.body.completedAt) - Date.parse(done.body.createdAt)).toBe(2000);
		expect(sim.getJob(jobId)).toEqual(done.body);
	});

	test('[sim:fail=...] fails at the end of the run, refunds and reports creditCost 0', async () => {
		const key = randomKey();
		sim.addKey({ key, plan: 'pro', credits: 200 });
		const submitted = await generate(sim, key, {
			model: 'gemini-omni-video',
			prompt: 'x [sim:fail=Content policy: restricted subject] [sim:seconds=30]',
		});
		expect(submitted.body.creditCost).toBe(150);
		// While it runs the credits are spent: a second 150-credit job does not fit.
		expect((await generate(sim, key, { model: 'gemini-omni-video', prompt: 'y' })).status).toBe(402);
		expect((await getJob(sim, key, submitted.body.jobId)).body.status).not.toBe('failed');
		await sleep(400);
		const failed = await getJob(sim, key, submitted.body.jobId);
		expect(failed.body).toMatchObject({ status: 'failed', error: 'Content policy: restricted subject', creditCost: 0 });
		expect(failed.body.outputUrl).toBeUndefined();
		expect(failed.body.completedAt).toEqual(expect.any(String));
		// Refunded: the same job now fits again.
		expect((await generate(sim, key, { model: 'gemini-omni-video', prompt: 'y' })).status).toBe(200);
	});

	test('[sim:fail] without text uses a default error', async () => {
		const submitted = await generate(sim, DEMO_KEYS.pro, { model: 'gemini-omni-audio', script: 'Hello [sim:fail] [sim:seconds=1]', language: 'en-US', voiceProfile: 'narrator' });
		await sleep(60);
		const failed = await getJob(sim, DEMO_KEYS.pro, submitted.body.jobId);
		expect(failed.body.status).toBe('failed');
		expect(failed.body.error).toMatch(/Generation failed/);
	});

	test('[sim:failonce=...] fails only the first job of that text on a key; the same text again runs to done', async () => {
		const body = { model: 'gemini-omni-video', prompt: 'Flaky [sim:failonce=Transient model error] [sim:seconds=1]' };
		const first = await generate(sim, DEMO_KEYS.pro, body);
		const second = await generate(sim, DEMO_KEYS.pro, body);
		const otherKey = await generate(sim, DEMO_KEYS.premium, body);
		await sleep(60);
		expect((await getJob(sim, DEMO_KEYS.pro, first.body.jobId)).body).toMatchObject({ status: 'failed', error: 'Transient model error', creditCost: 0 });
		expect((await getJob(sim, DEMO_KEYS.pro, second.body.jobId)).body.status).toBe('done');
		// Per key: another account's first job of the text fails too.
		expect((await getJob(sim, DEMO_KEYS.premium, otherKey.body.jobId)).body.status).toBe('failed');
	});

	test('[sim:overrun=2] runs twice its estimate', async () => {
		const submitted = await generate(sim, DEMO_KEYS.pro, { model: 'gemini-omni-video', prompt: 'x [sim:seconds=30] [sim:overrun=2]' });
		expect(submitted.body.estimatedSeconds).toBe(0.3);
		await sleep(400);
		expect((await getJob(sim, DEMO_KEYS.pro, submitted.body.jobId)).body.status).toBe('generating');
		await sleep(300);
		expect((await getJob(sim, DEMO_KEYS.pro, submitted.body.jobId)).body.status).toBe('done');
	});

	test("another key's job and unknown ids answer 404 Job not found", async () => {
		const submitted = await generate(sim, DEMO_KEYS.pro, { model: 'gemini-omni-video', prompt: 'mine' });
		const other = await getJob(sim, DEMO_KEYS.premium, submitted.body.jobId);
		expect(other.status).toBe(404);
		expect(other.body).toEqual({ error: 'Job not found' });
		expect((await getJob(sim, DEMO_KEYS.pro, 'job_doesnotexist')).status).toBe(404);
		expect((await getJob(sim, DEMO_KEYS.pro, submitted.body.jobId)).status).toBe(200);
	});

	test('audio jobs produce an mp3 URL; default estimate is 15 s scaled', async () => {
		const submitted = await generate(sim, DEMO_KEYS.pro, { model: 'gemini-omni-audio', script: 'Hi', language: 'en-US', voiceProfile: 'narrator' });
		expect(submitted.body.estimatedSeconds).toBe(0.15);
		await sleep(200);
		const done = await getJob(sim, DEMO_KEYS.pro, submitted.body.jobId);
		expect(done.body.status).toBe('done');
		expect(done.body.outputUrl).toMatch(/\/output\.mp3\?/);
	});
});

describe('simulator: run times that differ from their estimates', () => {
	test('[sim:spread] scatters run times lognormally around the estimate, the same prompt always the same', () => {
		const factors = Array.from({ length: 2000 }, (_, i) => runFactor(parseDirectives(`clip ${i} [sim:spread=0.3]`), `clip ${i} [sim:spread=0.3]`));
		const logs = factors.map(Math.log);
		const mean = logs.reduce((sum, value) => sum + value, 0) / logs.length;
		const sd = Math.sqrt(logs.reduce((sum, value) => sum + (value - mean) ** 2, 0) / logs.length);
		// log of a lognormal(0, 0.3) draw: mean 0, standard deviation 0.3 (±0.03 for 2,000 draws)
		expect(Math.abs(mean)).toBeLessThan(0.03);
		expect(sd).toBeGreaterThan(0.27);
		expect(sd).toBeLessThan(0.33);
		expect(runFactor(parseDirectives('clip 5 [sim:spread=0.3]'), 'clip 5 [sim:spread=0.3]')).toBe(factors[5]);
		expect(runFactor({ spread: 0.3, seed: 1 }, 'a')).toBe(runFactor({ spread: 0.3, seed: 1 }, 'b'));
		expect(runFactor({ spread: 0.3, seed: 1 }, 'a')).not.toBe(runFactor({ spread: 0.3, seed: 2 }, 'a'));
	});

	test('[sim:overrun] below 1 ends early; without spread the factor is the overrun', () => {
		expect(runFactor(parseDirectives('x [sim:overrun=0.7]'), 'x')).toBe(0.7);
		expect(runFactor(parseDirectives('x'), 'x')).toBe(1);
		expect(runFactor(parseDirectives('x [sim:overrun=1.5] [sim:spread=0.3] [sim:seed=3]'), 'x') / runFactor({ spread: 0.3, seed: 3 }, 'y')).toBeCloseTo(1.5, 10);
	});

	test('a [sim:spread] job is done when its drawn run time has passed, its estimate unchanged', async () => {
		const sim = await startSimulator({ timeScale: 0.01 });
		try {
			const prompt = 'x [sim:seconds=30] [sim:spread=0.3] [sim:seed=11]';
			const factor = runFactor(parseDirectives(prompt), prompt);
			const submitted = await generate(sim, DEMO_KEYS.pro, { model: 'gemini-omni-video', prompt });
			expect(submitted.body.estimatedSeconds).toBe(0.3);
			await sleep(300 * factor + 150);
			const job = (await getJob(sim, DEMO_KEYS.pro, submitted.body.jobId)).body;
			expect(job.status).toBe('done');
			expect(Date.parse(job.completedAt) - Date.parse(job.createdAt)).toBeGreaterThanOrEqual(Math.floor(300 * factor) - 1);
			expect(Date.parse(job.completedAt) - Date.parse(job.createdAt)).toBeLessThanOrEqual(Math.ceil(300 * factor) + 1);
		} finally {
			await sim.close();
		}
	});
});
