/**
 * The package on n8n 1.x (1.123.81, the newest 1.x), on Node 20 as its users run it: the smoke set
 * behind the README's Compatibility table — the nodes load, Job → Get, Wait Mode "Callback" resumed by
 * the signed callback, the trigger (a forged delivery refused, the genuine one starting one run), the
 * credential's "Test connection" (good, unknown and Starter keys, a server that is not the API) — and
 * a 100-item batch that submits, polls and downloads every job with n8n's default in-memory binary
 * data. Node 20 prints "MaxListenersExceededWarning: Possible EventTarget memory leak" once more than
 * 10 listeners sit on one abort signal (issue 11.9; Node 24 stays silent), so n8n's output is read for it.
 */
import { createHmac } from 'node:crypto';

import { startSimulator, type Simulator } from '../../simulator';
import { CREDENTIAL_TEST_MESSAGES } from '../../nodes/GeminiOmni/transport/apiKey';
import { N8N_1X_VERSION, startN8n, type N8nInstance } from '../../scripts/lib/n8n-instance';
import {
	GEMINI_OMNI_CREDENTIAL_TYPE,
	geminiOmniTriggerWorkflow,
	jobGetStep,
	nodeOutput,
	triggerWebhookPath,
	webhookWorkflow,
	type CredentialReference,
} from '../../scripts/lib/workflows';
import {
	callbackTextToVideoWorkflow,
	createSimulatorCredential,
	executionsWithData,
	generateRequestFor,
	generateRequests,
	promptBatchWorkflow,
	sleep,
	startNotFoundServer,
	submitJobToSimulator,
	testConnection,
	waitForSimulatorJob,
	waitUntilTriggerListens,
} from './support';

jest.setTimeout(480_000);

let sim: Simulator;
let n8n: N8nInstance;
let credential: CredentialReference;

beforeAll(async () => {
	// Jobs run at 1/20 of their time; n8n gets 10 s to answer a delivery, as from the platform.
	sim = await startSimulator({ timeScale: 0.05, webhookAnswerTimeoutMs: 10_000 });
	n8n = await startN8n({ n8nVersion: N8N_1X_VERSION });
	credential = await createSimulatorCredential(n8n, sim, { plan: 'premium' });
	// On a fresh clone the start first waits for n8n 1.x to finish installing (scripts/toolchain.cjs).
}, 900_000);
afterAll(async () => {
	await n8n?.stop();
	await sim?.close();
});

it('runs on n8n 1.x under Node 20', async () => {
	const version = await n8n.rest<{ versionCli?: string }>('GET', '/settings');
	expect(version.versionCli).toBe(N8N_1X_VERSION);
	expect(n8n.logs(2000)).not.toMatch(/Node\.js version .* is currently not supported/);
});

it('loads both nodes and the credential', async () => {
	const types = (await n8n.nodeTypes()).map((type) => type.name);
	expect(types).toEqual(expect.arrayContaining(['n8n-nodes-gemini-omni.geminiOmni', 'n8n-nodes-gemini-omni.geminiOmniTrigger']));
	expect((await n8n.credentialTypes()).map((type) => type.name)).toContain(GEMINI_OMNI_CREDENTIAL_TYPE);
});

describe('"Test connection" on 1.x, which shows the rules no HTTP status', () => {
	it('passes for a good key, with one request answered by the API’s job-not-found', async () => {
		sim.clearLog();
		expect(await testConnection(n8n, sim.keys.pro, sim.url)).toEqual({ status: 'OK', message: 'Connection successful!' });
		expect(sim.log.filter((entry) => entry.kind === 'api').map((entry) => entry.status)).toEqual([404]);
	});

	it.each([
		['an unknown key (401)', () => `gomni_${'0'.repeat(64)}`, 401, CREDENTIAL_TEST_MESSAGES.invalidKey],
		['a Starter key (403)', () => sim.keys.starter, 403, CREDENTIAL_TEST_MESSAGES.starterPlan],
	])('fails for %s, with its message', async (_label, key, status, message) => {
		sim.clearLog();
		expect(await testConnection(n8n, key(), sim.url)).toEqual({ status: 'Error', message });
		const statuses = sim.log.filter((entry) => entry.kind === 'api').map((entry) => entry.status);
		expect(statuses.length).toBeGreaterThan(0);
		expect(new Set(statuses)).toEqual(new Set([status]));
	});

	it('fails for a good key at a Base URL answering an HTML 404 page', async () => {
		const other = await startNotFoundServer('text/html', '<html><body><h1>404 Not Found</h1><hr>nginx</body></html>');
		try {
			expect(await testConnection(n8n, sim.keys.pro, other.url)).toEqual({ status: 'Error', message: CREDENTIAL_TEST_MESSAGES.notTheApi });
			expect(other.requests).toEqual(['GET /api/v1/jobs/job_credential_test']);
		} finally {
			await other.close();
		}
	});
});

