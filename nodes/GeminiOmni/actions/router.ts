/**
 * Owns the item loop: every input item ends as exactly one output item (or a clear error naming it),
 * in input order, with pairedItem. Operations turn item i into a JobRequest; the scheduler runs them
 * all concurrently inside the plan's limits. Continue On Fail turns an item's error into
 * `{ error, jobId?, status?, model?, ... }`, so an accepted job is never lost from the output.
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { getApiCredentials } from '../transport';
import { redactSecrets } from '../transport/apiKey';
import { callbackUrlForThisExecution, pauseForCallback } from '../webhooks/callbackWait';
import { formatAcceptedJobs, runJobBatch } from '../scheduler';
import { acceptedCreditsOf } from '../scheduler/credits';
import { limitsForKey } from '../scheduler/limits';
import { PaidJobRecord, requestFingerprint } from '../scheduler/paidJobs';
import { PaidMarks } from '../scheduler/paidMarks';
import { binaryContentHash } from '../helpers/binary';
import { PASS_STATE_FIELD, readPassState, runPass } from '../scheduler/passes';
import type { AcceptedJob, ItemJobError, JobRequest } from '../scheduler';
import type { Job } from '../helpers/job';
import { agentResult, isAgentToolCall, requestForAgent } from './agentTool';
import * as resources from './index';

type Operation = (this: IExecuteFunctions, itemIndex: number) => Promise<JobRequest>;

const operations: Record<string, Record<string, Operation>> = {
	audio: { textToSpeech: resources.audio.textToSpeech.execute, lipSync: resources.audio.lipSync.execute },
	character: { generateVideo: resources.character.generateVideo.execute },
	file: { upload: resources.file.upload.execute },
	job: {
		get: resources.job.get.execute,
		wait: resources.job.wait.execute,
		downloadOutput: resources.job.downloadOutput.execute,
	},
	video: { textToVideo: resources.video.textToVideo.execute, imageToVideo: resources.video.imageToVideo.execute },
};

export function errorItem(error: Error, itemIndex: number, context: IDataObject = {}): INodeExecutionData {
	const json: IDataObject = { error: redactSecrets(error.message) };
	const description = (error as { description?: string }).description;
	if (description) json.errorDescription = redactSecrets(description);
	const httpCode = (error as { httpCode?: string | null }).httpCode;
	if (httpCode) json.httpCode = httpCode;
	return { json: { ...json, ...context }, pairedItem: { item: itemIndex } };
}

/**
 * The error that stops the node: names the item, its job, and every job the batch got accepted with
 * where it stood (n8n discards the node's output when it throws, so this is where they remain).
 */
function stoppingError(this: IExecuteFunctions, failure: ItemJobError, itemIndex: number, acceptedJobs: AcceptedJob[] = []): Error {
	const jobId = failure.context.jobId as string | undefined;
	// n8n's own errors (a missing binary field) may already name the item: say it once.
	const namesItem = (failure.cause?.message ?? '').includes(`[item ${itemIndex}]`);
	const jobNote = jobId && !failure.message.includes(String(jobId)) ? `job ${jobId}` : '';
	const suffix = namesItem ? (jobNote ? ` [${jobNote}]` : '') : ` [item ${itemIndex}${jobNote ? `, ${jobNote}` : ''}]`;
	const others = acceptedJobs.filter((job) => job.itemIndex !== itemIndex);
	const loop = this.getNodeParameter('waitMode', 0, 'poll') === 'loop' && this.getNodeParameter('waitForCompletion', 0, true) === true;
	const reuse = !loop && (this.getNodeParameter('options', 0, {}) as IDataObject)?.reusePaidJobs !== false;
	const howToCollect = reuse
		? 'a Retry of this execution reuses them instead of paying again; or collect them with Job → Download Output when done, Job → Wait when still running'
		: 'collect them with Job → Download Output when done, Job → Wait when still running; do not re-run the batch: with Reuse Paid Jobs on Retry off it would submit and bill them again';
	const othersText = others.length ? ` Other jobs of this batch, none cancelled (${howToCollect}): ${formatAcceptedJobs(others)}.` : '';
	const cause = failure.cause;
	if (cause instanceof NodeApiError || cause instanceof NodeOperationError) {
		cause.message = redactSecrets(cause.message) + suffix;
		if (cause.context.itemIndex === undefined) cause.context.itemIndex = itemIndex;
		if (othersText) cause.description = `${cause.description ?? ''}${othersText}`.trim();
		return cause;
	}
	return new NodeOperationError(this.getNode(), redactSecrets(cause.message) + suffix, {
		itemIndex,
		description: othersText.trim() || undefined,
	});
}

