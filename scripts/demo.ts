/**
 * `npm run demo`: the package doing real work inside the real n8n application, against the local
 * simulator, with nothing to set up. Starts the simulator and n8n (the package installed as a community
 * package), creates the credential, imports examples/single-video.json (Text to Video: generate, wait by
 * polling, download) and runs it through a webhook, saves the clip n8n produced to
 * demo-output/<jobId>.mp4, prints its path and size and how many API requests the job took, then stops
 * everything. Exit code 0 on success, 1 on failure.
 *
 *   npm run demo [-- --keep]     --keep leaves n8n's user folder (database, n8n.log) in .tmp/ for a look
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Simulator } from '../simulator';
import { readExample, withCredential, withWebhookStart } from './lib/examples';
import { REPO_ROOT, type HttpResult, type N8nExecution, type N8nInstance } from './lib/n8n-instance';
import { startStack, stopOnSignals, summarizeApiRequests, type Stack } from './lib/stack';
import { nodeError, nodeOutput, type CredentialReference } from './lib/workflows';

export interface DemoContext {
	sim: Simulator;
	n8n: N8nInstance;
	credential: CredentialReference;
	log: (message: string) => void;
	/** Where the clip is saved; default demo-output/ in the repository (git-ignored). */
	outputDir?: string;
}

export interface DemoResult {
	workflowName: string;
	workflowId: string;
	/** What the workflow's webhook answered: the clip's bytes (or n8n's error as text when it failed). */
	response: HttpResult<Buffer>;
	execution: N8nExecution;
	/** The items of the workflow's Gemini Omni node, as n8n recorded them. */
	output: Array<Record<string, unknown>>;
	/** Name of the node whose output is shown. */
	resultNode: string;
	jobId?: string;
	/** The clip saved from n8n's answer. */
	savedFile?: { path: string; bytes: number };
	/** The binary n8n stored for the clip, as its execution records it. */
	binary?: { fileName?: string; mimeType: string; bytes?: number };
	/** What the simulator saw for the job: API requests (generate + polls) and bytes its storage sent. */
	job?: { apiRequests: number; polls: number; storageBytesSent?: number };
}

export const DEMO_EXAMPLE = 'single-video.json';
const RESULT_NODE = 'Text to Video';
export const DEFAULT_OUTPUT_DIR = join(REPO_ROOT, 'demo-output');

/**
 * Runs examples/single-video.json in n8n: its Manual Trigger becomes a Webhook node of the same name
 * that answers with the clip, so one call generates, waits (poll), downloads and hands the MP4 back.
 */
export async function runDemoWorkflow(context: DemoContext): Promise<DemoResult> {
	const { sim, n8n, credential, log } = context;
	const example = readExample(DEMO_EXAMPLE);
	const workflowName = `${example.name} (demo)`;
	const path = `gemini-omni-demo-${Date.now()}`;
	const { workflow } = withWebhookStart(withCredential({ ...example, name: workflowName }, credential), {
		path,
		response: { mode: 'lastNode', data: 'firstEntryBinary', binaryPropertyName: 'data' },
	});
	const workflowId = await n8n.createWorkflow(workflow);
	await n8n.activateWorkflow(workflowId);
	log(`Imported examples/${DEMO_EXAMPLE} as "${workflowName}" (id ${workflowId}); calling ${n8n.webhookUrl(path)}`);
	log('n8n submits a text-to-video job, waits for it (poll), downloads the MP4…');

	// From here on the simulator's log holds only what n8n asked.
	sim.clearLog();
	const started = Date.now();
	const response = await n8n.callWebhook<Buffer>(path, {}, { responseType: 'buffer' });
	const execution = await n8n.waitForExecution(workflowId, { timeoutMs: 60_000 });
	log(`n8n ran the workflow in ${((Date.now() - started) / 1000).toFixed(1)} s (execution ${execution.id}, ${execution.status})`);

	const items = nodeOutput(execution, RESULT_NODE);
	const result: DemoResult = {
		workflowName,
		workflowId,
		response,
		execution,
		output: items.map((item) => item.json),
		resultNode: RESULT_NODE,
	};
	const [item] = items;
	if (!item || typeof item.json.jobId !== 'string') return result;
	const jobId = item.json.jobId;
	result.jobId = jobId;
	const binary = item.binary?.data;
	if (binary) result.binary = { fileName: binary.fileName, mimeType: binary.mimeType, bytes: binary.bytes };
	const jobRequests = sim.log.filter((entry) => entry.kind === 'api' && entry.jobId === jobId);
	const download = sim.log.find((entry) => entry.kind === 'storage' && entry.jobId === jobId && entry.status === 200);
	result.job = {
		apiRequests: jobRequests.length,
		polls: jobRequests.filter((entry) => entry.method === 'GET').length,
		storageBytesSent: download?.bytesSent,
	};
	if (response.status === 200 && execution.status === 'success' && response.body.length > 0) {
		const outputDir = context.outputDir ?? DEFAULT_OUTPUT_DIR;
		mkdirSync(outputDir, { recursive: true });
		const file = join(outputDir, `${jobId}.mp4`);
		writeFileSync(file, response.body);
		result.savedFile = { path: file, bytes: response.body.length };
	}
	return result;
}

