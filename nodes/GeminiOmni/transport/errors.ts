/** The contract's error table, turned into errors that tell an n8n user what happened and what to do. */
import type { INode, JsonObject } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

import { redactSecrets } from './apiKey';

const ACTION_BY_STATUS: Record<number, { title: string; action: string }> = {
	400: { title: 'Invalid request', action: 'Fix the field the message names; the request was not retried.' },
	401: {
		title: 'Invalid API key',
		action: 'Check the API key in the Gemini Omni API credential (copy it again from the /api-keys page).',
	},
	402: { title: 'Insufficient credits', action: 'Top up credits or upgrade the plan.' },
	403: {
		title: 'Not permitted on this plan',
		action: 'The REST API needs a Pro or Premium plan: upgrade the account that owns this key.',
	},
	404: {
		title: 'Job not found',
		action: 'Check the job ID: it must be a job created with this same API key.',
	},
	429: {
		title: 'Rate limit exceeded',
		action: 'Wait and run again, lower the batch concurrency, or upgrade the plan for higher limits.',
	},
	500: { title: 'Gemini Omni internal error', action: 'Try again later.' },
	502: { title: 'Gemini Omni gateway error', action: 'Try again later.' },
	503: { title: 'Gemini Omni is unavailable', action: 'Try again later.' },
	504: { title: 'Gemini Omni gateway timeout', action: 'Try again later.' },
};

export interface ApiFailure {
	status?: number;
	/** The server's own `error` text, when it sent one. */
	serverMessage?: string;
	method: string;
	path: string;
	attempts: number;
	/** What was tried, for retried failures, e.g. "4 attempts over 9.2 s, honouring Retry-After". */
	retrySummary?: string;
	/** A network-level failure (timeout, refused, reset) rather than an HTTP answer. */
	networkError?: string;
	/** Its code (ECONNRESET, ...). Kept out of the message: n8n replaces a message that contains a known
	 * code with its own generic text, which would hide what we tried and why. */
	networkCode?: string;
	/** A submit that may have reached the server (gateway error, dropped connection): not resent. */
	mayHaveCreatedJob?: boolean;
}

/** What a 404 means depends on the endpoint: only a job lookup can be "job not found". */
function notFoundFor(path: string): { title: string; action: string } {
	if (path.startsWith('/api/v1/jobs/')) return ACTION_BY_STATUS[404];
	return {
		title: 'Gemini Omni API not found at this Base URL',
		action:
			'The server answered 404 for an endpoint the API always has: check the Base URL in the credential (https://googlegeminiomni.com, with no extra path).',
	};
}

const MAY_HAVE_CREATED_JOB =
	'The request may have reached Gemini Omni and created a job, so it was not sent again (a second submission could start and bill a second job). Before running this item again, check your Gemini Omni account for a new job.';

/** "Invalid API key" + "Invalid API key" → once; a server text that already says what the title says wins. */
function headline(title: string, detail: string | undefined): string {
	if (!detail) return title;
	const cleanDetail = detail.trim().replace(/[.\s]+$/, '');
	if (cleanDetail.toLowerCase().startsWith(title.toLowerCase())) return cleanDetail;
	return `${title}: ${cleanDetail}`;
}

const NETWORK_CODE = /\b(E[A-Z]{3,}|ETIMEDOUT)\b/g;

export function serverErrorText(body: unknown): string | undefined {
	if (body && typeof body === 'object' && 'error' in body) {
		const error = (body as { error: unknown }).error;
		if (typeof error === 'string') return error;
		if (error && typeof error === 'object' && 'message' in error) return String((error as { message: unknown }).message);
	}
	if (typeof body === 'string' && body.trim() !== '') return body.trim().slice(0, 500);
	return undefined;
}

/** Builds the NodeApiError for a failed request; every text goes through redaction first. */
export function toNodeApiError(
	node: INode,
	failure: ApiFailure,
	secrets: Array<string | undefined>,
	itemIndex?: number,
): NodeApiError {
	const { status } = failure;
	const known = status === 404 ? notFoundFor(failure.path) : status ? ACTION_BY_STATUS[status] : undefined;
	const title = known?.title ?? (status ? `Gemini Omni answered HTTP ${status}` : 'Could not reach Gemini Omni');
	let detail = failure.serverMessage ?? failure.networkError?.replace(NETWORK_CODE, '').replace(/\s+/g, ' ').trim();
	// n8n's text for a dropped connection says "You can retry the request immediately": not for a submit.
	if (failure.mayHaveCreatedJob && detail) detail = detail.replace(/[^.]*\bretry\b[^.]*\.?/gi, '').trim() || undefined;
	const message = redactSecrets(headline(title, detail), secrets);
	const tried = failure.attempts > 1 ? ` Tried ${failure.retrySummary ?? `${failure.attempts} times`}.` : '';
	const action = failure.mayHaveCreatedJob
		? MAY_HAVE_CREATED_JOB
		: (known?.action ?? (status ? 'Try again later.' : 'Check the Base URL in the credential and the network.'));
	const code = failure.networkCode ? ` Network error code: ${failure.networkCode}.` : '';
	const description = redactSecrets(`${action} (${failure.method} ${failure.path})${tried}${code}`, secrets);
	// Only our own clean fields go in: the raw HTTP error would carry the request headers, key included.
	const response: JsonObject = { message, description };
	if (status) response.httpCode = String(status);
	return new NodeApiError(node, response, {
		message,
		description,
		httpCode: status ? String(status) : undefined,
		itemIndex,
	});
}

/** Whether an error is a submit that may still have created (and billed) a job: a dropped connection, a gateway error. */
export function mayHaveCreatedJob(error: unknown): boolean {
	return String((error as { description?: string } | undefined)?.description ?? '').startsWith(MAY_HAVE_CREATED_JOB);
}
