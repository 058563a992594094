/**
 * Shared by the end-to-end test files: each starts its own simulator and n8n (one n8n per file), and
 * reads what happened from the simulator's log and from the executions n8n recorded.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { LogEntry, Simulator } from '../../simulator';
import { outputStream } from '../../simulator/storage';
import { startN8n, type N8nExecution, type N8nInstance, type WorkflowInput } from '../../scripts/lib/n8n-instance';
import { GEMINI_OMNI_CREDENTIAL_TYPE, geminiOmniStep, webhookWorkflow, type CredentialReference, type WorkflowStep } from '../../scripts/lib/workflows';

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** A web server that is not the API: every path answers 404 with the given body. */
export interface NotTheApi {
	url: string;
	requests: string[];
	close: () => Promise<void>;
}
export async function startNotFoundServer(contentType: string, body: string): Promise<NotTheApi> {
	const requests: string[] = [];
	const server: Server = createServer((req, res) => {
		requests.push(`${req.method} ${req.url}`);
		res.writeHead(404, { 'Content-Type': contentType });
		res.end(body);
	});
	await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
	const { port } = server.address() as AddressInfo;
	return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise<void>((done) => server.close(() => done())) };
}

/** "Test connection" as the editor's button calls it (POST /rest/credentials/test), for a new credential. */
export async function testConnection(n8n: N8nInstance, apiKey: string, baseUrl: string): Promise<{ status: string; message: string }> {
	const data = { apiKey, baseUrl, plan: 'pro', webhookSecret: '' };
	const name = `test ${Math.random()}`;
	const id = await n8n.createCredential(name, GEMINI_OMNI_CREDENTIAL_TYPE, data);
	return await n8n.rest('POST', '/credentials/test', { credentials: { id, name, type: GEMINI_OMNI_CREDENTIAL_TYPE, data } });
}

interface SharedN8n {
	instance: Promise<N8nInstance>;
}

async function answers(baseUrl: string): Promise<boolean> {
	try {
		const response = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(5_000) });
		await response.arrayBuffer();
		return response.ok;
	} catch {
		return false;
	}
}

/**
 * The n8n 2.41.1 that the e2e files of this Jest worker share (test/e2e/shared-environment.js): the
 * first file that asks starts it, the next ones get it as it is; its stop() does nothing, the worker's
 * exit ends it. Each file brings its own simulator with keys of its own (`ownKeys: true`), its own
 * credentials and workflows, so what one file leaves in n8n (per-key request budgets, paid-job records,
 * active webhooks) is not what the next one works with. Outside that environment: an n8n of its own.
 */
export async function sharedN8n(): Promise<N8nInstance> {
	const shared = (globalThis as { geminiOmniShared?: Map<string, unknown> }).geminiOmniShared;
	if (!shared) return await startN8n();
	let entry = shared.get('n8n') as SharedN8n | undefined;
	// A file that broke it (or a start that failed) leaves nothing for the next one: start again.
	if (entry && !(await entry.instance.then(async (instance) => await answers(instance.baseUrl), () => false))) entry = undefined;
	if (!entry) {
		entry = { instance: startN8n({ unref: true }) };
		shared.set('n8n', entry);
		const instance = await entry.instance;
		const processes = (shared.get('processes') as Array<{ pid: number; userFolder: string }> | undefined) ?? [];
		if (instance.pid) processes.push({ pid: instance.pid, userFolder: instance.userFolder });
		shared.set('processes', processes);
	}
	const instance = await entry.instance;
	return { ...instance, stop: async () => undefined };
}

/** A Gemini Omni credential in n8n for the simulator's Pro key (webhook secret included unless told). */
export async function createSimulatorCredential(
	n8n: N8nInstance,
	sim: Simulator,
	options: { name?: string; webhookSecret?: string; plan?: 'pro' | 'premium' } = {},
): Promise<CredentialReference> {
	const plan = options.plan ?? 'pro';
	const name = options.name ?? `Gemini Omni (simulator, ${plan === 'pro' ? 'Pro' : 'Premium'})`;
	const id = await n8n.createCredential(name, GEMINI_OMNI_CREDENTIAL_TYPE, {
		apiKey: sim.keys[plan],
		baseUrl: sim.url,
		plan,
		webhookSecret: options.webhookSecret ?? sim.webhookSecret,
	});
	return { id, name };
}

/** Successful generate requests the simulator answered, oldest first. */
export function generateRequests(sim: Simulator): LogEntry[] {
	return sim.log.filter((entry) => entry.kind === 'api' && entry.method === 'POST' && entry.path === '/api/v1/generate');
}

/** The (one) accepted generate request that created `jobId`. */
export function generateRequestFor(sim: Simulator, jobId: string): LogEntry & { body: Record<string, unknown> } {
	const found = generateRequests(sim).filter((entry) => entry.jobId === jobId && entry.status === 200);
	if (found.length !== 1) throw new Error(`Expected one accepted generate for ${jobId}, found ${found.length}`);
	return found[0] as LogEntry & { body: Record<string, unknown> };
}

/** Every API request (generate, polls) the simulator logged for a job; uploads carry no job. */
export function apiRequestsForJob(sim: Simulator, jobId: string): LogEntry[] {
	return sim.log.filter((entry) => entry.kind === 'api' && entry.jobId === jobId);
}

/** Downloads of a job's output from signed storage. */
export function storageRequestsForJob(sim: Simulator, jobId: string): LogEntry[] {
	return sim.log.filter((entry) => entry.kind === 'storage' && entry.jobId === jobId);
}

/**
 * The bytes the simulator's storage sent for the job's one download. `bytesSent` is filled when the
 * response finished: waited for briefly, since n8n may have finished reading just before.
 */
