/**
 * Wait Mode "Callback" in n8n's engine: the job is submitted with this execution's resume URL and the
 * execution pauses (status "waiting") with no polling. The resume itself needs the n8n application's
 * waiting-webhook endpoint: it is proven end to end in test/e2e/callback.test.ts.
 */
import { randomUUID } from 'node:crypto';

import type { Simulator } from '../../simulator';
import { geminiCredential, logOf, runGeminiNode, startTestSimulator } from './support';

let sim: Simulator;
beforeAll(async () => {
	sim = await startTestSimulator();
});
afterAll(async () => await sim.close());
beforeEach(() => sim.clearLog());

const callbackParameters = { resource: 'video', operation: 'textToVideo', prompt: 'A calm sea', waitMode: 'callback' };

describe('Wait Mode "Callback"', () => {
	it('submits once with the resume URL as callbackUrl and pauses the execution', async () => {
		const result = await runGeminiNode(sim, { ...callbackParameters, options: { maxWaitMinutes: 5 } });
		expect(result.status).toBe('waiting');
		const [submit] = logOf(sim, { kind: 'api' });
		expect(logOf(sim, { kind: 'api' })).toHaveLength(1);
		expect((submit.body as { callbackUrl: string }).callbackUrl).toBe(result.resumeUrl);
		const waitMs = result.waitTill!.getTime() - Date.now();
		expect(waitMs).toBeGreaterThan(4 * 60_000);
		expect(waitMs).toBeLessThanOrEqual(5 * 60_000);
		// The paused item carries the job, so a deadline without callback still hands the job on.
		const [paused] = result.items;
		expect(paused.json.geminiOmniPendingJob).toMatchObject({ jobId: submit.jobId, status: 'accepted' });
		expect(String((paused.json.geminiOmniPendingJob as { error: string }).error)).toContain(`No callback for job ${submit.jobId}`);
		// What n8n passes on at the deadline is the input it keeps for the paused node: it carries the
		// job, while the previous node's stored output is left unchanged (a copy, not the same item).
		const kept = result.run.data.executionData?.nodeExecutionStack[0]?.data.main[0]?.[0];
		expect(kept?.json.geminiOmniPendingJob).toMatchObject({ jobId: submit.jobId });
		expect(result.output('Start')[0].json).not.toHaveProperty('geminiOmniPendingJob');
		// Nothing polls while the execution is paused.
		await new Promise((resolve) => setTimeout(resolve, 1200));
		expect(logOf(sim, { kind: 'api' })).toHaveLength(1);
	});

	it('a run again of the same request reuses the paid job and checks it itself (its callback goes to the first run)', async () => {
		const nodeSettings = { id: randomUUID() };
		const parameters = { ...callbackParameters, prompt: `A calm sea ${randomUUID()} [sim:seconds=3]`, downloadOutput: false, options: { maxWaitMinutes: 5 } };
		const first = await runGeminiNode(sim, parameters, { nodeSettings });
		expect(first.status).toBe('waiting');
		const [submit] = logOf(sim, { kind: 'api' });
		sim.clearLog();
		const again = await runGeminiNode(sim, parameters, { nodeSettings, timeoutMs: 20_000 });
		expect(again.status).toBe('success');
		expect(again.items[0].json).toMatchObject({ jobId: submit.jobId, status: 'done', reused: true });
		expect(logOf(sim, { method: 'POST', path: '/api/v1/generate' })).toHaveLength(0);
	});

	it('refuses a batch before submitting anything', async () => {
		const { error } = await runGeminiNode(sim, callbackParameters, { items: [{}, {}, {}] });
		expect(error?.message).toMatch(/waits for one job per run, but this node received 3 items. Nothing was submitted/);
		expect(sim.log).toHaveLength(0);
	});

	it('refuses a Callback URL set in Options instead of silently replacing it, before submitting', async () => {
		const { error } = await runGeminiNode(sim, { ...callbackParameters, options: { callbackUrl: 'https://n8n.example.com/webhook/mine' } });
		expect(error?.message).toMatch(/Options → Callback URL is also set. Nothing was submitted/);
		expect(sim.log).toHaveLength(0);
	});

	it('refuses to run without a webhook signing secret', async () => {
		const { error } = await runGeminiNode(sim, callbackParameters, { credential: geminiCredential(sim, { webhookSecret: '' }) });
		expect(error?.message).toMatch(/needs the Webhook Signing Secret/);
		expect(sim.log).toHaveLength(0);
	});
});
