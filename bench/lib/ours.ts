/**
 * Our side of every scenario: the Gemini Omni node run through the engine harness
 * (test/harness/engine.ts: n8n-core's WorkflowExecute, real execution contexts, real HTTP helpers,
 * real binary store), loaded from the TypeScript sources, never from dist/.
 */
import { randomBytes } from 'node:crypto';
import type { IDataObject, INodeExecutionData, INodeParameters } from 'n8n-workflow';

import { resetLimits, setRateWindowScale } from '../../nodes/GeminiOmni/scheduler/limits';
import type { KeySpec, Simulator } from '../../simulator';
import {
	GEMINI_OMNI_TYPE,
	chain,
	credentialsFor,
	manualTrigger,
	node,
	runWorkflow,
	type HarnessCredential,
	type RunResult,
} from '../../test/harness/engine';

export const NODE_NAME = 'Gemini Omni';

export function newApiKey(): string {
	return `gomni_${randomBytes(32).toString('hex')}`;
}

/** A fresh key on the simulator, so every scenario starts with empty windows and no jobs in flight. */
export function addKey(sim: Simulator, spec: Omit<KeySpec, 'key'>): string {
	const key = newApiKey();
	sim.addKey({ key, ...spec });
	return key;
}

/** The last 6 characters, as the simulator log keeps them. */
export function keyTail(key: string): string {
	return key.slice(-6);
}

/**
 * The node's client-side budget runs its 60 s / 3600 s windows at this scale (normally the simulator's
 * time scale), and forgets every key's state.
 */
export function useWindowScale(scale: number): void {
	setRateWindowScale(scale);
	resetLimits();
}

export function credential(
	sim: Pick<Simulator, 'url' | 'webhookSecret'>,
	apiKey: string,
	plan: 'pro' | 'premium',
): HarnessCredential {
	return {
		type: 'geminiOmniApi',
		id: `bench-${keyTail(apiKey)}`,
		name: 'Gemini Omni (simulator)',
		data: { apiKey, baseUrl: sim.url, plan, webhookSecret: sim.webhookSecret },
	};
}

export interface OurRun {
	result: RunResult;
	items: INodeExecutionData[];
	/** The Gemini Omni node's own run: start (ms since epoch) and duration as n8n records them. */
	nodeStart: number;
	nodeMs: number;
	/** Date.now() when runWorkflow resolved. */
	endedAt: number;
}

/** Start → Gemini Omni, with `items` as input, through WorkflowExecute. */
export async function runOurNode(
	cred: HarnessCredential,
	parameters: INodeParameters,
	items: IDataObject[],
	options: {
		binaryMode?: 'default' | 'filesystem';
		timeoutMs?: number;
		continueOnFail?: boolean;
		/** Base of $execution.resumeUrl (callback mode). */
		instanceBaseUrl?: string;
	} = {},
): Promise<OurRun> {
	const result = await runWorkflow({
		timeoutMs: options.timeoutMs ?? 600_000,
		binaryMode: options.binaryMode ?? 'filesystem',
		nodes: [
			manualTrigger(items, 'Start'),
			node(GEMINI_OMNI_TYPE, NODE_NAME, parameters, {
				credentials: credentialsFor(cred),
				...(options.continueOnFail ? { onError: 'continueRegularOutput' as const } : {}),
			}),
		],
		connections: chain('Start', NODE_NAME),
		credentials: [cred],
		instanceBaseUrl: options.instanceBaseUrl,
	});
	const endedAt = Date.now();
	const taskData = result.run.data.resultData.runData[NODE_NAME]?.[0];
	let output: INodeExecutionData[] = [];
	try {
		output = result.output(NODE_NAME);
	} catch {}
	return {
		result,
		items: output,
		nodeStart: taskData?.startTime ?? NaN,
		nodeMs: taskData?.executionTime ?? NaN,
		endedAt,
	};
}
