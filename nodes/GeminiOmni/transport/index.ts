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
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { API_KEY_FORMAT_MESSAGE, DEFAULT_BASE_URL, isValidApiKey, redactSecrets } from './apiKey';
import { toNodeApiError, serverErrorText } from './errors';
import type { ApiFailure } from './errors';
import { backoffDelay, isRetryableStatus, parseRetryAfter } from './retry';
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
	itemIndex?: number;
	/** Total attempts including the first. */
	maxAttempts?: number;
	/** Backoff base when the server sends no Retry-After. */
	retryBaseMs?: number;
	retryCapMs?: number;
	timeoutMs?: number;
	/** Called before every attempt; the batch scheduler uses it to keep inside the plan's request budget. */
	beforeAttempt?: () => Promise<void>;
	/** Told about every 429, so a scheduler can slow down. */
	onRateLimited?: (retryAfterMs: number | undefined, serverMessage: string | undefined) => void;
	credentials?: GeminiOmniCredentials;
	/**
	 * False for requests that create something (POST /generate). A network failure after the request
	 * may have reached the server (timeout, reset) is then not retried: a second submission could start
	 * and bill a second job. HTTP answers (429, 5xx) and refused connections are still retried.
	 */
	idempotent?: boolean;
}

// Failures that prove the request never reached the server, so even a POST can be retried.
const NOT_SENT_CODES = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'];

export const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRY_BASE_MS = 1_000;
const DEFAULT_RETRY_CAP_MS = 30_000;

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

function describeNetworkError(error: unknown): string {
	const e = error as { code?: string; cause?: { code?: string }; message?: string };
	const code = e?.code ?? e?.cause?.code;
	const message = e?.message ?? String(error);
	return code && !message.includes(code) ? `${message} (${code})` : message;
}

/** Sends one API request with retries; resolves with the parsed JSON body of a 2xx answer. */
export async function apiRequest(this: ApiContext, options: ApiRequestOptions): Promise<IDataObject> {
	const credentials = options.credentials ?? (await getApiCredentials.call(this, options.itemIndex));
	const maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
	const signal = getCancelSignal(this);
	const secrets = [credentials.apiKey, credentials.webhookSecret];
	const startedAt = Date.now();
	let retryAfterHonoured = 0;

	const fail = (failure: Omit<ApiFailure, 'method' | 'path' | 'retrySummary'>) => {
		const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
		const retrySummary =
			failure.attempts > 1
				? `${failure.attempts} attempts over ${seconds} s` +
					(retryAfterHonoured ? `, honouring Retry-After ${retryAfterHonoured} time(s)` : ', with exponential backoff')
				: undefined;
		return toNodeApiError(
			this.getNode(),
			{ ...failure, method: options.method, path: options.path, retrySummary },
			secrets,
			options.itemIndex,
		);
	};

	for (let attempt = 1; ; attempt++) {
		if (options.beforeAttempt) await options.beforeAttempt();
		const request: IHttpRequestOptions = {
			method: options.method,
			url: `${credentials.baseUrl}${options.path}`,
			json: true,
			headers: { Accept: 'application/json' },
			timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
			returnFullResponse: true,
			ignoreHttpStatusErrors: true,
		};
		if (options.body !== undefined) request.body = options.body;

		let response: IN8nHttpFullResponse | undefined;
		let networkError: string | undefined;
		try {
			response = (await this.helpers.httpRequestWithAuthentication.call(
				this,
				CREDENTIAL_TYPE,
				request,
			)) as IN8nHttpFullResponse;
		} catch (error) {
			networkError = redactSecrets(describeNetworkError(error), secrets);
			if (networkError.includes(API_KEY_FORMAT_MESSAGE)) {
				throw new NodeOperationError(this.getNode(), API_KEY_FORMAT_MESSAGE, { itemIndex: options.itemIndex });
			}
		}

		let delayMs: number;
		if (response) {
			const status = response.statusCode;
			if (status >= 200 && status < 300) return response.body as IDataObject;
			const serverMessage = serverErrorText(response.body);
			if (!isRetryableStatus(status) || attempt >= maxAttempts) {
				throw fail({ status, serverMessage, attempts: attempt });
			}
			const retryAfter = parseRetryAfter(response.headers?.['retry-after']);
			if (status === 429) options.onRateLimited?.(retryAfter, serverMessage);
			if (retryAfter !== undefined) retryAfterHonoured++;
			delayMs =
				retryAfter ??
				backoffDelay(attempt - 1, options.retryBaseMs ?? DEFAULT_RETRY_BASE_MS, options.retryCapMs ?? DEFAULT_RETRY_CAP_MS);
		} else {
			const provablyNotSent = NOT_SENT_CODES.some((code) => networkError?.includes(code));
			if (options.idempotent === false && !provablyNotSent) {
				throw fail({
					networkError: `${networkError}. Not retried: the request may have reached Gemini Omni, and sending it again could start a second job`,
					attempts: attempt,
				});
			}
			if (attempt >= maxAttempts) throw fail({ networkError, attempts: attempt });
			delayMs = backoffDelay(
				attempt - 1,
				options.retryBaseMs ?? DEFAULT_RETRY_BASE_MS,
				options.retryCapMs ?? DEFAULT_RETRY_CAP_MS,
			);
		}
		await sleepUnlessCancelled(delayMs, signal);
	}
}
