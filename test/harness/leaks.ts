/**
 * Counts the timers and abort listeners that OUR code (nodes/GeminiOmni, source or dist) creates,
 * and which of them are still alive: after the node returns, that must be none.
 *
 * A timer is ours when the first frame of its creation stack outside the timer helpers we call
 * (n8n-workflow's and @n8n/utils' sleep) is in our code: timers that n8n or its HTTP client create
 * while serving our requests are theirs. Listeners likewise, on AbortSignal only.
 */
import { createHook } from 'node:async_hooks';

const OURS = /[\\/]nodes[\\/]GeminiOmni[\\/]/;
const TIMER_HELPERS = /[\\/]node_modules[\\/](n8n-workflow|@n8n[\\/]utils)[\\/]|\(node:|^\s*at node:|[\\/]test[\\/]harness[\\/]leaks\.ts/;

function creatorIsOurs(): boolean {
	const previous = Error.stackTraceLimit;
	Error.stackTraceLimit = 40;
	const frames = (new Error().stack ?? '').split('\n').slice(1);
	Error.stackTraceLimit = previous;
	const creator = frames.find((frame) => !TIMER_HELPERS.test(frame) && !/new Promise|<anonymous>/.test(frame));
	return creator !== undefined && OURS.test(creator);
}

export interface LeakWatch {
	/** Our timers that have not fired or been cleared. */
	liveTimers(): number;
	/** Our abort listeners still registered on signals that have not aborted. */
	liveListeners(): number;
	/** How many of each we created while watching (shows the watch saw our code at all). */
	created(): { timers: number; listeners: number };
	stop(): void;
}

export function watchOurTimersAndListeners(): LeakWatch {
	const timers = new Set<number>();
	let timersCreated = 0;
	const hook = createHook({
		init(asyncId, type) {
			if (type !== 'Timeout' || !creatorIsOurs()) return;
			timers.add(asyncId);
			timersCreated++;
		},
		destroy(asyncId) {
			timers.delete(asyncId);
		},
	});
	hook.enable();

	const listeners = new Set<{ signal: AbortSignal; listener: unknown }>();
	let listenersCreated = 0;
	const proto = EventTarget.prototype;
	const add = proto.addEventListener;
	const remove = proto.removeEventListener;
	proto.addEventListener = function (this: EventTarget, type: string, listener: never, options?: never) {
		if (this instanceof AbortSignal && type === 'abort' && creatorIsOurs()) {
			listeners.add({ signal: this, listener });
			listenersCreated++;
		}
		return add.call(this, type, listener, options);
	};
	proto.removeEventListener = function (this: EventTarget, type: string, listener: never, options?: never) {
		for (const entry of listeners) if (entry.signal === this && entry.listener === listener) listeners.delete(entry);
		return remove.call(this, type, listener, options);
	};

	return {
		liveTimers: () => timers.size,
		liveListeners: () => [...listeners].filter((entry) => !entry.signal.aborted).length,
		created: () => ({ timers: timersCreated, listeners: listenersCreated }),
		stop() {
			hook.disable();
			proto.addEventListener = add;
			proto.removeEventListener = remove;
		},
	};
}

/** Lets cleared and fired timers report their end (async_hooks' destroy comes a tick later). */
export async function settle(): Promise<void> {
	for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}
