/**
 * The one door to the Gemini Omni API. Everything that talks HTTP goes through here: the base URL and
 * the key come from the credential, the key's format is checked before any request, transient failures
 * are retried with backoff (honouring Retry-After), and failures become NodeApiErrors without the key.
 */
import type {
	IDataObject,
	IExecuteFunctions,
	IHttpRequestMethods,
	IHttpRequestOptions,
	ILoadOptionsFunctions,
	IWebhookFunctions,
	IHookFunctions,
	IN8nHttpFullResponse,
	JsonObject,
} from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { onAbort } from './abort';
import { API_KEY_FORMAT_MESSAGE, DEFAULT_BASE_URL, isValidApiKey, redactSecrets } from './apiKey';
import { toNodeApiError, serverErrorText } from './errors';
import type { ApiFailure } from './errors';
import { RetryPolicy, parseRetryAfter } from './retry';
import type { RetryRules } from './retry';
import { sleepUnlessCancelled } from './sleep';

export const CREDENTIAL_TYPE = 'geminiOmniApi';

export type ApiContext = IExecuteFunctions | ILoadOptionsFunctions | IWebhookFunctions | IHookFunctions;

export type Plan = 'pro' | 'premium';

export interface GeminiOmniCredentials {
	apiKey: string;
	baseUrl: string;
	plan: Plan;
	webhookSecret: string;
}

export interface ApiRequestOptions {
	method: IHttpRequestMethods;
	/** Path under the base URL, e.g. `/api/v1/jobs/job_1`. */
	path: string;
	body?: IDataObject;
	/**
	 * A non-JSON body (the multipart upload). A factory, because a streamed body can be sent only once:
	 * every attempt gets a fresh one.
	 */
	rawBody?: () => Promise<{ body: unknown; headers: Record<string, string> }>;
	itemIndex?: number;
	/** Attempts for failures other than 429, including the first. */
	maxAttempts?: number;
	/** How long 429s keep being retried (each after its Retry-After). Default one hour. */
	rateLimitPatienceMs?: number;
	/** Backoff base when the server sends no Retry-After. */
	retryBaseMs?: number;
	retryCapMs?: number;
	timeoutMs?: number;
	/**
	 * Called before every attempt; the batch scheduler uses it to keep inside the plan's request budget.
	 * The function it may return is called when that attempt's answer (or failure) arrives.
	 */
	beforeAttempt?: () => Promise<(() => void) | void>;
	/** Told about every 429, so a scheduler can slow down. */
	onRateLimited?: (retryAfterMs: number | undefined, serverMessage: string | undefined) => void;
	/**
	 * Waits before a retry instead of the plain (cancellable) sleep of `delayMs`: a submit refused by
	 * the concurrent-job limit queues behind its job gate's probe instead (scheduler/index.ts).
	 */
	waitBeforeRetry?: (delayMs: number, refusal: { status?: number; serverMessage?: string }) => Promise<void>;
	credentials?: GeminiOmniCredentials;
	/**
	 * The batch's stop (its first error, or the execution's cancel): no attempt starts after it and
	 * retry waits end. Default: the execution's cancel signal.
	 */
	signal?: AbortSignal;
	/**
	 * False for requests that create something (POST /generate). A network failure after the request
	 * may have reached the server (timeout, reset) is then not retried: a second submission could start
	 * and bill a second job. HTTP answers (429, 5xx) and refused connections are still retried.
	 */
	idempotent?: boolean;
}

export const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_RATE_LIMIT_PATIENCE_MS = 60 * 60_000;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRY_BASE_MS = 1_000;
const DEFAULT_RETRY_CAP_MS = 30_000;
/**
 * The longest Retry-After honoured. One odd header (86400, or a far date from a proxy) must not put an
 * item, or every workflow sharing the key, to sleep for a day: longer asks fail the item, saying so.
 */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** Reads the credential and refuses a malformed key before anything is sent. */
export async function getApiCredentials(this: ApiContext, itemIndex?: number): Promise<GeminiOmniCredentials> {
	const raw = await this.getCredentials(CREDENTIAL_TYPE);
	const apiKey = String(raw.apiKey ?? '').trim();
	if (!isValidApiKey(apiKey)) {
		throw new NodeOperationError(this.getNode(), API_KEY_FORMAT_MESSAGE, { itemIndex });
	}
	const baseUrl = String(raw.baseUrl || DEFAULT_BASE_URL).trim().replace(/\/+$/, '');
	const plan: Plan = raw.plan === 'premium' ? 'premium' : 'pro';
	return { apiKey, baseUrl, plan, webhookSecret: String(raw.webhookSecret ?? '') };
}

