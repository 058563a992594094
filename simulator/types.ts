/**
 * Public types of the Gemini Omni simulator. Other parts of the project (node tests, engine tests, e2e
 * workflows, the CLI) code against these names, so they are kept stable.
 */

export type Plan = 'starter' | 'pro' | 'premium';

export interface PlanLimits {
	perMinute: number;
	perHour: number;
	concurrent: number;
}

export interface KeySpec {
	key: string;
	plan: Plan;
	/** Default 1_000_000. */
	credits?: number;
	/** Overrides the plan's limits for this key only. */
	limits?: Partial<PlanLimits>;
}

export interface SimulatorOptions {
	/** Default 0: a random free port. */
	port?: number;
	/** Default '127.0.0.1'. */
	host?: string;
	/**
	 * Default 1. Multiplies every duration: job durations, the estimatedSeconds reported, the rate windows
	 * (60 s / 3600 s), Retry-After values, webhook retry delays and answer timeout, signed-URL lifetime.
	 */
	timeScale?: number;
	/** Account webhook secret used to sign callbacks; default DEMO_WEBHOOK_SECRET. */
	webhookSecret?: string;
	/** Extra keys besides the demo keys. */
	keys?: KeySpec[];
	/**
	 * Default false: `keys` are the fixed DEMO_KEYS. True: random keys of this simulator's own, for tests
	 * that share one n8n (its request budget and job gate per key would otherwise carry over between them).
	 */
	ownKeys?: boolean;
	/** Largest accepted upload in bytes; default 512 MiB. Lowered by tests to exercise the 413 path. */
	maxUploadBytes?: number;
	/**
	 * How long a webhook receiver has to answer before the attempt counts as failed; default 10 s ×
	 * timeScale. Tests of real n8n at small time scales set a real-world floor: a first request to a
	 * just-started n8n can take longer than 10 s × 0.02.
	 */
	webhookAnswerTimeoutMs?: number;
}

export type LogKind = 'api' | 'upload' | 'storage' | 'admin';

export interface LogEntry {
	seq: number;
	/** Date.now() in ms when the request arrived. */
	at: number;
	method: string;
	/** Without the query string. */
	path: string;
	query: Record<string, string>;
	kind: LogKind;
	/** The bearer key's LAST 6 characters only, never the full key. */
	key?: string;
	plan?: string;
	status: number;
	/** Parsed JSON request body, for JSON requests. */
	body?: unknown;
	jobId?: string;
	error?: string;
	/** Retry-After header value sent. */
	retryAfter?: string;
	/** Concurrent jobs of this key right after this request was handled. */
	inFlight?: number;
	upload?: { sha256: string; size: number; mimeType: string; filename?: string };
	/** For storage downloads, filled when the response finished. */
	bytesSent?: number;
	/** For storage downloads: Date.now() when the response finished or was cut off. */
	endedAt?: number;
}

export interface Fault {
	method?: string;
	/** A string is a prefix match on the path (without query). */
	path?: string | RegExp;
	/** Default 1. */
	times?: number;
	status?: number;
	/** Default { error: 'Injected fault' }. */
	body?: unknown;
	/** Raw Retry-After header value, sent verbatim (e.g. '0.2' or an HTTP date). */
	retryAfter?: string;
	/** Destroy the socket without answering. */
	drop?: boolean;
	/** Answer (normally or with the fault) after this delay. */
	delayMs?: number;
}

export interface WebhookDelivery {
	jobId: string;
	event: string;
	url: string;
	attempt: number;
	/** Date.now() when the attempt started. */
	at: number;
	status?: number;
	/** The start of the receiver's answer (what a test shows when the status is not the expected one). */
	answer?: string;
	error?: string;
	body: string;
	signature: string;
}

export type JobStatus = 'accepted' | 'generating' | 'done' | 'failed';

/** Exactly what GET /api/v1/jobs/{jobId} returns for the job. */
export interface SimJobView {
	jobId: string;
	status: JobStatus;
	model: string;
	creditCost: number;
	createdAt: string;
	estimatedSeconds: number;
	outputUrl?: string;
	completedAt?: string;
	error?: string;
}

/** The handle returned by startSimulator. */
export interface Simulator {
	/** API base URL, http://127.0.0.1:<port>. */
	url: string;
	port: number;
	timeScale: number;
	webhookSecret: string;
	keys: { pro: string; premium: string; starter: string; noCredits: string };
	/** Live array, append-only (clearLog empties it in place). */
	log: LogEntry[];
	webhookDeliveries: WebhookDelivery[];
	clearLog(): void;
	addKey(spec: KeySpec): void;
	/** Queued; the first matching fault is consumed per request. */
	injectFault(f: Fault): void;
	clearFaults(): void;
	/** The JSON the API would return for the job. */
	getJob(jobId: string): SimJobView | undefined;
	/** Peak concurrent jobs seen for a key (full key or its last characters), or overall. */
	maxInFlight(keyOrSuffix?: string): number;
	/** Re-sends the job's final event (same body and signature) now. */
	redeliverWebhook(
		jobId: string,
		opts?: { times?: number; concurrent?: boolean; url?: string },
	): Promise<WebhookDelivery[]>;
	sendSignedWebhook(
		url: string,
		body: string,
		opts?: { signature?: string | null },
	): Promise<{ status: number; text: string }>;
	signWebhookBody(body: string): string;
	/** Stops timers, cancels webhook retries, closes sockets, deletes stored uploads. */
	close(): Promise<void>;
}
