/**
 * Process-wide limits per API key: a request budget (the plan's requests per minute and per hour) and
 * a concurrent-job gate. Every execution in this n8n process that uses the same key shares them, so two
 * workflows running at once still stay inside the plan. Several n8n workers (queue mode) share only the
 * server's limits: each worker keeps its own budget, and the 429 handling covers the rest.
 */
import { createHash } from 'node:crypto';

import type { Plan } from '../transport';
import { ExecutionCancelledError, sleepUnlessCancelled } from '../transport/sleep';

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

	async acquire(signal?: AbortSignal): Promise<() => void> {
		const turn = this.queue.then(async () => await this.waitForRoom(signal));
		this.queue = turn.catch(() => undefined);
		const slot = await turn;
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

/** A counting gate for jobs in flight; `setLimit` moves it (the plan changed, or a slot is held back). */
export class JobGate {
	private inFlight = 0;
	private readonly waiting: Array<{ admit: () => void; reject: (error: Error) => void; signal?: AbortSignal }> = [];
	// One abort listener per signal, however many items wait on it: a 100-item batch must not add 100
	// listeners to its signal (Node warns past 10, and they would outlive the batch).
	private readonly listening = new Map<AbortSignal, () => void>();

	constructor(public limit: number) {}

	get active(): number {
		return this.inFlight;
	}

	/** Abort listeners this gate has on signals right now (0 once nobody waits). */
	get listenerCount(): number {
		return this.listening.size;
	}

	async enter(signal?: AbortSignal): Promise<void> {
		if (signal?.aborted) throw new Error('The execution was cancelled');
		if (this.inFlight < this.limit) {
			this.inFlight++;
			return;
		}
		await new Promise<void>((resolve, reject) => {
			const waiter = {
				signal,
				reject,
				admit: () => {
					this.inFlight++;
					resolve();
				},
			};
			this.waiting.push(waiter);
			if (signal && !this.listening.has(signal)) {
				const onAbort = () => this.rejectWaitersOf(signal);
				this.listening.set(signal, onAbort);
				signal.addEventListener('abort', onAbort, { once: true });
			}
		});
	}

	leave(): void {
		this.inFlight = Math.max(0, this.inFlight - 1);
		this.admit();
	}

	/** Changes the limit; a raised limit admits waiting jobs at once. */
	setLimit(limit: number): void {
		this.limit = Math.max(1, limit);
		this.admit();
	}

	private admit(): void {
		while (this.waiting.length && this.inFlight < this.limit) {
			const waiter = this.waiting.shift()!;
			waiter.admit();
			this.stopListeningIfIdle(waiter.signal);
		}
	}

	private rejectWaitersOf(signal: AbortSignal): void {
		this.listening.delete(signal);
		for (let i = this.waiting.length - 1; i >= 0; i--) {
			if (this.waiting[i].signal !== signal) continue;
			const [waiter] = this.waiting.splice(i, 1);
			waiter.reject(new Error('The execution was cancelled'));
		}
	}

	private stopListeningIfIdle(signal?: AbortSignal): void {
		if (!signal || this.waiting.some((waiter) => waiter.signal === signal)) return;
		const onAbort = this.listening.get(signal);
		if (onAbort) signal.removeEventListener('abort', onAbort);
		this.listening.delete(signal);
	}
}

/**
 * After a concurrent-limit 429 (another workflow or machine holds a job slot of this key), one slot is
 * held back until the server's Retry-After has passed. Several 429s share one hold: the latest
 * deadline wins, and the hold never grows past one slot.
 */
export class ConcurrencyHoldBack {
	private until = 0;
	private timerRunning = false;

	constructor(
		private readonly gate: JobGate,
		private readonly planLimit: () => number,
	) {}

	get holding(): boolean {
		return this.until > Date.now();
	}

	holdOneSlot(forMs: number): void {
		this.until = Math.max(this.until, Date.now() + forMs);
		this.gate.setLimit(Math.max(1, this.planLimit() - 1));
		if (!this.timerRunning) void this.releaseWhenDue();
	}

	private async releaseWhenDue(): Promise<void> {
		this.timerRunning = true;
		try {
			// One timer at a time: it sleeps again when a later 429 moved the deadline.
			while (Date.now() < this.until) await sleepUnlessCancelled(this.until - Date.now());
			this.gate.setLimit(this.planLimit());
		} finally {
			this.timerRunning = false;
		}
	}
}

interface KeyLimits {
	budget: RequestBudget;
	gate: JobGate;
	holdBack: ConcurrencyHoldBack;
}

const byKey = new Map<string, KeyLimits>();

/** The shared budget and gate of one key (identified by a hash: the key itself is never stored). */
export function limitsForKey(apiKey: string, plan: Plan): KeyLimits {
	const id = createHash('sha256').update(apiKey).digest('hex');
	const limits = PLAN_LIMITS[plan];
	let entry = byKey.get(id);
	if (!entry) {
		const budget = new RequestBudget(limits);
		const gate = new JobGate(limits.concurrent);
		entry = { budget, gate, holdBack: new ConcurrencyHoldBack(gate, () => budget.limits.concurrent) };
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
