/**
 * Process-wide limits per API key: a request budget (the plan's requests per minute and per hour) and
 * a concurrent-job gate. Every execution in this n8n process that uses the same key shares them, so two
 * workflows running at once still stay inside the plan. Several n8n workers (queue mode) share only the
 * server's limits: each worker keeps its own budget, and the 429 handling covers the rest.
 */
import { createHash } from 'node:crypto';

import type { Plan } from '../transport';
import { onAbort } from '../transport/abort';
import { ExecutionCancelledError, sleepUnlessCancelled } from '../transport/sleep';
import { RunTimeModel } from './runTimes';

export interface PlanLimits {
	perMinute: number;
	perHour: number;
	concurrent: number;
}

export const PLAN_LIMITS: Record<Plan, PlanLimits> = {
	pro: { perMinute: 30, perHour: 200, concurrent: 5 },
	premium: { perMinute: 60, perHour: 500, concurrent: 10 },
};

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

// The simulator can run its rate windows faster (its "time scale") so benchmarks finish in seconds;
// the benchmark and tests set the same scale here. Production never changes it.
let windowScale = 1;
export function setRateWindowScale(scale: number): void {
	windowScale = scale > 0 ? scale : 1;
}

/** The scale above, for other durations of the API's clock (the poll schedule's seconds). */
export function rateWindowScale(): number {
	return windowScale;
}

interface BudgetSlot {
	/** When the answer arrived; undefined while the request is in flight (it then counts as "now"). */
	answeredAt?: number;
}

/**
 * Sliding-window request budget. `acquire` resolves when one more request fits both windows, and
 * returns a function to call when the answer arrives: the request is counted from that moment. The
 * server counts a request when it arrives, somewhere between our send and our receipt; counting from
 * receipt keeps our windows behind the server's even when the network or the event loop is slow.
 */
export class RequestBudget {
	private slots: BudgetSlot[] = [];
	// Callers are served in arrival order, so a large batch cannot starve a small workflow's request.
	private queue: Promise<unknown> = Promise.resolve();
	private pausedUntil = 0;

	constructor(public limits: PlanLimits) {}

	/** A 429 from the server (another process, another machine): nobody sends until it has passed. */
	pauseFor(ms: number): void {
		this.pausedUntil = Math.max(this.pausedUntil, Date.now() + ms);
	}

	/**
	 * Whether both windows are less than `share` used (requests in flight count): a request that is only
	 * a guess (a check before a job's estimate) is made only then, so it never delays one that counts.
	 */
	hasRoom(share = 2 / 3): boolean {
		const now = Date.now();
		if (this.pausedUntil > now) return false;
		const times = this.slots.map((slot) => slot.answeredAt ?? now);
		const inHour = times.filter((t) => t > now - HOUR_MS * windowScale).length;
		const inMinute = times.filter((t) => t > now - MINUTE_MS * windowScale).length;
		return inMinute < this.limits.perMinute * share && inHour < this.limits.perHour * share;
	}

	async acquire(signal?: AbortSignal): Promise<() => void> {
		const turn = this.queue.then(async () => await this.waitForRoom(signal));
		this.queue = turn.catch(() => undefined);
		// A caller stopped while queued behind others (maybe another execution's) leaves at once; its
		// turn, when it comes, takes no slot (waitForRoom sees the stop first).
		if (signal) {
			// A turn that got its slot just as the stop came (before this caller saw it) must not leave
			// that slot "in flight" for ever: it is counted as answered now.
			void turn.then(
				(slot) => {
					if (signal.aborted) slot.answeredAt ??= Date.now();
				},
				() => undefined,
			);
		}
		const slot = signal ? await untilAborted(turn, signal) : await turn;
		return () => {
			slot.answeredAt ??= Date.now();
		};
	}

	private async waitForRoom(signal?: AbortSignal): Promise<BudgetSlot> {
		for (;;) {
			// A stopped caller gets no slot: it would only send a request nobody wants.
			if (signal?.aborted) throw new ExecutionCancelledError();
			const now = Date.now();
			const minuteMs = MINUTE_MS * windowScale;
			const hourMs = HOUR_MS * windowScale;
			this.slots = this.slots.filter((slot) => (slot.answeredAt ?? now) > now - hourMs);
			const times = this.slots.map((slot) => slot.answeredAt ?? now).sort((a, b) => a - b);
			const inMinute = times.filter((t) => t > now - minuteMs);
			let waitMs = Math.max(0, this.pausedUntil - now);
			if (inMinute.length >= this.limits.perMinute) {
				waitMs = Math.max(waitMs, inMinute[inMinute.length - this.limits.perMinute] + minuteMs - now);
			}
			if (times.length >= this.limits.perHour) {
				waitMs = Math.max(waitMs, times[times.length - this.limits.perHour] + hourMs - now);
			}
			if (waitMs <= 0) {
				const slot: BudgetSlot = {};
				this.slots.push(slot);
				return slot;
			}
			// A few ms of slack: the server's window edge and ours are measured on different clocks.
			await sleepUnlessCancelled(Math.max(waitMs, 1) + 5, signal);
		}
	}
}