/**
 * A failure before any item ran (a malformed key, callback mode's checks): with Continue On Fail every
 * item says so; otherwise the node stops (NodeOperationError hands back an error that already is one).
 */
function failEveryItem(this: IExecuteFunctions, error: Error, itemCount: number, continueOnFail: boolean): INodeExecutionData[][] {
	if (!continueOnFail) throw new NodeOperationError(this.getNode(), error);
	return [Array.from({ length: itemCount }, (_item, itemIndex) => errorItem(error, itemIndex))];
}

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const resource = this.getNodeParameter('resource', 0) as string;
	const operation = this.getNodeParameter('operation', 0) as string;
	const toRequest = operations[resource]?.[operation];
	if (!toRequest) {
		throw new NodeOperationError(this.getNode(), `The operation "${operation}" of "${resource}" is not supported`);
	}
	// An agent's tool call answers every call with a result the model can read (actions/agentTool.ts).
	const agentTool = isAgentToolCall(this);
	const continueOnFail = agentTool || this.continueOnFail();
	// Loop mode: items may come back carrying running jobs, so a parameter error must not stop the node
	// before the pass has named them (the pass reports it with every job it knows).
	const loopMode =
		!agentTool &&
		resource !== 'job' &&
		resource !== 'file' &&
		this.getNodeParameter('waitForCompletion', 0, true) === true &&
		this.getNodeParameter('waitMode', 0, 'poll') === 'loop';

	const options = (this.getNodeParameter('options', 0, {}) as IDataObject) ?? {};
	const reusePaidJobs = options.reusePaidJobs !== false && !loopMode && !agentTool;
	// Reading parameters can fail per item (an empty prompt, a bad expression): that item fails alone.
	const requests: Array<JobRequest | Error> = [];
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		try {
			const asked = await toRequest.call(this, itemIndex);
			const request = agentTool ? requestForAgent(this, asked, itemIndex) : asked;
			if (reusePaidJobs && request.body) request.fingerprint = await fingerprintOf.call(this, request, itemIndex);
			requests.push(request);
		} catch (error) {
			if (!continueOnFail && !loopMode) throw stoppingError.call(this, { cause: error, context: {} } as ItemJobError, itemIndex);
			requests.push(error as Error);
		}
	}

	const maxConcurrentJobs = Number(options.maxConcurrentJobs) > 0 ? Number(options.maxConcurrentJobs) : undefined;
	const maxCreditsPerExecution = Number(options.maxCreditsPerExecution) > 0 ? Number(options.maxCreditsPerExecution) : undefined;
	const paidJobs = reusePaidJobs && requests.some((request) => !(request instanceof Error) && request.fingerprint) ? paidJobRecord.call(this) : undefined;
	try {
		return await runRequests.call(this, requests, {
			continueOnFail,
			agentTool,
			loopMode,
			maxConcurrentJobs,
			maxCreditsPerExecution,
			paidJobs,
			// Not for the editor's runs: their jobs are in their saved outputs, and a developer's run after
			// a restart of n8n (whose memory of manual runs is gone) would be refused for a test job.
			// Nor for a Retry's: its jobs are kept only in its own execution (n8n gives it no static data to
			// write), so a later run would find their marks without a record and refuse them.
			paidMarks: paidJobs && this.getMode() !== 'manual' && this.getMode() !== 'retry' ? new PaidMarks(this.helpers, paidJobs.scope) : undefined,
			checkIntervalSeconds: Number(options.checkIntervalSeconds) || undefined,
		});
	} finally {
		// n8n persists the execution's context and the static data when the execution ends: once is enough.
		paidJobs?.save();
		showCreditsOfExecution.call(this);
	}
}

interface RunSettings {
	continueOnFail: boolean;
	agentTool: boolean;
	loopMode: boolean;
	maxConcurrentJobs?: number;
	maxCreditsPerExecution?: number;
	checkIntervalSeconds?: number;
	paidJobs?: PaidJobRecord;
	paidMarks?: PaidMarks;
}

/** The request's fingerprint for Reuse Paid Jobs on Retry: its body, and its input files by content. */
async function fingerprintOf(this: IExecuteFunctions, request: JobRequest, itemIndex: number): Promise<string> {
	const files: Record<string, string> = {};
	for (const upload of request.uploads ?? []) files[upload.field] = await binaryContentHash.call(this, itemIndex, upload.binaryPropertyName);
	return requestFingerprint(request.body ?? {}, files);
}

