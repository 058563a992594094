import { sleep } from 'n8n-workflow';

export class ExecutionCancelledError extends Error {
	constructor() {
		super('The execution was cancelled');
		this.name = 'ExecutionCancelledError';
	}
}

/**
 * Waits `ms`, ending early with ExecutionCancelledError when the execution is cancelled.
 * n8n-workflow's `sleep` is used for the timer (node code may not touch timers directly); older n8n
 * versions give no cancel signal, and then this is a plain sleep.
 */
export async function sleepUnlessCancelled(ms: number, signal?: AbortSignal): Promise<void> {
	if (signal?.aborted) throw new ExecutionCancelledError();
	if (ms <= 0) return;
	if (!signal) return await sleep(ms);
	let onAbort: (() => void) | undefined;
	const aborted = new Promise<never>((_resolve, reject) => {
		onAbort = () => reject(new ExecutionCancelledError());
		signal.addEventListener('abort', onAbort, { once: true });
	});
	try {
		// n8n-workflow's sleep cannot be cleared: sleeping in short steps means a cancelled wait leaves
		// a timer of at most one step behind, not one of up to its whole length.
		const until = Date.now() + ms;
		for (let left = ms; left > 0 && !signal.aborted; left = until - Date.now()) {
			await Promise.race([sleep(Math.min(left, SLEEP_STEP_MS)), aborted]);
		}
		if (signal.aborted) throw new ExecutionCancelledError();
	} finally {
		if (onAbort) signal.removeEventListener('abort', onAbort);
	}
}

/** The longest timer a cancellable wait leaves behind once cancelled. */
export const SLEEP_STEP_MS = 1_000;
