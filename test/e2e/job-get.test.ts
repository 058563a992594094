/**
 * The package inside the REAL n8n application (2.41.1, installed as a community package from its
 * npm-pack tarball), talking to the local Gemini Omni simulator. Workflows are created and activated
 * through n8n's public API and run through their production webhooks; what n8n recorded is read back
 * through the public API too. Needs `npm run build` and the pinned n8n (npm run test:e2e does both).
 */
import { sharedN8n } from './support';
import { startSimulator, type Simulator } from '../../simulator';
import type { HttpResult, N8nExecution, N8nInstance } from '../../scripts/lib/n8n-instance';
import {
	GEMINI_OMNI_CREDENTIAL_TYPE,
	GEMINI_OMNI_NODE_TYPE,
	jobGetStep,
	nodeError,
	nodeOutputItems,
	nodeRuns,
	webhookWorkflow,
	type CredentialReference,
	type WorkflowStep,
} from '../../scripts/lib/workflows';

// 64 characters after the prefix, like a real key, but not hexadecimal: the node must refuse it unsent.
const BADLY_FORMATTED_KEY = 'gomni_' + 'this-is-not-a-hexadecimal-key-'.repeat(3).slice(0, 64);

// Per test, set here: Jest 29 ignores a testTimeout inside a `projects` entry, leaving its 5 s default.
jest.setTimeout(120_000);

let sim: Simulator;
let n8n: N8nInstance;
/** Webhook path of each workflow, by what its Job → Get is set up with. */
const paths = {
	pro: 'e2e-job-get-pro',
	badKeyFormat: 'e2e-job-get-bad-key-format',
	starterContinueOnFail: 'e2e-job-get-starter-continue',
};
const workflowIds: Record<keyof typeof paths, string> = { pro: '', badKeyFormat: '', starterContinueOnFail: '' };

async function createCredential(name: string, apiKey: string): Promise<CredentialReference> {
	const id = await n8n.createCredential(name, GEMINI_OMNI_CREDENTIAL_TYPE, {
		apiKey,
		baseUrl: sim.url,
		plan: 'pro',
		webhookSecret: sim.webhookSecret,
	});
	return { id, name };
}

async function createActiveWorkflow(path: string, step: WorkflowStep): Promise<string> {
	const id = await n8n.createWorkflow(webhookWorkflow({ name: `e2e ${path}`, path, steps: [step] }));
	await n8n.activateWorkflow(id);
	return id;
}

/** A job created directly on the simulator (not through n8n), finished, as the API reports it. */
async function createFinishedJob(prompt: string): Promise<{ jobId: string }> {
	const response = await fetch(`${sim.url}/api/v1/generate`, {
		method: 'POST',
		headers: { authorization: `Bearer ${sim.keys.pro}`, 'content-type': 'application/json' },
		body: JSON.stringify({ model: 'gemini-omni-video', prompt }),
	});
	const created = (await response.json()) as { jobId?: string; status?: string };
	expect(response.status).toBe(200);
	expect(created.status).toBe('accepted');
	const jobId = created.jobId as string;
	// A finished job does not change any more, so what n8n returns can be compared with it exactly.
	const deadline = Date.now() + 15_000;
	while (sim.getJob(jobId)?.status !== 'done') {
		if (Date.now() > deadline) throw new Error(`Simulator job ${jobId} did not finish: ${JSON.stringify(sim.getJob(jobId))}`);
		await new Promise((done) => setTimeout(done, 50));
	}
	return { jobId };
}

/** Runs a workflow once through its webhook and returns the answer and the execution n8n recorded. */
async function runJobGet(
	workflow: keyof typeof paths,
	jobId: string,
): Promise<{ response: HttpResult<Record<string, unknown>>; execution: N8nExecution }> {
	const response = await n8n.callWebhook<Record<string, unknown>>(paths[workflow], { jobId });
	// The execution whose webhook received this job ID: a workflow runs more than once in this file.
	const execution = await n8n.waitForExecution(workflowIds[workflow], {
		accept: (candidate) => (nodeOutputItems(candidate, 'Webhook')[0]?.body as { jobId?: string })?.jobId === jobId,
	});
	return { response, execution };
}

function apiRequestsTo(path: string) {
	return sim.log.filter((entry) => entry.kind === 'api' && entry.path === path);
}

/** No full key of ours may appear in anything n8n shows a user or stores for an execution. */
function expectNoApiKeyIn(...things: unknown[]) {
	const text = things.map((thing) => (typeof thing === 'string' ? thing : JSON.stringify(thing))).join('\n');
	for (const key of [sim.keys.pro, sim.keys.starter, BADLY_FORMATTED_KEY]) {
		expect(text.includes(key)).toBe(false);
	}
}