export async function bytesSentForJob(sim: Simulator, jobId: string): Promise<number> {
	const deadline = Date.now() + 5_000;
	for (;;) {
		const downloads = storageRequestsForJob(sim, jobId);
		if (downloads.length !== 1) throw new Error(`Expected one storage download for ${jobId}, found ${downloads.length}`);
		const [download] = downloads;
		if (download.bytesSent !== undefined && download.status === 200) return download.bytesSent;
		if (Date.now() > deadline) throw new Error(`Storage download for ${jobId} never finished: ${JSON.stringify(download)}`);
		await sleep(50);
	}
}

export function sha256(data: Buffer): string {
	return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 of the file the simulator serves for a job (its content is derived from the job ID). */
export async function expectedOutputSha256(jobId: string, kind: 'mp4' | 'mp3', bytes: number): Promise<string> {
	const hash = createHash('sha256');
	for await (const chunk of outputStream(jobId, kind, bytes)) hash.update(chunk as Buffer);
	return hash.digest('hex');
}

/** Polls until the simulator job is finished (its own state, not its API: nothing is logged). */
export async function waitForSimulatorJob(sim: Simulator, jobId: string, timeoutMs = 20_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const status = sim.getJob(jobId)?.status;
		if (status === 'done' || status === 'failed') return;
		if (Date.now() > deadline) throw new Error(`Simulator job ${jobId} still ${status} after ${timeoutMs} ms`);
		await sleep(25);
	}
}

/** A job submitted straight to the simulator (as any other app would), optionally with a callbackUrl. */
export async function submitJobToSimulator(
	sim: Simulator,
	body: Record<string, unknown>,
	apiKey = sim.keys.pro,
): Promise<{ jobId: string; status: string }> {
	const response = await fetch(`${sim.url}/api/v1/generate`, {
		method: 'POST',
		headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
		body: JSON.stringify(body),
	});
	const created = (await response.json()) as { jobId?: string; status?: string; error?: string };
	if (response.status !== 200 || !created.jobId) {
		throw new Error(`The simulator refused the job (${response.status}): ${created.error ?? JSON.stringify(created)}`);
	}
	return { jobId: created.jobId, status: String(created.status) };
}

/** Every execution of the workflow, with its data, oldest first. */
export async function executionsWithData(n8n: N8nInstance, workflowId: string): Promise<N8nExecution[]> {
	const executions = await n8n.listExecutions(workflowId);
	const full = await Promise.all(executions.map((execution) => n8n.getExecution(execution.id, true)));
	return full.sort((a, b) => Number(a.id) - Number(b.id));
}

/**
 * Webhook (answers on receipt) → Gemini Omni Text to Video with Wait Mode "Callback" (prompt from the
 * request body) → a No Operation node standing for the rest of the workflow.
 */
export function callbackTextToVideoWorkflow(options: {
	name: string;
	path: string;
	credential: CredentialReference;
	nodeName: string;
	afterName: string;
	downloadOutput: boolean;
}): WorkflowInput {
	return webhookWorkflow({
		name: options.name,
		path: options.path,
		response: { mode: 'onReceived' },
		steps: [
			geminiOmniStep({
				name: options.nodeName,
				credential: options.credential,
				parameters: {
					resource: 'video',
					operation: 'textToVideo',
					prompt: '={{ $json.body.prompt }}',
					resolution: '720p',
					duration: 8,
					waitForCompletion: true,
					waitMode: 'callback',
					downloadOutput: options.downloadOutput,
					...(options.downloadOutput ? { binaryPropertyName: 'data' } : {}),
					options: { maxWaitMinutes: 5 },
				},
			}),
			{ name: options.afterName, type: 'n8n-nodes-base.noOp', typeVersion: 1, parameters: {} },
		],
	});
}

/**
 * Waits until n8n serves a trigger's production URL. n8n 2.41.1 activates in the background (its
 * publication service), and after a restart re-registers active workflows while it starts, so the URL
 * answers 404 for a moment. The probe is an unsigned POST of no event, which starts nothing (the
 * trigger tests check what such a request is answered).
 */
export async function waitUntilTriggerListens(sim: Simulator, url: string, timeoutMs = 20_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		// The trigger's own answer to an unsigned call is 401: until then, n8n's 404 (not registered yet) or
		// a 500 (a process just started, under load, that cannot run the node yet) means it does not listen.
		const { status, text } = await sim.sendSignedWebhook(url, '{}', { signature: null });
		if (status === 401) return;
		if (Date.now() > deadline) throw new Error(`${url} still answers ${status} (not the trigger's 401) after ${timeoutMs} ms: ${text.slice(0, 300)}`);
		await sleep(200);
	}
}

/**
 * Webhook (answers on receipt) → Code node turning `body.prompts` into one item each → Gemini Omni
 * Text to Video named "Batch": a batch of any size from one HTTP call.
 */
export function promptBatchWorkflow(options: {
	name: string;
	path: string;
	credential: CredentialReference;
	/** More parameters of the Batch node (e.g. options), over the defaults. */
	parameters?: Record<string, unknown>;
	onError?: WorkflowStep['onError'];
	settings?: WorkflowStep['settings'];
}): WorkflowInput {
	return webhookWorkflow({
		name: options.name,
		path: options.path,
		response: { mode: 'onReceived' },
		steps: [
			{
				name: 'Rows',
				type: 'n8n-nodes-base.code',
				typeVersion: 2,
				parameters: { jsCode: 'return $input.first().json.body.prompts.map((p) => ({ json: { p } }));' },
			},
			geminiOmniStep({
				name: 'Batch',
				credential: options.credential,
				parameters: { resource: 'video', operation: 'textToVideo', prompt: '={{ $json.p }}', resolution: '720p', ...options.parameters },
				onError: options.onError,
				settings: options.settings,
			}),
		],
	});
}
