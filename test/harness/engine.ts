/**
 * Runs real workflows through n8n-core's WorkflowExecute: real node execution contexts, real
 * HTTP helpers, real binary store, expressions evaluated by n8n-workflow. Only what n8n's
 * application would fetch from its database (credentials, node types) is served from memory.
 */
import { Container } from '@n8n/di';
import { randomUUID } from 'node:crypto';
import type {
	ExecutionError,
	ICredentialType,
	IConnections,
	IDataObject,
	IExecuteContextData,
	INode,
	INodeCredentials,
	INodeExecutionData,
	INodeParameters,
	INodeType,
	IRun,
	IVersionedNodeType,
	IWorkflowBase,
	IWorkflowExecuteAdditionalData,
	IWorkflowSettings,
} from 'n8n-workflow';
import { NodeConnectionTypes, Workflow, createRunExecutionData } from 'n8n-workflow';
import {
	BinaryDataService,
	ExecutionLifecycleHooks,
	ExternalSecretsProxy,
	WorkflowExecute,
	getAdditionalKeys,
} from 'n8n-core';

import { HarnessCredentialsHelper, type HarnessCredential } from './credentials-helper';
import { binaryStoragePath, useBinaryMode } from './environment';
import {
	HARNESS_START_TYPE,
	HarnessCredentialTypes,
	HarnessNodeTypes,
	PACKAGE_NAME,
	type EncodedBinary,
} from './node-types';

export type { HarnessCredential };
export { binaryStoragePath, HARNESS_START_TYPE, PACKAGE_NAME };

/** Type name to use for our node in workflows; the bare `geminiOmni` works too. */
export const GEMINI_OMNI_TYPE = `${PACKAGE_NAME}.geminiOmni`;

export interface RunOptions {
	/** Workflow nodes; the harness adds nothing unless the caller uses the helpers below. */
	nodes: INode[];
	connections: IConnections;
	/** Matched by node.credentials[type].id, or by type alone for a credential without id. */
	credentials?: HarnessCredential[];
	/** Extra node types by type name (this package's nodes and the start node are built in). */
	nodeTypes?: Record<string, INodeType | IVersionedNodeType>;
	/** Extra credential types (this package's GeminiOmniApi is built in). */
	credentialTypes?: ICredentialType[];
	/** Default: the node made by `manualTrigger()`, else the first node nothing connects into. */
	startNode?: string;
	/** 'filesystem' = n8n's filesystem binary store in a temp dir, so streamed files never sit in memory. */
	binaryMode?: 'default' | 'filesystem';
	/** The run is cancelled and runWorkflow rejects after this long. Default 4000, under Jest's 5 s. */
	timeoutMs?: number;
	/** Cancels the execution like the editor's stop button; nodes see it as getExecutionCancelSignal(). */
	abortSignal?: AbortSignal;
	/** Base of $execution.resumeUrl and the other instance URLs. Default http://localhost:5678. */
	instanceBaseUrl?: string;
	/** Workflow settings; executionOrder defaults to 'v1' like new workflows in n8n. */
	settings?: IWorkflowSettings;
	/**
	 * The workflow's static data, as n8n would load it from its database: pass the same object to
	 * several runs and it carries what the nodes saved (n8n saves it after non-manual runs).
	 */
	staticData?: IDataObject;
	/**
	 * The execution's context data to start from, e.g. `run.data.executionData.contextData` of a failed
	 * run: what n8n's Retry of an execution starts from (it reuses the failed execution's saved data).
	 */
	contextData?: IDataObject;
	/** Execution mode the nodes see; default 'manual'. */
	mode?: 'manual' | 'trigger' | 'retry' | 'webhook';
}

export interface RunResult {
	run: IRun;
	/** run.status: 'success' | 'error' | 'canceled' | 'waiting' | ... */
	status: string;
	/** The execution error, if any (run.data.resultData.error), as an Error with n8n's fields kept. */
	error?: Error;
	executionId: string;
	/** Set when a node called putExecutionToWait. */
	waitTill?: Date;
	/** $execution.resumeUrl of this execution, when it is waiting. */
	resumeUrl?: string;
	/** Last run of that node's main output; throws if the node never ran. */
	output(nodeName: string, outputIndex?: number): INodeExecutionData[];
	/** Reads a binary back (any mode) through n8n-core's BinaryDataService. */
	binaryBuffer(item: INodeExecutionData, property?: string): Promise<Buffer>;
}

let executionCount = 0;

export async function runWorkflow(options: RunOptions): Promise<RunResult> {
	const releaseBinaryMode = await useBinaryMode(options.binaryMode ?? 'default');
	try {
		return await execute(options);
	} finally {
		releaseBinaryMode();
	}
}

