/**
 * Wait Mode "Callback" in the REAL n8n application (issue #6): the node submits the job with the
 * execution's resume URL as callbackUrl and pauses it; the simulator, when the job ends, POSTs the
 * signed event to that URL by itself, and n8n resumes the execution through the node's webhook.
 *
 * The workflow: Webhook (answers on receipt, so the call returns while the execution waits) → Gemini
 * Omni Text to Video (Wait Mode Callback, Download Output on) → No Operation ("the rest of the workflow").
 */
import { createHmac } from 'node:crypto';

import { startSimulator, type Simulator, type WebhookDelivery } from '../../simulator';
import type { N8nExecution, N8nInstance } from '../../scripts/lib/n8n-instance';
import { nodeOutput, nodeRuns, type CredentialReference } from '../../scripts/lib/workflows';
import {
	apiRequestsForJob,
	bytesSentForJob,
	callbackTextToVideoWorkflow,
	createSimulatorCredential,
	generateRequests,
	sleep,
	storageRequestsForJob,
	sharedN8n,
} from './support';

jest.setTimeout(120_000);

const PATH = 'e2e-callback-text-to-video';
const NODE = 'Text to Video (Callback)';
const AFTER = 'After the Callback';
const FINISHED = new Set(['success', 'error', 'crashed', 'canceled']);

let sim: Simulator;
let n8n: N8nInstance;
let credential: CredentialReference;
let workflowId: string;

beforeAll(async () => {
	// 0.5: a "[sim:seconds=12]" job runs 6 s — time to see the execution waiting and to send a forged
	// callback first — and the simulator gives n8n 5 s to answer its callback.
	sim = await startSimulator({ timeScale: 0.5, ownKeys: true });
	n8n = await sharedN8n();
	credential = await createSimulatorCredential(n8n, sim);
	const workflow = callbackTextToVideoWorkflow({
		name: 'e2e callback wait',
		path: PATH,
		credential,
		nodeName: NODE,
		afterName: AFTER,
		downloadOutput: true,
	});
	workflowId = await n8n.createWorkflow(workflow);
	await n8n.activateWorkflow(workflowId);
}, 240_000);

afterAll(async () => {
	await n8n?.stop();
	await sim?.close();
});

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = probe();
		if (value !== undefined) return value;
		if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
		await sleep(50);
	}
}

function lastRun(execution: N8nExecution, node: string) {
	const runs = nodeRuns(execution, node);
	return { runs: runs.length, items: nodeOutput(execution, node, runs.length - 1) };
}