function printResult(result: DemoResult, sim: Simulator): void {
	console.log('');
	console.log(`=== What n8n produced (${result.resultNode}) ===`);
	for (const item of result.output) {
		if (typeof item.error === 'string' && item.status === undefined) {
			console.log(`  error: ${item.error}`);
			continue;
		}
		console.log(`  job        ${item.jobId}`);
		console.log(`  status     ${item.status}`);
		console.log(`  model      ${item.model}`);
		if (item.creditCost !== undefined) console.log(`  credits    ${item.creditCost}`);
		if (item.outputUrl) console.log(`  output     ${item.outputUrl}`);
		if (item.expiresAt) console.log(`  expires    ${item.expiresAt}`);
		if (item.error) console.log(`  error      ${item.error}`);
	}
	if (result.binary) {
		console.log(`  binary     data: ${result.binary.fileName} (${result.binary.mimeType}, ${result.binary.bytes ?? '?'} bytes in n8n's binary store)`);
	}
	console.log('');
	console.log('JSON:');
	console.log(JSON.stringify(result.output.length === 1 ? result.output[0] : result.output, null, 2));
	if (result.savedFile) {
		console.log('');
		console.log('=== The clip ===');
		console.log(`  saved to   ${result.savedFile.path}`);
		console.log(`  size       ${result.savedFile.bytes} bytes (${(result.savedFile.bytes / 1024).toFixed(1)} KiB)`);
		if (result.job?.storageBytesSent !== undefined) {
			const same = result.job.storageBytesSent === result.savedFile.bytes ? 'the same' : 'DIFFERENT';
			console.log(`  storage    sent ${result.job.storageBytesSent} bytes: ${same}`);
		}
	}
	if (result.job) {
		console.log('');
		console.log(
			`=== Job ${result.jobId} took ${result.job.apiRequests} API request(s): 1 generate + ${result.job.polls} poll(s) ===`,
		);
	}
	const requests = summarizeApiRequests(sim);
	console.log('');
	console.log(`=== The simulator saw ${requests.total} API request(s) from n8n in all ===`);
	for (const { route, count } of requests.byRoute) console.log(`  ${String(count).padStart(3)} × ${route}`);
}

async function main(): Promise<number> {
	const keepFolder = process.argv.includes('--keep');
	const log = (message: string) => console.log(`[demo] ${message}`);
	const abortStart = new AbortController();
	let starting: Promise<Stack> | undefined;
	let stack: Stack | undefined;
	// Also right for a Ctrl-C while n8n is still starting: the aborted start cleans up after itself.
	const stopAll = async () => {
		abortStart.abort();
		const started = await starting?.catch(() => undefined);
		await started?.stop();
	};
	const removeSignalHandlers = stopOnSignals(stopAll, log);
	try {
		starting = startStack({
			simulator: { timeScale: 0.05 },
			n8n: { keepFolder },
			onProgress: log,
			signal: abortStart.signal,
		});
		stack = await starting;
		const result = await runDemoWorkflow({ ...stack, log });
		printResult(result, stack.sim);
		const failure = result.execution.status !== 'success' || result.response.status !== 200 || !result.savedFile;
		if (failure) {
			const error = nodeError(result.execution, result.resultNode) ?? result.execution.data?.resultData?.error;
			console.error(`\n[demo] FAILED: the workflow ended "${result.execution.status}" (HTTP ${result.response.status})`);
			if (result.response.status !== 200) console.error(`[demo] n8n answered: ${result.response.body.toString('utf8').slice(0, 500)}`);
			if (error) console.error(`[demo] ${error.message}${error.description ? ` — ${error.description}` : ''}`);
		}
		if (keepFolder) log(`n8n's user folder is kept: ${stack.n8n.userFolder} (log: n8n.log)`);
		return failure ? 1 : 0;
	} catch (error) {
		// Ctrl-C: the signal handler reports it and exits once everything has stopped.
		if (abortStart.signal.aborted) return 130;
		console.error(`\n[demo] FAILED: ${(error as Error).message}`);
		if (stack) console.error(`[demo] last n8n output:\n${stack.n8n.logs(40)}`);
		return 1;
	} finally {
		await stopAll();
		removeSignalHandlers();
		log('stopped n8n and the simulator');
	}
}

if (require.main === module) {
	main().then((code) => process.exit(code));
}
