/**
 * One abort listener per signal, however many waits of ours listen to it. A batch has many waits on
 * one signal at once (queued items, retry sleeps, the poll loop, downloads): one listener each would
 * pass Node's limit of 10 (a MaxListenersExceededWarning on Node 20) and grow with the batch.
 */
type Callback = () => void;

const callbacksBySignal = new WeakMap<AbortSignal, Set<Callback>>();
const listenerBySignal = new WeakMap<AbortSignal, Callback>();

/** Calls `callback` once when `signal` aborts (at once if it already has); returns the unsubscribe. */
export function onAbort(signal: AbortSignal, callback: Callback): () => void {
	if (signal.aborted) {
		callback();
		return () => {};
	}
	let callbacks = callbacksBySignal.get(signal);
	if (!callbacks) {
		const fresh = new Set<Callback>();
		callbacks = fresh;
		const listener = () => {
			forget(signal);
			for (const each of fresh) each();
		};
		callbacksBySignal.set(signal, fresh);
		listenerBySignal.set(signal, listener);
		signal.addEventListener('abort', listener, { once: true });
	}
	const own = () => callback();
	callbacks.add(own);
	return () => {
		const current = callbacksBySignal.get(signal);
		if (!current?.delete(own) || current.size) return;
		signal.removeEventListener('abort', listenerBySignal.get(signal)!);
		forget(signal);
	};
}

function forget(signal: AbortSignal): void {
	callbacksBySignal.delete(signal);
	listenerBySignal.delete(signal);
}

/** Our callbacks waiting on `signal` right now (0 once every wait on it has ended). */
export function abortCallbackCount(signal: AbortSignal): number {
	return callbacksBySignal.get(signal)?.size ?? 0;
}