it('pauses until the signed callback: a forged one gets 401 and changes nothing, the genuine one resumes it with the job and its file, without a single poll', async () => {
	sim.clearLog();
	const trigger = await n8n.callWebhook<Record<string, unknown>>(PATH, { prompt: '[sim:seconds=12] A calm sea at dawn, slow pan' });
	expect(trigger.status).toBe(200);

	// The one generate request, carrying the execution's resume URL.
	const generate = await until('the generate request', () => generateRequests(sim)[0]);
	expect(generate.status).toBe(200);
	const jobId = String(generate.jobId);
	const callbackUrl = String((generate.body as { callbackUrl?: string }).callbackUrl);
	const listed = await listedExecutions();
	expect(listed).toHaveLength(1);
	const [execution] = listed;
	expect(callbackUrl.startsWith(`${n8n.baseUrl}/webhook-waiting/${execution.id}`)).toBe(true);

	// Paused, with the job accepted and the rest of the workflow not run.
	const waiting = await n8n.waitForExecutionState(execution.id, (candidate) => candidate.status === 'waiting', {
		what: 'waiting',
	});
	expect(sim.getJob(jobId)?.status).not.toBe('done');
	expect(nodeRuns(waiting, AFTER)).toEqual([]);

	// A forged callback (well-formed signature made with another secret) and an unsigned one: 401.
	const body = JSON.stringify({
		event: 'job.completed',
		jobId,
		status: 'done',
		outputUrl: `${sim.url}/r2/omni/${jobId}/output.mp4?expires=9999999999&sig=${'0'.repeat(64)}`,
		creditCost: 90,
		model: 'gemini-omni-video',
		timestamp: new Date().toISOString(),
	});
	const forgedSignature = createHmac('sha256', 'not-the-account-secret').update(body).digest('hex');
	const forged = await sim.sendSignedWebhook(callbackUrl, body, { signature: forgedSignature });
	const unsigned = await sim.sendSignedWebhook(callbackUrl, body, { signature: null });
	expect(forged.status).toBe(401);
	expect(unsigned.status).toBe(401);
	const stillWaiting = await n8n.getExecution(execution.id, true);
	expect(stillWaiting.status).toBe('waiting');
	expect(nodeRuns(stillWaiting, AFTER)).toEqual([]);
	expect(sim.getJob(jobId)?.status).not.toBe('done');

	// The simulator's own signed callback when the job ends.
	const delivery = await until<WebhookDelivery>('the simulator’s callback', () =>
		sim.webhookDeliveries.find((candidate) => candidate.jobId === jobId),
	);
	expect(delivery).toMatchObject({ url: callbackUrl, event: 'job.completed', attempt: 1, status: 200 });
	const resumed = await n8n.waitForExecutionState(execution.id, (candidate) => FINISHED.has(candidate.status), {
		what: 'finished',
		timeoutMs: 30_000,
	});
	expect(resumed.status).toBe('success');

	// The node's output: the job as the callback reported it, and the file storage sent.
	const { items } = lastRun(resumed, NODE);
	expect(items).toHaveLength(1);
	const [item] = items;
	const job = sim.getJob(jobId);
	expect(item.json).toMatchObject({ jobId, status: 'done', model: 'gemini-omni-video', outputUrl: job?.outputUrl, creditCost: job?.creditCost });
	// Only the job: no leftover of the pause, no error.
	expect(item.json).not.toHaveProperty('geminiOmniPendingJob');
	expect(item.json).not.toHaveProperty('error');
	const bytesSent = await bytesSentForJob(sim, jobId);
	expect(item.binary?.data).toMatchObject({ mimeType: 'video/mp4', fileName: `${jobId}.mp4`, bytes: bytesSent });
	// ...and the rest of the workflow ran once with it.
	expect(nodeRuns(resumed, AFTER)).toHaveLength(1);
	expect(nodeOutput(resumed, AFTER).map((output) => output.json.jobId)).toEqual([jobId]);

	// One API request for the job (the generate), no polls, one download.
	expect(apiRequestsForJob(sim, jobId).map(({ method, path }) => `${method} ${path}`)).toEqual(['POST /api/v1/generate']);
	expect(sim.log.filter((entry) => entry.kind === 'api' && entry.path.startsWith('/api/v1/jobs/'))).toEqual([]);
	expect(storageRequestsForJob(sim, jobId)).toHaveLength(1);

	// A retried callback after the resume starts nothing more.
	const [retried] = await sim.redeliverWebhook(jobId);
	// n8n 2.41.1 answers 409 for an execution that is no longer waiting: refused, not crashed.
	expect(retried.status).toBe(409);
	await sleep(1_500);
	const executions = await n8n.listExecutions(workflowId);
	expect(executions.map((candidate) => candidate.id)).toEqual([execution.id]);
	const afterRetry = await n8n.getExecution(execution.id, true);
	expect(afterRetry.status).toBe('success');
	expect(nodeRuns(afterRetry, AFTER)).toHaveLength(1);
	expect(storageRequestsForJob(sim, jobId)).toHaveLength(1);
	const health = await fetch(`${n8n.baseUrl}/healthz`);
	expect(health.status).toBe(200);
});

async function listedExecutions(): Promise<N8nExecution[]> {
	const deadline = Date.now() + 20_000;
	for (;;) {
		const executions = await n8n.listExecutions(workflowId);
		if (executions.length > 0) return executions;
		if (Date.now() > deadline) throw new Error('No execution was listed');
		await sleep(200);
	}
}
