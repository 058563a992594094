import { sleep } from 'n8n-workflow';

import { onAbort } from './abort';

export class ExecutionCancelledError extends Error {
	constructor() {
		super('The execution was cancelled');
		this.name = 'ExecutionCancelledError';
	}
}

/**
 * Waits `ms`, ending early with ExecutionCancelledError when `signal` aborts.
 * n8n-workflow's `sleep` is the timer (node code may not touch timers directly). Since n8n 2.x it
 * takes an abort signal and clears its timer on abort: a cancelled wait leaves no timer behind. n8n
 * 1.x's `sleep` has no way to clear it, so the wait goes in steps: a cancelled one leaves at most one
 * step's timer there, not one of up to its whole length.
 */
export async function sleepUnlessCancelled(ms: number, signal?: AbortSignal): Promise<void> {
	if (signal?.aborted) throw new ExecutionCancelledError();
	if (ms <= 0) return;
	const timer = new AbortController();
	let cancel: () => void = () => {};
	const cancelled = new Promise<never>((_resolve, reject) => {
		cancel = () => reject(new ExecutionCancelledError());
	});
	cancelled.catch(() => undefined);
	const stopListening = signal
		? onAbort(signal, () => {
				timer.abort();
				cancel();
			})
		: () => {};
	try {
		const until = Date.now() + ms;
		for (let left = ms; left > 0 && !signal?.aborted; left = until - Date.now()) {
			const step = sleep(Math.min(left, SLEEP_STEP_MS), timer.signal).catch(() => undefined);
			await Promise.race([step, cancelled]);
		}
		if (signal?.aborted) throw new ExecutionCancelledError();
	} finally {
		stopListening();
		timer.abort();
	}
}

/** The longest timer a cancelled wait can leave behind (on n8n 1.x, whose sleep cannot be cleared). */
export const SLEEP_STEP_MS = 1_000;
