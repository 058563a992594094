import { createHmac, timingSafeEqual } from 'node:crypto';
import { startSimulator, DEMO_KEYS, DEMO_WEBHOOK_SECRET, type Simulator } from '../../simulator';
import { call, generate, getJob, sleep, startReceiver, waitFor } from './helpers';

function verify(raw: Buffer, signature: string | undefined, secret: string): boolean {
	const expected = createHmac('sha256', secret).update(raw).digest('hex');
	return signature !== undefined && signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
}

describe('simulator: webhooks', () => {
	let sim: Simulator;
	const secret = 'whsec_test_' + 'x'.repeat(20);
	beforeAll(async () => {
		sim = await startSimulator({ timeScale: 0.01, webhookSecret: secret });
	});
	afterAll(() => sim.close());

	test('job.completed arrives signed over its raw bytes, with exactly the contract fields', async () => {
		const receiver = await startReceiver();
		try {
			const submitted = await generate(sim, DEMO_KEYS.pro, { model: 'gemini-omni-video', prompt: 'x [sim:seconds=10]', callbackUrl: receiver.url });
			const hook = await waitFor(() => receiver.received[0]);
			expect(hook.headers['content-type']).toBe('application/json');
			expect(verify(hook.raw, hook.headers['x-gemini-signature'] as string, secret)).toBe(true);
			expect(verify(hook.raw, hook.headers['x-gemini-signature'] as string, DEMO_WEBHOOK_SECRET)).toBe(false);
			const payload = JSON.parse(hook.raw.toString());
			const job = (await getJob(sim, DEMO_KEYS.pro, submitted.body.jobId)).body;
			expect(payload).toEqual({
				event: 'job.completed',
				jobId: submitted.body.jobId,
				status: 'done',
				outputUrl: job.outputUrl,
				creditCost: 150,
				model: 'gemini-omni-video',
				timestamp: job.completedAt,
			});
			await waitFor(() => sim.webhookDeliveries.find((delivery) => delivery.jobId === submitted.body.jobId));
			expect(sim.webhookDeliveries.filter((delivery) => delivery.jobId === submitted.body.jobId)).toEqual([
				expect.objectContaining({ event: 'job.completed', attempt: 1, status: 200, url: receiver.url, body: hook.raw.toString() }),
			]);
		} finally {
			await receiver.close();
		}
	});

	test('job.failed carries error and creditCost 0', async () => {
		const receiver = await startReceiver();
		try {
			const submitted = await generate(sim, DEMO_KEYS.pro, { model: 'gemini-omni-audio', script: '[sim:fail=Voice unavailable] [sim:seconds=5]', language: 'en-US', voiceProfile: 'narrator', callbackUrl: receiver.url });
			const hook = await waitFor(() => receiver.received[0]);
			expect(JSON.parse(hook.raw.toString())).toEqual({
				event: 'job.failed',
				jobId: submitted.body.jobId,
				status: 'failed',
				error: 'Voice unavailable',
				creditCost: 0,
				timestamp: expect.any(String),
			});
		} finally {
			await receiver.close();
		}
	});

	test('a 500 and a silent receiver are retried after 30 s and 5 min (scaled) with identical bytes and signature', async () => {
		// attempt 1: 500; attempt 2 (after 300 ms): no answer within 100 ms; attempt 3 (after 3 s): 200
		const receiver = await startReceiver((index) => (index === 0 ? 500 : index === 1 ? 'hang' : 200));
		try {
			const submitted = await generate(sim, DEMO_KEYS.pro, { model: 'gemini-omni-video', prompt: 'x [sim:seconds=1]', callbackUrl: receiver.url });
			const jobId = submitted.body.jobId;
			const deliveries = () => sim.webhookDeliveries.filter((delivery) => delivery.jobId === jobId);
			await waitFor(() => deliveries().length === 3, 8000);
			const [first, second, third] = deliveries();
			expect(first).toMatchObject({ attempt: 1, status: 500 });
			expect(second).toMatchObject({ attempt: 2 });
			expect(second.status).toBeUndefined();
			expect(second.error).toMatch(/No answer within 0.1 s/);
			expect(third).toMatchObject({ attempt: 3, status: 200 });
			expect(second.at - first.at).toBeGreaterThanOrEqual(290);
			expect(second.at - first.at).toBeLessThan(1000);
			expect(third.at - second.at).toBeGreaterThanOrEqual(3000 + 90);
			expect(receiver.received).toHaveLength(3);
			expect(new Set(receiver.received.map((hook) => hook.raw.toString('hex'))).size).toBe(1);
			expect(new Set(receiver.received.map((hook) => hook.headers['x-gemini-signature'])).size).toBe(1);
			await sleep(200);
			expect(deliveries()).toHaveLength(3); // a 2xx ends the schedule
		} finally {
			await receiver.close();
		}
	}, 15000);

	test('redeliverWebhook re-sends the same event; sendSignedWebhook signs or omits the header', async () => {
		// Its own simulator, which gives the receiver 10 s to answer: at 0.01 the suite's gives 0.1 s, which a
		// fresh clone's installs running beside the tests once exceeded (this test is not about the timeout).
		const patient = await startSimulator({ timeScale: 0.01, webhookSecret: secret, webhookAnswerTimeoutMs: 10_000 });
		const receiver = await startReceiver();
		try {
			const submitted = await generate(patient, DEMO_KEYS.pro, { model: 'gemini-omni-video', prompt: 'x [sim:seconds=1]', callbackUrl: receiver.url });
			await waitFor(() => receiver.received[0]);
			const again = await patient.redeliverWebhook(submitted.body.jobId, { times: 3, concurrent: true });
			expect(again.map((delivery) => delivery.status)).toEqual([200, 200, 200]);
			expect(receiver.received).toHaveLength(4);
			expect(new Set(receiver.received.map((hook) => hook.raw.toString())).size).toBe(1);

			const body = JSON.stringify({ event: 'job.completed', jobId: 'job_manual' });
			expect(patient.signWebhookBody(body)).toBe(createHmac('sha256', secret).update(body).digest('hex'));
			expect((await patient.sendSignedWebhook(receiver.url, body)).status).toBe(200);
			expect(receiver.received[4].headers['x-gemini-signature']).toBe(patient.signWebhookBody(body));
			await patient.sendSignedWebhook(receiver.url, body, { signature: null });
			expect(receiver.received[5].headers['x-gemini-signature']).toBeUndefined();
			await patient.sendSignedWebhook(receiver.url, body, { signature: 'bad' });
			expect(receiver.received[6].headers['x-gemini-signature']).toBe('bad');
		} finally {
			await receiver.close();
			await patient.close();
		}
	});
});

