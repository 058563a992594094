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
import { ItemJobError, acceptedJobOf, runJobBatch } from './index';

/** n8n frees the worker only for waits longer than 65 s; a margin for the Wait node's own start. */
export const MIN_PASS_GAP_MS = 70_000;
/** A job due this soon after a pass starts is checked in it rather than a whole gap later. */
export const DUE_TOLERANCE_MS = 5_000;
/** After the estimate, checks back off from this, doubling, up to MAX_BACKOFF_MS. */
export const FIRST_BACKOFF_MS = 15_000;
export const MAX_BACKOFF_MS = 10 * 60_000;
/**
 * A submit refused with 429 (the key's job slots or request budget are used elsewhere) is not
 * retried inside a pass, which must return in seconds: the item stays queued for the next pass.
 */
export const SUBMIT_PATIENCE_MS = 0;

/** The field of a "Still Running" item that carries its loop state to the next pass. */
export const PASS_STATE_FIELD = 'geminiOmniLoop';

/** What an item carries between passes. No jobId: still queued (not submitted yet). */
export interface PassState extends IDataObject {
	/** The loop node whose state this is: another loop node downstream must not adopt its job. */
	node?: string;
	jobId?: string;
	/** When the item was first queued (ms since epoch), for Max Wait while the key stays full. */
	queuedSince?: number;
	/** When the job is next worth a check (ms since epoch). */
	dueAt?: number;
	/** When the job was accepted (ms since epoch), for Max Wait. */
	submittedAt?: number;
	/** Checks that found it still running. */
	checks?: number;
}

const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** The item's loop state, if it is `node`'s (a state another loop node wrote is ignored). */
export function readPassState(json: IDataObject, node: string): PassState | undefined {
	const state = json[PASS_STATE_FIELD];
	if (!state || typeof state !== 'object' || Array.isArray(state)) return undefined;
	const { jobId, dueAt, submittedAt, queuedSince, checks } = state as IDataObject;
	if ((state as IDataObject).node !== node) return undefined;
	return {
		node,
		...(typeof jobId === 'string' && jobId ? { jobId } : {}),
		...(finite(dueAt) ? { dueAt } : {}),
		...(finite(submittedAt) ? { submittedAt } : {}),
		...(finite(queuedSince) ? { queuedSince } : {}),
		...(finite(checks) ? { checks } : {}),
	};
}

/** A job's estimate in ms (0 when the server sent none or nonsense). */
function estimateMs(job: Job): number {
	const seconds = Number(job.estimatedSeconds ?? 0);
	return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0;
}

export function isDue(state: PassState, now: number): boolean {
	return state.jobId !== undefined && (state.dueAt ?? 0) <= now + DUE_TOLERANCE_MS;
}

/** The state of a job just accepted: due when its estimate says it is ready. */
export function acceptedState(job: Job, now: number, node?: string): PassState {
	return { ...(node ? { node } : {}), jobId: job.jobId, submittedAt: now, dueAt: now + estimateMs(job), checks: 0 };
}

/** The state of a job a check found still running: due at its estimate if that is still ahead, else backing off. */
export function stillRunningState(state: PassState, job: Job, now: number): PassState {
	const checks = (state.checks ?? 0) + 1;
	const created = Date.parse(String(job.createdAt ?? ''));
	const estimated = Number.isNaN(created) ? undefined : created + estimateMs(job);
	const backoff = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (checks - 1));
	const dueAt = estimated !== undefined && estimated > now ? estimated : now + backoff;
	// A state without its submit time starts Max Wait's clock now rather than never.
	return { ...state, submittedAt: state.submittedAt ?? now, checks, dueAt };
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
	/** Job slots of the key free in this process right now (other executions may hold some). */
	processFree?: () => number;
	maxWaitMs: number;
	/** Continue On Fail off: once an item has failed, nothing new is submitted (the node will stop). */
	stopOnFirstError?: boolean;
	/** The loop node's name, written into every state. */
	owner?: string;
	now: () => number;
	/** Max Credits per Execution, counted over every pass this process runs of the execution. */
	maxCreditsPerExecution?: number;
}

/** Whether an item's failure was the server's concurrent-job limit (it stays queued, it did not fail). */
function refusedWith429(outcome: ItemOutcome): boolean {
	if (outcome.ok) return false;
	const cause = outcome.error.cause as { httpCode?: string | null; message?: string };
	return String(cause.httpCode ?? '') === '429' && outcome.error.context.jobId === undefined;
}

/** What a pass has decided so far: items that leave by "Done", items that go round again. */
export interface PassTally {
	done: PassOutcome[];
	running: StillRunning[];
	/** Jobs given up on for Max Wait: they still hold a slot on the server. */
	abandonedOnServer: number;
}

