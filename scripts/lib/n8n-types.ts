/** The shapes the n8n test helpers exchange: start options, HTTP results, executions, the instance. */

export interface StartN8nOptions {
	/** Use (and keep, unless keepFolder is false) this folder; default: a fresh folder under .tmp/. */
	userFolder?: string;
	/** Default: a free port. */
	port?: number;
	/** The package to pack and install as a community package; default $GEMINI_OMNI_E2E_PACKAGE_DIR, else the repository root. */
	packageDir?: string;
	/** Default true. False starts n8n without installing anything into the nodes folder. */
	installPackage?: boolean;
	/** Extra environment for n8n; wins over the defaults below. */
	env?: Record<string, string>;
	/** Keep the user folder after stop(). Default: false for a folder made here, true for one given. */
	keepFolder?: boolean;
	/** How long start may take before it is declared failed. Default 180 s (a first start on 2 cores takes 20-30 s). */
	startTimeoutMs?: number;
	/** Called with every line n8n prints (dev uses it to stream logs). */
	onLogLine?: (line: string) => void;
	/**
	 * Whether this process may exit while n8n still runs (its exit handler then ends n8n): for an n8n
	 * shared by several test files, which no single file stops.
	 */
	unref?: boolean;
	owner?: { email: string; password: string; firstName: string; lastName: string };
	/**
	 * Which installed n8n to start (default N8N_VERSION). 2.x runs on Node 24; 1.x on Node 20, as its
	 * users run it (the toolchain installs both: scripts/install-n8n.sh).
	 */
	n8nVersion?: string;
	/** Aborting stops a start in progress (Ctrl-C while n8n boots): n8n is stopped and the start rejects. */
	signal?: AbortSignal;
	/**
	 * Which n8n process (queue mode, scripts/lib/queue-stack.ts): 'main' (default, `n8n start`, signed in
	 * with an API key), 'worker' (`n8n worker`, ready when its health server says so) or 'webhook'
	 * (`n8n webhook`). Workers and webhook processes have no owner session and no API key.
	 */
	role?: 'main' | 'worker' | 'webhook';
	/** A worker's `--concurrency` (default 5). */
	workerConcurrency?: number;
	/**
	 * Whether this start may also take the start slot kept for the suite's longest path (scripts/lib/start-slots.ts,
	 * PRIORITY_SLOTS): a file whose stack start and restart delay everything after them.
	 */
	startPriority?: boolean;
}

export interface HttpResult<T = unknown> {
	status: number;
	headers: Headers;
	/** Parsed JSON when the body is JSON, otherwise the text. */
	body: T;
}

export interface CallWebhookOptions {
	/**
	 * 'auto' (default): JSON parsed, anything else as text. 'buffer': the body's exact bytes as a Buffer
	 * (a Webhook node answering with a binary file).
	 */
	responseType?: 'auto' | 'buffer';
	/** Retry 404 answers (the production webhook is registered a moment after activation). Default true. */
	waitUntilRegistered?: boolean;
	/** How long to keep retrying 404. Default 20 s. */
	registrationTimeoutMs?: number;
	method?: string;
	headers?: Record<string, string>;
}

/** The public API's execution shape, as far as the tests and the demo read it. */
export interface N8nExecution {
	id: string;
	workflowId: string;
	status: string;
	finished: boolean;
	mode: string;
	startedAt: string;
	stoppedAt: string | null;
	data?: {
		resultData?: {
			runData?: Record<string, Array<N8nTaskData>>;
			error?: { message?: string; description?: string; [key: string]: unknown };
			lastNodeExecuted?: string;
		};
		[key: string]: unknown;
	};
	[key: string]: unknown;
}

/** A binary property as n8n records it in an execution: metadata only, the bytes stay in the binary store. */
export interface N8nBinaryData {
	mimeType: string;
	fileName?: string;
	fileExtension?: string;
	/** Human-readable, e.g. "256 kB". */
	fileSize?: string;
	/** Exact size in bytes (n8n-core sets it when it stores the file). */
	bytes?: number;
	/** Where the store keeps it, e.g. "filesystem-v2:…"; absent for in-memory data. */
	id?: string;
	[key: string]: unknown;
}

export interface N8nItem {
	json: Record<string, unknown>;
	binary?: Record<string, N8nBinaryData>;
	pairedItem?: { item: number; input?: number } | Array<{ item: number; input?: number }> | number;
}

