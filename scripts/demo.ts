/**
 * `npm run demo`: the package doing real work inside the real n8n application, against the local
 * simulator, with nothing to set up. Starts the simulator and n8n (the package installed as a community
 * package), creates the credential, runs the demo workflow through its webhook, prints what n8n produced
 * and how many API requests the simulator saw, then stops everything. Exit code 0 on success, 1 on failure.
 *
 *   npm run demo [-- --keep]     --keep leaves n8n's user folder (database, n8n.log) in .tmp/ for a look
 */
import type { Simulator } from '../simulator';
import type { HttpResult, N8nExecution, N8nInstance } from './lib/n8n-instance';
import { startStack, stopOnSignals, summarizeApiRequests, type Stack } from './lib/stack';
import { jobGetStep, nodeError, nodeOutputItems, webhookWorkflow, type CredentialReference } from './lib/workflows';

export interface DemoContext {
	sim: Simulator;
	n8n: N8nInstance;
	credential: CredentialReference;
	log: (message: string) => void;
}

export interface DemoResult {
	workflowName: string;
	workflowId: string;
	/** What the workflow's webhook answered (the last node's first item). */
	response: HttpResult<Record<string, unknown>>;
	execution: N8nExecution;
	/** The items of the workflow's last Gemini Omni node, as n8n recorded them. */
	output: Array<Record<string, unknown>>;
	/** Name of the node whose output is shown. */
	resultNode: string;
}

const DEMO_PROMPT = 'A paper boat drifting down a rain-soaked city street at golden hour, cinematic, 1080p';

/**
 * The workflow the demo runs in n8n. Today: a job submitted to the simulator, then Job → Get in n8n.
 * As the node grows (generate, wait, download) this becomes Webhook → Generate → Wait → Download,
 * and the rest of the demo (printing, counting requests) stays as it is.
 */
export async function runDemoWorkflow(context: DemoContext): Promise<DemoResult> {
	const { sim, n8n, credential, log } = context;

	// Until the node can generate, the job is submitted straight to the simulator, as another app would.
	log(`Submitting a text-to-video job to the simulator: "${DEMO_PROMPT}"`);
	const submitted = await fetch(`${sim.url}/api/v1/generate`, {
		method: 'POST',
		headers: { authorization: `Bearer ${sim.keys.pro}`, 'content-type': 'application/json' },
		body: JSON.stringify({ model: 'gemini-omni-video', prompt: DEMO_PROMPT, resolution: '1080p', duration: 8 }),
	});
	const accepted = (await submitted.json()) as { jobId?: string; estimatedSeconds?: number; error?: string };
	if (!submitted.ok || !accepted.jobId) {
		throw new Error(`The simulator refused the job (${submitted.status}): ${accepted.error ?? JSON.stringify(accepted)}`);
	}
	const jobId = accepted.jobId;
	// From here on the simulator's log holds only what n8n asked.
	sim.clearLog();
	log(`Job ${jobId} accepted; waiting for it to finish (~${accepted.estimatedSeconds ?? '?'} s simulated)…`);
	await waitForSimulatorJob(sim, jobId, 60_000);

	const workflowName = 'Gemini Omni demo: Job → Get';
	const path = `gemini-omni-demo-${Date.now()}`;
	const workflowId = await n8n.createWorkflow(webhookWorkflow({ name: workflowName, path, steps: [jobGetStep(credential)] }));
	await n8n.activateWorkflow(workflowId);
	log(`Workflow "${workflowName}" (id ${workflowId}) active; calling ${n8n.webhookUrl(path)}`);

	const started = Date.now();
	const response = await n8n.callWebhook<Record<string, unknown>>(path, { jobId });
	const execution = await n8n.waitForExecution(workflowId);
	log(`n8n ran the workflow in ${((Date.now() - started) / 1000).toFixed(1)} s (execution ${execution.id}, ${execution.status})`);
	return { workflowName, workflowId, response, execution, output: nodeOutputItems(execution, 'Get Job'), resultNode: 'Get Job' };
}

/** Polls the simulator's own state (not its API), so the demo's request count shows only n8n's calls. */
async function waitForSimulatorJob(sim: Simulator, jobId: string, timeoutMs: number): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const status = sim.getJob(jobId)?.status;
		if (status === 'done' || status === 'failed') return;
		if (Date.now() > deadline) throw new Error(`Job ${jobId} still ${status} after ${timeoutMs / 1000} s`);
		await new Promise((done) => setTimeout(done, 100));
	}
}

function printResult(result: DemoResult, sim: Simulator): void {
	console.log('');
	console.log(`=== What n8n produced (${result.resultNode}) ===`);
	for (const item of result.output) {
		if (typeof item.error === 'string') {
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
	console.log('');
	console.log('JSON:');
	console.log(JSON.stringify(result.output.length === 1 ? result.output[0] : result.output, null, 2));
	const requests = summarizeApiRequests(sim);
	console.log('');
	console.log(`=== The simulator saw ${requests.total} API request(s) from n8n ===`);
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
		const failure = result.execution.status !== 'success' || result.response.status !== 200;
		if (failure) {
			const error = nodeError(result.execution, result.resultNode) ?? result.execution.data?.resultData?.error;
			console.error(`\n[demo] FAILED: the workflow ended "${result.execution.status}" (HTTP ${result.response.status})`);
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