/**
 * Runs one pass: checks the jobs that are due, fails what cannot go on, submits into the free slots
 * and downloads what is done. Each step is a function of its own below; this is their order.
 */
export async function runPass(this: IExecuteFunctions, inputs: PassInput[], options: PassOptions): Promise<PassResult> {
	const tally: PassTally = { done: [], running: [], abandonedOnServer: 0 };
	const { due, queued } = splitByDue(inputs, options.now(), tally);
	const finishedJobs = await checkDueJobs.call(this, due, options, tally);
	const now = options.now();
	const submittable = admitQueued.call(this, queued, options, now, tally);
	// Continue On Fail off and an item already failed: the node stops, so nothing more is paid for.
	const stopping = options.stopOnFirstError === true && tally.done.some((entry) => !entry.outcome.ok);
	const toSubmit = submittable.slice(0, stopping ? 0 : submitSlots(options, tally.running.length + tally.abandonedOnServer));
	for (const input of submittable) {
		if (!toSubmit.includes(input)) tally.running.push({ itemIndex: input.itemIndex, state: queuedState(input, options, now) });
	}
	const finishing = downloadsToRun(finishedJobs, stopping, tally);
	const retryAfterAt = await submitAndDownload.call(this, finishing, toSubmit, options, now, tally);
	return passResult(tally, options.now(), retryAfterAt);
}

/** Items with a job that is due now, items still queued; a job not due yet goes round again unasked. */
export function splitByDue(inputs: PassInput[], now: number, tally: PassTally): { due: PassInput[]; queued: PassInput[] } {
	const due = inputs.filter((input) => input.state && isDue(input.state, now));
	const queued: PassInput[] = [];
	for (const input of inputs) {
		if (!input.state?.jobId) queued.push(input);
		else if (!due.includes(input)) tally.running.push({ itemIndex: input.itemIndex, state: input.state });
	}
	return { due, queued };
}

/** Job slots this pass may submit into: the loop's limit less its running jobs, and what the process has free. */
export function submitSlots(options: Pick<PassOptions, 'limit' | 'processFree'>, runningOnServer: number): number {
	return Math.min(freeSlots(options.limit, runningOnServer), Math.max(0, options.processFree?.() ?? Infinity));
}

/** Checks the due jobs: failed or past Max Wait leave by "Done", running ones go round; returns those found finished. */
async function checkDueJobs(this: IExecuteFunctions, due: PassInput[], options: PassOptions, tally: PassTally): Promise<Array<{ input: PassInput; job: Job }>> {
	const finishedJobs: Array<{ input: PassInput; job: Job }> = [];
	if (!due.length) return finishedJobs;
	const checks = await runJobBatch.call(this, due.map((input) => ({ jobId: input.state!.jobId })), { stopOnFirstError: false });
	for (const [i, outcome] of checks.outcomes.entries()) {
		const input = due[i];
		const now = options.now();
		if (!outcome.ok) {
			tally.done.push({ itemIndex: input.itemIndex, outcome });
			continue;
		}
		const job = outcome.result.json as Job;
		if (isFinished(job)) {
			finishedJobs.push({ input, job });
		} else if (input.state!.submittedAt !== undefined && now - input.state!.submittedAt > options.maxWaitMs) {
			tally.abandonedOnServer++;
			const error = new NodeOperationError(
				this.getNode(),
				`Job ${job.jobId} is still "${job.status}" after the Max Wait of ${Math.round(options.maxWaitMs / 60_000)} min; it keeps running. Use Job → Wait to collect it later.`,
				{ itemIndex: input.itemIndex },
			);
			tally.done.push({ itemIndex: input.itemIndex, outcome: { ok: false, error: new ItemJobError(error, { jobId: job.jobId, status: job.status }) } });
		} else {
			tally.running.push({ itemIndex: input.itemIndex, state: stillRunningState(input.state!, job, now), job });
		}
	}
	return finishedJobs;
}

