/**
 * Wait Mode "Loop Through a Wait Node" through n8n's engine: each run of the node is one pass; the
 * test plays the Wait node, feeding "Still Running" back once its first job is due (the real Wait
 * node and its ≥ 70 s gaps are proven in queue mode: test/queue).
 */
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import { MIN_PASS_GAP_MS, PASS_STATE_FIELD } from '../../nodes/GeminiOmni/scheduler/passes';
import type { Simulator } from '../../simulator';
import { NODE_NAME, logOf, runGeminiNode, startTestSimulator } from './support';

let sim: Simulator;
beforeAll(async () => {
	sim = await startTestSimulator({ timeScale: 0.01 });
});
afterAll(async () => await sim.close());
beforeEach(() => sim.clearLog());

const LOOP = { resource: 'video', operation: 'textToVideo', prompt: '={{ $json.p }}', resolution: '720p', waitForCompletion: true, waitMode: 'loop', downloadOutput: false };
const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

async function pass(items: IDataObject[], parameters: IDataObject = LOOP, continueOnFail = false) {
	const started = Date.now();
	const result = await runGeminiNode(sim, parameters as never, { items, continueOnFail });
	return { ...result, started, done: result.output(NODE_NAME, 0), stillRunning: result.output(NODE_NAME, 1) };
}

/** Waits as the Wait node would, but only until the first job is due (the test's clock runs 100× fast). */
async function waitForFirstDue(stillRunning: INodeExecutionData[]): Promise<void> {
	const due = stillRunning.map((item) => Number((item.json[PASS_STATE_FIELD] as IDataObject).dueAt ?? 0)).filter((at) => at > 0);
	if (due.length) await sleep(Math.max(0, Math.min(...due) - Date.now()) + 20);
}

