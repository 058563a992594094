/**
 * Wait Mode "Loop Through a Wait Node": a long batch as a loop on the canvas, so that no worker is
 * held while jobs run and a restart loses nothing. Each pass of the node
 *  - checks the jobs that are due (by their estimate, then backing off),
 *  - submits queued items while the plan has free job slots,
 *  - sends finished items out of "Done" and the rest out of "Still Running", every one with the same
 *    `checkAt`, which n8n's Wait node ("At Specified Time") waits for before feeding them back.
 *
 * Why it survives restarts: n8n never runs a node again when a wait ends; an execution that enters a
 * Wait is saved with every output so far, so each item's job ID lives in the saved execution, not in
 * a process. Why the worker is free: n8n frees it (and persists the execution) only for waits longer
 * than 65 s, so passes are at least MIN_PASS_GAP_MS apart.
 *
 * This file plans (pure functions, fake-clock tests); `runPass` does a pass with the batch scheduler.
 */
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { Job } from '../helpers/job';
import { isFinished } from '../helpers/job';
import type { AcceptedJob, ItemOutcome, JobRequest } from './index';
import { ItemJobError, runJobBatch } from './index';

/** n8n frees the worker only for waits longer than 65 s; a margin for the Wait node's own start. */
export const MIN_PASS_GAP_MS = 70_000;
/** A job due this soon after a pass starts is checked in it rather than a whole gap later. */
export const DUE_TOLERANCE_MS = 5_000;
/** After the estimate, checks back off from this, doubling, up to MAX_BACKOFF_MS. */
export const FIRST_BACKOFF_MS = 15_000;
export const MAX_BACKOFF_MS = 10 * 60_000;
/** A submit refused by the concurrent-job limit waits at most this long inside a pass, then stays queued. */
export const SUBMIT_PATIENCE_MS = 20_000;

/** The field of a "Still Running" item that carries its loop state to the next pass. */
export const PASS_STATE_FIELD = 'geminiOmniLoop';

/** What an item carries between passes. No jobId: still queued (not submitted yet). */
export interface PassState extends IDataObject {
	jobId?: string;
	/** When the job is next worth a check (ms since epoch). */
	dueAt?: number;
	/** When the job was accepted (ms since epoch), for Max Wait. */
	submittedAt?: number;
	/** Checks that found it still running. */
	checks?: number;
}

export function readPassState(json: IDataObject): PassState | undefined {
	const state = json[PASS_STATE_FIELD];
	if (!state || typeof state !== 'object' || Array.isArray(state)) return undefined;
	const { jobId, dueAt, submittedAt, checks } = state as IDataObject;
	return {
		...(typeof jobId === 'string' && jobId ? { jobId } : {}),
		...(typeof dueAt === 'number' ? { dueAt } : {}),
		...(typeof submittedAt === 'number' ? { submittedAt } : {}),
		...(typeof checks === 'number' ? { checks } : {}),
	};
}

export function isDue(state: PassState, now: number): boolean {
	return state.jobId !== undefined && (state.dueAt ?? 0) <= now + DUE_TOLERANCE_MS;
}

/** The state of a job just accepted: due when its estimate says it is ready. */
export function acceptedState(job: Job, now: number): PassState {
	return { jobId: job.jobId, submittedAt: now, dueAt: now + Math.max(0, Number(job.estimatedSeconds ?? 0)) * 1000, checks: 0 };
}

/** The state of a job a check found still running: due at its estimate if that is still ahead, else backing off. */
export function stillRunningState(state: PassState, job: Job, now: number): PassState {
	const checks = (state.checks ?? 0) + 1;
	const created = Date.parse(String(job.createdAt ?? ''));
	const estimated = Number.isNaN(created) ? undefined : created + Math.max(0, Number(job.estimatedSeconds ?? 0)) * 1000;
	const backoff = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (checks - 1));
	const dueAt = estimated !== undefined && estimated > now ? estimated : now + backoff;
	return { ...state, checks, dueAt };
}

/**
 * When the next pass should run: when the first running job is due, never sooner than the gap that
 * lets n8n free the worker; with only queued items (the key is busy elsewhere), after the gap or the
 * server's Retry-After, whichever is later.
 */
export function nextCheckAt(running: PassState[], now: number, retryAfterAt?: number): number {
	const earliest = running.length ? Math.min(...running.map((state) => state.dueAt ?? now)) : now;
	return Math.max(now + MIN_PASS_GAP_MS, earliest, retryAfterAt ?? 0);
}

/** Job slots free for new submits this pass: the limit minus jobs of this loop still running. */
export function freeSlots(limit: number, runningCount: number): number {
	return Math.max(0, limit - runningCount);
}

/** One item of a pass, as the router read it. */
export interface PassInput {
	itemIndex: number;
	/** The loop state it came back with, if any. */
	state?: PassState;
	/** What the operation made of it (unused when the item already has a job). */
	request: JobRequest | Error;
}

export interface PassOutcome {
	itemIndex: number;
	outcome: ItemOutcome;
}

export interface StillRunning {
	itemIndex: number;
	state: PassState;
	/** The job as last seen (absent for an item still queued). */
	job?: Job;
}

export interface PassResult {
	done: PassOutcome[];
	stillRunning: StillRunning[];
	/** When the Wait node should feed "Still Running" back (ms since epoch). */
	checkAt: number;
	/** Every job of this loop this pass knows of: what an error must name. */
	knownJobs: AcceptedJob[];
}

