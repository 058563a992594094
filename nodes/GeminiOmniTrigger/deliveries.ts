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
 *   carries the memory across restarts and to other webhook processes.
 * - n8n loads the workflow's static data at the start of each webhook call and saves the whole of it
 *   when the call ends, so concurrent calls overwrite each other's saves, and they do not end in the
 *   order they began. So a recorded key is written into every copy this process has open (whichever
 *   is saved last holds it), and each copy also gets what this process remembers for the node.
 * - Cost per delivery stays proportional to what is remembered for the node, never more: the stored
 *   keys are `<jobId>:<event>` (the node is implied by where they are stored), at most MAX_REMEMBERED.
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
/** How many webhook calls' copies of static data are kept open (calls of one node in flight at once). */
const OPEN_COPIES = 64;

const STORE_FIELD = 'deliveriesSeen';

/** How long a recorded key is handed to newly loaded copies: longer than a webhook call takes to save. */
const RECENT_MS = 5 * 60_000;

/** This process's memory, per node (`<workflow>:<node>:`). */
const inProcess = new Map<string, NodeMemory>();
/** The node static data of the latest webhook calls, per node: see the header. */
const openCopies = new Map<string, Array<Record<string, number>>>();

export type DeliveryAge = 'fresh' | 'tooOld' | 'inTheFuture';

/** Judges an event's own timestamp. One without a readable timestamp is judged by the memory alone. */
export function deliveryAge(timestamp: string | undefined, now = Date.now()): DeliveryAge {
	const at = Date.parse(timestamp ?? '');
	if (Number.isNaN(at)) return 'fresh';
	if (at < now - REPLAY_WINDOW_MS) return 'tooOld';
	if (at > now + FUTURE_SKEW_MS) return 'inTheFuture';
	return 'fresh';
}

/**
 * The stored record of this copy of the node's static data. Rebuilt only when needed (an earlier format:
 * a list of keys, or keys with the node's scope in front; the oldest entry expired; over the bound), so
 * a usual call touches a handful of entries.
 */
function storedRecord(staticData: IDataObject, scope: string, now: number): Record<string, number> {
	const stored = staticData[STORE_FIELD];
	const record = stored && typeof stored === 'object' && !Array.isArray(stored) ? (stored as Record<string, unknown>) : {};
	let oldest: [string, unknown] | undefined;
	for (const entry of Object.entries(record)) {
		oldest = entry;
		break;
	}
	const current =
		stored === record &&
		!Array.isArray(staticData.deliveries) &&
		(oldest === undefined || (!oldest[0].startsWith(scope) && typeof oldest[1] === 'number' && oldest[1] >= now - REMEMBER_MS)) &&
		Object.keys(record).length <= MAX_REMEMBERED;
	if (current) return record as Record<string, number>;
	const entries: Array<[string, number]> = [];
	for (const [key, at] of Object.entries(record)) if (typeof at === 'number') entries.push([key.startsWith(scope) ? key.slice(scope.length) : key, at]);
	if (Array.isArray(staticData.deliveries)) {
		for (const key of staticData.deliveries as unknown[]) if (typeof key === 'string') entries.push([key.startsWith(scope) ? key.slice(scope.length) : key, now]);
	}
	const kept = entries
		.filter(([, at]) => at >= now - REMEMBER_MS)
		.sort((a, b) => a[1] - b[1])
		.slice(-MAX_REMEMBERED);
	staticData[STORE_FIELD] = Object.fromEntries(kept);
	delete staticData.deliveries;
	return staticData[STORE_FIELD] as Record<string, number>;
}

interface NodeMemory {
	/** `<jobId>:<event>` → when, oldest first. */
	seen: Map<string, number>;
	/** The keys recorded in the last RECENT_MS, oldest first: saves of calls still running may not have landed. */
	recent: Array<[string, number]>;
}

function memoryOf(scope: string, now: number): NodeMemory {
	let memory = inProcess.get(scope);
	if (!memory) inProcess.set(scope, (memory = { seen: new Map(), recent: [] }));
	for (const [key, at] of memory.seen) {
		if (at >= now - REMEMBER_MS && memory.seen.size <= MAX_REMEMBERED) break;
		memory.seen.delete(key);
	}
	const stale = memory.recent.findIndex(([, at]) => at >= now - RECENT_MS);
	memory.recent.splice(0, stale === -1 ? memory.recent.length : stale);
	return memory;
}

/**
 * Records a delivery of (jobId, event) for the node `scope` (`<workflow>:<node>:`) in this webhook
 * call's copy of the node's static data; true the first time it is seen.
 */
export function rememberDelivery(staticData: IDataObject, scope: string, jobId: string, event: string, now = Date.now()): boolean {
	const key = `${jobId}:${event}`;
	const memory = memoryOf(scope, now);
	const record = storedRecord(staticData, scope, now);
	const known = memory.seen.has(key) || (typeof record[key] === 'number' && record[key] >= now - REMEMBER_MS);
	// This copy may have been loaded before the saves of calls still running landed: give it their keys.
	for (const [recent, at] of memory.recent) if (record[recent] === undefined) record[recent] = at;
	const copies = (openCopies.get(scope) ?? []).filter((copy) => copy !== record);
	copies.push(record);
	openCopies.set(scope, copies.slice(-OPEN_COPIES));
	if (known) return false;
	memory.seen.set(key, now);
	memory.recent.push([key, now]);
	for (const copy of copies) copy[key] = now;
	return true;
}

/** Forgets the process-wide memory: for tests that simulate a restart. */
export function forgetInProcessDeliveries(): void {
	inProcess.clear();
	openCopies.clear();
}