/** `promise`, or ExecutionCancelledError as soon as `signal` aborts. */
async function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
	let stopListening = () => {};
	const aborted = new Promise<never>((_resolve, reject) => {
		stopListening = onAbort(signal, () => reject(new ExecutionCancelledError()));
	});
	try {
		return await Promise.race([promise, aborted]);
	} finally {
		stopListening();
	}
}

interface GateWaiter {
	admit: () => void;
	reject: (error: Error) => void;
	stopListening: () => void;
}

/**
 * A counting gate for jobs in flight. Besides the jobs inside it, it keeps two kinds of hold as
 * deadlines, not timers, so nothing of ours runs on after the node returns:
 *  - `keepSlotUntil`: a job that runs on without anybody here waiting for it (Wait off) keeps its slot
 *    for its estimated run time, so the next submits of the key do not meet the concurrent-job limit;
 *  - `serverFullUntil`: after a concurrent-limit 429 (other workers, workflows or machines hold slots
 *    of this key), the gate probes instead of pushing: until the hold ends it admits only its accepted
 *    jobs plus ONE submit, so each slot freed on the server costs at most one 429 here, not one per
 *    waiting item. Each accepted probe widens the gate by one; another 429 extends the hold.
 * A timer runs only while somebody waits and a hold is due to end, and it is cleared when nobody waits.
 */
export class JobGate {
	private inFlight = 0;
	/** Slots inside whose job the server accepted (the rest are still submitting). */
	private acceptedInside = 0;
	private keptUntil: number[] = [];
	private heldBackUntil = 0;
	/** While the server is full: when the next submit may probe it (its latest Retry-After). */
	private nextProbeAt = 0;
	private readonly waiting: GateWaiter[] = [];
	private wakeTimer: { at: number; controller: AbortController } | undefined;

	constructor(public limit: number) {}

	/** Slots taken now: jobs inside and slots kept for running jobs. */
	get active(): number {
		return this.inFlight + this.liveKeptSlots();
	}

	/** Whether the gate probes after a concurrent-limit 429. */
	get holdingBack(): boolean {
		return this.heldBackUntil > Date.now();
	}

	/**
	 * How many jobs may be inside now: the limit; while the server is full, only the accepted jobs
	 * (inside or kept), plus one submit once the server's Retry-After has passed.
	 */
	get capacity(): number {
		if (!this.holdingBack) return this.limit;
		const probe = Date.now() >= this.nextProbeAt ? 1 : 0;
		return Math.min(this.limit, this.acceptedInside + this.liveKeptSlots() + probe);
	}

	/** Waits registered now (0 once nobody waits: then no listener and no timer of the gate is left). */
	get waitingCount(): number {
		return this.waiting.length;
	}

	/** Whether the gate has a timer running (only while somebody waits for a hold to end). */
	get hasTimer(): boolean {
		return this.wakeTimer !== undefined;
	}

	async enter(signal?: AbortSignal): Promise<void> {
		if (signal?.aborted) throw new ExecutionCancelledError();
		if (!this.waiting.length && this.active < this.capacity) {
			this.inFlight++;
			return;
		}
		await new Promise<void>((resolve, reject) => {
			const waiter: GateWaiter = {
				admit: () => {
					this.inFlight++;
					resolve();
				},
				reject,
				stopListening: () => {},
			};
			if (signal) waiter.stopListening = onAbort(signal, () => this.dropWaiter(waiter));
			this.waiting.push(waiter);
			this.admit();
		});
	}

	/** The job of a slot inside was accepted: while the server is full, the gate widens by one. */
	markAccepted(): void {
		this.acceptedInside = Math.min(this.inFlight, this.acceptedInside + 1);
		this.admit();
	}

	/** `accepted`: the slot's job had been accepted (markAccepted). */
	leave(accepted = false): void {
		this.inFlight = Math.max(0, this.inFlight - 1);
		if (accepted) this.acceptedInside = Math.max(0, this.acceptedInside - 1);
		this.acceptedInside = Math.min(this.acceptedInside, this.inFlight);
		this.admit();
	}

	/** Leaves, but keeps the slot taken until `time` (a job that runs on unwatched). */
	keepSlotUntil(time: number, accepted = true): void {
		this.inFlight = Math.max(0, this.inFlight - 1);
		if (accepted) this.acceptedInside = Math.max(0, this.acceptedInside - 1);
		this.acceptedInside = Math.min(this.acceptedInside, this.inFlight);
		if (time > Date.now()) this.keptUntil.push(time);
		this.admit();
	}