export function getCancelSignal(ctx: ApiContext): AbortSignal | undefined {
	const withSignal = ctx as { getExecutionCancelSignal?: () => AbortSignal | undefined };
	return typeof withSignal.getExecutionCancelSignal === 'function' ? withSignal.getExecutionCancelSignal() : undefined;
}

/** A network failure's text and code (ECONNRESET, ...), kept apart: see toNodeApiError. */
function describeNetworkError(error: unknown): { text: string; code?: string } {
	const e = error as { code?: string; cause?: { code?: string }; message?: string };
	return { text: e?.message ?? String(error), code: e?.code ?? e?.cause?.code };
}

/** The batch was stopped (its first error, or the user's Stop): what was not sent stays unsent. */
function stoppedError(ctx: ApiContext, itemIndex?: number): NodeOperationError {
	return new NodeOperationError(ctx.getNode(), 'Stopped before this request finished: the execution or its batch was stopped', { itemIndex });
}

/** JSON answers may arrive as text or bytes when the request itself was not JSON. */
function parseBody(body: unknown): unknown {
	const text = Buffer.isBuffer(body) ? body.toString('utf8') : body;
	if (typeof text !== 'string') return text;
	try {
		return JSON.parse(text);
	} catch {
		return text;
	}
}

export interface DownloadedFile {
	/** A readable stream of the body; hand it to prepareBinaryData without buffering. */
	stream: NodeJS.ReadableStream & { destroy?: () => void };
	contentType?: string;
	contentLength?: number;
}

/**
 * Opens a signed output URL as a stream. Storage URLs carry their own signature, so the API key is
 * NOT sent. Retried by the API's rules (nothing is created by a GET): 5xx and network errors 5 attempts
 * in all, 429s for up to 10 minutes, each honouring Retry-After up to its bound.
 */
export async function openDownload(
	this: ApiContext,
	url: string,
	options: { itemIndex?: number; maxAttempts?: number; timeoutMs?: number; jobId?: string; signal?: AbortSignal } = {},
): Promise<DownloadedFile> {
	const signal = options.signal ?? getCancelSignal(this);
	const safePath = url.split('?')[0];
	// A storage 429 is retried for at most as long as the longest Retry-After honoured, not the hour an
	// API call may wait: a download holds one of the batch's few download slots meanwhile.
	const policy = new RetryPolicy({
		...retryRulesFor({ method: 'GET', path: safePath }),
		maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
		patienceMs: MAX_RETRY_AFTER_MS,
	});
	for (;;) {
		const { response, networkError } = await sendDownloadRequest.call(this, url, options.timeoutMs ?? 10 * 60_000, signal, options.itemIndex);
		if (response && response.statusCode >= 200 && response.statusCode < 300) return streamingDownload(response, signal);
		const status = response?.statusCode;
		(response?.body as { destroy?: () => void } | undefined)?.destroy?.();
		const decision = policy.next(
			status !== undefined ? { status, retryAfterMs: parseRetryAfter(response?.headers?.['retry-after']) } : { networkText: networkError },
		);
		if (decision.retry) {
			await sleepUnlessCancelled(decision.delayMs, signal);
			continue;
		}
		throw downloadFailedError(this, { status, networkError, tooLong: decision.retryAfterTooLong, safePath, attempts: policy.attempts, ...options });
	}
}

/** One GET of the signed URL: the response (any status), or the network error's text. */
async function sendDownloadRequest(
	this: ApiContext,
	url: string,
	timeoutMs: number,
	signal: AbortSignal | undefined,
	itemIndex: number | undefined,
): Promise<{ response?: IN8nHttpFullResponse; networkError?: string }> {
	// A stop aborts the request while it waits for the answer's headers. Only until then: once the
	// body streams, an abort would make the HTTP client emit an error on the stream, which n8n's
	// binary store pipes without an error handler (see streamingDownload for how a download ends).
	const untilHeaders = new AbortController();
	const stopWaiting = signal ? onAbort(signal, () => untilHeaders.abort()) : () => {};
	try {
		const response = (await this.helpers.httpRequest({
			method: 'GET',
			url,
			encoding: 'stream',
			json: false,
			returnFullResponse: true,
			ignoreHttpStatusErrors: true,
			timeout: timeoutMs,
			abortSignal: untilHeaders.signal,
		})) as IN8nHttpFullResponse;
		return { response };
	} catch (error) {
		if (signal?.aborted) throw stoppedError(this, itemIndex);
		return { networkError: describeNetworkError(error).text };
	} finally {
		stopWaiting();
	}
}

