/**
 * A 50-item batch in the REAL n8n application (issue #11): one item fails late, with Continue On Fail
 * off, and the execution's error names every accepted job with its state, the finished ones with their
 * outputUrl, so nothing paid is lost. Then the user's Stop on a running batch: nothing is sent after
 * it, and the accepted jobs are in n8n's log (n8n keeps no output of the stopped node).
 */
import { startSimulator, type Simulator } from '../../simulator';
import type { N8nInstance } from '../../scripts/lib/n8n-instance';
import type { CredentialReference } from '../../scripts/lib/workflows';
import { createSimulatorCredential, generateRequests, promptBatchWorkflow, sleep, sharedN8n } from './support';

jest.setTimeout(420_000);

let sim: Simulator;
let n8n: N8nInstance;
let credential: CredentialReference;

beforeAll(async () => {
	sim = await startSimulator({ timeScale: 0.05, ownKeys: true });
	n8n = await sharedN8n();
	credential = await createSimulatorCredential(n8n, sim, { plan: 'premium' });
}, 240_000);
afterAll(async () => {
	await n8n?.stop();
	await sim?.close();
});

async function batchWorkflow(path: string): Promise<string> {
	const workflow = promptBatchWorkflow({ name: `e2e ${path}`, path, credential });
	const workflowId = await n8n.createWorkflow(workflow);
	await n8n.activateWorkflow(workflowId);
	return workflowId;
}

it('a late failure in a 50-item batch names all 49 other jobs with their state and outputUrl', async () => {
	const workflowId = await batchWorkflow('e2e-batch-late-failure');
	sim.clearLog();
	const prompts = Array.from({ length: 50 }, (_, i) => (i === 37 ? `row ${i} [sim:seconds=600] [sim:fail=Late failure]` : `row ${i} [sim:seconds=2]`));
	expect((await n8n.callWebhook('e2e-batch-late-failure', { prompts })).status).toBe(200);
	const execution = await n8n.waitForExecution(workflowId, { timeoutMs: 360_000 });
	expect(execution.status).toBe('error');
	const error = execution.data?.resultData?.error ?? {};
	const jobByPrompt = new Map(generateRequests(sim).filter((entry) => entry.status === 200).map((entry) => [(entry.body as { prompt: string }).prompt, String(entry.jobId)]));
	expect(jobByPrompt.size).toBe(50);
	expect(String(error.message)).toContain(`Job ${jobByPrompt.get(prompts[37])} failed: Late failure`);
	const description = String(error.description);
	for (const [index, prompt] of prompts.entries()) {
		if (index === 37) continue;
		const job = sim.getJob(jobByPrompt.get(prompt)!);
		expect(description).toContain(`${job?.jobId} (item ${index}): done, outputUrl ${job?.outputUrl}`);
	}
	expect(generateRequests(sim)).toHaveLength(50);
});

it('after the user’s Stop nothing is sent, and the accepted jobs are in n8n’s log', async () => {
	const workflowId = await batchWorkflow('e2e-batch-stop');
	sim.clearLog();
	const prompts = Array.from({ length: 20 }, (_, i) => `long ${i} [sim:seconds=6000]`);
	expect((await n8n.callWebhook('e2e-batch-stop', { prompts })).status).toBe(200);
	// Premium: 10 jobs at once; wait until they are accepted.
	const deadline = Date.now() + 60_000;
	while (generateRequests(sim).filter((entry) => entry.status === 200).length < 10) {
		if (Date.now() > deadline) throw new Error('The batch never had 10 jobs accepted');
		await sleep(100);
	}
	// The public API lists running executions only when asked for them by status.
	const listed = await n8n.api<{ data: Array<{ id: string; status: string }> }>('GET', `/executions?workflowId=${workflowId}&status=running`);
	const [running] = listed.data;
	expect(running).toBeDefined();
	await n8n.rest('POST', `/executions/${running.id}/stop`);
	const stoppedAt = Date.now();
	const stopped = await n8n.waitForExecutionState(running.id, (candidate) => candidate.status !== 'running' && candidate.status !== 'new', { timeoutMs: 30_000 });
	expect(['canceled', 'error']).toContain(stopped.status);
	await sleep(2_000);
	expect(sim.log.filter((entry) => entry.at > stoppedAt + 200)).toEqual([]);
	const accepted = generateRequests(sim).filter((entry) => entry.status === 200).map((entry) => String(entry.jobId));
	expect(accepted).toHaveLength(10);
	const warning = n8n.logs(400).split('\n').find((line) => line.includes('Gemini Omni: execution stopped; accepted jobs'));
	expect(warning).toBeDefined();
	for (const jobId of accepted) expect(warning).toContain(jobId);
});
