/**
 * The record of paid jobs that lets a run again reuse them instead of paying twice (Options → Reuse
 * Paid Jobs on Retry). A job is recorded under its request's fingerprint (model and body, uploaded
 * files by content) in the node's scope (workflow and node); a later run of the same node with the
 * same request takes the job back while it runs or its output lives (7 days), unless it failed.
 *
 * Three layers, each for a way of running again:
 * - the execution's node context (`getContext('node')`): n8n saves it with the execution, failed ones
 *   included, and its Retry (original or saved workflow, on any worker) starts from that saved data;
 *   Retry On Fail runs in the same execution. Only this execution's jobs are kept there.
 * - the node's workflow static data: n8n saves it when a non-manual execution ends, failed ones
 *   included, so a later execution of the workflow finds the jobs (but a Retry "with the original
 *   workflow" does not load it: n8n keeps no static data with an execution).
 * - a process-wide map: an editor re-run (n8n saves neither of the above for manual runs).
 * Every write carries the union of the layers, so saves of concurrent executions that overwrite each
 * other's static data still keep what this process knows.
 */
import { createHash } from 'node:crypto';
import type { IDataObject } from 'n8n-workflow';

import { OUTPUT_URL_LIFETIME_MS } from '../helpers/job';

export interface PaidJob {
	jobId: string;
	/** ms since epoch: when the server accepted it. */
	acceptedAt: number;
	/** ms since epoch, once the job was seen finished. */
	completedAt?: number;
	creditCost?: number;
	/** Its mark in n8n's deduplication store (paidMarks.ts), to take back if the job fails in a later run. */
	mark?: string;
}

/** fingerprint → the jobs accepted for that request, oldest first (a batch may hold the same request twice). */
export type PaidJobs = Record<string, PaidJob[]>;

export const STORE_FIELD = 'paidJobs';
/** A bound on what one node remembers (each entry is ~150 bytes of static data). */
export const MAX_REMEMBERED_JOBS = 1_000;
/** A job is reused only while its output has at least this long to live: time to download it. */
export const REUSE_MARGIN_MS = 60 * 60_000;

const inProcess = new Map<string, PaidJobs>();

const clone = (jobs: PaidJobs): PaidJobs => JSON.parse(JSON.stringify(jobs)) as PaidJobs;

/** The request's identity: the same model, body and input files give the same fingerprint. */
export function requestFingerprint(body: IDataObject, uploads: Record<string, string> = {}): string {
	return createHash('sha256').update(canonicalJson({ body, uploads })).digest('hex').slice(0, 32);
}

function canonicalJson(value: unknown): string {
	if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
	if (value && typeof value === 'object') {
		const entries = Object.entries(value as Record<string, unknown>)
			.filter(([, inner]) => inner !== undefined)
			.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
		return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonicalJson(inner)}`).join(',')}}`;
	}
	return JSON.stringify(value) ?? 'null';
}

/** When a recorded job's output stops working: 7 days after it finished (or, not yet seen finished, after it was accepted: never later than the truth). */
export function paidJobExpiresAt(job: PaidJob): number {
	return (job.completedAt ?? job.acceptedAt) + OUTPUT_URL_LIFETIME_MS;
}

function isPaidJob(value: unknown): value is PaidJob {
	const job = value as PaidJob;
	return !!job && typeof job === 'object' && typeof job.jobId === 'string' && typeof job.acceptedAt === 'number';
}

function readStored(staticData: IDataObject): PaidJobs {
	const stored = staticData[STORE_FIELD];
	const jobs: PaidJobs = {};
	if (!stored || typeof stored !== 'object' || Array.isArray(stored)) return jobs;
	for (const [fingerprint, list] of Object.entries(stored as Record<string, unknown>)) {
		if (Array.isArray(list)) jobs[fingerprint] = list.filter(isPaidJob).map((job) => ({ ...job }));
	}
	return jobs;
}

/** The union of two records, by job ID; the later-known facts (completion) win. */
function union(a: PaidJobs, b: PaidJobs): PaidJobs {
	const merged: PaidJobs = {};
	for (const source of [a, b]) {
		for (const [fingerprint, list] of Object.entries(source)) {
			const target = (merged[fingerprint] ??= []);
			for (const job of list) {
				const known = target.find((entry) => entry.jobId === job.jobId);
				if (!known) target.push({ ...job });
				else Object.assign(known, { ...job, completedAt: known.completedAt ?? job.completedAt });
			}
		}
	}
	for (const list of Object.values(merged)) list.sort((x, y) => x.acceptedAt - y.acceptedAt);
	return merged;
}

/** Drops what can no longer be reused, and the oldest beyond the bound. */
function pruned(jobs: PaidJobs, now: number): PaidJobs {
	const live = Object.entries(jobs).flatMap(([fingerprint, list]) =>
		list.filter((job) => paidJobExpiresAt(job) > now).map((job) => ({ fingerprint, job })),
	);
	live.sort((x, y) => x.job.acceptedAt - y.job.acceptedAt);
	const kept: PaidJobs = {};
	for (const { fingerprint, job } of live.slice(-MAX_REMEMBERED_JOBS)) (kept[fingerprint] ??= []).push(job);
	return kept;
}

