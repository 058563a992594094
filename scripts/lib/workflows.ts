/**
 * Workflow JSON for driving the package inside real n8n without the editor: a Webhook node (answered
 * with the last node's first item) followed by a chain of steps, so one HTTP call runs a whole workflow.
 * Shared by the end-to-end tests, the demo and dev.
 */
import { randomUUID } from 'node:crypto';

import type { N8nExecution, N8nTaskData, WorkflowInput } from './n8n-instance';

export const PACKAGE_NAME = 'n8n-nodes-gemini-omni';
export const GEMINI_OMNI_NODE_TYPE = `${PACKAGE_NAME}.geminiOmni`;
export const GEMINI_OMNI_CREDENTIAL_TYPE = 'geminiOmniApi';

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
}

/** The node steps name the webhook by this in expressions: `$('Webhook').item.json.body`. */
export const WEBHOOK_NODE_NAME = 'Webhook';

/**
 * Webhook (POST `path`) → steps, in a line. The webhook answers with the first item of the last node
 * that ran, as JSON; when a node fails (and does not continue) n8n answers 500 instead.
 */
export function webhookWorkflow(options: { name: string; path: string; steps: WorkflowStep[] }): WorkflowInput {
	const webhook = {
		id: randomUUID(),
		name: WEBHOOK_NODE_NAME,
		type: 'n8n-nodes-base.webhook',
		typeVersion: 2,
		position: [0, 0],
		webhookId: randomUUID(),
		parameters: {
			httpMethod: 'POST',
			path: options.path,
			responseMode: 'lastNode',
			responseData: 'firstEntryJson',
			options: {},
		},
	};
	const steps = options.steps.map((step, index) => ({
		id: randomUUID(),
		name: step.name,
		type: step.type,
		typeVersion: step.typeVersion,
		position: [240 * (index + 1), 0],
		parameters: step.parameters,
		...(step.credentials ? { credentials: step.credentials } : {}),
		...(step.onError ? { onError: step.onError } : {}),
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
}): WorkflowStep {
	return {
		name: options.name ?? 'Gemini Omni',
		type: GEMINI_OMNI_NODE_TYPE,
		typeVersion: 1,
		parameters: options.parameters,
		credentials: { [GEMINI_OMNI_CREDENTIAL_TYPE]: options.credential },
		...(options.onError ? { onError: options.onError } : {}),
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

/** The JSON items a node's run put on its first output. */
export function nodeOutputItems(execution: N8nExecution, nodeName: string, run = 0): Array<Record<string, unknown>> {
	const output = nodeRuns(execution, nodeName)[run]?.data?.main?.[0] ?? [];
	return output.map((item) => item.json);
}

/** The error a node's run failed with, or undefined when it succeeded. */
export function nodeError(execution: N8nExecution, nodeName: string, run = 0): N8nTaskData['error'] {
	return nodeRuns(execution, nodeName)[run]?.error;
}
