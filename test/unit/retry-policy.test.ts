/** The retry rules of every request, on an injected clock: deterministic, no waiting. */
import { RetryPolicy, type RetryRules } from '../../nodes/GeminiOmni/transport/retry';

const rules: RetryRules = { maxAttempts: 5, patienceMs: 3_600_000, baseMs: 1_000, capMs: 30_000, maxRetryAfterMs: 600_000, idempotent: true };

function clock(start = 0) {
	let now = start;
	return { now: () => now, advance: (ms: number) => (now += ms) };
}

it('honours Retry-After on 429 for as long as the patience lasts, whatever the attempt count', () => {
	const time = clock();
	const policy = new RetryPolicy({ ...rules, patienceMs: 60_000 }, time.now);
	for (let i = 0; i < 12; i++) {
		expect(policy.next({ status: 429, retryAfterMs: 5_000 })).toEqual({ retry: true, delayMs: 5_000 });
		time.advance(5_000);
	}
	expect(policy.next({ status: 429, retryAfterMs: 5_000 })).toEqual({ retry: false });
	expect(policy.retryAfterHonoured).toBe(12);
});

it('fails a Retry-After past 10 minutes, or past what the item may still wait, saying which', () => {
	expect(new RetryPolicy(rules, clock().now).next({ status: 429, retryAfterMs: 86_400_000 })).toEqual({
		retry: false,
		retryAfterTooLong: { askedMs: 86_400_000, bound: 'the 10 minutes this node waits at most' },
	});
	const time = clock();
	const policy = new RetryPolicy({ ...rules, patienceMs: 30_000 }, time.now);
	time.advance(10_000);
	expect(policy.next({ status: 503, retryAfterMs: 25_000 })).toEqual({
		retry: false,
		retryAfterTooLong: { askedMs: 25_000, bound: 'the 20 s this item may still wait' },
	});
});

it('5xx and network failures: 5 attempts in all, with capped exponential backoff when no Retry-After', () => {
	const policy = new RetryPolicy(rules, clock().now, () => 1);
	expect(policy.next({ status: 500 })).toEqual({ retry: true, delayMs: 1_000 });
	expect(policy.next({ networkCode: 'ECONNRESET' })).toEqual({ retry: true, delayMs: 2_000 });
	expect(policy.next({ status: 503 })).toEqual({ retry: true, delayMs: 4_000 });
	expect(policy.next({ status: 503, retryAfterMs: 3_000 })).toEqual({ retry: true, delayMs: 3_000 });
	expect(policy.next({ status: 503 })).toEqual({ retry: false });
	expect(policy.attempts).toBe(5);
});

it('never retries 4xx other than 429', () => {
	for (const status of [400, 401, 402, 403, 404]) expect(new RetryPolicy(rules).next({ status })).toEqual({ retry: false });
});

it('a submit (not idempotent): no retry after a gateway error or a connection that may have sent it', () => {
	const submit = { ...rules, idempotent: false };
	expect(new RetryPolicy(submit).next({ status: 502 })).toEqual({ retry: false, mayHaveCreatedJob: true });
	expect(new RetryPolicy(submit).next({ status: 504 })).toEqual({ retry: false, mayHaveCreatedJob: true });
	expect(new RetryPolicy(submit).next({ networkCode: 'ECONNRESET' })).toEqual({ retry: false, mayHaveCreatedJob: true });
	expect(new RetryPolicy(submit).next({ networkText: 'socket hang up' })).toEqual({ retry: false, mayHaveCreatedJob: true });
	// Provably never sent, or answered "retry" by the API itself: retried.
	expect(new RetryPolicy(submit, Date.now, () => 1).next({ networkCode: 'ECONNREFUSED' })).toEqual({ retry: true, delayMs: 1_000 });
	expect(new RetryPolicy(submit).next({ status: 503, retryAfterMs: 1_000 })).toEqual({ retry: true, delayMs: 1_000 });
	expect(new RetryPolicy(submit).next({ status: 429, retryAfterMs: 1_000 })).toEqual({ retry: true, delayMs: 1_000 });
});
