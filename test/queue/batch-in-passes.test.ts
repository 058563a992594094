/**
 * Batches that hold no worker, in n8n's queue mode (examples/batch-in-passes.json): a stack of its own
 * (test/queue/support.ts), so this file's seven minutes of passes run beside the rest of the queue suite.
 */
import { exampleNode, readExample, withCredential, withNodeParameters, withWebhookStart } from '../../scripts/lib/examples';
import type { N8nExecution } from '../../scripts/lib/n8n-instance';
import { nodeRuns } from '../../scripts/lib/workflows';
import { generateRequests, sleep } from '../e2e/support';
import { finished, PRO, queueSuiteForThisFile, report } from './support';

jest.setTimeout(900_000);

// One of `npm test`'s longest files: its stack's starts and restart may take the priority start slot.
const suite = queueSuiteForThisFile({ startPriority: true });

describe('Batches that hold no worker (examples/batch-in-passes.json)', () => {
	it('30 prompts on a 5-job key: all done, each submitted once, workers idle between passes, nothing lost across a restart of every process and a crash of both workers', async () => {
		const { sim, stack, callWebhook, credentialForNewKey } = suite();
		sim.clearLog();
		const { key, credential: loopCredential } = await credentialForNewKey('Gemini Omni (loop)', PRO);
		const path = 'queue-batch-in-passes';
		const example = withCredential(readExample('batch-in-passes.json'), loopCredential);
		const prompts = Array.from({ length: 30 }, (_, i) => `[sim:seconds=60] pass clip ${i}`);
		const runnable = withNodeParameters(withWebhookStart(example, { path, response: { mode: 'onReceived' } }).workflow, 'Prompt List', () => ({
			jsCode: `return ${JSON.stringify(prompts)}.map((prompt) => ({ json: { prompt } }));`,
		}));
		const loopNode = exampleNode(runnable, 'Text to Video (Passes)').name;
		const workflowId = await stack.main.createWorkflow(withNodeParameters(runnable, loopNode, (parameters) => ({ ...parameters, downloadOutput: false })));
		await stack.main.activateWorkflow(workflowId);
		const started = Date.now();
		expect(await callWebhook(path, {})).toBe(200);

		const samples: Array<{ status: string; busy: number; waitTill: string; at: number }> = [];
		let restarted = false;
		let killed = false;
		let execution: N8nExecution | undefined;
		const deadline = Date.now() + 20 * 60_000;
		for (;;) {
			const [listed] = await stack.main.listExecutions(workflowId);
			if (listed) {
				samples.push({ status: listed.status, busy: await stack.busyWorkerSlots(), waitTill: String(listed.waitTill ?? ''), at: Date.now() });
				const accepted = generateRequests(sim).filter((entry) => entry.status === 200).length;
				// Mid-wait: 10 s or more after a pass ended (waits are at least 70 s) and 15 s or more before the next.
				const left = Date.parse(String(listed.waitTill ?? '')) - Date.now();
				const midWait = listed.status === 'waiting' && left > 15_000 && left < 60_000;
				// Mid-batch, while it waits between passes: stop and start every n8n process, the workers with
				// new folders, as a redeploy that replaces worker containers. A worker started again with its
				// folder finds the passes it ran in its event log and n8n 2.41.1 amends the run to "crashed"
				// at the worker's start; when the wait has ended before that (a slow restart on a loaded
				// machine), the resumed pass is then dropped and the run ends crashed (docs/scaling.md).
				if (!restarted && midWait && accepted >= 10) {
					restarted = true;
					const restartStarted = Date.now();
					await stack.restartAll({ newWorkerFolders: true });
					report(`loop: every process restarted mid-batch after ${accepted} submits, workers with new folders (${Math.round((Date.now() - restartStarted) / 1000)} s)`);
				} else if (restarted && !killed && midWait && accepted >= 20) {
					// Later, both workers crash (SIGKILL) between passes, and come back.
					killed = true;
					await Promise.all(stack.workers.map(async (_, index) => await stack.killWorker(index)));
					await Promise.all(stack.workers.map(async (_, index) => await stack.startWorker(index)));
					report(`loop: both workers killed (SIGKILL) and started again after ${accepted} submits`);
				}
				if (finished(listed)) {
					execution = await stack.main.getExecution(listed.id, true);
					break;
				}
			}
			if (Date.now() > deadline) throw new Error(`The loop did not finish in 20 min\n${stack.logs(40)}`);
			await sleep(1_000);
		}
		const minutes = (Date.now() - started) / 60_000;
		// How the run ended comes first: a run n8n ended early also ends the loop before the crash below.
		if (execution.status !== 'success') {
			const error = execution.data?.resultData?.error;
			throw new Error(
				`The batch ended ${execution.status} after ${minutes.toFixed(1)} min (restarted: ${restarted}, workers killed: ${killed}; last node ${execution.data?.resultData?.lastNodeExecuted ?? 'none'}): ${error?.message ?? 'no error recorded'}\n${stack.logs(40)}`,
			);
		}
		expect(restarted).toBe(true);
		expect(killed).toBe(true);
		const done = nodeRuns(execution, 'Finished Clips').flatMap((run) => run.data?.main?.[0] ?? []);
		const passes = nodeRuns(execution, loopNode).length;
		const mine = sim.log.filter((entry) => entry.kind === 'api' && entry.key === key.slice(-6));
		const generates = mine.filter((entry) => entry.method === 'POST' && entry.status === 200);
		// Strictly inside one wait between passes, no worker slot is busy: the samples before and after are
		// in the same wait (same waitTill), and its end is more than 3 s away. (The status and the busy
		// count are two reads: a pass shorter than the sampling gap, or one about to start, could fall
		// between them.)
		const inOneWait = (sample: (typeof samples)[number], other: (typeof samples)[number]) => other.status === 'waiting' && other.waitTill === sample.waitTill;
		const between = samples.filter(
			(sample, i) =>
				i > 0 &&
				i < samples.length - 1 &&
				sample.status === 'waiting' &&
				inOneWait(sample, samples[i - 1]) &&
				inOneWait(sample, samples[i + 1]) &&
				Date.parse(sample.waitTill) - sample.at > 3_000,
		);
		const busyBetween = between.filter((sample) => sample.busy > 0).length;
		report(
			`loop: 30 prompts on a 5-job key in ${minutes.toFixed(1)} min and ${passes} passes; ${done.length} done, ${generates.length} submits, ` +
				`${(mine.length / 30).toFixed(2)} requests per job, peak ${sim.maxInFlight(key.slice(-6))} running; busy worker slots while waiting: ${busyBetween} of ${between.length} samples; ` +
				`jobs lost: ${30 - new Set(done.map((item) => item.json.jobId)).size}, submitted twice: ${generates.length - new Set(generates.map((entry) => entry.jobId)).size}`,
		);
		expect(done.map((item) => item.json.status)).toEqual(Array(30).fill('done'));
		expect(new Set(done.map((item) => item.json.jobId)).size).toBe(30);
		expect(generates).toHaveLength(30);
		const submittedPrompts = generates.map((entry) => (entry.body as { prompt: string }).prompt).sort();
		expect(submittedPrompts).toEqual([...prompts].sort());
		expect(mine.length / 30).toBeLessThanOrEqual(2.3);
		expect(sim.maxInFlight(key.slice(-6))).toBeLessThanOrEqual(5);
		expect(between.length).toBeGreaterThan(30);
		expect(busyBetween).toBe(0);
	});
});
