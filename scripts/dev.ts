/**
 * `npm run dev`: the package in the real n8n editor, against the local simulator, for trying it by hand.
 * Starts the simulator and n8n (the freshly built package installed as a community package), signs the
 * owner in, creates a credential pointing at the simulator and a sample workflow, prints how to get in,
 * then shows the simulator's API requests as they come until Ctrl-C, which stops everything.
 *
 *   npm run dev -- [--port 5678] [--time-scale 0.1] [--user-folder DIR] [--keep] [--verbose]
 *
 *   --port         n8n's port (default 5678 when free, otherwise any free port)
 *   --time-scale   simulator speed: 0.1 makes a 60 s job take 6 s (default 0.1; 1 is real time)
 *   --user-folder  keep n8n's data (workflows, executions) in DIR across runs
 *   --keep         keep the fresh user folder made under .tmp/ after stopping
 *   --verbose      print n8n's own output as well
 */
import { randomUUID } from 'node:crypto';

import type { Simulator } from '../simulator';
import { isPortFree, type N8nInstance } from './lib/n8n-instance';
import { startStack, stopOnSignals, type Stack } from './lib/stack';
import { GEMINI_OMNI_NODE_TYPE, geminiOmniStep, type CredentialReference } from './lib/workflows';

interface DevOptions {
	port?: number;
	timeScale: number;
	userFolder?: string;
	keep: boolean;
	verbose: boolean;
}

const USAGE = 'usage: npm run dev -- [--port N] [--time-scale F] [--user-folder DIR] [--keep] [--verbose]';