/**
 * One node's record for one run. `claim` hands each request (in item order) the next recorded job of
 * its fingerprint that no other item of this run took. What the run learns reaches the process's memory
 * at once, and the execution's context and the workflow's static data on `save()` (n8n persists both
 * only when the execution ends, so one write at the end of the node's run is as good as many).
 */
export class PaidJobRecord {
	private jobs: PaidJobs;
	private readonly claimed = new Set<string>();
	/** The jobs of this execution (and the runs it retries): what the execution context keeps. */
	private readonly ownJobIds: Set<string>;

	constructor(
		private readonly staticData: IDataObject,
		readonly scope: string,
		private readonly now: () => number = Date.now,
		private readonly executionContext: IDataObject = {},
		/**
		 * False in a Retry: n8n 2.41 gives a retried execution a copy of the workflow without its static
		 * data (or, in queue mode, none at all) and saves what it ends with over the whole column, so a
		 * write there would wipe every other node's static data (a trigger's memory, a poll's state).
		 */
		private readonly writeStaticData = true,
	) {
		const own = readStored(executionContext);
		this.ownJobIds = new Set(Object.values(own).flatMap((list) => list.map((job) => job.jobId)));
		this.jobs = pruned(union(union(readStored(staticData), own), inProcess.get(scope) ?? {}), now());
	}

	/** The recorded job this request may reuse, or undefined (then it is submitted). */
	claim(fingerprint: string): PaidJob | undefined {
		const now = this.now();
		const job = (this.jobs[fingerprint] ?? []).find((entry) => !this.claimed.has(entry.jobId) && paidJobExpiresAt(entry) > now + REUSE_MARGIN_MS);
		if (job) this.claimed.add(job.jobId);
		return job ? { ...job } : undefined;
	}

	/** Whether a job is recorded for this request that a claim could take. */
	has(fingerprint: string): boolean {
		const now = this.now();
		return (this.jobs[fingerprint] ?? []).some((entry) => !this.claimed.has(entry.jobId) && paidJobExpiresAt(entry) > now + REUSE_MARGIN_MS);
	}

	/** How many jobs are recorded for this request (claimable or not): a batch's marks beyond them were lost. */
	recordedCount(fingerprint: string): number {
		return (this.jobs[fingerprint] ?? []).length;
	}

	accepted(fingerprint: string, jobId: string, creditCost?: number, mark?: string): void {
		this.claimed.add(jobId);
		this.ownJobIds.add(jobId);
		const job: PaidJob = { jobId, acceptedAt: this.now(), ...(creditCost !== undefined ? { creditCost } : {}), ...(mark ? { mark } : {}) };
		this.update((jobs) => {
			const list = (jobs[fingerprint] ??= []);
			if (!list.some((entry) => entry.jobId === jobId)) list.push({ ...job });
		});
	}

	/** A recorded job was seen done: its output lives 7 days from its completion. */
	completed(jobId: string, completedAt: string | undefined): void {
		const at = Date.parse(completedAt ?? '');
		// Already known (a reused job): no change, so n8n has no static data to save for it.
		if (Object.values(this.jobs).some((list) => list.some((job) => job.jobId === jobId && job.completedAt !== undefined))) return;
		this.update((jobs) => {
			for (const list of Object.values(jobs)) {
				for (const job of list) if (job.jobId === jobId) job.completedAt = Number.isNaN(at) ? this.now() : Math.min(at, this.now());
			}
		});
	}

	/** A failed job (it cost nothing) or one the server no longer knows: never reused. */
	forget(jobId: string): void {
		this.update((jobs) => {
			for (const [fingerprint, list] of Object.entries(jobs)) {
				jobs[fingerprint] = list.filter((job) => job.jobId !== jobId);
				if (jobs[fingerprint].length === 0) delete jobs[fingerprint];
			}
		});
	}

	/** Writes what this run learned into the execution's context (its jobs only) and the static data (all). */
	save(): void {
		if (!this.changes.length) return;
		// Static data may hold jobs of executions that ended meanwhile: keep them, and this run's changes.
		const merged = union(readStored(this.staticData), this.jobs);
		for (const change of this.changes) change(merged);
		this.jobs = pruned(merged, this.now());
		if (this.writeStaticData) this.staticData[STORE_FIELD] = clone(this.jobs) as unknown as IDataObject;
		const own: PaidJobs = {};
		for (const [fingerprint, list] of Object.entries(this.jobs)) {
			const mine = list.filter((job) => this.ownJobIds.has(job.jobId));
			if (mine.length) own[fingerprint] = mine;
		}
		this.executionContext[STORE_FIELD] = clone(own) as unknown as IDataObject;
		inProcess.set(this.scope, pruned(union(inProcess.get(this.scope) ?? {}, this.jobs), this.now()));
		this.changes.length = 0;
	}

	private readonly changes: Array<(jobs: PaidJobs) => void> = [];

	/** Applies a change (each is idempotent) here and to the process's memory, and keeps it for `save()`. */
	private update(change: (jobs: PaidJobs) => void): void {
		change(this.jobs);
		let shared = inProcess.get(this.scope);
		if (!shared) inProcess.set(this.scope, (shared = {}));
		change(shared);
		this.changes.push(change);
	}
}

/** Forgets the process-wide layer: for tests that stand for a restart or another worker. */
export function forgetInProcessPaidJobs(): void {
	inProcess.clear();
}