/**
 * This node's record of paid jobs, scoped to the workflow and node: in the execution's node context
 * (what n8n's Retry of this execution starts from) and the workflow's static data (later executions).
 */
function paidJobRecord(this: IExecuteFunctions): PaidJobRecord {
	const scope = `${this.getWorkflow().id ?? ''}:${this.getNode().id ?? this.getNode().name}`;
	return new PaidJobRecord(this.getWorkflowStaticData('node'), scope, Date.now, this.getContext('node'), this.getMode() !== 'retry');
}

/**
 * The credits this execution got accepted, as execution custom data: n8n shows it with the execution
 * (and a retry, or every tool call of an agent run, adds to the same figure).
 */
function showCreditsOfExecution(this: IExecuteFunctions): void {
	const accepted = acceptedCreditsOf(this.getExecutionId());
	if (accepted === undefined) return;
	try {
		this.customData?.set(CREDITS_CUSTOM_DATA_KEY, String(accepted));
	} catch {
		// n8n versions or contexts without execution custom data: the figure is only a convenience.
	}
}

export const CREDITS_CUSTOM_DATA_KEY = 'geminiOmniCredits';

async function runRequests(this: IExecuteFunctions, requests: Array<JobRequest | Error>, settings: RunSettings): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const { continueOnFail, loopMode, maxConcurrentJobs, maxCreditsPerExecution, paidJobs, paidMarks } = settings;

	if (loopMode) {
		try {
			return await loopPass.call(this, requests, continueOnFail, maxConcurrentJobs, maxCreditsPerExecution);
		} catch (error) {
			if (error instanceof LoopStop) throw error.error;
			return failLoopPass.call(this, error as Error, continueOnFail);
		}
	}

	const callback = requests.find((request): request is JobRequest => !(request instanceof Error) && request.callback === true);
	// A job an earlier run paid for sends its callback to that run: this run checks it instead.
	if (callback && callback.fingerprint && paidJobs?.has(callback.fingerprint)) callback.callback = undefined;
	else if (callback) {
		// Callback mode: submit with the resume URL as callbackUrl, then pause the execution.
		let result;
		try {
			const credentials = await getApiCredentials.call(this, 0);
			const callbackUrl = await callbackUrlForThisExecution.call(this, items.length, credentials.baseUrl, credentials.webhookSecret);
			if (callback.body?.callbackUrl) {
				// The resume URL is the callback: a URL set in Options would be silently replaced.
				throw new NodeOperationError(
					this.getNode(),
					'Wait Mode "Callback" sets the job’s callback URL itself, but Options → Callback URL is also set. Nothing was submitted.',
					{ description: 'Remove Options → Callback URL, or use Wait Mode "Poll" to send the job’s events to that URL (e.g. a Gemini Omni Trigger).' },
				);
			}
			const submit: JobRequest = { body: { ...callback.body, callbackUrl }, uploads: callback.uploads, fingerprint: callback.fingerprint };
			result = await runJobBatch.call(this, [submit], { stopOnFirstError: !continueOnFail, paidJobs, paidMarks, maxCreditsPerExecution });
		} catch (error) {
			return failEveryItem.call(this, error as Error, items.length, continueOnFail);
		}
		const [outcome] = result.outcomes;
		if (!outcome.ok) {
			if (continueOnFail) return [[errorItem(outcome.error.cause, 0, outcome.error.context)]];
			throw stoppingError.call(this, outcome.error, 0);
		}
		return await pauseForCallback.call(this, outcome.result.json as Job, callback.maxWaitMs ?? 30 * 60_000);
	}

	let result;
	try {
		result = await runJobBatch.call(this, requests, {
			maxConcurrentJobs,
			checkIntervalSeconds: settings.checkIntervalSeconds,
			stopOnFirstError: !continueOnFail,
			paidJobs,
			paidMarks,
			maxCreditsPerExecution,
		});
	} catch (error) {
		return failEveryItem.call(this, error as Error, items.length, continueOnFail);
	}
	const { outcomes, firstFailure, acceptedJobs } = result;
	if (!continueOnFail && firstFailure !== undefined) {
		// The failure that stopped the batch, not an item it cancelled; it lists the other accepted jobs.
		throw stoppingError.call(this, (outcomes[firstFailure] as { ok: false; error: ItemJobError }).error, firstFailure, acceptedJobs);
	}

	const output: INodeExecutionData[] = [];
	for (let itemIndex = 0; itemIndex < outcomes.length; itemIndex++) {
		const outcome = outcomes[itemIndex];
		if (settings.agentTool) output.push(agentResult(outcome, itemIndex));
		else if (outcome.ok) output.push({ ...outcome.result, pairedItem: { item: itemIndex } });
		else if (continueOnFail) output.push(errorItem(outcome.error.cause, itemIndex, outcome.error.context));
		else throw stoppingError.call(this, outcome.error, itemIndex, acceptedJobs);
	}
	return [output];
}