	/**
	 * The server said its concurrent-job limit is reached: probe until `time` (or a later time already
	 * held), the next probe at `probeAt` (the server's Retry-After: when it expects a slot to free).
	 */
	serverFullUntil(time: number, probeAt = Date.now()): void {
		this.heldBackUntil = Math.max(this.heldBackUntil, time);
		this.nextProbeAt = probeAt;
		this.admit();
	}

	/** Changes the limit (the plan changed); a raised limit admits waiting jobs at once. Holds stay. */
	setLimit(limit: number): void {
		this.limit = Math.max(1, limit);
		this.admit();
	}

	private liveKeptSlots(): number {
		const now = Date.now();
		this.keptUntil = this.keptUntil.filter((time) => time > now);
		return this.keptUntil.length;
	}

	private admit(): void {
		while (this.waiting.length && this.active < this.capacity) {
			const waiter = this.waiting.shift()!;
			waiter.stopListening();
			waiter.admit();
		}
		this.scheduleWake();
	}

	private dropWaiter(waiter: GateWaiter): void {
		const index = this.waiting.indexOf(waiter);
		if (index < 0) return;
		this.waiting.splice(index, 1);
		waiter.reject(new ExecutionCancelledError());
		this.scheduleWake();
	}

	/** While somebody waits, wake when the next hold ends; with nobody waiting, no timer at all. */
	private scheduleWake(): void {
		const now = Date.now();
		const ends = [...this.keptUntil, this.heldBackUntil, this.nextProbeAt].filter((time) => time > now);
		const at = this.waiting.length && ends.length ? Math.min(...ends) : undefined;
		if (this.wakeTimer && this.wakeTimer.at === at) return;
		this.wakeTimer?.controller.abort();
		this.wakeTimer = undefined;
		if (at === undefined) return;
		const timer = { at, controller: new AbortController() };
		this.wakeTimer = timer;
		void sleepUnlessCancelled(at - now, timer.controller.signal).then(
			() => {
				if (this.wakeTimer === timer) this.wakeTimer = undefined;
				this.admit();
			},
			() => undefined,
		);
	}
}

/**
 * An item's place in both gates: this node's Max Concurrent Jobs and the key's plan limit. Taken in
 * that order, given back once (release is safe to call again), or kept for a job left running.
 */
export class JobSlot {
	private held = false;

	constructor(
		private readonly local: JobGate,
		private readonly shared: JobGate,
	) {}

	async take(signal?: AbortSignal): Promise<void> {
		await this.local.enter(signal);
		const entered = await this.shared.enter(signal).then(
			() => true,
			() => false,
		);
		if (!entered) {
			this.local.leave();
			throw new ExecutionCancelledError();
		}
		this.held = true;
	}

	private accepted = false;

	/** The server accepted this slot's job. */
	markAccepted(): void {
		if (!this.held || this.accepted) return;
		this.accepted = true;
		this.local.markAccepted();
		this.shared.markAccepted();
	}

	release(): void {
		if (!this.held) return;
		this.held = false;
		this.local.leave(this.accepted);
		this.shared.leave(this.accepted);
	}

	/** Gives the slot up now, but both gates count it as taken until `time`. */
	keepUntil(time: number): void {
		if (!this.held) return;
		this.held = false;
		this.local.keepSlotUntil(time, this.accepted);
		this.shared.keepSlotUntil(time, this.accepted);
	}
}

interface KeyLimits {
	budget: RequestBudget;
	gate: JobGate;
	/** How the key's jobs of each model (speech is not video) ran against their estimates. */
	runTimes: Map<string, RunTimeModel>;
	/** What each kind of job of this key cost when accepted (Max Credits per Execution reserves it). */
	creditCosts: Map<string, number>;
}

const byKey = new Map<string, KeyLimits>();

/** The run-time model of one kind of job (a model name, lip-sync apart) of a key. */
export function runTimesOf(limits: KeyLimits, kind: string): RunTimeModel {
	let model = limits.runTimes.get(kind);
	if (!model) limits.runTimes.set(kind, (model = new RunTimeModel()));
	return model;
}

/** The shared budget and gate of one key (identified by a hash: the key itself is never stored). */
export function limitsForKey(apiKey: string, plan: Plan): KeyLimits {
	const id = createHash('sha256').update(apiKey).digest('hex');
	const limits = PLAN_LIMITS[plan];
	let entry = byKey.get(id);
	if (!entry) {
		const budget = new RequestBudget(limits);
		const gate = new JobGate(limits.concurrent);
		entry = { budget, gate, runTimes: new Map(), creditCosts: new Map() };
		byKey.set(id, entry);
	} else if (entry.budget.limits !== limits) {
		// The credential's plan changed: adopt the new limits.
		entry.budget.limits = limits;
		entry.gate.setLimit(limits.concurrent);
	}
	return entry;
}

/** Forgets every key's state; for tests that reuse one key across scenarios. */
export function resetLimits(): void {
	byKey.clear();
}
