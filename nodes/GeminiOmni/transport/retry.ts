/** Pure timing rules of the transport: when to retry, and how long to wait first. */

// 400/401/402/403/404 mean the request itself is wrong: retrying cannot help (the contract says never).
// 429 and 5xx are transient; 502/504 are gateway flavours of 503 and are treated the same way.
export const RETRYABLE_STATUSES = new Set([429, 500, 502, 503, 504]);

export function isRetryableStatus(status: number): boolean {
	return RETRYABLE_STATUSES.has(status);
}

/**
 * `Retry-After` as milliseconds: integer or fractional seconds ("2", "0.35"), or an HTTP date.
 * Returns undefined when absent or unreadable, so the caller falls back to its own backoff.
 */
export function parseRetryAfter(header: unknown, now = Date.now()): number | undefined {
	const value = Array.isArray(header) ? header[0] : header;
	if (value === undefined || value === null) return undefined;
	const text = String(value).trim();
	if (text === '') return undefined;
	if (/^(\d+\.?\d*|\.\d+)$/.test(text)) return Math.round(parseFloat(text) * 1000);
	// An HTTP date always has a weekday and month name; anything else ("-1", "1e3") is not a date.
	if (!/[a-z]{3}/i.test(text)) return undefined;
	const date = Date.parse(text);
	if (Number.isNaN(date)) return undefined;
	return Math.max(0, date - now);
}

/** Exponential backoff with full jitter: a random delay in [base·2^n / 2, base·2^n], capped. */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random = Math.random): number {
	const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
	return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

// Failures that prove the request never reached the server, so even a POST can be retried.
const NOT_SENT_CODES = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'];

export interface RetryRules {
	/** Attempts for failures other than 429, including the first. */
	maxAttempts: number;
	/** How long, from the first attempt, this request may keep retrying: 429s until then, and no Retry-After past it. */
	patienceMs: number;
	/** Backoff when the server gives no Retry-After. */
	baseMs: number;
	capMs: number;
	/** The longest Retry-After honoured at all. */
	maxRetryAfterMs: number;
	/**
	 * False for a request that creates something (POST /generate): an answer or failure after which the
	 * job may exist (a gateway error, a connection dropped after sending) is not retried.
	 */
	idempotent: boolean;
}

/** What one attempt ended with, short of a 2xx answer. */
export type AttemptOutcome = { status: number; retryAfterMs?: number } | { networkCode?: string; networkText?: string };

export type RetryDecision =
	| { retry: true; delayMs: number }
	| {
			retry: false;
			/** The request may have created a job: retrying could bill a second one. */
			mayHaveCreatedJob?: boolean;
			/** The server asked to wait longer than this request may: how long, and which bound it passed. */
			retryAfterTooLong?: { askedMs: number; bound: string };
	  };

/**
 * The retry rules of every request (API calls and output downloads), as one small state machine on an
 * injectable clock: feed it each failed attempt, it says whether and after how long to try again.
 * 429 means nothing was done and waiting cures it, so 429s are bounded by time (patience); the other
 * failures by the attempt count.
 */
export class RetryPolicy {
	attempts = 0;
	/** How many waits followed the server's Retry-After (for the error's summary). */
	retryAfterHonoured = 0;
	private otherFailures = 0;
	private readonly patienceUntil: number;

	constructor(
		private readonly rules: RetryRules,
		private readonly now: () => number = Date.now,
		private readonly random: () => number = Math.random,
	) {
		this.patienceUntil = now() + rules.patienceMs;
	}

	next(outcome: AttemptOutcome): RetryDecision {
		this.attempts++;
		const { rules } = this;
		if (!('status' in outcome)) {
			const provablyNotSent = NOT_SENT_CODES.some((code) => code === outcome.networkCode || outcome.networkText?.includes(code));
			if (!rules.idempotent && !provablyNotSent) return { retry: false, mayHaveCreatedJob: true };
			if (++this.otherFailures >= rules.maxAttempts) return { retry: false };
			return { retry: true, delayMs: backoffDelay(this.otherFailures - 1, rules.baseMs, rules.capMs, this.random) };
		}
		const { status, retryAfterMs } = outcome;
		if (!isRetryableStatus(status)) return { retry: false };
		// A gateway error after the request reached the gateway: the job may exist upstream.
		if (!rules.idempotent && (status === 502 || status === 504)) return { retry: false, mayHaveCreatedJob: true };
		const now = this.now();
		if (status === 429 ? now >= this.patienceUntil : ++this.otherFailures >= rules.maxAttempts) return { retry: false };
		if (retryAfterMs !== undefined) {
			const patienceLeftMs = this.patienceUntil - now;
			if (retryAfterMs > rules.maxRetryAfterMs) {
				return { retry: false, retryAfterTooLong: { askedMs: retryAfterMs, bound: `the ${rules.maxRetryAfterMs / 60_000} minutes this node waits at most` } };
			}
			if (retryAfterMs > patienceLeftMs) {
				return { retry: false, retryAfterTooLong: { askedMs: retryAfterMs, bound: `the ${Math.max(0, Math.round(patienceLeftMs / 1000))} s this item may still wait` } };
			}
			this.retryAfterHonoured++;
			return { retry: true, delayMs: retryAfterMs };
		}
		return { retry: true, delayMs: backoffDelay(Math.min(this.attempts - 1, 10), rules.baseMs, rules.capMs, this.random) };
	}
}
