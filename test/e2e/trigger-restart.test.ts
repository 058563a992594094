/**
 * The trigger's dedup memory in the REAL n8n application, under a burst and across a restart
 * (issue 11.14). n8n loads and saves a workflow's whole static data per webhook request, so 50
 * deliveries at the same moment race on it; n8n's in-process state is gone after a restart, so only
 * what was saved can recognise the platform's redeliveries then.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';

import { startSimulator, type Simulator } from '../../simulator';
import { scratchFolder, startN8n, type N8nInstance } from '../../scripts/lib/n8n-instance';
import { geminiOmniTriggerWorkflow, nodeOutput, triggerWebhookPath } from '../../scripts/lib/workflows';
import { createSimulatorCredential, executionsWithData, sleep, submitJobToSimulator, waitForSimulatorJob, waitUntilTriggerListens } from './support';

jest.setTimeout(420_000);

const BURST = 50;
let sim: Simulator;
let n8n: N8nInstance | undefined;
let userFolder: string;

beforeAll(async () => {
	// n8n on 2 cores takes seconds to answer 50 requests at once: the simulator waits up to a minute.
	sim = await startSimulator({ timeScale: 0.5, webhookAnswerTimeoutMs: 60_000 });
	userFolder = scratchFolder('n8n-restart-');
});
afterAll(async () => {
	await n8n?.stop();
	await sim?.close();
	rmSync(userFolder, { recursive: true, force: true });
});

/** Job IDs that the workflow's executions were started for, one entry per execution. */
async function jobsThatStartedRuns(instance: N8nInstance, workflowId: string, triggerName: string): Promise<string[]> {
	const executions = await executionsWithData(instance, workflowId);
	return executions.map((execution) => String(nodeOutput(execution, triggerName)[0]?.json.jobId));
}

async function waitForRunCount(instance: N8nInstance, workflowId: string, triggerName: string, count: number): Promise<string[]> {
	const deadline = Date.now() + 120_000;
	for (;;) {
		const jobs = await jobsThatStartedRuns(instance, workflowId, triggerName);
		if (jobs.length >= count || Date.now() > deadline) return jobs;
		await sleep(500);
	}
}

it(`a burst of ${BURST} completions starts ${BURST} runs; after a restart, their redeliveries start none`, async () => {
	n8n = await startN8n({ userFolder, keepFolder: true });
	const credential = await createSimulatorCredential(n8n, sim);
	const { workflow, webhookId, triggerName } = geminiOmniTriggerWorkflow({ name: 'e2e trigger: burst and restart', credential, downloadOutput: false });
	const workflowId = await n8n.createWorkflow(workflow);
	await n8n.activateWorkflow(workflowId);
	let url = n8n.webhookUrl(triggerWebhookPath(webhookId));
	await waitUntilTriggerListens(sim, url);

	// A 50-job batch finishing: its 50 completion events, delivered all at the same moment. (The jobs
	// come from a key of their own with room for all 50 at once: this test is about the trigger.)
	const batchKey = `gomni_${randomBytes(32).toString('hex')}`;
	sim.addKey({ key: batchKey, plan: 'premium', limits: { concurrent: BURST, perMinute: 1_000, perHour: 10_000 } });
	const jobIds = await Promise.all(
		Array.from({ length: BURST }, async (_, i) => {
			const { jobId } = await submitJobToSimulator(sim, { model: 'gemini-omni-video', prompt: `[sim:seconds=1] clip ${i}` }, batchKey);
			return jobId;
		}),
	);
	for (const jobId of jobIds) await waitForSimulatorJob(sim, jobId);
	const burst = await Promise.all(jobIds.map(async (jobId) => await sim.redeliverWebhook(jobId, { url })));
	expect(burst.flat().map((delivery) => delivery.status)).toEqual(jobIds.map(() => 200));
	const started = await waitForRunCount(n8n, workflowId, triggerName, BURST);
	expect(started.sort()).toEqual([...jobIds].sort());

	// A restart: n8n's memory is gone; the workflow is still active and listens again.
	await n8n.stop();
	n8n = await startN8n({ userFolder, keepFolder: true });
	url = n8n.webhookUrl(triggerWebhookPath(webhookId));
	await waitUntilTriggerListens(sim, url, 60_000);

	// The platform retries all 50 (again all at once), as it does when it missed n8n's answers.
	const redeliveries = await Promise.all(jobIds.map(async (jobId) => await sim.redeliverWebhook(jobId, { url })));
	expect(redeliveries.flat().map((delivery) => delivery.status)).toEqual(jobIds.map(() => 200));
	await sleep(5_000);
	const afterRestart = await jobsThatStartedRuns(n8n, workflowId, triggerName);
	expect(afterRestart).toHaveLength(BURST);

	// Still live, not just silent: a new job's event starts exactly one run.
	const { jobId: fresh } = await submitJobToSimulator(sim, { model: 'gemini-omni-video', prompt: '[sim:seconds=1] one more' });
	await waitForSimulatorJob(sim, fresh);
	await sim.redeliverWebhook(fresh, { url });
	const withFresh = await waitForRunCount(n8n, workflowId, triggerName, BURST + 1);
	expect(withFresh.filter((jobId) => jobId === fresh)).toHaveLength(1);
});