/**
 * A loop pass that failed as a whole (e.g. the credential could not be read): every item that came
 * back with a job of this loop keeps its jobId, in the error items or in the stopping error.
 */
function failLoopPass(this: IExecuteFunctions, error: Error, continueOnFail: boolean): INodeExecutionData[][] {
	const owner = this.getNode().name;
	const jobs = this.getInputData().flatMap((item, itemIndex): AcceptedJob[] => {
		const jobId = readPassState(item.json, owner)?.jobId;
		return jobId ? [{ itemIndex, jobId, status: String(item.json.status ?? 'accepted') }] : [];
	});
	if (!continueOnFail) {
		const stop = new NodeOperationError(this.getNode(), error, {
			description: jobs.length ? `Jobs of this loop, none cancelled (collect them with Job → Wait): ${formatAcceptedJobs(jobs)}.` : undefined,
		});
		throw stop;
	}
	const byItem = new Map(jobs.map((job) => [job.itemIndex, job]));
	return [
		this.getInputData().map((_item, itemIndex) => {
			const job = byItem.get(itemIndex);
			return errorItem(error, itemIndex, job ? { jobId: job.jobId, status: job.status } : {});
		}),
		[],
	];
}

/** A loop pass's stopping error, kept apart from failures before the pass ran. */
class LoopStop extends Error {
	constructor(readonly error: Error) {
		super(error.message);
	}
}

/**
 * Wait Mode "Loop Through a Wait Node": one pass (scheduler/passes.ts). Output 0 "Done": finished
 * jobs (or, with Continue On Fail, their errors). Output 1 "Still Running": the item as it came, with
 * its job's state and the `checkAt` the Wait node waits for; its input binaries only while queued.
 */
async function loopPass(
	this: IExecuteFunctions,
	requests: Array<JobRequest | Error>,
	continueOnFail: boolean,
	maxConcurrentJobs: number | undefined,
	maxCreditsPerExecution: number | undefined,
): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const credentials = await getApiCredentials.call(this, 0);
	const keyLimits = limitsForKey(credentials.apiKey, credentials.plan);
	const planLimit = keyLimits.budget.limits.concurrent;
	const first = requests.find((request): request is JobRequest => !(request instanceof Error));
	const owner = this.getNode().name;
	const pass = await runPass.call(
		this,
		items.map((item, itemIndex) => ({ itemIndex, state: readPassState(item.json, owner), request: requests[itemIndex] })),
		{
			limit: Math.min(maxConcurrentJobs ?? Infinity, planLimit),
			// Other executions of this process may hold the key's slots: a pass submits only into free
			// ones rather than wait for them (it must return in seconds).
			processFree: () => keyLimits.gate.capacity - keyLimits.gate.active,
			maxWaitMs: first?.maxWaitMs ?? 30 * 60_000,
			stopOnFirstError: !continueOnFail,
			owner,
			now: Date.now,
			maxCreditsPerExecution,
		},
	);
	const failure = pass.done.find((entry) => !entry.outcome.ok);
	if (failure && !failure.outcome.ok && !continueOnFail) throw new LoopStop(stoppingError.call(this, failure.outcome.error, failure.itemIndex, pass.knownJobs));
	const done = pass.done.map(({ itemIndex, outcome }) =>
		outcome.ok ? { ...outcome.result, pairedItem: { item: itemIndex } } : errorItem(outcome.error.cause, itemIndex, outcome.error.context),
	);
	const checkAt = new Date(pass.checkAt).toISOString();
	const stillRunning = pass.stillRunning.map(({ itemIndex, state, job }): INodeExecutionData => {
		const input = items[itemIndex];
		const json: IDataObject = { ...input.json, status: job?.status ?? (state.jobId ? 'accepted' : 'queued'), checkAt, [PASS_STATE_FIELD]: state };
		if (state.jobId) json.jobId = state.jobId;
		// A jobId the item brought from upstream is not this loop's job.
		else delete json.jobId;
		// A queued item still needs its input files; a submitted one no longer does.
		return { json, ...(!state.jobId && input.binary ? { binary: input.binary } : {}), pairedItem: { item: itemIndex } };
	});
	return [done, stillRunning];
}
