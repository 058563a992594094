/**
 * Workflow JSON for driving the package inside real n8n without the editor: a Webhook node (answered
 * with the last node's first item) followed by a chain of steps, so one HTTP call runs a whole workflow.
 * Shared by the end-to-end tests, the demo and dev.
 */
import { randomUUID } from 'node:crypto';

import type { N8nExecution, N8nItem, N8nTaskData, WorkflowInput } from './n8n-instance';

export const PACKAGE_NAME = 'n8n-nodes-gemini-omni';
export const GEMINI_OMNI_NODE_TYPE = `${PACKAGE_NAME}.geminiOmni`;
export const GEMINI_OMNI_TRIGGER_NODE_TYPE = `${PACKAGE_NAME}.geminiOmniTrigger`;
export const GEMINI_OMNI_CREDENTIAL_TYPE = 'geminiOmniApi';
/** The Gemini Omni Trigger's webhook path (its production URL is /webhook/<webhookId>/<this>). */
export const GEMINI_OMNI_TRIGGER_PATH = 'gemini-omni';

export interface CredentialReference {
	id: string;
	name: string;
}

export interface WorkflowStep {
	name: string;
	type: string;
	typeVersion: number;
	parameters: Record<string, unknown>;
	credentials?: Record<string, CredentialReference>;
	/** n8n's per-node error setting; 'continueRegularOutput' is "Continue On Fail" in the editor. */
	onError?: 'stopWorkflow' | 'continueRegularOutput' | 'continueErrorOutput';
	/** n8n's node settings, e.g. Retry On Fail: `{ retryOnFail: true, maxTries: 2, waitBetweenTries: 0 }`. */
	settings?: { retryOnFail?: boolean; maxTries?: number; waitBetweenTries?: number };
}

/** The node steps name the webhook by this in expressions: `$('Webhook').item.json.body`. */
export const WEBHOOK_NODE_NAME = 'Webhook';

/**
 * How a Webhook node answers. 'lastNode' waits for the workflow to end and answers with the last node's
 * data: its first item's JSON (default), all items' JSON, the first item's binary file, or nothing.
 * 'onReceived' answers at once, before the workflow runs (for workflows that pause).
 */
export type WebhookResponse =
	| { mode: 'lastNode'; data?: 'firstEntryJson' | 'allEntries' | 'noData' }
	| { mode: 'lastNode'; data: 'firstEntryBinary'; binaryPropertyName?: string }
	| { mode: 'onReceived' };

export interface WebhookNode {
	id: string;
	name: string;
	type: string;
	typeVersion: number;
	position: [number, number];
	webhookId: string;
	parameters: Record<string, unknown>;
	[key: string]: unknown;
}

/** A Webhook node (POST `path`) with the given name, answering as `response` says. */
export function webhookNode(options: {
	name?: string;
	path: string;
	response?: WebhookResponse;
	position?: [number, number];
	id?: string;
}): WebhookNode {
	const response = options.response ?? { mode: 'lastNode' };
	const parameters: Record<string, unknown> = { httpMethod: 'POST', path: options.path, responseMode: response.mode };
	if (response.mode === 'lastNode') {
		parameters.responseData = response.data ?? 'firstEntryJson';
		if (response.data === 'firstEntryBinary') parameters.responseBinaryPropertyName = response.binaryPropertyName ?? 'data';
	}
	parameters.options = {};
	return {
		id: options.id ?? randomUUID(),
		name: options.name ?? WEBHOOK_NODE_NAME,
		type: 'n8n-nodes-base.webhook',
		typeVersion: 2,
		position: options.position ?? [0, 0],
		webhookId: randomUUID(),
		parameters,
	};
}

/**
 * Webhook (POST `path`) → steps, in a line. By default the webhook answers with the first item of the
 * last node that ran, as JSON; when a node fails (and does not continue) n8n answers 500 instead.
 */
export function webhookWorkflow(options: {
	name: string;
	path: string;
	steps: WorkflowStep[];
	response?: WebhookResponse;
}): WorkflowInput {
	const webhook = webhookNode({ path: options.path, response: options.response });
	const steps = options.steps.map((step, index) => ({
		id: randomUUID(),
		name: step.name,
		type: step.type,
		typeVersion: step.typeVersion,
		position: [240 * (index + 1), 0],
		parameters: step.parameters,
		...(step.credentials ? { credentials: step.credentials } : {}),
		...(step.onError ? { onError: step.onError } : {}),
		...step.settings,
	}));
	const chain = [webhook, ...steps];
	const connections: Record<string, unknown> = {};
	for (let index = 0; index < chain.length - 1; index++) {
		connections[chain[index].name] = { main: [[{ node: chain[index + 1].name, type: 'main', index: 0 }]] };
	}
	return { name: options.name, nodes: chain, connections, settings: { executionOrder: 'v1' } };
}

