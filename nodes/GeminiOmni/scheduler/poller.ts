/**
 * One poll loop for every job an execution waits on (not one loop per item): it sleeps until the
 * earliest job is due, checks the jobs that are due, and schedules each next check from the job's own
 * estimate.
 *
 * Real jobs scatter around their estimate (about ±30 %), so the checks sit where a job can end: on a
 * grid of `checkIntervalSeconds` (at most a quarter of the estimate) that passes through the estimate itself (a job whose estimate is right
 * is seen done at once), from 0.55 × the estimate (the earliest few per cent of jobs) to 2 × the
 * estimate; after that they back off ×1.5 up to a minute, so a long overrun stays cheap. Nothing is
 * checked in the first half of a job's estimate, where peers that poll at a fixed pace spend most of
 * their requests. Checks before the estimate are speculative: they are made only while the key's
 * request budget has room to spare, so a big batch spends its budget on the checks that count; and once
 * the key's jobs have shown where they really end (runTimes.ts), the grid moves there.
 */
import type { Job } from '../helpers/job';
import { isFinished } from '../helpers/job';
import { onAbort } from '../transport/abort';
import { rateWindowScale } from './limits';
import type { RunTimeModel } from './runTimes';
import { ExecutionCancelledError, sleepUnlessCancelled } from '../transport/sleep';

export class JobWaitTimeoutError extends Error {
	constructor(
		public readonly job: Job,
		waitedMs: number,
	) {
		super(
			`Job ${job.jobId} was still "${job.status}" after waiting ${Math.round(waitedMs / 1000)} s. The job was not cancelled and may still finish: ` +
				`run Job → Wait (or Job → Get) with this job ID later, or raise "Max Wait".`,
		);
		this.name = 'JobWaitTimeoutError';
	}
}

export interface PollSchedule {
	/** Seconds the first check assumes when the server gave no estimate. */
	defaultEstimateSeconds: number;
	/** Seconds between checks while a job can be ending (the option Check Interval Near Estimate). */
	checkIntervalSeconds: number;
	/** The grid starts at this share of the estimate… */
	earliestShare: number;
	/** …passes through this share of it (where jobs end: 1 until the key's jobs showed otherwise)… */
	anchorShare: number;
	/** …and ends at this multiple of that; then checks back off. */
	latestShare: number;
	growth: number;
	minIntervalMs: number;
	maxIntervalMs: number;
}

export const DEFAULT_CHECK_INTERVAL_SECONDS = 8;

export const DEFAULT_POLL_SCHEDULE: PollSchedule = {
	defaultEstimateSeconds: 10,
	checkIntervalSeconds: DEFAULT_CHECK_INTERVAL_SECONDS,
	earliestShare: 0.55,
	anchorShare: 1,
	latestShare: 2,
	growth: 1.5,
	minIntervalMs: 200,
	maxIntervalMs: 60_000,
};

/** The schedule with another Check Interval Near Estimate (seconds; anything not positive keeps the default). */
export function pollScheduleWith(checkIntervalSeconds: number | undefined): PollSchedule {
	const seconds = Number(checkIntervalSeconds);
	if (!Number.isFinite(seconds) || seconds <= 0) return DEFAULT_POLL_SCHEDULE;
	return { ...DEFAULT_POLL_SCHEDULE, checkIntervalSeconds: Math.max(DEFAULT_POLL_SCHEDULE.minIntervalMs / 1000, seconds) };
}

/**
 * When (ms after acceptance) the check after one at `lastCheckMs` is due; `lastCheckMs` undefined gives
 * the first check. `speculative` is true for a check before the estimate.
 */
