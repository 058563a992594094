/**
 * The importable example workflows in examples/, made runnable inside a test or the demo without the
 * editor. They are written as users import them: a Manual Trigger to start, the credential referenced
 * by the name "Gemini Omni account" with a placeholder id. Two rewrites make them runnable here:
 *  - withCredential: every Gemini Omni credential reference points at a credential of this n8n;
 *  - withWebhookStart: the Manual Trigger becomes a Webhook node of the SAME name and position, so
 *    the connections (and any expression naming it) are untouched, and one POST to the production
 *    webhook runs the example exactly as "Execute workflow" would (a Manual Trigger outputs one empty
 *    item; the Webhook one item with the request, which the examples' nodes do not read).
 * Nothing else of the example changes, so what runs is what users get.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { REPO_ROOT, type WorkflowInput } from './n8n-instance';
import { GEMINI_OMNI_CREDENTIAL_TYPE, webhookNode, type CredentialReference, type WebhookResponse } from './workflows';

export const EXAMPLES_DIR = join(REPO_ROOT, 'examples');
/** The credential name every example refers to. */
export const EXAMPLE_CREDENTIAL_NAME = 'Gemini Omni account';
export const MANUAL_TRIGGER_TYPE = 'n8n-nodes-base.manualTrigger';

export interface ExampleNode {
	id: string;
	name: string;
	type: string;
	typeVersion: number;
	position: [number, number];
	parameters: Record<string, any>;
	credentials?: Record<string, CredentialReference>;
	webhookId?: string;
	[key: string]: unknown;
}

export interface ExampleWorkflow extends WorkflowInput {
	nodes: ExampleNode[];
}

/** Reads examples/<file> (a fresh copy each time, so rewriting it changes nothing on disk or for others). */
export function readExample(file: string): ExampleWorkflow {
	return JSON.parse(readFileSync(join(EXAMPLES_DIR, file), 'utf8')) as ExampleWorkflow;
}

/** The example's node with that name; throws (naming the nodes it has) when there is none. */
export function exampleNode(workflow: ExampleWorkflow, name: string): ExampleNode {
	const found = workflow.nodes.find((node) => node.name === name);
	if (!found) throw new Error(`${workflow.name} has no node "${name}" (it has: ${workflow.nodes.map((node) => node.name).join(', ')})`);
	return found;
}

/** The example's nodes of a type. */
export function exampleNodesOfType(workflow: ExampleWorkflow, type: string): ExampleNode[] {
	return workflow.nodes.filter((node) => node.type === type);
}

/** A copy whose Gemini Omni credential references all point at `credential`. */
export function withCredential(workflow: ExampleWorkflow, credential: CredentialReference): ExampleWorkflow {
	return {
		...workflow,
		nodes: workflow.nodes.map((node) =>
			node.credentials?.[GEMINI_OMNI_CREDENTIAL_TYPE]
				? { ...node, credentials: { ...node.credentials, [GEMINI_OMNI_CREDENTIAL_TYPE]: { ...credential } } }
				: node,
		),
	};
}

/**
 * A copy whose Manual Trigger is a Webhook node (POST `path`) with the same name and position.
 * Returns the workflow and the name of the start node.
 */
export function withWebhookStart(
	workflow: ExampleWorkflow,
	options: { path: string; response?: WebhookResponse },
): { workflow: ExampleWorkflow; startNode: string } {
	const triggers = exampleNodesOfType(workflow, MANUAL_TRIGGER_TYPE);
	if (triggers.length !== 1) throw new Error(`${workflow.name} has ${triggers.length} Manual Trigger nodes; expected 1`);
	const [manual] = triggers;
	const webhook = webhookNode({ name: manual.name, id: manual.id, position: manual.position, path: options.path, response: options.response });
	return {
		workflow: { ...workflow, nodes: workflow.nodes.map((node) => (node === manual ? (webhook as ExampleNode) : node)) },
		startNode: manual.name,
	};
}

/** A copy with one node's parameters replaced by `change(parameters)` (e.g. a URL the user would edit). */
export function withNodeParameters(
	workflow: ExampleWorkflow,
	nodeName: string,
	change: (parameters: Record<string, any>) => Record<string, any>,
): ExampleWorkflow {
	exampleNode(workflow, nodeName);
	return {
		...workflow,
		nodes: workflow.nodes.map((node) =>
			node.name === nodeName ? { ...node, parameters: change(structuredClone(node.parameters)) } : node,
		),
	};
}
