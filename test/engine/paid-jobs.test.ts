/**
 * Paid once, across runs (issue #20), through n8n's engine against the simulator: a run again of a
 * failed batch reuses the jobs the first run paid for (from the workflow's static data, as a retry on
 * another worker would load it), Retry On Fail does the same inside one execution, the option turns it
 * off, and Max Credits per Execution never lets an execution's accepted credits pass its cap.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IDataObject } from 'n8n-workflow';

import type { Simulator } from '../../simulator';
import { forgetInProcessPaidJobs } from '../../nodes/GeminiOmni/scheduler/paidJobs';
import { CREDITS_CUSTOM_DATA_KEY } from '../../nodes/GeminiOmni/actions/router';
import { logOf, runGeminiNode, startTestSimulator } from './support';

let sim: Simulator;
beforeAll(async () => {
	sim = await startTestSimulator({ timeScale: 0.01 });
});
afterAll(async () => await sim.close());
beforeEach(() => sim.clearLog());

function freshCredential(plan: 'pro' | 'premium' = 'premium') {
	const key = `gomni_${randomBytes(32).toString('hex')}`;
	sim.addKey({ key, plan });
	return { type: 'geminiOmniApi', id: key.slice(-8), data: { apiKey: key, baseUrl: sim.url, plan } };
}
const acceptedGenerates = () => logOf(sim, { method: 'POST', path: '/api/v1/generate' }).filter((entry) => entry.status === 200);
const textToVideo = (extra: IDataObject = {}) => ({ resource: 'video', operation: 'textToVideo', prompt: '={{ $json.p }}', resolution: '720p', ...extra });
/** Five prompts; the third fails late the first time it is submitted (a transient model failure). */
const fivePrompts = (tag: string) =>
	Array.from({ length: 5 }, (_, i) => (i === 2 ? `${tag} ${i} [sim:seconds=300] [sim:failonce=Late failure]` : `${tag} ${i} [sim:seconds=2]`));

describe('Reuse Paid Jobs on Retry', () => {
	it('a run again of a failed 5-item batch submits only the failed item and returns the four earlier jobs’ files', async () => {
		const credential = freshCredential();
		const prompts = fivePrompts(randomUUID());
		const nodeSettings = { id: randomUUID() };
		const staticData: IDataObject = {};
		const items = prompts.map((p) => ({ p }));
		const first = await runGeminiNode(sim, textToVideo(), { credential, items, nodeSettings, staticData, mode: 'trigger', timeoutMs: 30_000 });
		expect(first.status).toBe('error');
		expect(first.error?.message).toContain('Late failure');
		const firstJobs = acceptedGenerates().map((entry) => ({ prompt: (entry.body as { prompt: string }).prompt, jobId: String(entry.jobId) }));
		expect(firstJobs).toHaveLength(5);

		// The retry runs where only the saved static data carries the record (another worker, a restart).
		forgetInProcessPaidJobs();
		sim.clearLog();
		const retry = await runGeminiNode(sim, textToVideo(), { credential, items, nodeSettings, staticData, mode: 'retry', timeoutMs: 30_000 });
		expect(retry.status).toBe('success');
		const resubmitted = acceptedGenerates();
		expect(resubmitted.map((entry) => (entry.body as { prompt: string }).prompt)).toEqual([prompts[2]]);
		expect(retry.items).toHaveLength(5);
		for (const [i, item] of retry.items.entries()) {
			expect(item.json.status).toBe('done');
			expect(item.binary?.data).toBeDefined();
			expect(item.pairedItem).toEqual({ item: i });
			const earlier = firstJobs.find((job) => job.prompt === prompts[i])!;
			if (i === 2) expect(item.json.jobId).toBe(resubmitted[0].jobId);
			else {
				expect(item.json.jobId).toBe(earlier.jobId);
				expect(item.json.reused).toBe(true);
			}
		}
	});

	it('n8n’s Retry starts from the failed execution’s saved data: its node context alone (no static data, no process memory) carries the jobs', async () => {
		const credential = freshCredential();
		const prompts = fivePrompts(randomUUID());
		const nodeSettings = { id: randomUUID() };
		const items = prompts.map((p) => ({ p }));
		const first = await runGeminiNode(sim, textToVideo(), { credential, items, nodeSettings, staticData: {}, mode: 'trigger', timeoutMs: 30_000 });
		expect(first.status).toBe('error');
		const contextData = first.run.data.executionData?.contextData as IDataObject;
		forgetInProcessPaidJobs();
		sim.clearLog();
		// "Retry with original workflow": n8n keeps no static data with an execution.
		const retry = await runGeminiNode(sim, textToVideo(), { credential, items, nodeSettings, staticData: {}, contextData, mode: 'retry', timeoutMs: 30_000 });
		expect(retry.status).toBe('success');
		expect(acceptedGenerates().map((entry) => (entry.body as { prompt: string }).prompt)).toEqual([prompts[2]]);
		expect(retry.items.filter((item) => item.json.reused === true)).toHaveLength(4);
	});

	it('Retry On Fail (max tries 2) reuses the first try’s jobs inside one execution', async () => {
		const credential = freshCredential();
		const prompts = fivePrompts(randomUUID());
		const result = await runGeminiNode(sim, textToVideo(), {
			credential,
			items: prompts.map((p) => ({ p })),
			nodeSettings: { id: randomUUID(), retryOnFail: true, maxTries: 2, waitBetweenTries: 0 },
			timeoutMs: 30_000,
		});
		expect(result.status).toBe('success');
		const prompted = acceptedGenerates().map((entry) => (entry.body as { prompt: string }).prompt);
		// Five on the first try, then only the failed item again.
		expect(prompted).toHaveLength(6);
		expect(prompted.filter((prompt) => prompt === prompts[2])).toHaveLength(2);
		expect(new Set(result.items.map((item) => item.json.jobId)).size).toBe(5);
		expect(result.items.every((item) => item.json.status === 'done')).toBe(true);
	});

	it('turned off, a run again submits all five anew', async () => {
		const credential = freshCredential();
		const prompts = fivePrompts(randomUUID());
		const nodeSettings = { id: randomUUID() };
		const items = prompts.map((p) => ({ p }));
		const off = textToVideo({ options: { reusePaidJobs: false } });
		expect((await runGeminiNode(sim, off, { credential, items, nodeSettings, timeoutMs: 30_000 })).status).toBe('error');
		sim.clearLog();
		const again = await runGeminiNode(sim, off, { credential, items, nodeSettings, timeoutMs: 30_000 });
		expect(again.status).toBe('success');
		expect(acceptedGenerates()).toHaveLength(5);
	});

	it('the same request twice in one batch is two jobs, and a run again reuses both', async () => {
		const credential = freshCredential();
		const prompt = `${randomUUID()} twin [sim:seconds=2]`;
		const nodeSettings = { id: randomUUID() };
		const items = [{ p: prompt }, { p: prompt }];
		const first = await runGeminiNode(sim, textToVideo(), { credential, items, nodeSettings, timeoutMs: 30_000 });
		expect(new Set(first.items.map((item) => item.json.jobId)).size).toBe(2);
		sim.clearLog();
		const again = await runGeminiNode(sim, textToVideo(), { credential, items, nodeSettings, timeoutMs: 30_000 });
		expect(acceptedGenerates()).toHaveLength(0);
		expect(again.items.map((item) => item.json.jobId)).toEqual(first.items.map((item) => item.json.jobId));
	});
});