/** A Gemini Omni node step with our credential. */
export function geminiOmniStep(options: {
	name?: string;
	credential: CredentialReference;
	parameters: Record<string, unknown>;
	onError?: WorkflowStep['onError'];
	settings?: WorkflowStep['settings'];
}): WorkflowStep {
	return {
		name: options.name ?? 'Gemini Omni',
		type: GEMINI_OMNI_NODE_TYPE,
		typeVersion: 1,
		parameters: options.parameters,
		credentials: { [GEMINI_OMNI_CREDENTIAL_TYPE]: options.credential },
		...(options.onError ? { onError: options.onError } : {}),
		...(options.settings ? { settings: options.settings } : {}),
	};
}

/** Job → Get with the job ID taken from the webhook's JSON body (`{"jobId": "..."}`). */
export function jobGetStep(credential: CredentialReference, onError?: WorkflowStep['onError']): WorkflowStep {
	return geminiOmniStep({
		name: 'Get Job',
		credential,
		parameters: { resource: 'job', operation: 'get', jobId: '={{ $json.body.jobId }}' },
		onError,
	});
}

/** The runs n8n recorded for a node in an execution (empty when it never ran). */
export function nodeRuns(execution: N8nExecution, nodeName: string): N8nTaskData[] {
	return execution.data?.resultData?.runData?.[nodeName] ?? [];
}

/**
 * A Gemini Omni Trigger workflow: Trigger → a No Operation node named `afterName` (so a test can see
 * that the rest of the workflow ran). Its production URL is `n8n.webhookUrl(triggerWebhookPath(webhookId))`.
 */
export function geminiOmniTriggerWorkflow(options: {
	name: string;
	credential: CredentialReference;
	events?: Array<'job.completed' | 'job.failed'>;
	downloadOutput?: boolean;
	afterName?: string;
	/** The Trigger's version: 2 (what the editor adds) unless a test needs a workflow saved with 1. */
	typeVersion?: 1 | 2;
}): { workflow: WorkflowInput; webhookId: string; triggerName: string; afterName: string } {
	const webhookId = randomUUID();
	const triggerName = 'Gemini Omni Trigger';
	const afterName = options.afterName ?? 'After Trigger';
	const parameters: Record<string, unknown> = {
		events: options.events ?? ['job.completed', 'job.failed'],
		downloadOutput: options.downloadOutput ?? false,
	};
	const workflow: WorkflowInput = {
		name: options.name,
		nodes: [
			{
				id: randomUUID(),
				name: triggerName,
				type: GEMINI_OMNI_TRIGGER_NODE_TYPE,
				typeVersion: options.typeVersion ?? 2,
				position: [0, 0],
				webhookId,
				parameters,
				credentials: { [GEMINI_OMNI_CREDENTIAL_TYPE]: options.credential },
			},
			{ id: randomUUID(), name: afterName, type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [240, 0], parameters: {} },
		],
		connections: { [triggerName]: { main: [[{ node: afterName, type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
	};
	return { workflow, webhookId, triggerName, afterName };
}

/** Path (for n8n.webhookUrl) of a Gemini Omni Trigger node with this webhookId. */
export function triggerWebhookPath(webhookId: string): string {
	return `${webhookId}/${GEMINI_OMNI_TRIGGER_PATH}`;
}

/** The items (JSON, binary metadata, pairedItem) a node's run put on an output (default the first). */
export function nodeOutput(execution: N8nExecution, nodeName: string, run = 0, output = 0): N8nItem[] {
	return nodeRuns(execution, nodeName)[run]?.data?.main?.[output] ?? [];
}

/** The JSON items a node's run put on its first output. */
export function nodeOutputItems(execution: N8nExecution, nodeName: string, run = 0): Array<Record<string, unknown>> {
	const output = nodeRuns(execution, nodeName)[run]?.data?.main?.[0] ?? [];
	return output.map((item) => item.json);
}

/** The error a node's run failed with, or undefined when it succeeded. */
export function nodeError(execution: N8nExecution, nodeName: string, run = 0): N8nTaskData['error'] {
	return nodeRuns(execution, nodeName)[run]?.error;
}