export function nextCheckAt(
	estimateSeconds: number | undefined,
	lastCheckMs: number | undefined,
	schedule = DEFAULT_POLL_SCHEDULE,
): { atMs: number; speculative: boolean } {
	// The estimate is the server's, in real time; the schedule's seconds are the API's (scaled in tests).
	const scale = rateWindowScale();
	const estimateMs =
		Number.isFinite(estimateSeconds) && estimateSeconds! > 0 ? estimateSeconds! * 1000 : schedule.defaultEstimateSeconds * 1000 * scale;
	const minMs = schedule.minIntervalMs * scale;
	const maxMs = schedule.maxIntervalMs * scale;
	// Between a thirtieth and a quarter of the estimate: a long job's window would otherwise hold dozens of checks.
	const stepMs = Math.max(minMs, estimateMs / 30, Math.min(maxMs, schedule.checkIntervalSeconds * 1000 * scale, estimateMs / 4));
	// Where the key's jobs typically end (the estimate until learned): the grid passes through it.
	const anchorMs = estimateMs * schedule.anchorShare;
	const earliestMs = Math.min(anchorMs, estimateMs * schedule.earliestShare);
	const latestMs = Math.max(anchorMs * schedule.latestShare, anchorMs + stepMs);
	const from = lastCheckMs === undefined ? earliestMs : Math.max(earliestMs, lastCheckMs + minMs);
	// The first grid point at or after `from` (a late answer is followed by the next grid point).
	const gridMs = anchorMs + Math.ceil((from - anchorMs) / stepMs - 1e-9) * stepMs;
	if (gridMs <= latestMs + 1e-6 || lastCheckMs === undefined) return { atMs: gridMs, speculative: gridMs < anchorMs };
	// Past the window: step + (growth − 1) × time past it, so each gap is `growth` × the previous one.
	const gapMs = stepMs + (schedule.growth - 1) * Math.max(0, lastCheckMs - latestMs);
	return { atMs: lastCheckMs + Math.min(maxMs, gapMs), speculative: false };
}

interface Waiter {
	jobId: string;
	estimateSeconds?: number;
	/** When the last check was made (ms after acceptance), or undefined before the first. */
	lastCheckMs?: number;
	dueAt: number;
	/** The due check comes before the estimate: skipped while the request budget is tight. */
	speculative: boolean;
	deadline: number;
	startedAt: number;
	/** What the schedule's times count from: acceptance, or a looked-up job's createdAt. */
	gridStart: number;
	runTimes?: RunTimeModel;
	/** The job was submitted by this batch: its run time teaches the key's model. */
	learn: boolean;
	lastJob: Job;
	/** A check is under way: the loop does not start another for this job. */
	checking?: boolean;
	resolve: (job: Job) => void;
	reject: (error: Error) => void;
}

export class JobPoller {
	private readonly waiters = new Set<Waiter>();
	// The last answer for each job, kept after its waiter ended: a stopped or failed wait still reports
	// where its job stood.
	private readonly lastJobs = new Map<string, Job>();
	private wake: (() => void) | undefined;
	private running = false;

	constructor(
		/** Fetches the job; `deadline` is when its waiter gives up, so a Retry-After past it fails at once. */
		private readonly fetchJob: (jobId: string, deadline: number) => Promise<Job>,
		private readonly signal?: AbortSignal,
		private readonly options: {
			schedule?: PollSchedule;
			/** Whether the key's request budget has room for a check that is only a guess (before the estimate). */
			budgetHasRoom?: () => boolean;
			/** The key's jobs' run times, per model: finished jobs are noted, and schedules move where they end. */
			runTimesFor?: (kind: string) => RunTimeModel;
		} = {},
	) {}

	/** The schedule, with where the key's jobs really end as far as they were seen (asked at every check). */
	private schedule(runTimes: RunTimeModel | undefined): PollSchedule {
		const base = this.options.schedule ?? DEFAULT_POLL_SCHEDULE;
		return runTimes ? { ...base, ...runTimes.shares(base) } : base;
	}

	/** The job as the last check saw it (undefined before its first check). */
	lastSeen(jobId: string): Job | undefined {
		return this.lastJobs.get(jobId);
	}

