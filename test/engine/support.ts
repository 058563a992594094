/**
 * Shared set-up for engine tests: a simulator, a Gemini Omni credential pointing at it, and a
 * one-call way to run "Start → Gemini Omni" through n8n-core's WorkflowExecute.
 */
import type { IDataObject, INode, INodeExecutionData, INodeParameters } from 'n8n-workflow';

import { resetLimits, setRateWindowScale } from '../../nodes/GeminiOmni/scheduler/limits';
import { startSimulator } from '../../simulator';
import type { LogEntry, Simulator, SimulatorOptions } from '../../simulator';
import {
	GEMINI_OMNI_TYPE,
	chain,
	credentialsFor,
	manualTrigger,
	node,
	runWorkflow,
	type HarnessBinary,
	type HarnessCredential,
	type RunOptions,
	type RunResult,
} from '../harness/engine';

export const NODE_NAME = 'Gemini Omni';

export async function startTestSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
	const sim = await startSimulator({ timeScale: 0.01, ...options });
	// The node's client-side budget must run its rate windows at the simulator's speed.
	setRateWindowScale(sim.timeScale);
	resetLimits();
	return sim;
}

export function geminiCredential(sim: Simulator, overrides: IDataObject = {}): HarnessCredential {
	return {
		type: 'geminiOmniApi',
		id: 'gemini-cred',
		name: 'Gemini Omni (simulator)',
		data: { apiKey: sim.keys.pro, baseUrl: sim.url, plan: 'pro', webhookSecret: sim.webhookSecret, ...overrides },
	};
}

export interface RunNodeOptions extends Partial<RunOptions> {
	items?: IDataObject[];
	binaries?: Array<Record<string, Buffer | HarnessBinary>>;
	credential?: HarnessCredential;
	continueOnFail?: boolean;
	/** More of the node's own fields: a fixed `id` (the same node across runs), `retryOnFail`, `maxTries`. */
	nodeSettings?: Partial<INode>;
}

/** Runs Start → Gemini Omni with the given parameters; returns the run and the node's output. */
export async function runGeminiNode(
	sim: Simulator,
	parameters: INodeParameters,
	options: RunNodeOptions = {},
): Promise<RunResult & { items: INodeExecutionData[] }> {
	const credential = options.credential ?? geminiCredential(sim);
	const result = await runWorkflow({
		timeoutMs: 20_000,
		...options,
		nodes: [
			manualTrigger(options.items ?? [{}], 'Start', options.binaries),
			node(GEMINI_OMNI_TYPE, NODE_NAME, parameters, {
				credentials: credentialsFor(credential),
				...(options.continueOnFail ? { onError: 'continueRegularOutput' as const } : {}),
				...options.nodeSettings,
			}),
		],
		connections: chain('Start', NODE_NAME),
		credentials: [credential],
	});
	let items: INodeExecutionData[] = [];
	try {
		items = result.output(NODE_NAME);
	} catch {}
	return Object.assign(result, { items });
}

/** Client traffic of one kind (the simulator does not log its admin routes). */
export function logOf(sim: Simulator, filter: Partial<Pick<LogEntry, 'method' | 'kind'>> & { path?: string } = {}): LogEntry[] {
	return sim.log.filter(
		(entry) =>
			(!filter.method || entry.method === filter.method) &&
			(!filter.kind || entry.kind === filter.kind) &&
			(!filter.path || entry.path.startsWith(filter.path)),
	);
}

/** Creates a job directly on the simulator, as another system would. */
export async function createJob(sim: Simulator, body: IDataObject, key = sim.keys.pro): Promise<IDataObject> {
	const response = await fetch(`${sim.url}/api/v1/generate`, {
		method: 'POST',
		headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
		body: JSON.stringify(body),
	});
	if (!response.ok) throw new Error(`createJob: ${response.status} ${await response.text()}`);
	return (await response.json()) as IDataObject;
}

export const keyTail = (key: string) => key.slice(-6);
export const keyHex = (key: string) => key.slice('gomni_'.length);
