import { startSimulator, PLAN_LIMITS, type Simulator } from '../../simulator';
import { generate, getJob, randomKey, sleep } from './helpers';

describe('simulator: request and concurrency limits', () => {
	let sim: Simulator;
	beforeAll(async () => {
		sim = await startSimulator({ timeScale: 0.01 });
	});
	afterAll(() => sim.close());

	test('plan limits follow the contract', () => {
		expect(PLAN_LIMITS).toEqual({
			pro: { perMinute: 30, perHour: 200, concurrent: 5 },
			premium: { perMinute: 60, perHour: 500, concurrent: 10 },
		});
	});

	test('the Pro plan allows 30 requests in a (scaled) minute, then 429 with a scaled Retry-After', async () => {
		const key = randomKey();
		sim.addKey({ key, plan: 'pro' });
		for (let index = 0; index < 30; index++) expect((await getJob(sim, key, 'job_none')).status).toBe(404);
		const limited = await getJob(sim, key, 'job_none');
		expect(limited.status).toBe(429);
		expect(limited.body.error).toBe('Rate limit exceeded: 30 requests per minute on the Pro plan');
		const retryAfter = Number(limited.headers.get('retry-after'));
		expect(retryAfter).toBeGreaterThan(0);
		expect(retryAfter).toBeLessThanOrEqual(0.6); // 60 s × 0.01
		// Rejected requests are not counted: after Retry-After the next one gets through.
		await sleep(retryAfter * 1000 + 30);
		expect((await getJob(sim, key, 'job_none')).status).toBe(404);
		const entry = sim.log.find((logged) => logged.status === 429 && logged.key === key.slice(-6));
		expect(entry?.retryAfter).toBe(limited.headers.get('retry-after'));
	});

	test('the hour window answers its own message', async () => {
		const key = randomKey();
		sim.addKey({ key, plan: 'premium', limits: { perHour: 2 } });
		await getJob(sim, key, 'job_a');
		await getJob(sim, key, 'job_b');
		const limited = await getJob(sim, key, 'job_c');
		expect(limited.status).toBe(429);
		expect(limited.body.error).toBe('Rate limit exceeded: 2 requests per hour on the Premium plan');
		const retryAfter = Number(limited.headers.get('retry-after'));
		expect(retryAfter).toBeGreaterThan(30);
		expect(retryAfter).toBeLessThanOrEqual(36); // 3600 s × 0.01
	});

	test('the concurrent-job limit answers 429 with a distinct message and Retry-After of the earliest finish', async () => {
		const key = randomKey();
		sim.addKey({ key, plan: 'pro', limits: { concurrent: 2 } });
		const job = { model: 'gemini-omni-video', prompt: 'x [sim:seconds=60]' }; // 600 ms
		expect((await generate(sim, key, job)).status).toBe(200);
		expect((await generate(sim, key, job)).status).toBe(200);
		const limited = await generate(sim, key, job);
		expect(limited.status).toBe(429);
		expect(limited.body.error).toBe('Concurrent job limit reached: 2 jobs in progress on the Pro plan');
		const retryAfter = Number(limited.headers.get('retry-after'));
		expect(retryAfter).toBeGreaterThan(0.3);
		expect(retryAfter).toBeLessThanOrEqual(0.6);
		expect(sim.log[sim.log.length - 1]).toMatchObject({ status: 429, inFlight: 2 });
		expect(sim.maxInFlight(key)).toBe(2);
		expect(sim.maxInFlight(key.slice(-6))).toBe(2);
		expect(sim.maxInFlight()).toBeGreaterThanOrEqual(2);
		await sleep(retryAfter * 1000 + 20);
		const accepted = await generate(sim, key, job);
		expect(accepted.status).toBe(200);
		expect(sim.log[sim.log.length - 1].inFlight).toBeGreaterThanOrEqual(1);
	});

	test('the Pro default of 5 concurrent jobs', async () => {
		const key = randomKey();
		sim.addKey({ key, plan: 'pro' });
		const job = { model: 'gemini-omni-video', prompt: 'x [sim:seconds=100]' };
		const statuses = [];
		for (let index = 0; index < 6; index++) statuses.push((await generate(sim, key, job)).status);
		expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
	});
});