beforeAll(async () => {
	sim = await startSimulator({ timeScale: 0.02, ownKeys: true });
	n8n = await sharedN8n();
	const proCredential = await createCredential('Gemini Omni (simulator, Pro)', sim.keys.pro);
	const badKeyCredential = await createCredential('Gemini Omni (badly formatted key)', BADLY_FORMATTED_KEY);
	const starterCredential = await createCredential('Gemini Omni (simulator, Starter)', sim.keys.starter);
	workflowIds.pro = await createActiveWorkflow(paths.pro, jobGetStep(proCredential));
	workflowIds.badKeyFormat = await createActiveWorkflow(paths.badKeyFormat, jobGetStep(badKeyCredential));
	workflowIds.starterContinueOnFail = await createActiveWorkflow(
		paths.starterContinueOnFail,
		jobGetStep(starterCredential, 'continueRegularOutput'),
	);
}, 240_000);

afterAll(async () => {
	await n8n?.stop();
	await sim?.close();
});

beforeEach(() => sim.clearLog());

test('n8n loads the package: node, tool variant and credential types', async () => {
	const nodeTypeNames = (await n8n.nodeTypes()).map((type) => type.name);
	expect(nodeTypeNames).toContain(GEMINI_OMNI_NODE_TYPE);
	// n8n adds a "<node>Tool" type for nodes that declare usableAsTool (so AI agents can call them).
	expect(nodeTypeNames).toContain(`${GEMINI_OMNI_NODE_TYPE}Tool`);
	const credentialTypeNames = (await n8n.credentialTypes()).map((type) => type.name);
	expect(credentialTypeNames).toContain(GEMINI_OMNI_CREDENTIAL_TYPE);
});

test('Job → Get returns the job created on the simulator, asked for with the credential’s key', async () => {
	const { jobId } = await createFinishedJob('A lighthouse at dusk, slow dolly-in');
	sim.clearLog();

	const { response, execution } = await runJobGet('pro', jobId);

	const expected = sim.getJob(jobId);
	expect(response.status).toBe(200);
	expect(response.body).toMatchObject({
		jobId,
		status: 'done',
		model: 'gemini-omni-video',
		creditCost: expected?.creditCost,
		outputUrl: expected?.outputUrl,
	});
	expect(execution.status).toBe('success');
	expect(nodeOutputItems(execution, 'Get Job')).toEqual([response.body]);
	// One GET, authenticated with the Pro credential's key (the log keeps only its last 6 characters).
	const requests = apiRequestsTo(`/api/v1/jobs/${jobId}`);
	expect(requests.map(({ method, status, key }) => ({ method, status, key }))).toEqual([
		{ method: 'GET', status: 200, key: sim.keys.pro.slice(-6) },
	]);
	expectNoApiKeyIn(response.body, execution);
});

test('a badly formatted key fails the node with the gomni_ format message and sends nothing', async () => {
	const { response, execution } = await runJobGet('badKeyFormat', 'job_never_requested');

	expect(response.status).toBe(500);
	expect(execution.status).toBe('error');
	const error = nodeError(execution, 'Get Job');
	expect(error?.message).toMatch(/gomni_/);
	expect(error?.message).toMatch(/64 hexadecimal/);
	expect(execution.data?.resultData?.error?.message).toMatch(/gomni_/);
	expect(sim.log.filter((entry) => entry.kind === 'api')).toEqual([]);
	expectNoApiKeyIn(response.body, execution);
});

test('a Starter key gets the plan error (Continue On Fail puts it in the output)', async () => {
	const { response, execution } = await runJobGet('starterContinueOnFail', 'job_starter_plan');

	expect(response.status).toBe(200);
	expect(execution.status).toBe('success');
	const [item] = nodeOutputItems(execution, 'Get Job');
	expect(item).toEqual(response.body);
	expect(String(item.error)).toMatch(/plan/i);
	expect(`${item.error} ${item.errorDescription}`).toMatch(/starter|upgrade/i);
	expect(item.httpCode).toBe('403');
	const requests = apiRequestsTo('/api/v1/jobs/job_starter_plan');
	expect(requests.map(({ status, key }) => ({ status, key }))).toEqual([
		{ status: 403, key: sim.keys.starter.slice(-6) },
	]);
	expectNoApiKeyIn(response.body, execution);
});

test('an unknown job ID fails the node with a not-found error', async () => {
	const { response, execution } = await runJobGet('pro', 'job_does_not_exist');

	expect(response.status).toBe(500);
	expect(execution.status).toBe('error');
	expect(nodeRuns(execution, 'Get Job')).toHaveLength(1);
	const error = nodeError(execution, 'Get Job');
	expect(error?.message).toMatch(/not found/i);
	expect(error?.httpCode).toBe('404');
	expect(apiRequestsTo('/api/v1/jobs/job_does_not_exist').map((entry) => entry.status)).toEqual([404]);
	expectNoApiKeyIn(response.body, execution);
});
