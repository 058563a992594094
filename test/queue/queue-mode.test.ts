/**
 * n8n's queue mode, for real (issue 12): Redis, PostgreSQL, n8n 2.41.1 as main, one webhook process
 * and two workers of concurrency 5, each with its own user folder and the package installed as a
 * community package (scripts/lib/queue-stack.ts); the simulator is the API. One set of processes for
 * the whole file, so the parts run in order; each prints its figures (`[queue] …`).
 */
import { startSimulator, type Simulator } from '../../simulator';
import { startQueueStack, type QueueStack } from '../../scripts/lib/queue-stack';
import type { N8nExecution } from '../../scripts/lib/n8n-instance';
import { geminiOmniTriggerWorkflow, nodeOutput, triggerWebhookPath, type CredentialReference } from '../../scripts/lib/workflows';
import {
	apiRequestsForJob,
	callbackTextToVideoWorkflow,
	createSimulatorCredential,
	executionsWithData,
	generateRequests,
	promptBatchWorkflow,
	sleep,
	submitJobToSimulator,
	waitForSimulatorJob,
	waitUntilTriggerListens,
} from '../e2e/support';

jest.setTimeout(600_000);

let sim: Simulator;
let stack: QueueStack;
let credential: CredentialReference;

function report(line: string): void {
	process.stdout.write(`[queue] ${line}\n`);
}

beforeAll(async () => {
	// 0.5: an 8 s clip runs 4 s; the simulator gives n8n up to a minute to answer a callback (2 cores).
	sim = await startSimulator({ timeScale: 0.5, webhookAnswerTimeoutMs: 60_000 });
	const started = Date.now();
	stack = await startQueueStack({ workers: 2, workerConcurrency: 5 });
	report(`main, webhook process and 2 workers ready in ${Math.round((Date.now() - started) / 1000)} s`);
	credential = await createSimulatorCredential(stack.main, sim);
}, 600_000);

afterAll(async () => {
	await stack?.stop();
	await sim?.close();
});

/** Calls a production webhook at the webhook process, retrying the 404 of the moment after activation. */
async function callWebhook(path: string, body: unknown): Promise<number> {
	const deadline = Date.now() + 30_000;
	for (;;) {
		const response = await fetch(stack.webhookUrl(path), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
		await response.arrayBuffer();
		if (response.status !== 404 || Date.now() > deadline) return response.status;
		await sleep(250);
	}
}

async function waitForExecutions(workflowId: string, count: number, accept: (execution: N8nExecution) => boolean, timeoutMs = 240_000): Promise<N8nExecution[]> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const all = await executionsWithData(stack.main, workflowId);
		const matching = all.filter(accept);
		if (matching.length >= count) return matching;
		if (Date.now() > deadline) {
			throw new Error(`${matching.length}/${count} executions of ${workflowId} as expected (saw ${all.map((e) => `${e.id}:${e.status}`).join(', ')})\n${stack.logs(30)}`);
		}
		await sleep(500);
	}
}

const finished = (execution: N8nExecution) => ['success', 'error', 'crashed', 'canceled'].includes(execution.status);

describe('Poll mode on a worker', () => {
	it('a 20-item batch: every output is its own prompt\'s finished job, in order, 2 requests per job', async () => {
		sim.clearLog();
		const path = 'queue-poll-batch';
		const workflowId = await stack.main.createWorkflow(promptBatchWorkflow({ name: 'queue: 20-item poll batch', path, credential }));
		await stack.main.activateWorkflow(workflowId);
		const prompts = Array.from({ length: 20 }, (_, i) => `[sim:seconds=8] queue clip ${i}`);
		expect(await callWebhook(path, { prompts })).toBe(200);
		const [execution] = await waitForExecutions(workflowId, 1, finished);
		expect(execution.status).toBe('success');
		const outputs = nodeOutput(execution, 'Batch');
		expect(outputs).toHaveLength(20);
		const accepted = generateRequests(sim).filter((entry) => entry.status === 200);
		expect(accepted).toHaveLength(20);
		outputs.forEach((item, i) => {
			const jobId = String(item.json.jobId);
			const generate = accepted.filter((entry) => entry.jobId === jobId);
			expect(generate).toHaveLength(1);
			expect((generate[0].body as { prompt: string }).prompt).toBe(prompts[i]);
			expect(item.json.status).toBe('done');
			expect(item.pairedItem).toEqual({ item: i });
		});
		const requests = outputs.reduce((sum, item) => sum + apiRequestsForJob(sim, String(item.json.jobId)).length, 0);
		report(`poll batch of 20 on a worker: ${requests} API requests for 20 jobs (${(requests / 20).toFixed(2)} per job), peak ${sim.maxInFlight()} concurrent jobs`);
	});
});