it('Job → Get returns the job a workflow asks for', async () => {
	const { jobId } = await submitJobToSimulator(sim, { model: 'gemini-omni-video', prompt: 'a kite [sim:seconds=20]' }, sim.keys.premium);
	await waitForSimulatorJob(sim, jobId);
	const workflowId = await n8n.createWorkflow(webhookWorkflow({ name: 'e2e 1.x job get', path: 'e2e-1x-job-get', steps: [jobGetStep(credential)] }));
	await n8n.activateWorkflow(workflowId);
	const answer = await n8n.callWebhook<{ jobId: string; status: string; outputUrl: string }>('e2e-1x-job-get', { jobId });
	expect(answer.status).toBe(200);
	expect(answer.body).toMatchObject({ jobId, status: 'done', outputUrl: sim.getJob(jobId)?.outputUrl });
});

it('Wait Mode "Callback": submitted with 1.x’s resume URL, no polling, resumed by the signed callback with the file', async () => {
	const workflowId = await n8n.createWorkflow(
		callbackTextToVideoWorkflow({ name: 'e2e 1.x callback', path: 'e2e-1x-callback', credential, nodeName: 'Callback', afterName: 'After', downloadOutput: true }),
	);
	await n8n.activateWorkflow(workflowId);
	sim.clearLog();
	expect((await n8n.callWebhook('e2e-1x-callback', { prompt: 'a harbour at night [sim:seconds=60]' })).status).toBe(200);
	const execution = await n8n.waitForExecution(workflowId, { timeoutMs: 60_000 });
	expect(execution.status).toBe('success');
	const [item] = nodeOutput(execution, 'After');
	expect(item.json).toMatchObject({ status: 'done' });
	expect(item.binary?.data?.mimeType).toBe('video/mp4');
	// Submitted once, with 1.x's resume URL, and resumed by the job's own callback (no polling).
	const submit = generateRequestFor(sim, String(item.json.jobId));
	expect(String(submit.body.callbackUrl)).toMatch(/\/webhook-waiting\/\d+/);
	expect(generateRequests(sim)).toHaveLength(1);
	expect(sim.log.filter((entry) => entry.method === 'GET' && entry.kind === 'api')).toHaveLength(0);
});

it('the trigger: a forged delivery gets 401 and starts nothing; the genuine one starts one run', async () => {
	const { workflow, webhookId, triggerName } = geminiOmniTriggerWorkflow({ name: 'e2e 1.x trigger', credential, downloadOutput: false });
	const workflowId = await n8n.createWorkflow(workflow);
	await n8n.activateWorkflow(workflowId);
	const url = n8n.webhookUrl(triggerWebhookPath(webhookId));
	await waitUntilTriggerListens(sim, url);
	const { jobId } = await submitJobToSimulator(sim, { model: 'gemini-omni-video', prompt: 'a meadow [sim:seconds=20]' }, sim.keys.premium);
	await waitForSimulatorJob(sim, jobId);
	const [silent] = await sim.redeliverWebhook(jobId, { url: 'http://127.0.0.1:9/nothing-listens-here' });
	const forged = await sim.sendSignedWebhook(url, silent.body, { signature: createHmac('sha256', 'not-the-account-secret').update(silent.body).digest('hex') });
	expect(forged.status).toBe(401);
	await sleep(1_500);
	expect(await n8n.listExecutions(workflowId)).toHaveLength(0);
	const [genuine] = await sim.redeliverWebhook(jobId, { url });
	expect(genuine.status).toBe(200);
	await n8n.waitForExecution(workflowId, { timeoutMs: 30_000 });
	await sim.redeliverWebhook(jobId, { url });
	await sleep(1_500);
	const runs = await executionsWithData(n8n, workflowId);
	expect(runs.map((run) => nodeOutput(run, triggerName)[0]?.json.jobId)).toEqual([jobId]);
});

it('a 100-item batch completes with every output, and Node 20 prints no MaxListenersExceededWarning', async () => {
	const workflow = promptBatchWorkflow({ name: 'e2e 1.x batch of 100', path: 'e2e-1x-batch', credential });
	const workflowId = await n8n.createWorkflow(workflow);
	await n8n.activateWorkflow(workflowId);
	sim.clearLog();
	const prompts = Array.from({ length: 100 }, (_, i) => `row ${i} [sim:seconds=${20 + (i % 9) * 10}] [sim:bytes=4096]`);
	expect((await n8n.callWebhook('e2e-1x-batch', { prompts })).status).toBe(200);
	const execution = await n8n.waitForExecution(workflowId, { timeoutMs: 420_000 });
	expect(execution.status).toBe('success');
	const items = execution.data?.resultData?.runData?.Batch?.[0]?.data?.main?.[0] ?? [];
	expect(items).toHaveLength(100);
	const jobIds = new Set(items.map((item) => String(item.json.jobId)));
	expect(jobIds.size).toBe(100);
	expect(items.every((item) => item.json.status === 'done' && item.binary?.data?.mimeType === 'video/mp4')).toBe(true);
	// Every job submitted once, and each job checked (the simulator's log holds every request).
	expect(generateRequests(sim).filter((entry) => entry.status === 200)).toHaveLength(100);
	expect(n8n.logs(5000)).not.toContain('MaxListenersExceededWarning');
});