describe('Max Credits per Execution', () => {
	it('cap 450, ten 150-credit items: exactly 3 submitted, 7 items with the cap error; the execution shows 450 credits', async () => {
		const credential = freshCredential();
		const tag = randomUUID();
		// 1080p, 8 s: 150 credits each.
		const items = Array.from({ length: 10 }, (_, i) => ({ p: `${tag} ${i} [sim:seconds=2]` }));
		const result = await runGeminiNode(sim, textToVideo({ resolution: '1080p', options: { maxCreditsPerExecution: 450 } }), {
			credential,
			items,
			continueOnFail: true,
			nodeSettings: { id: randomUUID() },
			timeoutMs: 30_000,
		});
		expect(result.status).toBe('success');
		expect(acceptedGenerates()).toHaveLength(3);
		expect(acceptedGenerates().every((entry) => sim.getJob(String(entry.jobId))?.creditCost === 150)).toBe(true);
		const refused = result.items.filter((item) => typeof item.json.error === 'string');
		expect(refused).toHaveLength(7);
		for (const item of refused) {
			expect(item.json.error).toContain('Max Credits per Execution reached: 450 of 450 credits accepted');
			expect(item.json.jobId).toBeUndefined();
		}
		expect(result.items.filter((item) => item.json.status === 'done')).toHaveLength(3);
		expect(result.run.data.resultData.metadata?.[CREDITS_CUSTOM_DATA_KEY]).toBe('450');
	});

	it('a kind not seen yet is submitted one at a time: cap 200 and ten 150-credit items submit exactly one', async () => {
		const credential = freshCredential();
		const tag = randomUUID();
		const items = Array.from({ length: 10 }, (_, i) => ({ p: `${tag} ${i} [sim:seconds=2]` }));
		const result = await runGeminiNode(sim, textToVideo({ resolution: '1080p', duration: 8, options: { maxCreditsPerExecution: 200 } }), {
			credential,
			items,
			continueOnFail: true,
			nodeSettings: { id: randomUUID() },
			timeoutMs: 30_000,
		});
		expect(acceptedGenerates()).toHaveLength(1);
		expect(result.items.filter((item) => typeof item.json.error === 'string')).toHaveLength(9);
	});

	it('without Continue On Fail, the cap stops the node with an error naming the item and every accepted job', async () => {
		const credential = freshCredential();
		const tag = randomUUID();
		const items = Array.from({ length: 4 }, (_, i) => ({ p: `${tag} ${i} [sim:seconds=2]` }));
		const result = await runGeminiNode(sim, textToVideo({ resolution: '1080p', options: { maxCreditsPerExecution: 300 } }), {
			credential,
			items,
			nodeSettings: { id: randomUUID() },
			timeoutMs: 30_000,
		});
		expect(result.status).toBe('error');
		expect(result.error?.message).toMatch(/Max Credits per Execution reached: \d+ of 300 credits accepted.*\[item [23]\]/);
		const description = String((result.error as { description?: string }).description);
		for (const entry of acceptedGenerates()) expect(description).toContain(String(entry.jobId));
		expect(acceptedGenerates().length).toBeLessThanOrEqual(2);
	});
});