describe('Wait Mode "Loop Through a Wait Node"', () => {
	it('12 prompts on a 5-job plan: never more than 5 running, each submitted once, all done, ~2 requests per job', async () => {
		const prompts = Array.from({ length: 12 }, (_, i) => `[sim:seconds=20] loop clip ${i}`);
		let items: IDataObject[] = prompts.map((p) => ({ p }));
		const done: INodeExecutionData[] = [];
		let passes = 0;
		while (items.length && passes < 30) {
			const result = await pass(items);
			passes++;
			expect(result.status).toBe('success');
			// Every item leaves by exactly one output, paired with its input.
			expect(result.done.length + result.stillRunning.length).toBe(items.length);
			const paired = [...result.done, ...result.stillRunning].map((item) => (item.pairedItem as { item: number }).item).sort((a, b) => a - b);
			expect(paired).toEqual(items.map((_, i) => i));
			for (const item of result.stillRunning) {
				// One checkAt for all, far enough ahead that n8n frees the worker.
				expect(Date.parse(String(item.json.checkAt))).toBeGreaterThanOrEqual(result.started + MIN_PASS_GAP_MS);
				expect(item.json.checkAt).toBe(result.stillRunning[0].json.checkAt);
				expect(typeof item.json.p).toBe('string');
			}
			done.push(...result.done);
			await waitForFirstDue(result.stillRunning);
			items = result.stillRunning.map((item) => item.json);
		}
		expect(done).toHaveLength(12);
		const generates = logOf(sim, { method: 'POST', path: '/api/v1/generate' }).filter((entry) => entry.status === 200);
		expect(generates).toHaveLength(12);
		for (const item of done) {
			expect(item.json.status).toBe('done');
			const submitted = generates.filter((entry) => entry.jobId === item.json.jobId);
			expect(submitted).toHaveLength(1);
		}
		expect(new Set(done.map((item) => (submitted(item) as { prompt: string }).prompt))).toEqual(new Set(prompts));
		expect(sim.maxInFlight()).toBeLessThanOrEqual(5);
		const requests = logOf(sim, { kind: 'api' }).length;
		expect(requests / 12).toBeLessThanOrEqual(2.3);
		expect(passes).toBeGreaterThanOrEqual(3);

		function submitted(item: INodeExecutionData): unknown {
			return generates.find((entry) => entry.jobId === item.json.jobId)!.body;
		}
	});

	it('a job that fails leaves by Done as an error item with Continue On Fail; without it the error names every running job', async () => {
		const first = await pass([{ p: '[sim:seconds=5] fine' }, { p: '[sim:seconds=5] [sim:fail=Content policy] bad' }]);
		expect(first.stillRunning).toHaveLength(2);
		const running = first.stillRunning.map((item) => item.json);
		await waitForFirstDue(first.stillRunning);
		await sleep(100);
		const withContinue = await pass(running, LOOP, true);
		const failed = withContinue.done.find((item) => item.json.error);
		expect(failed?.json).toMatchObject({ jobId: running[1].jobId, status: 'failed' });
		expect(String(failed?.json.error)).toMatch(/Content policy/);
		expect(failed?.pairedItem).toEqual({ item: 1 });

		sim.clearLog();
		const again = await pass([{ p: '[sim:seconds=60] slow' }, { p: '[sim:seconds=1] [sim:fail] bad' }]);
		await sleep(100);
		const stopped = await pass(again.stillRunning.map((item) => item.json));
		expect(stopped.status).toBe('error');
		expect(stopped.error?.message).toMatch(/\[item 1/);
		expect(String((stopped.error as { description?: string }).description)).toContain(String(again.stillRunning[0].json.jobId));
	});

	it('once an item has failed (Continue On Fail off), the pass submits nothing more before stopping', async () => {
		sim.clearLog();
		const oneAtATime = { ...LOOP, options: { maxConcurrentJobs: 1 } };
		const first = await pass([{ p: '[sim:seconds=1] [sim:fail] bad' }, { p: 'queued behind it' }], oneAtATime);
		expect(first.stillRunning.map((item) => item.json.status)).toEqual(['accepted', 'queued']);
		await sleep(100);
		const stopped = await pass(first.stillRunning.map((item) => item.json), oneAtATime);
		expect(stopped.status).toBe('error');
		expect(stopped.error?.message).toMatch(/failed/);
		// The failed job was the only submit: the queued item was not submitted into its freed slot.
		expect(logOf(sim, { method: 'POST', path: '/api/v1/generate' }).filter((entry) => entry.status === 200)).toHaveLength(1);
	});

	it('Max Wait bounds how long an item stays queued, and a job given up on keeps its slot', async () => {
		sim.clearLog();
		// Max Wait 60 ms (0.001 min), one job at a time: the second item can never be submitted in time.
		const tight = { ...LOOP, options: { maxConcurrentJobs: 1, maxWaitMinutes: 0.001 } };
		const first = await pass([{ p: '[sim:seconds=500] long' }, { p: 'never gets a slot' }], tight);
		expect(first.stillRunning.map((item) => item.json.status)).toEqual(['accepted', 'queued']);
		await sleep(150);
		// A new row joins in this pass: it must wait, since the abandoned job still holds the only slot.
		const second = await pass([...first.stillRunning.map((item) => item.json), { p: 'a new row' }], tight, true);
		expect(second.done).toHaveLength(2);
		expect(second.stillRunning.map((item) => [item.json.p, item.json.status])).toEqual([['a new row', 'queued']]);
		expect(String(second.done[0].json.error)).toMatch(/still "(accepted|generating)" after the Max Wait/);
		expect(second.done[0].json.jobId).toBe(first.stillRunning[0].json.jobId);
		expect(String(second.done[1].json.error)).toMatch(/Not submitted: the key's job slots stayed busy/);
		expect(second.done[1].json.jobId).toBeUndefined();
		// Still one submit: the abandoned job still runs on the server, so its slot was not refilled.
		expect(logOf(sim, { method: 'POST', path: '/api/v1/generate' }).filter((entry) => entry.status === 200)).toHaveLength(1);
	});

	it('a parameter error on a later pass (Continue On Fail off) still names the jobs the items carry', async () => {
		const oneAtATime = { ...LOOP, options: { maxConcurrentJobs: 1 } };
		const first = await pass([{ p: '[sim:seconds=60] long one' }, { p: 'queued, then emptied' }], oneAtATime);
		const back = first.stillRunning.map((item) => item.json);
		expect(back.map((json) => json.status)).toEqual(['accepted', 'queued']);
		back[1] = { ...back[1], p: '' };
		const stopped = await pass(back, oneAtATime);
		expect(stopped.status).toBe('error');
		expect(stopped.error?.message).toMatch(/Prompt is empty/);
		expect(String((stopped.error as { description?: string }).description)).toContain(String(back[0].jobId));
	});
});