/** A 2xx answer as the file's stream, its type and announced length. */
function streamingDownload(response: IN8nHttpFullResponse, signal: AbortSignal | undefined): DownloadedFile {
	const length = Number(response.headers?.['content-length']);
	const stream = response.body as DownloadedFile['stream'];
	// A stopped batch ends a download already streaming. Destroyed without an error: n8n's binary
	// store pipes the stream without an error handler, and its own promise reports the early end.
	if (signal) {
		const stopDownload = onAbort(signal, () => stream.destroy?.());
		(stream as unknown as { once?: (event: string, listener: () => void) => void }).once?.('close', stopDownload);
	}
	return {
		stream,
		contentType: response.headers?.['content-type'] as string | undefined,
		contentLength: Number.isFinite(length) ? length : undefined,
	};
}

/** The download's final failure: an expired URL (403), another status, or the network, with what was tried. */
function downloadFailedError(
	ctx: ApiContext,
	failure: {
		status?: number;
		networkError?: string;
		tooLong?: { askedMs: number; bound: string };
		safePath: string;
		attempts: number;
		jobId?: string;
		itemIndex?: number;
	},
): NodeApiError {
	const { status, networkError, tooLong, safePath, attempts } = failure;
	const forJob = failure.jobId ? ` for job ${failure.jobId}` : '';
	const waitTooLong = tooLong ? `: the storage asked to wait ${Math.round(tooLong.askedMs / 1000)} s (Retry-After), longer than ${tooLong.bound}` : '';
	const message =
		status === 403
			? `The output URL${forJob} has expired or is not valid (HTTP 403): signed URLs work for 7 days after completion. Run Job → Get to see the job's current outputUrl.`
			: status
				? `Downloading the output${forJob} failed with HTTP ${status}${waitTooLong}`
				: `Downloading the output${forJob} failed: ${networkError}`;
	return new NodeApiError(ctx.getNode(), { message, httpCode: status ? String(status) : null } as JsonObject, {
		message,
		description: `GET ${safePath}${attempts > 1 ? ` (tried ${attempts} times)` : ''}`,
		httpCode: status ? String(status) : undefined,
		itemIndex: failure.itemIndex,
	});
}

/** How one API request retries (transport/retry.ts), from its options and the defaults. */
function retryRulesFor(options: ApiRequestOptions): RetryRules {
	return {
		maxAttempts: Math.max(1, options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS),
		patienceMs: options.rateLimitPatienceMs ?? DEFAULT_RATE_LIMIT_PATIENCE_MS,
		baseMs: options.retryBaseMs ?? DEFAULT_RETRY_BASE_MS,
		capMs: options.retryCapMs ?? DEFAULT_RETRY_CAP_MS,
		maxRetryAfterMs: MAX_RETRY_AFTER_MS,
		idempotent: options.idempotent !== false,
	};
}

/** One attempt's end: a 2xx body, or what the retry policy needs to know (and the error to report). */
type Attempt =
	| { ok: true; body: IDataObject }
	| { ok: false; status: number; retryAfterMs?: number; serverMessage?: string }
	| { ok: false; status?: undefined; networkError: string; networkCode?: string };

