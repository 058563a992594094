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