/** Queued items that may be submitted, in input order; unreadable parameters and a queue past Max Wait fail. */
function admitQueued(this: IExecuteFunctions, queued: PassInput[], options: PassOptions, now: number, tally: PassTally): PassInput[] {
	const submittable: PassInput[] = [];
	for (const input of queued) {
		const queuedSince = input.state?.queuedSince ?? now;
		if (input.request instanceof Error) {
			tally.done.push({ itemIndex: input.itemIndex, outcome: { ok: false, error: new ItemJobError(input.request, {}) } });
		} else if (now - queuedSince > options.maxWaitMs) {
			const error = new NodeOperationError(
				this.getNode(),
				`Not submitted: the key's job slots stayed busy for the Max Wait of ${Math.round(options.maxWaitMs / 60_000)} min`,
				{ itemIndex: input.itemIndex, description: 'Nothing was billed for this item. Run it again when the key has free job slots.' },
			);
			tally.done.push({ itemIndex: input.itemIndex, outcome: { ok: false, error: new ItemJobError(error, { status: 'queued' }) } });
		} else {
			submittable.push(input);
		}
	}
	return submittable;
}

/** Finished jobs whose output is to be downloaded; the others leave by "Done" as they are. */
function downloadsToRun(finishedJobs: Array<{ input: PassInput; job: Job }>, stopping: boolean, tally: PassTally): Array<{ input: PassInput; job: Job }> {
	const finishing: Array<{ input: PassInput; job: Job }> = [];
	for (const { input, job } of finishedJobs) {
		if (input.request instanceof Error) {
			// Its parameters failed this pass: the job is reported, not silently passed on without its file.
			tally.done.push({ itemIndex: input.itemIndex, outcome: { ok: false, error: new ItemJobError(input.request, jobContext(job)) } });
		} else if (stopping) {
			tally.done.push({ itemIndex: input.itemIndex, outcome: { ok: true, result: { json: { ...job } } } });
		} else {
			finishing.push({ input, job });
		}
	}
	return finishing;
}

/**
 * One batch: the downloads of finished jobs and the new submits. A submit the server refuses with 429
 * (the key is busy elsewhere) stays queued; returns when that was, for the next pass's time.
 */
async function submitAndDownload(
	this: IExecuteFunctions,
	finishing: Array<{ input: PassInput; job: Job }>,
	toSubmit: PassInput[],
	options: PassOptions,
	now: number,
	tally: PassTally,
): Promise<number | undefined> {
	if (!finishing.length && !toSubmit.length) return undefined;
	const downloads = finishing.map(({ input, job }): JobRequest => ({ job, download: (input.request as JobRequest).download }));
	const submits = toSubmit.map((input): JobRequest => {
		const { body, uploads } = input.request as JobRequest;
		return { body, uploads, rateLimitPatienceMs: SUBMIT_PATIENCE_MS };
	});
	const batch = await runJobBatch.call(this, [...downloads, ...submits], { stopOnFirstError: false, maxCreditsPerExecution: options.maxCreditsPerExecution });
	let retryAfterAt: number | undefined;
	for (const [i, outcome] of batch.outcomes.entries()) {
		if (i < downloads.length) {
			tally.done.push({ itemIndex: finishing[i].input.itemIndex, outcome });
			continue;
		}
		const input = toSubmit[i - downloads.length];
		if (refusedWith429(outcome)) {
			retryAfterAt = options.now();
			tally.running.push({ itemIndex: input.itemIndex, state: queuedState(input, options, now) });
		} else if (!outcome.ok) {
			tally.done.push({ itemIndex: input.itemIndex, outcome });
		} else {
			const job = outcome.result.json as Job;
			tally.running.push({ itemIndex: input.itemIndex, state: acceptedState(job, options.now(), options.owner), job });
		}
	}
	return retryAfterAt;
}

/** The pass's outputs in item order, every job it knows of (for an error to name), and the next check. */
function passResult(tally: PassTally, now: number, retryAfterAt: number | undefined): PassResult {
	const done = [...tally.done].sort((a, b) => a.itemIndex - b.itemIndex);
	const running = [...tally.running].sort((a, b) => a.itemIndex - b.itemIndex);
	const knownJobs: AcceptedJob[] = [
		...running.flatMap((item) => (item.state.jobId ? [{ itemIndex: item.itemIndex, jobId: item.state.jobId, status: String(item.job?.status ?? 'accepted') }] : [])),
		...done.flatMap(({ itemIndex, outcome }) => acceptedJobOf(outcome, itemIndex)),
	].sort((a, b) => a.itemIndex - b.itemIndex);
	const checkAt = nextCheckAt(running.filter((item) => item.state.jobId).map((item) => item.state), now, retryAfterAt);
	return { done, stillRunning: running, checkAt, knownJobs };
}

function queuedState(input: PassInput, options: PassOptions, now: number): PassState {
	return { ...(options.owner ? { node: options.owner } : {}), queuedSince: input.state?.queuedSince ?? now };
}

function jobContext(job: Job): IDataObject {
	return { jobId: job.jobId, status: job.status, ...(job.outputUrl ? { outputUrl: job.outputUrl } : {}) };
}