describe('simulator: fault injection', () => {
	let sim: Simulator;
	beforeAll(async () => {
		sim = await startSimulator({ timeScale: 0.01 });
	});
	afterAll(() => sim.close());

	test('status faults answer the given status, body and Retry-After, then stop', async () => {
		sim.injectFault({ path: '/api/v1/jobs/', status: 503, retryAfter: '0.2', times: 2 });
		const first = await getJob(sim, DEMO_KEYS.pro, 'job_x');
		expect(first.status).toBe(503);
		expect(first.body).toEqual({ error: 'Injected fault' });
		expect(first.headers.get('retry-after')).toBe('0.2');
		expect((await getJob(sim, DEMO_KEYS.pro, 'job_x')).status).toBe(503);
		expect((await getJob(sim, DEMO_KEYS.pro, 'job_x')).status).toBe(404);
		expect(sim.log.filter((entry) => entry.status === 503)).toHaveLength(2);
		expect(sim.log.find((entry) => entry.status === 503)).toMatchObject({ retryAfter: '0.2', error: 'Injected fault' });

		sim.injectFault({ method: 'POST', path: /generate$/, status: 500, body: { error: 'boom', code: 'X' } });
		expect((await getJob(sim, DEMO_KEYS.pro, 'job_x')).status).toBe(404); // GET does not match
		const failed = await generate(sim, DEMO_KEYS.pro, { model: 'gemini-omni-video', prompt: 'x' });
		expect(failed).toMatchObject({ status: 500, body: { error: 'boom', code: 'X' } });
	});

	test('drop destroys the socket; delayMs delays the normal answer', async () => {
		sim.injectFault({ path: '/api/v1/generate', drop: true });
		await expect(generate(sim, DEMO_KEYS.pro, { model: 'gemini-omni-video', prompt: 'x' })).rejects.toThrow();
		expect(sim.log[sim.log.length - 1]).toMatchObject({ status: 0, error: expect.stringMatching(/dropped/) });

		sim.injectFault({ path: '/api/v1/generate', delayMs: 300 });
		const started = Date.now();
		const delayed = await generate(sim, DEMO_KEYS.pro, { model: 'gemini-omni-video', prompt: 'x' });
		expect(delayed.status).toBe(200);
		expect(Date.now() - started).toBeGreaterThanOrEqual(290);

		sim.injectFault({ path: '/api/v1/generate', status: 500 });
		sim.clearFaults();
		expect((await generate(sim, DEMO_KEYS.pro, { model: 'gemini-omni-video', prompt: 'x' })).status).toBe(200);
	});

	test('admin endpoints over HTTP: faults, log, jobs', async () => {
		const added = await call(sim, 'POST', '/__sim/faults', { json: { path: '/api/v1/generate', status: 429, retryAfter: '1', body: { error: 'slow down' } } });
		expect(added.status).toBe(200);
		const limited = await generate(sim, DEMO_KEYS.pro, { model: 'gemini-omni-video', prompt: 'x' });
		expect(limited).toMatchObject({ status: 429, body: { error: 'slow down' } });
		expect(limited.headers.get('retry-after')).toBe('1');

		await call(sim, 'POST', '/__sim/faults', { json: { status: 500, times: 5 } });
		expect((await call(sim, 'DELETE', '/__sim/faults')).status).toBe(200);
		const accepted = await generate(sim, DEMO_KEYS.pro, { model: 'gemini-omni-video', prompt: 'x [sim:seconds=0]' });
		expect(accepted.status).toBe(200);

		const log = await call(sim, 'GET', '/__sim/log');
		expect(log.body[log.body.length - 1]).toMatchObject({ jobId: accepted.body.jobId, status: 200, kind: 'api' });
		expect(JSON.stringify(log.body)).not.toContain(DEMO_KEYS.pro);
		expect(log.body.some((entry: { path: string }) => entry.path.startsWith('/__sim'))).toBe(false);

		const job = await call(sim, 'GET', `/__sim/jobs/${accepted.body.jobId}`);
		expect(job.body).toMatchObject({ jobId: accepted.body.jobId, status: 'done' });
		expect((await call(sim, 'GET', '/__sim/jobs/job_nope')).status).toBe(404);

		expect((await call(sim, 'DELETE', '/__sim/log')).status).toBe(200);
		expect(sim.log).toHaveLength(0);
		expect((await call(sim, 'GET', '/__sim/log')).body).toEqual([]);
	});
});
