/**
 * What the trigger remembers of deliveries, so that a retried or replayed event starts nothing.
 *
 * - Replay window: the platform retries a delivery 30 s, 5 min and 30 min after the first attempt, so
 *   a genuine delivery is never older than about 36 minutes. A signed event whose `timestamp` is
 *   older than REPLAY_WINDOW_MS (or too far in the future) is a replay of a captured request.
 * - Memory of (jobId, event), kept for longer than the window (REMEMBER_MS), so every delivery young
 *   enough to pass the window is also one we would recognise: together they mean a captured delivery
 *   can never start a run again, at any time.
 * - Two layers: a process-wide map catches deliveries arriving at the same moment (before either run
 *   has saved anything); the node's static data, saved by n8n after each production webhook call,
 *   carries the memory across restarts. n8n loads and saves the whole static data per request, so
 *   concurrent requests overwrite each other's saves: each save therefore writes the union of what it
 *   loaded and everything this process remembers for the node, and the last save holds them all.
 */
import type { IDataObject } from 'n8n-workflow';

/** A little over the platform's retry schedule (30 s + 5 min + 30 min after the first attempt). */
export const REPLAY_WINDOW_MS = 40 * 60_000;
/** Clocks differ: an event stamped up to this far in the future is accepted. */
export const FUTURE_SKEW_MS = 5 * 60_000;
/** Twice the window: any delivery the window lets through is still remembered. */
export const REMEMBER_MS = 2 * REPLAY_WINDOW_MS;
/** A safety bound on the stored memory (a burst larger than this within REMEMBER_MS is not expected). */
export const MAX_REMEMBERED = 20_000;

const STORE_FIELD = 'deliveriesSeen';
const inProcess = new Map<string, number>();

export type DeliveryAge = 'fresh' | 'tooOld' | 'inTheFuture';

/** Judges an event's own timestamp. One without a readable timestamp is judged by the memory alone. */
export function deliveryAge(timestamp: string | undefined, now = Date.now()): DeliveryAge {
	const at = Date.parse(timestamp ?? '');
	if (Number.isNaN(at)) return 'fresh';
	if (at < now - REPLAY_WINDOW_MS) return 'tooOld';
	if (at > now + FUTURE_SKEW_MS) return 'inTheFuture';
	return 'fresh';
}

function storedMemory(staticData: IDataObject, now: number): Record<string, number> {
	const stored = staticData[STORE_FIELD];
	const memory: Record<string, number> = {};
	if (stored && typeof stored === 'object' && !Array.isArray(stored)) {
		for (const [key, at] of Object.entries(stored as Record<string, unknown>)) if (typeof at === 'number') memory[key] = at;
	}
	// The earlier format (a list of keys, no times): kept as seen now.
	if (Array.isArray(staticData.deliveries)) for (const key of staticData.deliveries as unknown[]) if (typeof key === 'string') memory[key] ??= now;
	return memory;
}

/**
 * Records a delivery under `key` (`<workflow>:<node>:<jobId>:<event>`); true the first time it is
 * seen. `scope` (`<workflow>:<node>:`) selects the keys of this node for the union written back.
 */
export function rememberDelivery(staticData: IDataObject, scope: string, key: string, now = Date.now()): boolean {
	for (const [known, at] of inProcess) if (at < now - REMEMBER_MS) inProcess.delete(known);
	const memory = storedMemory(staticData, now);
	if (inProcess.has(key) || (memory[key] !== undefined && memory[key] >= now - REMEMBER_MS)) return false;
	inProcess.set(key, now);
	if (inProcess.size > MAX_REMEMBERED) inProcess.delete(inProcess.keys().next().value as string);
	for (const [known, at] of inProcess) if (known.startsWith(scope)) memory[known] = Math.max(memory[known] ?? 0, at);
	const kept = Object.entries(memory)
		.filter(([, at]) => at >= now - REMEMBER_MS)
		.sort((a, b) => a[1] - b[1])
		.slice(-MAX_REMEMBERED);
	staticData[STORE_FIELD] = Object.fromEntries(kept);
	delete staticData.deliveries;
	return true;
}

/** Forgets the process-wide memory: for tests that simulate a restart. */
export function forgetInProcessDeliveries(): void {
	inProcess.clear();
}