/** Sends one attempt of an API request, inside the request budget. */
async function sendAttempt(
	this: ApiContext,
	options: ApiRequestOptions,
	credentials: GeminiOmniCredentials,
	signal: AbortSignal | undefined,
): Promise<Attempt> {
	const secrets = [credentials.apiKey, credentials.webhookSecret];
	const attemptDone = options.beforeAttempt ? await options.beforeAttempt() : undefined;
	try {
		// Checked again after the budget wait: a batch stopped meanwhile sends nothing.
		if (signal?.aborted) throw stoppedError(this, options.itemIndex);
		const request: IHttpRequestOptions = {
			method: options.method,
			url: `${credentials.baseUrl}${options.path}`,
			json: true,
			headers: { Accept: 'application/json' },
			timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
			returnFullResponse: true,
			ignoreHttpStatusErrors: true,
		};
		// No abortSignal of ours: n8n's authenticated request helper replaces it with the execution's
		// cancel signal (n8n-core 2.41). A request already on its way therefore finishes after our own
		// stop, which is what a submit needs (cut off, it could create a job whose ID nobody sees).
		if (options.body !== undefined) request.body = options.body;
		if (options.rawBody) {
			const raw = await options.rawBody();
			request.body = raw.body as IHttpRequestOptions['body'];
			request.headers = { ...request.headers, ...raw.headers };
			request.json = false;
		}
		let response: IN8nHttpFullResponse;
		try {
			response = (await this.helpers.httpRequestWithAuthentication.call(this, CREDENTIAL_TYPE, request)) as IN8nHttpFullResponse;
		} catch (error) {
			if (signal?.aborted) throw stoppedError(this, options.itemIndex);
			const described = describeNetworkError(error);
			const networkError = redactSecrets(described.text, secrets);
			if (networkError.includes(API_KEY_FORMAT_MESSAGE)) {
				throw new NodeOperationError(this.getNode(), API_KEY_FORMAT_MESSAGE, { itemIndex: options.itemIndex });
			}
			return { ok: false, networkError, networkCode: described.code };
		}
		const body = parseBody(response.body);
		if (response.statusCode >= 200 && response.statusCode < 300) return { ok: true, body: body as IDataObject };
		return {
			ok: false,
			status: response.statusCode,
			retryAfterMs: parseRetryAfter(response.headers?.['retry-after']),
			serverMessage: serverErrorText(body),
		};
	} finally {
		// Also when building the body failed: the budget slot must never stay "in flight".
		if (attemptDone) attemptDone();
	}
}

/**
 * Sends one API request with retries; resolves with the parsed JSON body of a 2xx answer. The loop
 * only composes: send an attempt (budget, stop), ask the retry policy, tell a scheduler about 429s,
 * wait (cancellable), again.
 */
export async function apiRequest(this: ApiContext, options: ApiRequestOptions): Promise<IDataObject> {
	const credentials = options.credentials ?? (await getApiCredentials.call(this, options.itemIndex));
	const signal = options.signal ?? getCancelSignal(this);
	const startedAt = Date.now();
	const policy = new RetryPolicy(retryRulesFor(options));
	for (;;) {
		// A stopped batch sends nothing more.
		if (signal?.aborted) throw stoppedError(this, options.itemIndex);
		const attempt = await sendAttempt.call(this, options, credentials, signal);
		if (attempt.ok) return attempt.body;
		const decision = policy.next(
			attempt.status !== undefined ? { status: attempt.status, retryAfterMs: attempt.retryAfterMs } : { networkCode: attempt.networkCode, networkText: attempt.networkError },
		);
		// Every 429 tells the scheduler, retried or not (a refused submit the caller gives up on, as a loop
		// pass does, still says the key is full), except one asking for longer than we would ever wait.
		if (attempt.status === 429 && (decision.retry || !decision.retryAfterTooLong)) options.onRateLimited?.(attempt.retryAfterMs, attempt.serverMessage);
		if (decision.retry) {
			if (options.waitBeforeRetry) {
				await options.waitBeforeRetry(decision.delayMs, { status: attempt.status, serverMessage: attempt.status !== undefined ? attempt.serverMessage : undefined });
			} else {
				await sleepUnlessCancelled(decision.delayMs, signal);
			}
			continue;
		}
		const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
		const failure: ApiFailure = {
			method: options.method,
			path: options.path,
			attempts: policy.attempts,
			mayHaveCreatedJob: decision.mayHaveCreatedJob,
			retrySummary:
				policy.attempts > 1
					? `${policy.attempts} attempts over ${seconds} s` +
						(policy.retryAfterHonoured ? `, honouring Retry-After ${policy.retryAfterHonoured} time(s)` : ', with exponential backoff')
					: undefined,
		};
		if (attempt.status !== undefined) {
			failure.status = attempt.status;
			failure.serverMessage = attempt.serverMessage;
			const tooLong = decision.retryAfterTooLong;
			if (tooLong) {
				const asked = `the server asked to wait ${Math.round(tooLong.askedMs / 1000)} s (Retry-After), longer than ${tooLong.bound}`;
				failure.serverMessage = `${attempt.serverMessage ? `${attempt.serverMessage}; ` : ''}${asked}`;
			}
		} else {
			failure.networkError = attempt.networkError;
			failure.networkCode = attempt.networkCode;
		}
		throw toNodeApiError(this.getNode(), failure, [credentials.apiKey, credentials.webhookSecret], options.itemIndex);
	}
}
