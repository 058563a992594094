/**
 * The batch scheduler: the one place that submits, waits and downloads across all items of an
 * execution. Operations only turn item i into a JobRequest; this module runs them concurrently inside
 * the plan's limits (concurrent jobs, requests per minute and per hour), shares one poll loop, keeps
 * output order, and never loses an accepted job: its jobId is in the item's result or error.
 */
import type { IBinaryData, IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { OutputTooLargeError, downloadJobOutput, uploadBinary } from '../helpers/binary';
import type { DownloadSettings, MediaKind } from '../helpers/binary';
import type { Job } from '../helpers/job';
import { isFinished, normalizeJob } from '../helpers/job';
import { apiRequest, getApiCredentials, getCancelSignal } from '../transport';
import { mayHaveCreatedJob } from '../transport/errors';
import { onAbort } from '../transport/abort';
import { sleepUnlessCancelled } from '../transport/sleep';
import type { ApiRequestOptions, GeminiOmniCredentials } from '../transport';
import { CreditBudget, CreditCapError, ExecutionCredits, costKind, creditsOfExecution } from './credits';
import type { CreditReservation } from './credits';
import { JobGate, JobSlot, limitsForKey, runTimesOf } from './limits';
import type { PaidJob, PaidJobRecord } from './paidJobs';
import type { PaidMarks } from './paidMarks';
import { JobPoller, JobWaitTimeoutError, pollScheduleWith } from './poller';

/** How the server's concurrent-job 429 differs from its request-rate 429 (contract: "distinct" messages). */
const CONCURRENT_LIMIT = /concurrent/i;

/** Downloads a batch streams at the same time. */
export const MAX_PARALLEL_DOWNLOADS = 3;

export interface BinaryUpload {
	/** The generate field that takes the uploaded file's URL, e.g. `referenceUrl`. */
	field: string;
	binaryPropertyName: string;
	kind: MediaKind;
}

/** What an operation makes of one item. */
export interface JobRequest {
	/** Body for POST /api/v1/generate (model included). Absent when the job already exists. */
	body?: IDataObject;
	/** Binaries to upload first; their URLs are set on `body[field]`. */
	uploads?: BinaryUpload[];
	/** An existing job (Job → Wait, Job → Download Output). */
	jobId?: string;
	/** A job already looked up (a loop pass downloading what its checks found done): no request for it. */
	job?: Job;
	/** Wait for the job to finish, at most this long. Undefined: return the accepted job at once. */
	maxWaitMs?: number;
	/** Download the output of a done job into this binary property. */
	download?: DownloadSettings;
	/**
	 * Wait Mode "Loop Through a Wait Node": the router runs one pass (scheduler/passes.ts) and sends
	 * finished jobs out of "Done", the rest out of "Still Running". The scheduler never waits for them.
	 */
	loop?: boolean;
	/**
	 * Wait for the job's signed callback instead of polling (the router submits, then pauses the
	 * execution; see webhooks/callbackWait.ts). The scheduler itself never waits for such a job.
	 */
	callback?: boolean;
	/** How long a submit may wait out a 429 (default: the transport's). */
	rateLimitPatienceMs?: number;
	/** The request's identity for Reuse Paid Jobs on Retry (model, body, input files by content). */
	fingerprint?: string;
	/** Work that is not a job (File → Upload): run inside the same limits, with the shared request options. */
	run?: (requestOptions: SharedRequestOptions) => Promise<JobResult>;
}

export type SharedRequestOptions = Partial<ApiRequestOptions> & { credentials: GeminiOmniCredentials };

export interface JobResult {
	json: IDataObject;
	binary?: Record<string, IBinaryData>;
}

/** The items Max Credits per Execution refused, with the figures (an agent's tool result shows them). */
const capRefusals = new WeakMap<Error, CreditCapError>();

export function creditCapRefusalOf(error: Error): CreditCapError | undefined {
	return capRefusals.get(error);
}

/** An item's failure, with what is known about its job so the paid job is never lost. */
export class ItemJobError extends Error {
	constructor(
		public readonly cause: Error,
		public readonly context: IDataObject,
	) {
		super(cause.message);
		this.name = 'ItemJobError';
	}
}

export type ItemOutcome = { ok: true; result: JobResult } | { ok: false; error: ItemJobError };

export interface BatchOptions {
	/** Lower the concurrent-job limit for this node (never above the plan's). */
	maxConcurrentJobs?: number;
	/** Poll mode: seconds between checks while a job can be ending (Check Interval Near Estimate). */
	checkIntervalSeconds?: number;
	/** Stop at the first failure (Continue On Fail off): the rest is cancelled, nothing new is submitted. */
	stopOnFirstError: boolean;
	/** Reuse Paid Jobs on Retry: the node's record of paid jobs (requests with a fingerprint use it). */
	paidJobs?: PaidJobRecord;
	/** Max Credits per Execution: 0 or undefined, no cap (the credits are still counted per execution). */
	maxCreditsPerExecution?: number;
	/** Reuse Paid Jobs on Retry: marks of paid requests that outlive a killed process (paidMarks.ts). */
	paidMarks?: PaidMarks;
}

/** A job this batch got accepted, and where it stood when the batch ended. */
export interface AcceptedJob {
	itemIndex: number;
	jobId: string;
	/** done (and downloaded when asked), failed, or the last status seen (accepted / generating). */
	status: string;
	outputUrl?: string;
}

export interface BatchResult {
	outcomes: ItemOutcome[];
	/** The item whose failure stopped the batch (Continue On Fail off); later failures are that stop. */
	firstFailure?: number;
	/** Every job accepted in this batch, in item order: what a stopped batch must not lose. */
	acceptedJobs: AcceptedJob[];
}

/** What every step of an item needs: the node's context and the batch's shared pieces. */
interface Batch {
	ctx: IExecuteFunctions;
	requestOptions: SharedRequestOptions;
	poller: JobPoller;
	/** This node's Max Concurrent Jobs, and the key's plan limit shared by the whole process. */
	local: JobGate;
	shared: JobGate;
	downloads: JobGate;
	signal: AbortSignal;
	paidJobs?: PaidJobRecord;
	credits?: CreditBudget;
	paidMarks?: PaidMarks;
	/** Per item: how many earlier items of the batch have the same request (its mark's occurrence). */
	occurrences: number[];
	/** Per item: the mark written when its job was accepted (taken back if the job fails). */
	marks: Map<number, string>;
	/** Items whose submit was cut off on its way (a stop, a dropped connection): a job may exist unseen. */
	submitsCutOff: Set<number>;
}

/**
 * Runs every item's job inside the plan's limits. The pieces (request budget, job gates, poll loop,
 * retry policy in the transport) each live in their own file; this is where they are put together.
 */
export async function runJobBatch(
	this: IExecuteFunctions,
	requests: Array<JobRequest | Error>,
	options: BatchOptions,
): Promise<BatchResult> {
	const credentials = await getApiCredentials.call(this, 0);
	const keyLimits = limitsForKey(credentials.apiKey, credentials.plan);
	const planConcurrent = keyLimits.budget.limits.concurrent;

	// One signal for the whole batch: the execution's cancel, or our own stop after a first error.
	const stop = new AbortController();
	const executionSignal = getCancelSignal(this);
	const stopOnExecutionCancel = executionSignal ? onAbort(executionSignal, () => stop.abort()) : () => {};
	const signal = stop.signal;

	const batch: Batch = {
		ctx: this,
		requestOptions: sharedRequestOptions(credentials, keyLimits, signal),
		signal,
		poller: new JobPoller(
			async (jobId, deadline) => await checkJob(batch, jobId, deadline),
			signal,
			{
				schedule: pollScheduleWith(options.checkIntervalSeconds),
				// Checks before a job's estimate are guesses: made only while the key's budget has room to spare.
				budgetHasRoom: () => keyLimits.budget.hasRoom(),
				runTimesFor: (kind) => runTimesOf(keyLimits, kind),
			},
		),
		local: new JobGate(Math.max(1, Math.min(options.maxConcurrentJobs ?? Infinity, planConcurrent))),
		shared: keyLimits.gate,
		// Outputs are large (a 4K clip is hundreds of MB): a batch streams at most a few at once.
		downloads: new JobGate(MAX_PARALLEL_DOWNLOADS),
		paidJobs: options.paidJobs,
		// Only batches that submit count an execution's credits (Job → Get shows none).
		credits: new CreditBudget(
			options.maxCreditsPerExecution ?? 0,
			// A run without an execution ID (an MCP client's tool call is answered inside the webhook) shares nothing.
			requests.some((request) => !(request instanceof Error) && request.body) && this.getExecutionId()
				? creditsOfExecution(this.getExecutionId())
				: new ExecutionCredits(),
			keyLimits.creditCosts,
		),
		paidMarks: options.paidMarks,
		occurrences: occurrencesOf(requests),
		marks: new Map(),
		submitsCutOff: new Set(),
	};
	const { claims, lostPaidDays } = await paidJobsOfEarlierRuns(batch, requests);

	let firstFailure: number | undefined;
	const outcomes = await Promise.all(
		requests.map(async (request, itemIndex): Promise<ItemOutcome> => {
			const outcome: ItemOutcome =
				request instanceof Error
					? { ok: false, error: new ItemJobError(request, {}) }
					: lostPaidDays[itemIndex] !== undefined
						? { ok: false, error: new ItemJobError(paidButLostError(this, itemIndex, lostPaidDays[itemIndex]!), {}) }
						: await runItem(batch, request, itemIndex, claims[itemIndex]);
			if (!outcome.ok) {
				// The first real failure is the one reported; later ones are the stop it caused.
				const causedByStop = signal.aborted && !executionSignal?.aborted && !(request instanceof Error);
				if (firstFailure === undefined && !causedByStop) firstFailure = itemIndex;
				if (options.stopOnFirstError) stop.abort();
			}
			return outcome;
		}),
	);
	stopOnExecutionCancel();
	const acceptedJobs = outcomes.flatMap((outcome, itemIndex): AcceptedJob[] => {
		const request = requests[itemIndex];
		// Only jobs this batch submitted: Job → Get/Wait name jobs created elsewhere.
		return request instanceof Error || !request.body ? [] : acceptedJobOf(outcome, itemIndex);
	});
	if (executionSignal?.aborted) warnOfStop(this, acceptedJobs, batch.submitsCutOff);
	return { outcomes, firstFailure, acceptedJobs };
}

/**
 * On the user's Stop n8n keeps none of this node's output: the log is where the jobs remain. A submit
 * the stop cut off may have created a job whose answer never arrived: its item is named.
 */
function warnOfStop(ctx: IExecuteFunctions, acceptedJobs: AcceptedJob[], submitsCutOff: Set<number>): void {
	if (!acceptedJobs.length && !submitsCutOff.size) return;
	const cutOff = [...submitsCutOff].sort((a, b) => a - b);
	const onTheirWay = cutOff.length ? `; submits on their way at the stop, which may have created a job (check the account): item ${cutOff.join(', item ')}` : '';
	ctx.logger.warn(`Gemini Omni: execution stopped; accepted jobs (not cancelled): ${formatAcceptedJobs(acceptedJobs) || 'none'}${onTheirWay}`);
}

/** What every request of the batch shares: the credential, the stop signal, and the key's budget and gate. */
function sharedRequestOptions(credentials: GeminiOmniCredentials, keyLimits: ReturnType<typeof limitsForKey>, signal: AbortSignal): SharedRequestOptions {
	return {
		credentials,
		signal,
		beforeAttempt: async () => await keyLimits.budget.acquire(signal),
		onRateLimited: (retryAfterMs, serverMessage) => {
			if (CONCURRENT_LIMIT.test(serverMessage ?? '')) {
				// Other workers or machines hold this key's job slots: the request rate is fine, so checks go
				// on (they are how a freed slot is noticed); submits probe one at a time for twice the
				// Retry-After (the server's guess of when a slot frees).
				const now = Date.now();
				keyLimits.gate.serverFullUntil(now + Math.max(5_000, 2 * (retryAfterMs ?? 5_000)), now + (retryAfterMs ?? 5_000));
			} else if (retryAfterMs) {
				keyLimits.budget.pauseFor(retryAfterMs);
			}
		},
	};
}

/**
 * Reuse Paid Jobs on Retry, decided in item order before anything runs: the k-th item with a request
 * takes the k-th job recorded for it; an item with none whose request was marked paid is not submitted.
 */
async function paidJobsOfEarlierRuns(
	batch: Batch,
	requests: Array<JobRequest | Error>,
): Promise<{ claims: Array<PaidJob | undefined>; lostPaidDays: Array<number | undefined> }> {
	const claims = requests.map((request) =>
		request instanceof Error || !request.fingerprint || !batch.paidJobs ? undefined : batch.paidJobs.claim(request.fingerprint),
	);
	return { claims, lostPaidDays: await paidButLost(batch, requests, claims) };
}

/** For each request with a fingerprint: how many earlier items of the batch have the same one. */
function occurrencesOf(requests: Array<JobRequest | Error>): number[] {
	const seen = new Map<string, number>();
	return requests.map((request) => {
		if (request instanceof Error || !request.fingerprint) return 0;
		const occurrence = seen.get(request.fingerprint) ?? 0;
		seen.set(request.fingerprint, occurrence + 1);
		return occurrence;
	});
}

/**
 * Items with no recorded job whose request was nevertheless marked paid (the day it was): a run that
 * accepted their jobs was killed before n8n could save them. They are not submitted again.
 */
async function paidButLost(batch: Batch, requests: Array<JobRequest | Error>, claims: Array<PaidJob | undefined>): Promise<Array<number | undefined>> {
	const lost: Array<number | undefined> = requests.map(() => undefined);
	if (!batch.paidMarks) return lost;
	// Per request with an item that has no recorded job: how many of the batch's items carry it.
	const unclaimedByFingerprint = new Map<string, number[]>();
	const itemsByFingerprint = new Map<string, number>();
	requests.forEach((request, itemIndex) => {
		if (request instanceof Error || !request.fingerprint || !request.body) return;
		itemsByFingerprint.set(request.fingerprint, (itemsByFingerprint.get(request.fingerprint) ?? 0) + 1);
		if (!claims[itemIndex]) unclaimedByFingerprint.set(request.fingerprint, [...(unclaimedByFingerprint.get(request.fingerprint) ?? []), itemIndex]);
	});
	if (!unclaimedByFingerprint.size) return lost;
	const asked = [...unclaimedByFingerprint.keys()].flatMap((fingerprint) =>
		Array.from({ length: itemsByFingerprint.get(fingerprint)! }, (_, occurrence) => ({ fingerprint, occurrence })),
	);
	const days = await batch.paidMarks.paidDays(asked);
	for (const [fingerprint, unclaimed] of unclaimedByFingerprint) {
		const marked = days.filter((day, i) => day !== undefined && asked[i].fingerprint === fingerprint) as number[];
		// Marks beyond the jobs on record are jobs paid for and lost with a killed process.
		const surplus = Math.max(0, marked.length - (batch.paidJobs?.recordedCount(fingerprint) ?? 0));
		for (const itemIndex of unclaimed.slice(0, surplus)) lost[itemIndex] = Math.max(...marked);
	}
	return lost;
}

function paidButLostError(ctx: IExecuteFunctions, itemIndex: number, day: number): NodeOperationError {
	const date = new Date(day * 86_400_000).toISOString().slice(0, 10);
	return new NodeOperationError(
		ctx.getNode(),
		`Not submitted again: another run of this node submitted this request on ${date} and n8n has no record of its job, so it was most likely paid (a run that crashed, or one still running on another worker)`,
		{
			itemIndex,
			description:
				'Its job ID is in n8n’s log of the process that ran it: "Gemini Omni: item … accepted as job …". Collect it with Job → Wait or Job → Download Output (outputs are kept 7 days). To pay for a new job instead, turn off Options → Reuse Paid Jobs on Retry.',
		},
	);
}

/**
 * One item, step by step: get its job (submit, or look up an existing one), wait if asked, give the
 * slot back (or keep it for a job left running), then the result and its download. `context` gathers
 * what is known of the job as it goes, so a failure at any step still names the job.
 */
async function runItem(batch: Batch, request: JobRequest, itemIndex: number, claim?: PaidJob): Promise<ItemOutcome> {
	const context: IDataObject = {};
	if (request.body?.model) context.model = request.body.model;
	const slot = new JobSlot(batch.local, batch.shared);
	try {
		if (request.run) return { ok: true, result: await request.run({ ...batch.requestOptions, itemIndex }) };
		let job =
			request.job ??
			(request.jobId
				? await lookUpJob(batch, request.jobId, itemIndex, context)
				: ((claim && (await reusePaidJob(batch, claim, itemIndex, slot, context))) ?? (await submitJob(batch, request, itemIndex, slot, context))));
		if (request.job) Object.assign(context, { jobId: job.jobId, status: job.status });
		const submitted = !request.jobId && !request.job;
		if (request.maxWaitMs !== undefined && !isFinished(job)) job = await waitForJob(batch, job, request.maxWaitMs, context, jobKind(request, job), submitted && !context.reused);
		if (submitted) await notePaidJobEnd(batch, job, context.reused ? claim : undefined, itemIndex);
		// The output says so whether the job was found finished or waited for.
		if (context.reused) job = { ...job, reused: true };
		// Known from here on, so a failure later (download, stop) still reports where the file is.
		if (job.outputUrl) context.outputUrl = job.outputUrl;
		if (request.maxWaitMs === undefined && !isFinished(job)) {
			// Not waiting here (Wait off, or a callback wait that pauses the execution): the job keeps its
			// slot for its estimated run time, so the next submits of this key do not hit the concurrent-job
			// limit. If the job overruns, the server's 429 and Retry-After cover it.
			slot.keepUntil(Date.now() + Math.max(0, Number(job.estimatedSeconds ?? 0) * 1000));
		}
		slot.release();
		return { ok: true, result: await resultOf(batch, job, request, itemIndex) };
	} catch (error) {
		slot.release();
		return { ok: false, error: new ItemJobError(error as Error, context) };
	}
}

/**
 * Every submit takes a job slot, waiting or not: the server counts the job until it is done, and a
 * submit past the plan's limit would only earn a 429. The item's files are uploaded inside its slot,
 * just before its submit, so a batch's first job does not wait for every upload of the batch.
 */
async function submitJob(batch: Batch, request: JobRequest, itemIndex: number, slot: JobSlot, context: IDataObject): Promise<Job> {
	const { ctx } = batch;
	// Credits are reserved before the job slot (an item waiting for credits must not hold a slot the
	// item it waits for needs) and before the files go up: an item the cap refuses costs nothing.
	const reservation = await reserveCredits(batch, request, itemIndex);
	try {
		await slot.take(batch.signal);
	} catch {
		if (reservation) batch.credits?.release(reservation);
		throw new NodeOperationError(ctx.getNode(), 'The execution was cancelled before the job was submitted', { itemIndex });
	}
	const body = { ...(request.body ?? {}) };
	// Marked paid in n8n's database before the job can exist: should this process be killed after the
	// submit, a later run knows (paidMarks.ts). Taken back only when the server surely refused it.
	const mark = request.fingerprint && batch.paidMarks ? await batch.paidMarks.markPaid(request.fingerprint, batch.occurrences[itemIndex]) : undefined;
	let accepted = false;
	let mayExist = false;
	try {
		const job = await uploadAndSubmit(batch, request, itemIndex, slot, body).catch(async (error: Error) => {
			// A stop or a network error while the submit was on its way, a gateway error: the job may exist.
			mayExist = !refusedByServer(error) || mayHaveCreatedJob(error);
			if (mayExist) batch.submitsCutOff.add(itemIndex);
			if (mark && !mayExist) await batch.paidMarks!.unmark(mark);
			return await Promise.reject(error);
		});
		accepted = true;
		if (mark) batch.marks.set(itemIndex, mark);
		if (reservation) batch.credits?.settle(reservation, job.creditCost, job.jobId);
		context.jobId = job.jobId;
		context.status = job.status;
		if (job.creditCost !== undefined) context.creditCost = job.creditCost;
		// For operators: if the process dies before this node returns (a killed worker), n8n keeps none of
		// its output, and the log is where the paid job's ID can still be found.
		ctx.logger.info(`Gemini Omni: item ${itemIndex} accepted as job ${job.jobId} (execution ${ctx.getExecutionId()})`);
		if (request.fingerprint) batch.paidJobs?.accepted(request.fingerprint, job.jobId, job.creditCost, mark);
		return job;
	} finally {
		// Not accepted: refused, nothing was spent; may exist unseen, it counts at what was reserved.
		if (!accepted && reservation) {
			if (mayExist) batch.credits?.settle(reservation, undefined);
			else batch.credits?.release(reservation);
		}
	}
}

/** The server answered the submit (or an upload before it) with a refusal: 4xx, so no job exists. */
function refusedByServer(error: unknown): boolean {
	const status = Number((error as { httpCode?: string | null }).httpCode);
	return status >= 400 && status < 500;
}

async function reserveCredits(batch: Batch, request: JobRequest, itemIndex: number): Promise<CreditReservation | undefined> {
	if (!batch.credits) return undefined;
	const lipSync = request.uploads?.some((upload) => upload.field === 'videoUrl') ?? false;
	try {
		return await batch.credits.reserve(costKind(request.body ?? {}, lipSync), batch.signal);
	} catch (error) {
		if (!(error instanceof CreditCapError)) {
			throw new NodeOperationError(batch.ctx.getNode(), 'The execution was cancelled before the job was submitted', { itemIndex });
		}
		const refusal = new NodeOperationError(batch.ctx.getNode(), error.message, {
			itemIndex,
			description: `Options → Max Credits per Execution is ${error.cap}. Nothing was submitted for this item and it cost nothing; raise the cap (0 means no cap) and run it again.`,
		});
		capRefusals.set(refusal, error);
		throw refusal;
	}
}

async function uploadAndSubmit(batch: Batch, request: JobRequest, itemIndex: number, slot: JobSlot, body: IDataObject): Promise<Job> {
	const { ctx, requestOptions } = batch;
	for (const upload of request.uploads ?? []) {
		const file = await uploadBinary.call(ctx, itemIndex, upload.binaryPropertyName, upload.kind, requestOptions);
		body[upload.field] = file.url;
	}
	const patience = request.rateLimitPatienceMs !== undefined ? { rateLimitPatienceMs: request.rateLimitPatienceMs } : {};
	const waitBeforeRetry = async (delayMs: number, refusal: { status?: number; serverMessage?: string }) => {
		if (refusal.status === 429 && CONCURRENT_LIMIT.test(refusal.serverMessage ?? '')) {
			// The key's job slots are full: give this slot back and queue behind the gate's probe, so a
			// batch sends one submit per slot the server frees, not one per waiting item.
			slot.release();
			await slot.take(batch.signal);
			return;
		}
		await sleepUnlessCancelled(delayMs, batch.signal);
	};
	const accepted = await apiRequest.call(ctx, {
		...requestOptions,
		...patience,
		waitBeforeRetry,
		method: 'POST',
		path: '/api/v1/generate',
		body,
		itemIndex,
		idempotent: false,
	});
	const job = normalizeJob({ model: body.model, ...accepted });
	slot.markAccepted();
	return job;
}

/**
 * Reuse Paid Jobs on Retry: the job an earlier run of this node paid for the same request, looked up
 * instead of submitted. Undefined when it cannot serve (it failed, or the server no longer knows it):
 * then the item is submitted as usual.
 */
async function reusePaidJob(batch: Batch, claim: PaidJob, itemIndex: number, slot: JobSlot, context: IDataObject): Promise<Job | undefined> {
	// A job the server no longer knows (404) serves no better than a failed one.
	const job = await lookUpJob(batch, claim.jobId, itemIndex, context).catch(async (error: Error) =>
		(error as { httpCode?: string }).httpCode === '404' ? ({ jobId: claim.jobId, status: 'failed' } as Job) : await Promise.reject(error),
	);
	if (job.status === 'failed') {
		await forgetFailedJob(batch, claim.jobId, claim.mark);
		delete context.jobId;
		delete context.status;
		return undefined;
	}
	context.reused = true;
	if (job.creditCost !== undefined) context.creditCost = job.creditCost;
	batch.ctx.logger.info(`Gemini Omni: item ${itemIndex} reuses job ${job.jobId}, paid by an earlier run (execution ${batch.ctx.getExecutionId()})`);
	if (!isFinished(job)) {
		// Still running: it holds one of the key's job slots like a job submitted now.
		await slot.take(batch.signal);
		slot.markAccepted();
	}
	return job;
}

/** What the record and the credits learn from a job of this node once it ended. */
async function notePaidJobEnd(batch: Batch, job: Job, claim: PaidJob | undefined, itemIndex: number): Promise<void> {
	if (job.status === 'done') batch.paidJobs?.completed(job.jobId, job.completedAt);
	if (job.status === 'failed') await forgetFailedJob(batch, job.jobId, batch.marks.get(itemIndex) ?? claim?.mark);
}

/**
 * A failed job cost nothing: its request may be paid for again (record and mark gone, whichever run
 * made them), and what this execution counted for it is refunded.
 */
async function forgetFailedJob(batch: Batch, jobId: string, mark: string | undefined): Promise<void> {
	batch.paidJobs?.forget(jobId);
	if (mark) await batch.paidMarks?.unmark(mark);
	batch.credits?.refundJob(jobId);
}

/** Job → Get / Wait / Download Output: a job submitted elsewhere. */
async function lookUpJob(batch: Batch, jobId: string, itemIndex: number, context: IDataObject): Promise<Job> {
	context.jobId = jobId;
	const job = normalizeJob(
		await apiRequest.call(batch.ctx, { ...batch.requestOptions, method: 'GET', path: `/api/v1/jobs/${encodeURIComponent(jobId)}`, itemIndex }),
	);
	context.status = job.status;
	return job;
}

/** One check of the shared poll loop. */
async function checkJob(batch: Batch, jobId: string, deadline: number): Promise<Job> {
	return normalizeJob(
		await apiRequest.call(batch.ctx, {
			...batch.requestOptions,
			method: 'GET',
			path: `/api/v1/jobs/${encodeURIComponent(jobId)}`,
			// A 429 may delay a check only as long as the item still waits (and a little past the
			// deadline, for the last check that lands on it).
			rateLimitPatienceMs: Math.max(5_000, deadline - Date.now()),
		}),
	);
}

/** What a job's run times are learned per: its model, lip-sync (an audio job with a clip) apart. */
function jobKind(request: JobRequest, job: Job): string | undefined {
	const model = request.body?.model ?? job.model;
	if (typeof model !== 'string' || !model) return undefined;
	return request.body?.videoUrl !== undefined || request.uploads?.some((upload) => upload.field === 'videoUrl') ? `${model} lip-sync` : model;
}

async function waitForJob(batch: Batch, job: Job, maxWaitMs: number, context: IDataObject, kind: string | undefined, learn: boolean): Promise<Job> {
	const finished = await batch.poller.waitForJob(job, maxWaitMs, { kind, learn }).catch(async (error: Error) => {
		// The item's error reports the job's last known status, not the accepted one.
		const lastSeen = batch.poller.lastSeen(job.jobId) ?? (error instanceof JobWaitTimeoutError ? error.job : undefined);
		if (lastSeen) context.status = lastSeen.status;
		return await Promise.reject(error);
	});
	context.status = finished.status;
	return finished;
}

/** A finished (or accepted) job as the item's result: a failed job is the item's error. */
async function resultOf(batch: Batch, job: Job, request: JobRequest, itemIndex: number): Promise<JobResult> {
	const { ctx } = batch;
	if (job.status === 'failed') {
		throw new NodeOperationError(ctx.getNode(), `Job ${job.jobId} failed: ${job.error ?? 'no reason given'}. No credits were consumed for a failed job.`, {
			itemIndex,
		});
	}
	const result: JobResult = { json: { ...job } };
	if (!request.download) return result;
	if (job.status !== 'done') {
		throw new NodeOperationError(
			ctx.getNode(),
			`Job ${job.jobId} is "${job.status}", so it has no output to download yet. Use Job → Wait to wait for it.`,
			{ itemIndex },
		);
	}
	await batch.downloads.enter(batch.signal);
	try {
		const binary = await downloadJobOutput.call(ctx, job, itemIndex, request.download, batch.signal);
		result.binary = { [request.download.binaryPropertyName]: binary };
	} catch (error) {
		// An agent's tool call: a file over its limit is a note in the result, and the outputUrl serves.
		if (!(request.download.overLimit === 'note' && error instanceof OutputTooLargeError)) return await Promise.reject(error);
		result.json.outputNote = error.message;
	} finally {
		batch.downloads.leave();
	}
	return result;
}

/** The job an item's outcome names, if any (a result's or an error's jobId), as an accepted job. */
export function acceptedJobOf(outcome: ItemOutcome, itemIndex: number): AcceptedJob[] {
	const json = outcome.ok ? outcome.result.json : outcome.error.context;
	const jobId = json.jobId;
	if (typeof jobId !== 'string') return [];
	const accepted: AcceptedJob = { itemIndex, jobId, status: String(json.status ?? 'accepted') };
	if (typeof json.outputUrl === 'string') accepted.outputUrl = json.outputUrl;
	return [accepted];
}

/** "job_a (item 0): done, outputUrl https://…; job_b (item 1): generating" */
export function formatAcceptedJobs(jobs: AcceptedJob[]): string {
	return jobs
		.map((job) => `${job.jobId} (item ${job.itemIndex}): ${job.status}${job.outputUrl ? `, outputUrl ${job.outputUrl}` : ''}`)
		.join('; ');
}
