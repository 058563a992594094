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
	/** A kind not seen yet: the reservation is what was left of the cap, not a known cost. */
	guess: boolean;
}

/** An execution's accepted credits, shared by every batch (and retry try) of that execution in this process. */
export class ExecutionCredits {
	accepted = 0;
	reserved = 0;
	/** What each job this execution got accepted counted, so a failed one is refunded once. */
	readonly costByJob = new Map<string, number>();
	private changes: Array<() => void> = [];

	/** Settles when a reservation of this execution is settled or released. */
	async nextChange(): Promise<void> {
		return await new Promise((resolve) => this.changes.push(resolve));
	}

	changed(): void {
		const waiting = this.changes;
		this.changes = [];
		for (const resolve of waiting) resolve();
	}
}

const byExecution = new Map<string, ExecutionCredits>();
const MAX_EXECUTIONS = 1_000;

/** The execution's credits (kept for the 1,000 executions of this process used last). */
export function creditsOfExecution(executionId: string): ExecutionCredits {
	const credits = byExecution.get(executionId) ?? new ExecutionCredits();
	// Least recently used leaves first: a long loop execution keeps its total while it runs.
	byExecution.delete(executionId);
	byExecution.set(executionId, credits);
	if (byExecution.size > MAX_EXECUTIONS) byExecution.delete(byExecution.keys().next().value as string);
	return credits;
}

/** What the execution got accepted so far in this process, without keeping a figure for it. */
export function acceptedCreditsOf(executionId: string): number | undefined {
	return byExecution.get(executionId)?.accepted;
}

/**
 * The cap for one batch. `costs` is the key's learned cost per kind (process-wide); `cap` 0 means no
 * cap, but accepted credits are still counted (they are shown per execution).
 *
 * A kind not seen yet has no price until its first job is accepted, so that job reserves everything
 * left of the cap: nothing else of the execution is submitted until its cost is known. It is the one
 * job that can pass the cap (by at most its own cost): nothing tells its price before.
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

	/** Waits while submits under way may still free credits, then reserves, or throws CreditCapError. */
	async reserve(kind: string, signal?: AbortSignal): Promise<CreditReservation> {
		for (;;) {
			const known = this.costs.get(kind);
			if (this.cap <= 0) return { kind, amount: 0, guess: false };
			const { accepted, reserved } = this.execution;
			const left = this.cap - accepted - reserved;
			if (accepted >= this.cap || (known !== undefined && accepted + known > this.cap)) {
				throw new CreditCapError(this.cap, accepted, kind, known);
			}
			if (known !== undefined ? known > left : left <= 0) {
				// Fits only if a submit under way is not accepted: wait for the next one to end.
				await untilSettledOrAborted(this.execution.nextChange(), signal);
				continue;
			}
			const amount = known ?? left;
			this.execution.reserved += amount;
			return { kind, amount, guess: known === undefined };
		}
	}

	/** The job was accepted at `creditCost`: it counts, and its kind's cost is known from now on. */
	settle(reservation: CreditReservation, creditCost: number | undefined, jobId?: string): void {
		this.execution.reserved -= reservation.amount;
		const reported = Number(creditCost);
		const known = creditCost !== undefined && creditCost !== null && Number.isFinite(reported) && reported >= 0;
		// No readable cost: count what was reserved, and learn nothing from a guess.
		const cost = known ? reported : reservation.amount;
		this.execution.accepted += cost;
		if (jobId) this.execution.costByJob.set(jobId, cost);
		if (known) this.costs.set(reservation.kind, Math.max(this.costs.get(reservation.kind) ?? 0, cost));
		this.execution.changed();
	}

	/** The submit did not happen or was refused: nothing was spent. */
	release(reservation: CreditReservation): void {
		this.execution.reserved -= reservation.amount;
		this.execution.changed();
	}

	/** A failed job costs nothing (the server refunds it): what this execution counted for it is taken back. */
	refundJob(jobId: string): void {
		const cost = this.execution.costByJob.get(jobId);
		if (cost === undefined) return;
		this.execution.costByJob.delete(jobId);
		this.execution.accepted = Math.max(0, this.execution.accepted - cost);
		this.execution.changed();
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