function parseArguments(argv: string[]): DevOptions {
	const options: DevOptions = { timeScale: 0.1, keep: false, verbose: false };
	for (let index = 0; index < argv.length; index++) {
		const [flag, inline] = argv[index].split('=', 2);
		const value = (): string => {
			const next = inline ?? argv[++index];
			if (next === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
			return next;
		};
		switch (flag) {
			case '--port':
				options.port = Number(value());
				if (!Number.isInteger(options.port) || options.port <= 0) throw new Error('--port must be a positive integer');
				break;
			case '--time-scale':
				options.timeScale = Number(value());
				if (!(options.timeScale > 0)) throw new Error('--time-scale must be > 0');
				break;
			case '--user-folder':
				options.userFolder = value();
				break;
			case '--keep':
				options.keep = true;
				break;
			case '--verbose':
				options.verbose = true;
				break;
			case '--help':
			case '-h':
				console.log(USAGE);
				process.exit(0);
				break;
			default:
				throw new Error(`Unknown option ${flag}\n${USAGE}`);
		}
	}
	return options;
}

const SAMPLE_WORKFLOW_NAME = 'Gemini Omni: Job → Get (sample)';

/**
 * A job on the simulator, and a workflow (Manual Trigger → Job → Get) set to it, so "Execute workflow"
 * in the editor shows the node working at once. In a kept user folder the workflow is made once and
 * updated on later runs.
 */
async function createSample(n8n: N8nInstance, sim: Simulator, credential: CredentialReference): Promise<{ jobId: string; workflowId?: string }> {
	const response = await fetch(`${sim.url}/api/v1/generate`, {
		method: 'POST',
		headers: { authorization: `Bearer ${sim.keys.pro}`, 'content-type': 'application/json' },
		body: JSON.stringify({ model: 'gemini-omni-video', prompt: 'A hummingbird hovering over a red flower, slow motion' }),
	});
	const { jobId } = (await response.json()) as { jobId: string };
	const existing = await n8n.api<{ data: Array<{ id: string; name: string }> }>(
		'GET',
		`/workflows?name=${encodeURIComponent(SAMPLE_WORKFLOW_NAME)}`,
	);
	const kept = existing.data.find((workflow) => workflow.name === SAMPLE_WORKFLOW_NAME);
	if (kept) {
		// The simulator forgets its jobs when it stops: point the kept sample at this run's job.
		const workflow = await n8n.api<{ name: string; nodes: Array<Record<string, any>>; connections: object; settings: object }>(
			'GET',
			`/workflows/${kept.id}`,
		);
		for (const node of workflow.nodes) {
			if (node.type === GEMINI_OMNI_NODE_TYPE && node.parameters?.operation === 'get') node.parameters.jobId = jobId;
		}
		const { name, nodes, connections, settings } = workflow;
		await n8n.api('PUT', `/workflows/${kept.id}`, { name, nodes, connections, settings });
		return { jobId, workflowId: kept.id };
	}
	const step = geminiOmniStep({ name: 'Get Job', credential, parameters: { resource: 'job', operation: 'get', jobId } });
	const workflowId = await n8n.createWorkflow({
		name: SAMPLE_WORKFLOW_NAME,
		nodes: [
			{ id: randomUUID(), name: 'Manual Trigger', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
			{ id: randomUUID(), ...step, position: [240, 0] },
		],
		connections: { 'Manual Trigger': { main: [[{ node: 'Get Job', type: 'main', index: 0 }]] } },
	});
	return { jobId, workflowId };
}

function printBanner(stack: Stack, sample: { jobId: string; workflowId?: string }): void {
	const { n8n, sim, credential } = stack;
	const lines = [
		'',
		'  n8n with n8n-nodes-gemini-omni is running',
		'',
		`  Editor        ${n8n.baseUrl}/`,
		`  Sign in       ${n8n.owner.email}  /  ${n8n.owner.password}`,
		`  Credential    "${credential.name}" → ${sim.url} (Pro demo key)`,
		sample.workflowId
			? `  Sample        ${n8n.baseUrl}/workflow/${sample.workflowId}  (Execute workflow: Job → Get of ${sample.jobId})`
			: `  Sample job    ${sample.jobId}`,
		'',
		`  Simulator     ${sim.url}  (timeScale ${sim.timeScale})`,
		'  Demo keys',
		`    pro         ${sim.keys.pro}`,
		`    premium     ${sim.keys.premium}`,
		`    starter     ${sim.keys.starter}  (403: no API on Starter)`,
		`    noCredits   ${sim.keys.noCredits}  (402: no credits)`,
		`  Webhook secret ${sim.webhookSecret}`,
		'',
		`  Public API    ${n8n.baseUrl}/api/v1  (X-N8N-API-KEY: ${n8n.apiKey})`,
		`  n8n log       ${n8n.userFolder}/n8n.log`,
		'',
		'  Simulator API requests are shown below. Ctrl-C stops n8n and the simulator.',
		'',
	];
	console.log(lines.join('\n'));
}

/** Prints the simulator's requests as they arrive; the log is a live array, followed by sequence number. */
function followSimulatorLog(sim: Simulator): () => void {
	let lastSeq = Math.max(0, ...sim.log.map((entry) => entry.seq));
	const timer = setInterval(() => {
		for (const entry of sim.log) {
			if (entry.seq <= lastSeq) continue;
			lastSeq = entry.seq;
			const who = entry.key ? ` key …${entry.key}` : '';
			const what = entry.error ? `  ${entry.error}` : '';
			console.log(`[simulator] ${entry.method} ${entry.path} → ${entry.status}${who}${what}`);
		}
	}, 500);
	return () => clearInterval(timer);
}

async function main(): Promise<void> {
	const options = parseArguments(process.argv.slice(2));
	const log = (message: string) => console.log(`[dev] ${message}`);
	const port = options.port ?? ((await isPortFree(5678)) ? 5678 : undefined);
	if (options.port !== undefined && !(await isPortFree(options.port))) {
		throw new Error(`Port ${options.port} is in use: pick another with --port`);
	}

	const abortStart = new AbortController();
	const starting = startStack({
		simulator: { timeScale: options.timeScale },
		n8n: {
			port,
			userFolder: options.userFolder,
			keepFolder: options.userFolder !== undefined || options.keep,
			onLogLine: options.verbose ? (line) => console.log(`[n8n] ${line}`) : undefined,
		},
		onProgress: log,
		signal: abortStart.signal,
	});
	let stopFollowing = () => {};
	// Also right for a Ctrl-C while n8n is still starting: the aborted start cleans up after itself.
	const stopAll = async () => {
		abortStart.abort();
		stopFollowing();
		const started = await starting.catch(() => undefined);
		await started?.stop();
		log('stopped n8n and the simulator');
	};
	stopOnSignals(stopAll, log, 0);

	let stack: Stack;
	try {
		stack = await starting;
	} catch (error) {
		if (abortStart.signal.aborted) return; // Ctrl-C during start: the signal handler finishes up.
		throw error;
	}
	try {
		const sample = await createSample(stack.n8n, stack.sim, stack.credential);
		printBanner(stack, sample);
		stopFollowing = followSimulatorLog(stack.sim);
	} catch (error) {
		await stopAll();
		throw error;
	}
	// Runs until Ctrl-C; the signal handler stops everything and exits.
}

main().catch((error: Error) => {
	console.error(`[dev] ${error.message}`);
	process.exit(1);
});
