/**
 * Paid once, across runs (issue #20), in the REAL n8n application: a batch whose item fails late ends
 * in error; n8n's Retry of that execution (original or saved workflow) submits only the failed item and
 * ends with all five items and the four earlier jobs' files. Retry On Fail does the same inside one
 * execution; with Reuse Paid Jobs on Retry off, a retry submits all five again. Max Credits per
 * Execution stops at its cap, and the credits an execution got accepted are shown with it.
 */
import { randomUUID } from 'node:crypto';

import { startSimulator, type Simulator } from '../../simulator';
import type { N8nExecution, N8nInstance } from '../../scripts/lib/n8n-instance';
import { nodeOutput, type CredentialReference } from '../../scripts/lib/workflows';
import { createSimulatorCredential, generateRequests, promptBatchWorkflow, sharedN8n } from './support';

jest.setTimeout(300_000);

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

const accepted = () => generateRequests(sim).filter((entry) => entry.status === 200);
const promptOf = (entry: { body?: unknown }) => (entry.body as { prompt: string }).prompt;
/** Five prompts; the third fails late the first time it is submitted (a transient model failure). */
const fivePrompts = () => {
	const tag = randomUUID().slice(0, 8);
	return Array.from({ length: 5 }, (_, i) => (i === 2 ? `${tag} ${i} [sim:seconds=200] [sim:failonce=Late failure]` : `${tag} ${i} [sim:seconds=2]`));
};

async function batch(path: string, extra: Parameters<typeof promptBatchWorkflow>[0] extends infer O ? Partial<O> : never = {}): Promise<string> {
	const workflowId = await n8n.createWorkflow(promptBatchWorkflow({ name: `e2e ${path}`, path, credential, ...extra }));
	await n8n.activateWorkflow(workflowId);
	return workflowId;
}

/** Runs the batch once: it must end in error (item 2's job failed). */
async function failedRun(workflowId: string, path: string, prompts: string[]): Promise<N8nExecution> {
	sim.clearLog();
	expect((await n8n.callWebhook(path, { prompts })).status).toBe(200);
	const execution = await n8n.waitForExecution(workflowId, { timeoutMs: 120_000 });
	expect(execution.status).toBe('error');
	expect(String(execution.data?.resultData?.error?.message)).toContain('Late failure');
	expect(accepted()).toHaveLength(5);
	return execution;
}

/** n8n's Retry of a failed execution, as the executions list's "Retry" menu does it. */
async function retry(workflowId: string, failed: N8nExecution, loadWorkflow: boolean): Promise<N8nExecution> {
	sim.clearLog();
	await n8n.rest('POST', `/executions/${failed.id}/retry`, { loadWorkflow });
	return await n8n.waitForExecution(workflowId, { timeoutMs: 120_000, accept: (execution) => Number(execution.id) > Number(failed.id) });
}

function expectFiveWithEarlierJobs(retried: N8nExecution, prompts: string[], earlier: Map<string, string>): void {
	expect(retried.status).toBe('success');
	const resubmitted = accepted();
	expect(resubmitted.map(promptOf)).toEqual([prompts[2]]);
	const items = nodeOutput(retried, 'Batch');
	expect(items).toHaveLength(5);
	items.forEach((item, i) => {
		expect(item.json.status).toBe('done');
		expect(item.binary?.data?.fileSize).toBeDefined();
		expect(item.json.jobId).toBe(i === 2 ? resubmitted[0].jobId : earlier.get(prompts[i]));
	});
}

it('Retry of a failed execution (original workflow, then saved workflow) submits only the failed item', async () => {
	for (const loadWorkflow of [false, true]) {
		const path = `e2e-paid-once-retry-${loadWorkflow ? 'saved' : 'original'}`;
		const workflowId = await batch(path);
		const prompts = fivePrompts();
		const failed = await failedRun(workflowId, path, prompts);
		const earlier = new Map(accepted().map((entry) => [promptOf(entry), String(entry.jobId)]));
		const retried = await retry(workflowId, failed, loadWorkflow);
		expect(retried.mode).toBe('retry');
		expectFiveWithEarlierJobs(retried, prompts, earlier);
	}
});

it('Retry On Fail (max tries 2) submits only the failed item again, inside one execution', async () => {
	const path = 'e2e-paid-once-retry-on-fail';
	const workflowId = await batch(path, { settings: { retryOnFail: true, maxTries: 2, waitBetweenTries: 0 } });
	const prompts = fivePrompts();
	sim.clearLog();
	expect((await n8n.callWebhook(path, { prompts })).status).toBe(200);
	const execution = await n8n.waitForExecution(workflowId, { timeoutMs: 120_000 });
	expect(execution.status).toBe('success');
	const submitted = accepted().map(promptOf);
	expect(submitted).toHaveLength(6);
	expect(submitted.filter((prompt) => prompt === prompts[2])).toHaveLength(2);
	const items = nodeOutput(execution, 'Batch');
	expect(items.map((item) => item.json.status)).toEqual(['done', 'done', 'done', 'done', 'done']);
});

it('with Reuse Paid Jobs on Retry off, the Retry submits all five again', async () => {
	const path = 'e2e-paid-once-reuse-off';
	const workflowId = await batch(path, { parameters: { options: { reusePaidJobs: false } } });
	const prompts = fivePrompts();
	const failed = await failedRun(workflowId, path, prompts);
	const retried = await retry(workflowId, failed, false);
	expect(retried.status).toBe('success');
	expect(accepted()).toHaveLength(5);
});

it('Max Credits per Execution 450, ten 150-credit items: 3 submitted, 7 cap errors, 450 credits shown with the execution', async () => {
	const path = 'e2e-paid-once-cap';
	const workflowId = await batch(path, { parameters: { resolution: '1080p', duration: 8, options: { maxCreditsPerExecution: 450 } }, onError: 'continueRegularOutput' });
	const tag = randomUUID().slice(0, 8);
	sim.clearLog();
	expect((await n8n.callWebhook(path, { prompts: Array.from({ length: 10 }, (_, i) => `${tag} ${i} [sim:seconds=2]`) })).status).toBe(200);
	const execution = await n8n.waitForExecution(workflowId, { timeoutMs: 120_000 });
	expect(execution.status).toBe('success');
	expect(accepted()).toHaveLength(3);
	const items = nodeOutput(execution, 'Batch');
	expect(items.filter((item) => item.json.status === 'done')).toHaveLength(3);
	const refused = items.filter((item) => String(item.json.error ?? '').includes('Max Credits per Execution reached: 450 of 450 credits accepted'));
	expect(refused).toHaveLength(7);
	// Where n8n shows a run's figures: the execution's custom data.
	const shown = await n8n.rest<{ data?: { customData?: Record<string, string> }; customData?: Record<string, string> }>('GET', `/executions/${execution.id}`);
	const customData = shown.data?.customData ?? shown.customData;
	expect(customData?.geminiOmniCredits).toBe('450');
});