export interface PassOptions {
	/** The plan's concurrent jobs, or the node's Max Concurrent Jobs when lower. */
	limit: number;
	maxWaitMs: number;
	now: () => number;
}

/** Whether an item's failure was the server's concurrent-job limit (it stays queued, it did not fail). */
function refusedForConcurrency(outcome: ItemOutcome): boolean {
	if (outcome.ok) return false;
	const cause = outcome.error.cause as { httpCode?: string | null; message?: string };
	return String(cause.httpCode ?? '') === '429' && outcome.error.context.jobId === undefined;
}

/** Runs one pass: checks due jobs, submits into free slots, downloads what is done. */
export async function runPass(this: IExecuteFunctions, inputs: PassInput[], options: PassOptions): Promise<PassResult> {
	const done: PassOutcome[] = [];
	const running: StillRunning[] = [];
	const queued: PassInput[] = [];
	const finishedJobs: Array<{ input: PassInput; job: Job }> = [];

	// 1. Check the jobs that are due; the others are not asked about at all.
	const due = inputs.filter((input) => input.state && isDue(input.state, options.now()));
	for (const input of inputs) {
		if (!input.state?.jobId) queued.push(input);
		else if (!due.includes(input)) running.push({ itemIndex: input.itemIndex, state: input.state });
	}
	if (due.length) {
		const checks = await runJobBatch.call(this, due.map((input) => ({ jobId: input.state!.jobId })), { stopOnFirstError: false });
		for (const [i, outcome] of checks.outcomes.entries()) {
			const input = due[i];
			const now = options.now();
			if (!outcome.ok) {
				done.push({ itemIndex: input.itemIndex, outcome });
			} else if (isFinished(outcome.result.json as Job)) {
				finishedJobs.push({ input, job: outcome.result.json as Job });
			} else if (now - (input.state!.submittedAt ?? now) > options.maxWaitMs) {
				const job = outcome.result.json as Job;
				const error = new NodeOperationError(
					this.getNode(),
					`Job ${job.jobId} is still "${job.status}" after the Max Wait of ${Math.round(options.maxWaitMs / 60_000)} min; it keeps running. Use Job → Wait to collect it later.`,
					{ itemIndex: input.itemIndex },
				);
				done.push({ itemIndex: input.itemIndex, outcome: { ok: false, error: new ItemJobError(error, { jobId: job.jobId, status: job.status }) } });
			} else {
				const job = outcome.result.json as Job;
				running.push({ itemIndex: input.itemIndex, state: stillRunningState(input.state!, job, now), job });
			}
		}
	}

	// 2. Submit queued items (in input order) into the slots this loop leaves free; items whose
	// parameters could not be read fail now. 3. Download the outputs of jobs found done.
	const slots = freeSlots(options.limit, running.length);
	const toSubmit = queued.filter((input) => !(input.request instanceof Error)).slice(0, slots);
	for (const input of queued) {
		if (input.request instanceof Error) done.push({ itemIndex: input.itemIndex, outcome: { ok: false, error: new ItemJobError(input.request, {}) } });
		else if (!toSubmit.includes(input)) running.push({ itemIndex: input.itemIndex, state: {} });
	}
	const finishing = finishedJobs.map(({ input, job }): JobRequest => {
		const request = input.request instanceof Error ? {} : input.request;
		return { job, download: request.download };
	});
	const submitting = toSubmit.map((input): JobRequest => {
		const { body, uploads } = input.request as JobRequest;
		return { body, uploads, rateLimitPatienceMs: SUBMIT_PATIENCE_MS };
	});
	let retryAfterAt: number | undefined;
	if (finishing.length || submitting.length) {
		const second = await runJobBatch.call(this, [...finishing, ...submitting], { stopOnFirstError: false });
		for (const [i, outcome] of second.outcomes.entries()) {
			if (i < finishing.length) {
				done.push({ itemIndex: finishedJobs[i].input.itemIndex, outcome });
				continue;
			}
			const input = toSubmit[i - finishing.length];
			if (refusedForConcurrency(outcome)) {
				// The key's job slots are busy elsewhere (another workflow or worker): queued for the next pass.
				retryAfterAt = options.now() + SUBMIT_PATIENCE_MS;
				running.push({ itemIndex: input.itemIndex, state: {} });
			} else if (!outcome.ok) {
				done.push({ itemIndex: input.itemIndex, outcome });
			} else {
				const job = outcome.result.json as Job;
				running.push({ itemIndex: input.itemIndex, state: acceptedState(job, options.now()), job });
			}
		}
	}

	done.sort((a, b) => a.itemIndex - b.itemIndex);
	running.sort((a, b) => a.itemIndex - b.itemIndex);
	const knownJobs: AcceptedJob[] = [
		...running.flatMap((item) => (item.state.jobId ? [{ itemIndex: item.itemIndex, jobId: item.state.jobId, status: String(item.job?.status ?? 'accepted') }] : [])),
		...done.flatMap(({ itemIndex, outcome }) => {
			const json = outcome.ok ? outcome.result.json : outcome.error.context;
			if (typeof json.jobId !== 'string') return [];
			const known: AcceptedJob = { itemIndex, jobId: json.jobId, status: String(json.status ?? 'accepted') };
			if (typeof json.outputUrl === 'string') known.outputUrl = json.outputUrl;
			return [known];
		}),
	].sort((a, b) => a.itemIndex - b.itemIndex);
	const checkAt = nextCheckAt(running.filter((item) => item.state.jobId).map((item) => item.state), options.now(), retryAfterAt);
	return { done, stillRunning: running, checkAt, knownJobs };
}