async function execute(options: RunOptions): Promise<RunResult> {
	const nodeTypes = new HarnessNodeTypes(options.nodeTypes);
	const credentialsHelper = new HarnessCredentialsHelper(
		new HarnessCredentialTypes(options.credentialTypes),
		options.credentials ?? [],
	);
	// The Workflow fills parameter defaults into the nodes and the engine marks nodes; keep the
	// caller's objects untouched so one definition can run several times.
	const nodes = structuredClone(options.nodes);
	const settings: IWorkflowSettings = { executionOrder: 'v1', ...options.settings };
	const workflowData: IWorkflowBase = {
		id: 'harness-workflow',
		name: 'Harness workflow',
		active: false,
		isArchived: false,
		activeVersionId: null,
		createdAt: new Date(),
		updatedAt: new Date(),
		nodes,
		connections: options.connections,
		settings,
	};
	const workflow = new Workflow({ ...workflowData, nodeTypes, staticData: options.staticData });
	const startNode = findStartNode(workflow, nodes, options.startNode);

	const executionId = String(++executionCount);
	const mode = options.mode ?? 'manual';
	const hooks = new ExecutionLifecycleHooks(mode, executionId, workflowData);
	const finished = new Promise<IRun>((resolve) => {
		hooks.addHandler('workflowExecuteAfter', (run, newStaticData) => {
			// What n8n's own hook does: write the changed static data back where it came from.
			if (options.staticData && newStaticData) Object.assign(options.staticData, JSON.parse(JSON.stringify(newStaticData)) as IDataObject);
			resolve(run);
		});
	});
	const additionalData = buildAdditionalData(executionId, hooks, credentialsHelper, options.instanceBaseUrl);

	const runExecutionData = createRunExecutionData({
		executionData: {
			nodeExecutionStack: [{ node: startNode, data: { main: [[{ json: {} }]] }, source: null }],
			...(options.contextData ? { contextData: JSON.parse(JSON.stringify(options.contextData)) as IExecuteContextData } : {}),
		},
	});
	const execution = new WorkflowExecute(additionalData, mode, runExecutionData).processRunExecutionData(workflow);

	const timeoutMs = options.timeoutMs ?? 4000;
	let timer: NodeJS.Timeout | undefined;
	const timedOut = new Promise<never>((_resolve, reject) => {
		timer = setTimeout(() => {
			// Reject before cancelling: cancelling reports a 'canceled' run at once, which must
			// not win the race below.
			reject(new Error(`Harness: workflow run exceeded timeoutMs=${timeoutMs}`));
			execution.cancel();
		}, timeoutMs);
	});
	// Cancelling makes the engine abort its own controller (what nodes see) and report the run
	// through workflowExecuteAfter with status 'canceled'.
	const cancel = () => execution.cancel();
	if (options.abortSignal?.aborted) cancel();
	options.abortSignal?.addEventListener('abort', cancel);

	try {
		const run = await Promise.race([finished, timedOut, execution.then(() => finished)]);
		return buildResult(run, executionId, additionalData);
	} finally {
		clearTimeout(timer);
		options.abortSignal?.removeEventListener('abort', cancel);
	}
}

function findStartNode(workflow: Workflow, nodes: INode[], requested?: string): INode {
	const hasInput = (node: INode) =>
		(workflow.connectionsByDestinationNode[node.name]?.main ?? []).some((inputs) => (inputs ?? []).length > 0);
	const startNode = requested
		? workflow.getNode(requested)
		: (nodes.find((node) => node.type === HARNESS_START_TYPE) ?? nodes.find((node) => !hasInput(node)));
	if (!startNode) throw new Error(`Harness: no start node${requested ? ` named "${requested}"` : ''}`);
	return startNode;
}

