/**
 * Options → Max Credits per Execution: no submit may take the credits an execution got accepted past
 * the cap. A job's cost is known only from its accepted `creditCost`, so the cost of each kind of job
 * (what the price depends on: model, resolution, duration, lip-sync, a script's length) is learned from
 * accepted jobs, process-wide per key, and reserved before a submit. A kind not seen yet is submitted
 * one job at a time, so at most one job of it is a guess.
 *
 * What an execution has accepted is kept per execution ID in the process, so a Retry On Fail (the same
 * execution) and every tool call of one agent execution add up against one cap.
 */
import type { IDataObject } from 'n8n-workflow';

import { onAbort } from '../transport/abort';

/** What a job's credit cost depends on: the same kind costs the same. */
export function costKind(body: IDataObject, lipSync = false): string {
	const parts = [String(body.model ?? '')];
	if (body.resolution !== undefined) parts.push(String(body.resolution));
	if (body.duration !== undefined) parts.push(`${String(body.duration)} s`);
	if (lipSync || body.videoUrl !== undefined) parts.push('lip-sync');
	if (typeof body.script === 'string') parts.push(`${body.script.length} characters`);
	return parts.join(', ');
}

export class CreditCapError extends Error {
	constructor(
		readonly cap: number,
		readonly accepted: number,
		readonly kind: string,
		readonly cost: number | undefined,
	) {
		super(
			`Max Credits per Execution reached: ${accepted} of ${cap} credits accepted in this execution, so this item was not submitted` +
				(cost !== undefined ? ` (a ${kind} job costs ${cost})` : ''),
		);
		this.name = 'CreditCapError';
	}
}

export interface CreditReservation {
	kind: string;
	amount: number;
	/** The first job of a kind not seen yet: others of its kind wait for its cost. */
	learning: boolean;
}

/** An execution's accepted credits, shared by every batch (and retry try) of that execution in this process. */
export class ExecutionCredits {
	accepted = 0;
	reserved = 0;
	/** kind → settles when the first job of that kind is accepted (or was not). */
	readonly learning = new Map<string, { settled: Promise<void>; settle: () => void }>();
	private changes: Array<() => void> = [];

	/** Settles when a reservation of this execution is settled or released. */
	nextChange(): Promise<void> {
		return new Promise((resolve) => this.changes.push(resolve));
	}

	changed(): void {
		const waiting = this.changes;
		this.changes = [];
		for (const resolve of waiting) resolve();
	}
}

const byExecution = new Map<string, ExecutionCredits>();
const MAX_EXECUTIONS = 1_000;

export function creditsOfExecution(executionId: string): ExecutionCredits {
	let credits = byExecution.get(executionId);
	if (!credits) {
		credits = new ExecutionCredits();
		byExecution.set(executionId, credits);
		if (byExecution.size > MAX_EXECUTIONS) byExecution.delete(byExecution.keys().next().value as string);
	}
	return credits;
}

/**
 * The cap for one batch. `costs` is the key's learned cost per kind (process-wide); `cap` 0 means no
 * cap, but accepted credits are still counted (they are shown per execution).
 */
export class CreditBudget {
	constructor(
		readonly cap: number,
		private readonly execution: ExecutionCredits,
		private readonly costs: Map<string, number>,
	) {}

	get accepted(): number {
		return this.execution.accepted;
	}

	/** Waits (only for a kind's first cost) and reserves a job's credits, or throws CreditCapError. */
	async reserve(kind: string, signal?: AbortSignal): Promise<CreditReservation> {
		for (;;) {
			const known = this.costs.get(kind);
			const learning = this.execution.learning.get(kind);
			if (known === undefined && learning && this.cap > 0) {
				await untilSettledOrAborted(learning.settled, signal);
				continue;
			}
			// A kind not seen yet is guessed at the dearest kind seen (0 before any): it is the one guess.
			const amount = known ?? (this.cap > 0 ? Math.max(0, ...this.costs.values()) : 0);
			const { accepted, reserved } = this.execution;
			if (this.cap > 0 && (accepted + amount > this.cap || accepted >= this.cap)) {
				throw new CreditCapError(this.cap, accepted, kind, known);
			}
			if (this.cap > 0 && (accepted + reserved + amount > this.cap || accepted + reserved >= this.cap)) {
				// Fits only if a submit under way is not accepted: wait for the next one to end.
				await untilSettledOrAborted(this.execution.nextChange(), signal);
				continue;
			}
			this.execution.reserved += amount;
			const first = known === undefined && this.cap > 0;
			if (first) {
				let settle = () => {};
				const settled = new Promise<void>((resolve) => (settle = resolve));
				this.execution.learning.set(kind, { settled, settle });
			}
			return { kind, amount, learning: first };
		}
	}

	/** The job was accepted at `creditCost`: it counts, and its kind's cost is known from now on. */
	settle(reservation: CreditReservation, creditCost: number | undefined): void {
		this.execution.reserved -= reservation.amount;
		const cost = Number.isFinite(creditCost) ? Math.max(0, Number(creditCost)) : reservation.amount;
		this.execution.accepted += cost;
		this.costs.set(reservation.kind, Math.max(this.costs.get(reservation.kind) ?? 0, cost));
		this.endLearning(reservation);
		this.execution.changed();
	}

	/** The submit did not happen or was refused: nothing was spent. */
	release(reservation: CreditReservation): void {
		this.execution.reserved -= reservation.amount;
		this.endLearning(reservation);
		this.execution.changed();
	}

	/** A failed job costs nothing (the server refunds it). */
	refund(creditCost: number | undefined): void {
		if (Number.isFinite(creditCost) && Number(creditCost) > 0) this.execution.accepted = Math.max(0, this.execution.accepted - Number(creditCost));
	}

	private endLearning(reservation: CreditReservation): void {
		if (!reservation.learning) return;
		const learning = this.execution.learning.get(reservation.kind);
		this.execution.learning.delete(reservation.kind);
		learning?.settle();
	}
}

async function untilSettledOrAborted(settled: Promise<void>, signal?: AbortSignal): Promise<void> {
	if (!signal) return await settled;
	if (signal.aborted) throw new Error('The execution was cancelled');
	let stopListening = () => {};
	const aborted = new Promise<never>((_resolve, reject) => {
		stopListening = onAbort(signal, () => reject(new Error('The execution was cancelled')));
	});
	try {
		await Promise.race([settled, aborted]);
	} finally {
		stopListening();
	}
}