	/** Resolves with the finished job (done or failed), or rejects at the deadline or on cancel. */
	async waitForJob(
		accepted: Job,
		maxWaitMs: number,
		/** `kind`: the job's model, whose learned run times shape its schedule; `learn`: whether it teaches them. */
		how: { kind?: string; learn?: boolean } = {},
	): Promise<Job> {
		const now = Date.now();
		// A job looked up (Job → Wait) has run since its createdAt: its grid counts from then, not from now.
		const created = Date.parse(String(accepted.createdAt ?? ''));
		const gridStart = Number.isFinite(created) ? Math.min(now, Math.max(now - 86_400_000, created)) : now;
		const runTimes = how.kind ? this.options.runTimesFor?.(how.kind) : undefined;
		const estimate = Number.isFinite(accepted.estimatedSeconds) ? Number(accepted.estimatedSeconds) : undefined;
		return await new Promise<Job>((resolve, reject) => {
			const first = nextCheckAt(estimate, undefined, this.schedule(runTimes));
			const waiter: Waiter = {
				jobId: accepted.jobId,
				estimateSeconds: estimate,
				runTimes,
				learn: how.learn === true,
				startedAt: now,
				gridStart,
				deadline: now + maxWaitMs,
				dueAt: Math.min(gridStart + first.atMs, now + maxWaitMs),
				speculative: first.speculative,
				lastJob: accepted,
				resolve,
				reject,
			};
			this.waiters.add(waiter);
			this.wake?.();
			if (!this.running) void this.loop();
		});
	}

	private async loop(): Promise<void> {
		this.running = true;
		try {
			while (this.waiters.size) {
				const now = Date.now();
				for (const waiter of this.waiters) {
					if (waiter.checking || waiter.dueAt > now) continue;
					if (waiter.speculative && waiter.dueAt < waiter.deadline && this.options.budgetHasRoom?.() === false) {
						// Only a guess, and the budget is needed elsewhere: on to the next grid point.
						this.planNextCheck(waiter, now - waiter.gridStart);
						continue;
					}
					// Checks run on their own: one slow answer (retries, Retry-After) delays only its job.
					waiter.checking = true;
					void this.check(waiter).finally(() => {
						waiter.checking = false;
						this.wake?.();
					});
				}
				const idle = [...this.waiters].filter((waiter) => !waiter.checking);
				const earliest = idle.length ? Math.min(...idle.map((waiter) => waiter.dueAt)) : undefined;
				await this.sleepUntil(earliest);
			}
		} catch (error) {
			for (const waiter of this.waiters) waiter.reject(error as Error);
			this.waiters.clear();
		} finally {
			this.running = false;
		}
	}

	/** Sleeps until `time` (or, with no time, until woken): a new job or a finished check wakes it. */
	private async sleepUntil(time: number | undefined): Promise<void> {
		// Each nap has its own signal: waking ends its timer too, so no timer outlives the nap.
		const nap = new AbortController();
		this.wake = () => nap.abort();
		const stopListening = this.signal ? onAbort(this.signal, () => nap.abort()) : () => {};
		try {
			if (time === undefined) await new Promise<void>((resolve) => onAbort(nap.signal, resolve));
			else await sleepUnlessCancelled(time - Date.now(), nap.signal).catch(() => undefined);
		} finally {
			this.wake = undefined;
			stopListening();
			nap.abort();
		}
		if (this.signal?.aborted) throw new ExecutionCancelledError();
	}

	private async check(waiter: Waiter): Promise<void> {
		let job: Job;
		try {
			job = await this.fetchJob(waiter.jobId, waiter.deadline);
		} catch (error) {
			this.waiters.delete(waiter);
			waiter.reject(error as Error);
			return;
		}
		waiter.lastJob = job;
		this.lastJobs.set(job.jobId, job);
		const now = Date.now();
		if (isFinished(job)) {
			if (waiter.learn) waiter.runTimes?.observe(job, waiter.estimateSeconds);
			this.waiters.delete(waiter);
			waiter.resolve(job);
		} else if (now >= waiter.deadline) {
			this.waiters.delete(waiter);
			waiter.reject(new JobWaitTimeoutError(job, now - waiter.startedAt));
		} else {
			// The last check lands on the deadline itself, so a job that finishes just in time is not missed.
			this.planNextCheck(waiter, now - waiter.gridStart);
		}
	}

	/** The next check after one due (or made) at `checkMs` after acceptance; the last lands on the deadline. */
	private planNextCheck(waiter: Waiter, checkMs: number): void {
		waiter.lastCheckMs = checkMs;
		const next = nextCheckAt(waiter.estimateSeconds, checkMs, this.schedule(waiter.runTimes));
		waiter.dueAt = Math.min(waiter.gridStart + next.atMs, waiter.deadline);
		waiter.speculative = next.speculative;
	}
}