function buildAdditionalData(
	executionId: string,
	hooks: ExecutionLifecycleHooks,
	credentialsHelper: HarnessCredentialsHelper,
	instanceBaseUrl = 'http://localhost:5678',
): IWorkflowExecuteAdditionalData {
	const notAvailable = (what: string) => () => {
		throw new Error(`Harness: ${what} is not available in engine tests`);
	};
	return {
		executionId,
		hooks,
		credentialsHelper,
		// Must be present and undefined: n8n-core copies a set value into the execution context.
		encryptedRunnerIdentity: undefined,
		externalSecretsProxy: Container.get(ExternalSecretsProxy),
		currentNodeExecutionIndex: 0,
		variables: {},
		userId: 'harness-user',
		instanceBaseUrl,
		restApiUrl: `${instanceBaseUrl}/rest`,
		webhookBaseUrl: `${instanceBaseUrl}/webhook`,
		webhookWaitingBaseUrl: `${instanceBaseUrl}/webhook-waiting`,
		webhookTestBaseUrl: `${instanceBaseUrl}/webhook-test`,
		formBaseUrl: `${instanceBaseUrl}/form`,
		formWaitingBaseUrl: `${instanceBaseUrl}/form-waiting`,
		formTestBaseUrl: `${instanceBaseUrl}/form-test`,
		mcpBaseUrl: `${instanceBaseUrl}/mcp`,
		mcpTestBaseUrl: `${instanceBaseUrl}/mcp-test`,
		setExecutionStatus: () => {},
		logAiEvent: () => {},
		getRunExecutionData: async () => undefined,
		getRuntimeCredential: async () => undefined,
		executeWorkflow: notAvailable('executeWorkflow (sub-workflows)'),
		startRunnerTask: notAvailable('startRunnerTask (Code node task runners)'),
	};
}

function buildResult(run: IRun, executionId: string, additionalData: IWorkflowExecuteAdditionalData): RunResult {
	const { runData, error: rawError } = run.data.resultData;
	const error = toError(rawError);
	const waiting = run.status === 'waiting';
	return {
		run,
		status: run.status,
		error,
		executionId,
		waitTill: run.waitTill ?? undefined,
		resumeUrl: waiting ? getAdditionalKeys(additionalData, 'manual', run.data).$execution?.resumeUrl : undefined,
		output(nodeName, outputIndex = 0) {
			const runs = runData[nodeName];
			if (!runs?.length) {
				const ran = Object.keys(runData).join(', ') || 'none';
				const why = error ? `; error: ${error.message}` : '';
				throw new Error(`Harness: node "${nodeName}" did not run (ran: ${ran}; status ${run.status}${why})`);
			}
			return runs[runs.length - 1].data?.[NodeConnectionTypes.Main]?.[outputIndex] ?? [];
		},
		async binaryBuffer(item, property = 'data') {
			const binary = item.binary?.[property];
			if (binary === undefined) throw new Error(`Harness: item has no binary property "${property}"`);
			return await Container.get(BinaryDataService).getAsBuffer(binary);
		},
	};
}

/** The engine stores the error spread into a plain object; give tests a real Error back. */
function toError(raw: ExecutionError | undefined): Error | undefined {
	if (raw === undefined) return undefined;
	if (raw instanceof Error) return raw;
	return Object.assign(new Error((raw as Error).message), raw);
}

// ---------------------------------------------------------------------------------------------
// Builders for terse workflows.

export interface HarnessBinary {
	data: Buffer;
	fileName?: string;
	mimeType?: string;
}

/**
 * The harness start node: emits `items`, and for item i the binary properties in `binaries[i]`
 * (a Buffer or { data, fileName, mimeType }), written through prepareBinaryData.
 */
export function manualTrigger(
	items: IDataObject[],
	name = 'Start',
	binaries: Array<Record<string, Buffer | HarnessBinary>> = [],
): INode {
	const encoded = binaries.map((properties) =>
		Object.fromEntries(
			Object.entries(properties).map(([property, value]): [string, EncodedBinary] => {
				const binary = Buffer.isBuffer(value) ? { data: value } : value;
				return [property, { base64: binary.data.toString('base64'), fileName: binary.fileName, mimeType: binary.mimeType }];
			}),
		),
	);
	return node(HARNESS_START_TYPE, name, { items: JSON.stringify(items), binaries: JSON.stringify(encoded) });
}

/** A workflow node; typeVersion 1 unless `extra` says otherwise. */
export function node(type: string, name: string, parameters: INodeParameters, extra: Partial<INode> = {}): INode {
	return { id: randomUUID(), name, type, typeVersion: 1, position: [0, 0], parameters, ...extra };
}

/** Connects each node's first main output to the next node's first main input. */
export function chain(...nodeNames: string[]): IConnections {
	const connections: IConnections = {};
	for (let index = 0; index + 1 < nodeNames.length; index++) {
		connections[nodeNames[index]] = {
			main: [[{ node: nodeNames[index + 1], type: NodeConnectionTypes.Main, index: 0 }]],
		};
	}
	return connections;
}

/** `node.credentials` pointing at the given harness credentials (for `node(..., { credentials })`). */
export function credentialsFor(...credentials: HarnessCredential[]): INodeCredentials {
	return Object.fromEntries(
		credentials.map(({ type, id, name }) => [type, { id: id ?? null, name: name ?? type }]),
	);
}
