/**
 * One poll loop for every job an execution waits on (not one loop per item): it sleeps until the
 * earliest job is due, checks the jobs that are due, and schedules each next check from the job's own
 * estimate. The first check is at `estimatedSeconds` (when the job should be done, so a job whose
 * estimate is right costs one poll); later checks back off ×1.5 so a long overrun stays cheap.
 */
import type { Job } from '../helpers/job';
import { isFinished } from '../helpers/job';
import { onAbort } from '../transport/abort';
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
	/** Seconds until the first check when the server gave no estimate. */
	defaultEstimateSeconds: number;
	/** The k-th later check comes estimate × firstRetryFactor × growth^(k-1) after the previous one. */
	firstRetryFactor: number;
	growth: number;
	minIntervalMs: number;
	maxIntervalMs: number;
}

export const DEFAULT_POLL_SCHEDULE: PollSchedule = {
	defaultEstimateSeconds: 10,
	firstRetryFactor: 0.5,
	growth: 1.5,
	minIntervalMs: 200,
	maxIntervalMs: 60_000,
};

/** Milliseconds from one check to the next; `checksDone` = 0 gives the delay before the first check. */
export function nextPollDelay(estimateSeconds: number | undefined, checksDone: number, schedule = DEFAULT_POLL_SCHEDULE): number {
	const estimateMs = (estimateSeconds && estimateSeconds > 0 ? estimateSeconds : schedule.defaultEstimateSeconds) * 1000;
	if (checksDone === 0) return estimateMs;
	const delay = estimateMs * schedule.firstRetryFactor * schedule.growth ** (checksDone - 1);
	return Math.min(schedule.maxIntervalMs, Math.max(schedule.minIntervalMs, delay));
}

interface Waiter {
	jobId: string;
	estimateSeconds?: number;
	checksDone: number;
	dueAt: number;
	deadline: number;
	startedAt: number;
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
		private readonly schedule = DEFAULT_POLL_SCHEDULE,
	) {}

	/** The job as the last check saw it (undefined before its first check). */
	lastSeen(jobId: string): Job | undefined {
		return this.lastJobs.get(jobId);
	}

	/** Resolves with the finished job (done or failed), or rejects at the deadline or on cancel. */
	async waitForJob(accepted: Job, maxWaitMs: number): Promise<Job> {
		const now = Date.now();
		const estimate = typeof accepted.estimatedSeconds === 'number' ? accepted.estimatedSeconds : undefined;
		return await new Promise<Job>((resolve, reject) => {
			const waiter: Waiter = {
				jobId: accepted.jobId,
				estimateSeconds: estimate,
				checksDone: 0,
				startedAt: now,
				deadline: now + maxWaitMs,
				dueAt: Math.min(now + nextPollDelay(estimate, 0, this.schedule), now + maxWaitMs),
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
		waiter.checksDone++;
		waiter.lastJob = job;
		this.lastJobs.set(job.jobId, job);
		const now = Date.now();
		if (isFinished(job)) {
			this.waiters.delete(waiter);
			waiter.resolve(job);
		} else if (now >= waiter.deadline) {
			this.waiters.delete(waiter);
			waiter.reject(new JobWaitTimeoutError(job, now - waiter.startedAt));
		} else {
			// The last check lands on the deadline itself, so a job that finishes just in time is not missed.
			waiter.dueAt = Math.min(now + nextPollDelay(waiter.estimateSeconds, waiter.checksDone, this.schedule), waiter.deadline);
		}
	}
}
