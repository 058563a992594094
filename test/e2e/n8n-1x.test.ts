/**
 * The package on n8n 1.x (1.123.81, the newest 1.x), on Node 20 as its users run it: a 100-item batch
 * that submits, polls and downloads every job, with n8n's default in-memory binary data. Node 20
 * prints "MaxListenersExceededWarning: Possible EventTarget memory leak" once more than 10 listeners
 * sit on one abort signal (issue 11.9; Node 24 stays silent), so n8n's own output is read for it.
 */
import { startSimulator, type Simulator } from '../../simulator';
import { N8N_1X_VERSION, startN8n, type N8nInstance } from '../../scripts/lib/n8n-instance';
import { GEMINI_OMNI_CREDENTIAL_TYPE, type CredentialReference } from '../../scripts/lib/workflows';
import { generateRequests, promptBatchWorkflow } from './support';

jest.setTimeout(480_000);

let sim: Simulator;
let n8n: N8nInstance;
let credential: CredentialReference;

beforeAll(async () => {
	sim = await startSimulator({ timeScale: 0.05 });
	n8n = await startN8n({ n8nVersion: N8N_1X_VERSION });
	const id = await n8n.createCredential('Gemini Omni (simulator, Premium)', GEMINI_OMNI_CREDENTIAL_TYPE, {
		apiKey: sim.keys.premium,
		baseUrl: sim.url,
		plan: 'premium',
		webhookSecret: sim.webhookSecret,
	});
	credential = { id, name: 'Gemini Omni (simulator, Premium)' };
}, 300_000);
afterAll(async () => {
	await n8n?.stop();
	await sim?.close();
});

it('runs on n8n 1.x under Node 20', async () => {
	const version = await n8n.rest<{ versionCli?: string }>('GET', '/settings');
	expect(version.versionCli).toBe(N8N_1X_VERSION);
	expect(n8n.logs(2000)).not.toMatch(/Node\.js version .* is currently not supported/);
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
