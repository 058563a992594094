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

/** Runs one pass: checks due jobs, submits into free slots, downloads what is done. */
export async function runPass(this: IExecuteFunctions, inputs: PassInput[], options: PassOptions): Promise<PassResult> {
	const done: PassOutcome[] = [];
	const running: StillRunning[] = [];
	/** Jobs given up on for Max Wait: they still hold a slot on the server. */
	let abandonedOnServer = 0;
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
			} else if (input.state!.submittedAt !== undefined && now - input.state!.submittedAt > options.maxWaitMs) {
				const job = outcome.result.json as Job;
				abandonedOnServer++;
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
	// parameters could not be read, or that waited in the queue past Max Wait, fail now.
	// 3. Download the outputs of jobs found done.
	const now = options.now();
	const submittable: PassInput[] = [];
	for (const input of queued) {
		const queuedSince = input.state?.queuedSince ?? now;
		if (input.request instanceof Error) {
			done.push({ itemIndex: input.itemIndex, outcome: { ok: false, error: new ItemJobError(input.request, {}) } });
		} else if (now - queuedSince > options.maxWaitMs) {
			const error = new NodeOperationError(
				this.getNode(),
				`Not submitted: the key's job slots stayed busy for the Max Wait of ${Math.round(options.maxWaitMs / 60_000)} min`,
				{ itemIndex: input.itemIndex, description: 'Nothing was billed for this item. Run it again when the key has free job slots.' },
			);
			done.push({ itemIndex: input.itemIndex, outcome: { ok: false, error: new ItemJobError(error, { status: 'queued' }) } });
		} else {
			submittable.push(input);
		}
	}
	// Continue On Fail off and an item already failed: the node stops, so nothing more is paid for.
	const stopping = options.stopOnFirstError === true && done.some((entry) => !entry.outcome.ok);
	const slots = stopping ? 0 : Math.min(freeSlots(options.limit, running.length + abandonedOnServer), Math.max(0, options.processFree?.() ?? Infinity));
	const toSubmit = submittable.slice(0, slots);
	for (const input of submittable) {
		if (!toSubmit.includes(input)) running.push({ itemIndex: input.itemIndex, state: queuedState(input, options, now) });
	}
	const finishing: JobRequest[] = [];
	const finishingInputs: Array<{ input: PassInput; job: Job }> = [];
	for (const { input, job } of finishedJobs) {
		if (input.request instanceof Error) {
			// Its parameters failed this pass: the job is reported, not silently passed on without its file.
			done.push({ itemIndex: input.itemIndex, outcome: { ok: false, error: new ItemJobError(input.request, jobContext(job)) } });
		} else if (stopping) {
			done.push({ itemIndex: input.itemIndex, outcome: { ok: true, result: { json: { ...job } } } });
		} else {
			finishing.push({ job, download: input.request.download });
			finishingInputs.push({ input, job });
		}
	}
	const submitting = toSubmit.map((input): JobRequest => {
		const { body, uploads } = input.request as JobRequest;
		return { body, uploads, rateLimitPatienceMs: SUBMIT_PATIENCE_MS };
	});
	let retryAfterAt: number | undefined;
	if (finishing.length || submitting.length) {
		const second = await runJobBatch.call(this, [...finishing, ...submitting], { stopOnFirstError: false, maxCreditsPerExecution: options.maxCreditsPerExecution });
		for (const [i, outcome] of second.outcomes.entries()) {
			if (i < finishing.length) {
				done.push({ itemIndex: finishingInputs[i].input.itemIndex, outcome });
				continue;
			}
			const input = toSubmit[i - finishing.length];
			if (refusedWith429(outcome)) {
				// The key's job slots are busy elsewhere (another workflow or worker): queued for the next pass.
				retryAfterAt = options.now();
				running.push({ itemIndex: input.itemIndex, state: queuedState(input, options, now) });
			} else if (!outcome.ok) {
				done.push({ itemIndex: input.itemIndex, outcome });
			} else {
				const job = outcome.result.json as Job;
				running.push({ itemIndex: input.itemIndex, state: acceptedState(job, options.now(), options.owner), job });
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

function queuedState(input: PassInput, options: PassOptions, now: number): PassState {
	return { ...(options.owner ? { node: options.owner } : {}), queuedSince: input.state?.queuedSince ?? now };
}

function jobContext(job: Job): IDataObject {
	return { jobId: job.jobId, status: job.status, ...(job.outputUrl ? { outputUrl: job.outputUrl } : {}) };
}
