import { PLAN_LABELS, type KeyAccount } from './keys';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

export type RateDecision = { ok: true } | { ok: false; error: string; retryAfterMs: number };

/**
 * Sliding windows of 60 s and 3600 s (both × timeScale) over the key's counted requests.
 * Decided: a request rejected with 429 is NOT counted, so a client that backs off for Retry-After
 * always finds the slot it was promised.
 */
export function admitRequest(account: KeyAccount, now: number, timeScale: number): RateDecision {
	const minuteWindow = MINUTE_MS * timeScale;
	const hourWindow = HOUR_MS * timeScale;
	const times = account.requestTimes;
	while (times.length > 0 && times[0] <= now - hourWindow) times.shift();

	const label = PLAN_LABELS[account.plan];
	// Check the hour first: when both are exhausted, waiting for the minute window would not help.
	if (times.length >= account.limits.perHour) {
		const freesAt = times[times.length - account.limits.perHour] + hourWindow;
		return {
			ok: false,
			error: `Rate limit exceeded: ${account.limits.perHour} requests per hour on the ${label} plan`,
			retryAfterMs: Math.max(1, freesAt - now),
		};
	}
	let firstInMinute = times.length;
	while (firstInMinute > 0 && times[firstInMinute - 1] > now - minuteWindow) firstInMinute--;
	const inMinute = times.length - firstInMinute;
	if (inMinute >= account.limits.perMinute) {
		const freesAt = times[times.length - account.limits.perMinute] + minuteWindow;
		return {
			ok: false,
			error: `Rate limit exceeded: ${account.limits.perMinute} requests per minute on the ${label} plan`,
			retryAfterMs: Math.max(1, freesAt - now),
		};
	}
	times.push(now);
	return { ok: true };
}

/**
 * Retry-After in seconds. Below 10 s it keeps up to 3 decimals (scaled windows are often sub-second and
 * rounding up to 1 s would make fast tests slow); from 10 s on a whole number, rounded up.
 */
export function formatRetryAfter(ms: number): string {
	const seconds = ms / 1000;
	if (seconds < 10) return String(Math.max(0.001, Math.ceil(seconds * 1000) / 1000));
	return String(Math.ceil(seconds));
}