export interface N8nTaskData {
	executionStatus?: string;
	error?: { message?: string; description?: string; httpCode?: string; [key: string]: unknown };
	data?: { main?: Array<Array<N8nItem> | null> };
	[key: string]: unknown;
}

export interface N8nNodeTypeDescription {
	name: string;
	displayName: string;
	version: number | number[];
	[key: string]: unknown;
}

export interface N8nInstance {
	/** http://127.0.0.1:<port> (no trailing slash): the editor and the REST/public APIs. */
	baseUrl: string;
	port: number;
	/** The n8n process (its task runners are its children). */
	pid?: number;
	runnersBrokerPort: number;
	userFolder: string;
	/** Public API key (X-N8N-API-KEY) with every scope the owner may have. */
	apiKey: string;
	owner: { email: string; password: string };
	/** Seconds each start phase took, for reports. */
	/** `seededDatabase`: the folder started from the version's migrated database (n8n-database-template.ts). */
	timings: { installSeconds: number; startSeconds: number; loginSeconds: number; seededDatabase: boolean };
	/** Public API call (/api/v1/...); throws N8nHttpError unless 2xx. */
	api<T = any>(method: string, path: string, body?: unknown): Promise<T>;
	/** Internal REST call (/rest/...) with the owner's session cookie; throws unless 2xx; unwraps `data`. */
	rest<T = any>(method: string, path: string, body?: unknown): Promise<T>;
	createCredential(name: string, type: string, data: Record<string, unknown>): Promise<string>;
	createWorkflow(workflow: WorkflowInput): Promise<string>;
	activateWorkflow(id: string): Promise<void>;
	deactivateWorkflow(id: string): Promise<void>;
	/** Production webhook URL of a Webhook node whose path is `path`. */
	webhookUrl(path: string): string;
	callWebhook<T = any>(path: string, body?: unknown, options?: CallWebhookOptions): Promise<HttpResult<T>>;
	listExecutions(workflowId: string): Promise<N8nExecution[]>;
	getExecution(id: string, includeData?: boolean): Promise<N8nExecution>;
	/**
	 * Waits for a finished execution of the workflow that `accept` takes (default: any) and returns it
	 * with its data. n8n answers a webhook before it has always saved the execution, hence the polling.
	 */
	waitForExecution(
		workflowId: string,
		options?: { accept?: (execution: N8nExecution) => boolean; timeoutMs?: number },
	): Promise<N8nExecution>;
	/**
	 * Polls one execution (with its data) until `until` accepts it, e.g. until its status is "waiting"
	 * or "success"; throws with the last status seen after `timeoutMs` (default 30 s).
	 */
	waitForExecutionState(
		id: string,
		until: (execution: N8nExecution) => boolean,
		options?: { timeoutMs?: number; what?: string },
	): Promise<N8nExecution>;
	/** GET /types/nodes.json (session cookie): every node type the editor would offer. */
	nodeTypes(): Promise<N8nNodeTypeDescription[]>;
	/** GET /types/credentials.json (session cookie): every credential type n8n loaded. */
	credentialTypes(): Promise<Array<{ name: string; displayName: string; [key: string]: unknown }>>;
	/** The last `lines` lines n8n printed (stdout and stderr interleaved). */
	logs(lines?: number): string;
	/** Graceful SIGTERM, SIGKILL after a grace period, then removes the folder unless kept. Idempotent. */
	stop(): Promise<void>;
	/** SIGKILL at once (a crashed worker or container), then as stop(). */
	kill(): Promise<void>;
	/** Which n8n process this is. */
	role: 'main' | 'worker' | 'webhook';
}

export interface WorkflowInput {
	name: string;
	nodes: Array<Record<string, unknown>>;
	connections: Record<string, unknown>;
	settings?: Record<string, unknown>;
	[key: string]: unknown;
}

export class N8nHttpError extends Error {
	constructor(
		readonly method: string,
		readonly url: string,
		readonly status: number,
		readonly responseText: string,
	) {
		super(`${method} ${url} answered ${status}: ${responseText.slice(0, 1000)}`);
		this.name = 'N8nHttpError';
	}
}

export class N8nStartError extends Error {
	constructor(message: string, readonly logTail: string) {
		super(`${message}\n--- last n8n output ---\n${logTail}\n--- end of n8n output ---`);
		this.name = 'N8nStartError';
	}
}
