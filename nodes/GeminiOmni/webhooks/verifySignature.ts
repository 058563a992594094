/**
 * The one signature verifier, shared by the Gemini Omni Trigger and the node's callback wait.
 * `X-Gemini-Signature` is the lowercase hex HMAC-SHA256 of the raw request body, keyed with the
 * account's webhook secret. Only the exact bytes received are verified: a body parsed and
 * re-serialised (other whitespace, other key order) does not match, by design.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IDataObject, IWebhookFunctions } from 'n8n-workflow';

import { OUTPUT_URL_LIFETIME_MS } from '../helpers/job';

export const SIGNATURE_HEADER = 'x-gemini-signature';

const LOWERCASE_HEX_SHA256 = /^[0-9a-f]{64}$/;

/** True only for a valid signature. Never throws: anything odd (no secret, no header, bad length) is false. */
export function verifySignature(rawBody: Buffer | string | undefined, signature: unknown, secret: string | undefined): boolean {
	try {
		if (!secret || rawBody === undefined) return false;
		const provided = Array.isArray(signature) ? signature[0] : signature;
		// The contract says lowercase hex: an uppercase or truncated header is rejected, not normalised.
		if (typeof provided !== 'string' || !LOWERCASE_HEX_SHA256.test(provided)) return false;
		const expected = createHmac('sha256', secret).update(rawBody).digest();
		const given = Buffer.from(provided, 'hex');
		return given.length === expected.length && timingSafeEqual(given, expected);
	} catch {
		return false;
	}
}

type RequestWithRawBody = ReturnType<IWebhookFunctions['getRequestObject']> & {
	rawBody?: Buffer;
	readRawBody?: () => Promise<void>;
};

/**
 * The exact bytes of the request body, reading them when n8n has not yet. Undefined when they cannot be
 * had: n8n parses multipart bodies itself and then cannot give the bytes back (readRawBody throws).
 * Such a request is unverifiable, so it gets the 401 of a bad signature instead of an error that
 * would record a failed execution (trigger) or end a waiting one (resume URL).
 */
export async function readRawBody(this: IWebhookFunctions): Promise<Buffer | undefined> {
	try {
		const request = this.getRequestObject() as RequestWithRawBody;
		if (!request.rawBody && typeof request.readRawBody === 'function') await request.readRawBody();
		return Buffer.isBuffer(request.rawBody) ? request.rawBody : undefined;
	} catch {
		return undefined;
	}
}

export interface JobEvent extends IDataObject {
	event: string;
	jobId: string;
	status: string;
	model?: string;
	creditCost?: number;
	outputUrl?: string;
	expiresAt?: string;
	error?: string;
	timestamp?: string;
}

/**
 * The event's time as an ISO string. The contract sends ISO 8601; a sender that puts epoch seconds or
 * milliseconds there is read too, so the replay window still applies to its events.
 */
function readTimestamp(value: unknown): string | undefined {
	if (typeof value === 'string') return value;
	if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return undefined;
	// Below 10^11 it can only be seconds (10^11 ms is 1973; 10^11 s is the year 5138).
	const date = new Date(value < 1e11 ? value * 1000 : value);
	// Past the largest date JavaScript has: unreadable, like a missing timestamp.
	return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** Parses a verified body into the normalised event; undefined when it is not a job event. */
export function parseJobEvent(rawBody: Buffer): JobEvent | undefined {
	let body: IDataObject;
	try {
		body = JSON.parse(rawBody.toString('utf8')) as IDataObject;
	} catch {
		return undefined;
	}
	if (!body || typeof body !== 'object' || typeof body.jobId !== 'string' || typeof body.event !== 'string') return undefined;
	const event: JobEvent = {
		event: body.event,
		jobId: body.jobId,
		status: String(body.status ?? (body.event === 'job.completed' ? 'done' : body.event === 'job.failed' ? 'failed' : '')),
		model: typeof body.model === 'string' ? body.model : undefined,
		creditCost: typeof body.creditCost === 'number' ? body.creditCost : undefined,
		outputUrl: typeof body.outputUrl === 'string' ? body.outputUrl : undefined,
		expiresAt: undefined,
		error: typeof body.error === 'string' ? body.error : undefined,
		timestamp: readTimestamp(body.timestamp),
	};
	const finished = Date.parse(event.timestamp ?? '');
	if (event.outputUrl && !Number.isNaN(finished)) event.expiresAt = new Date(finished + OUTPUT_URL_LIFETIME_MS).toISOString();
	return event;
}