describe('Callback mode', () => {
	it('executions wait with no worker slot busy; each signed callback resumes its execution exactly once', async () => {
		sim.clearLog();
		const path = 'queue-callback';
		const workflowId = await stack.main.createWorkflow(
			callbackTextToVideoWorkflow({ name: 'queue: callback', path, credential, nodeName: 'Callback Clip', afterName: 'After Callback', downloadOutput: false }),
		);
		await stack.main.activateWorkflow(workflowId);
		const runs = 5;
		for (let i = 0; i < runs; i++) expect(await callWebhook(path, { prompt: `[sim:seconds=40] queue callback ${i}` })).toBe(200);
		// All five paused: n8n frees the worker for a wait longer than 65 s (the node waits up to Max Wait).
		await waitForExecutions(workflowId, runs, (execution) => execution.status === 'waiting', 120_000);
		const busySamples: number[] = [];
		for (let i = 0; i < 10; i++) {
			busySamples.push(await stack.busyWorkerSlots());
			await sleep(300);
		}
		report(`callback: ${runs} executions waiting; busy worker slots while they wait: max ${Math.max(...busySamples)} of 10 (${busySamples.length} samples)`);
		expect(Math.max(...busySamples)).toBe(0);
		const done = await waitForExecutions(workflowId, runs, finished, 240_000);
		for (const execution of done) {
			expect(execution.status).toBe('success');
			const [item] = nodeOutput(execution, 'After Callback');
			expect(item.json.status).toBe('done');
		}
		// Each job's one event was delivered once and answered 200; no execution ran twice.
		const jobIds = done.map((execution) => String(nodeOutput(execution, 'After Callback')[0].json.jobId));
		expect(new Set(jobIds).size).toBe(runs);
		for (const jobId of jobIds) {
			const deliveries = sim.webhookDeliveries.filter((delivery) => delivery.jobId === jobId);
			expect(deliveries.map((delivery) => delivery.status)).toEqual([200]);
			// Callback mode never polls: the generate is the job's only API request.
			expect(apiRequestsForJob(sim, jobId)).toHaveLength(1);
		}
		expect(await executionsWithData(stack.main, workflowId)).toHaveLength(runs);
	});
});

describe('Trigger at the webhook process', () => {
	it('4 deliveries of one event start 1 run; forged ones get 401; a burst of 50 starts 50 and, after every process restarts, their redeliveries start none', async () => {
		const { workflow, webhookId, triggerName } = geminiOmniTriggerWorkflow({ name: 'queue: trigger', credential, downloadOutput: false });
		const workflowId = await stack.main.createWorkflow(workflow);
		await stack.main.activateWorkflow(workflowId);
		const url = stack.webhookUrl(triggerWebhookPath(webhookId));
		await waitUntilTriggerListens(sim, url, 30_000);
		const runsFor = async () => (await executionsWithData(stack.main, workflowId)).map((execution) => String(nodeOutput(execution, triggerName)[0]?.json.jobId));

		// One event, 4 times (2 at once, then 2 more), and a forged copy.
		const { jobId } = await submitJobToSimulator(sim, { model: 'gemini-omni-video', prompt: '[sim:seconds=1] one event' });
		await waitForSimulatorJob(sim, jobId);
		const [firstDelivery] = await sim.redeliverWebhook(jobId, { url, times: 2, concurrent: true });
		await sim.redeliverWebhook(jobId, { url, times: 2 });
		const forged = await sim.sendSignedWebhook(url, firstDelivery.body.replace(jobId, 'job_forged'), { signature: firstDelivery.signature });
		expect(forged.status).toBe(401);
		await sleep(3_000);
		expect(await runsFor()).toEqual([jobId]);
		report('trigger: 4 deliveries of one event (2 at once) → 1 execution; forged → 401, 0 executions');

		// A burst of 50 completions (a key with room for 50 jobs at once: this part is about the trigger).
		const batchKey = `gomni_${'b'.repeat(64)}`;
		sim.addKey({ key: batchKey, plan: 'premium', limits: { concurrent: 50, perMinute: 1_000, perHour: 10_000 } });
		const burstJobs = await Promise.all(
			Array.from({ length: 50 }, async (_, i) => (await submitJobToSimulator(sim, { model: 'gemini-omni-video', prompt: `[sim:seconds=1] burst ${i}` }, batchKey)).jobId),
		);
		for (const id of burstJobs) await waitForSimulatorJob(sim, id);
		const burst = await Promise.all(burstJobs.map(async (id) => await sim.redeliverWebhook(id, { url })));
		expect(burst.flat().map((delivery) => delivery.status)).toEqual(burstJobs.map(() => 200));
		const deadline = Date.now() + 180_000;
		while ((await runsFor()).length < 51 && Date.now() < deadline) await sleep(1_000);
		expect((await runsFor()).filter((id) => id !== jobId).sort()).toEqual([...burstJobs].sort());

		const restartStarted = Date.now();
		await stack.restartAll();
		report(`restart of main, webhook process and both workers: ${Math.round((Date.now() - restartStarted) / 1000)} s`);
		await waitUntilTriggerListens(sim, url, 60_000);
		const redeliveries = await Promise.all(burstJobs.map(async (id) => await sim.redeliverWebhook(id, { url })));
		expect(redeliveries.flat().map((delivery) => delivery.status)).toEqual(burstJobs.map(() => 200));
		await sleep(5_000);
		const after = await runsFor();
		report(`trigger: burst of 50 → ${after.length - 1} executions; after restarting every process, 50 redeliveries → ${after.length - 51} executions`);
		expect(after).toHaveLength(51);
	});
});
