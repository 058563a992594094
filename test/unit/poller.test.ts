/** The poll schedule and the shared poll loop on a fake clock: deterministic, in milliseconds. */
import type { Job } from '../../nodes/GeminiOmni/helpers/job';
import { DEFAULT_POLL_SCHEDULE, JobPoller, JobWaitTimeoutError, nextCheckAt, pollScheduleWith } from '../../nodes/GeminiOmni/scheduler/poller';
import { abortCallbackCount } from '../../nodes/GeminiOmni/transport/abort';

/** The first `count` check times (s after acceptance) and which of them are before the estimate. */
function checkTimes(estimate: number | undefined, count: number, schedule = DEFAULT_POLL_SCHEDULE) {
	const times: number[] = [];
	const speculative: number[] = [];
	let last: number | undefined;
	for (let i = 0; i < count; i++) {
		const next = nextCheckAt(estimate, last, schedule);
		times.push(Math.round(next.atMs) / 1000);
		if (next.speculative) speculative.push(Math.round(next.atMs) / 1000);
		last = next.atMs;
	}
	return { times, speculative };
}

describe('nextCheckAt (the poll schedule)', () => {
	it('checks every 8 s from 0.55 × the estimate on a grid through the estimate, to 2 × the estimate', () => {
		const { times, speculative } = checkTimes(60, 12);
		expect(times).toEqual([36, 44, 52, 60, 68, 76, 84, 92, 100, 108, 116, 124]);
		expect(speculative).toEqual([36, 44, 52]);
	});

	it('then backs off ×1.5 up to a check a minute', () => {
		const { times } = checkTimes(60, 20);
		const gaps = times.slice(11).map((time, i) => time - times[10 + i]);
		expect(gaps.slice(0, 4)).toEqual([8, 10, 15, 22.5]);
		expect(gaps.slice(-3)).toEqual([60, 60, 60]);
	});

	it('keeps the estimate on the grid for any interval, and a late answer back on the grid', () => {
		expect(checkTimes(60, 5, pollScheduleWith(7)).times).toEqual([39, 46, 53, 60, 67]);
		expect(checkTimes(60, 3, pollScheduleWith(2.5)).times).toEqual([35, 37.5, 40]);
		// A check answered 1.3 s late (waiting for the budget) is followed by the next grid point.
		expect(nextCheckAt(60, 61_300).atMs).toBe(68_000);
		expect(nextCheckAt(60, 75_000).atMs).toBe(76_000);
	});

	it('never checks further apart than a quarter of the estimate, and assumes 10 s without one', () => {
		expect(checkTimes(10, 4).times).toEqual([7.5, 10, 12.5, 15]);
		expect(checkTimes(undefined, 4).times).toEqual([7.5, 10, 12.5, 15]);
	});

	it('reads Check Interval Near Estimate: a value that is not a positive number keeps the default', () => {
		expect(pollScheduleWith(2.5).checkIntervalSeconds).toBe(2.5);
		expect(pollScheduleWith(0)).toBe(DEFAULT_POLL_SCHEDULE);
		expect(pollScheduleWith(Number.NaN)).toBe(DEFAULT_POLL_SCHEDULE);
		expect(pollScheduleWith(0.05).checkIntervalSeconds).toBe(0.2);
	});
});

describe('JobPoller', () => {
	beforeEach(() => jest.useFakeTimers({ now: new Date('2026-12-01T10:00:00Z') }));
	afterEach(() => jest.useRealTimers());

	/** A job that is done after `doneAfterMs`, and the times it was checked. */
	function fakeApi(doneAfterMs: Record<string, number>) {
		const start = Date.now();
		const checks: Array<[string, number]> = [];
		const fetchJob = async (jobId: string): Promise<Job> => {
			checks.push([jobId, Date.now() - start]);
			return { jobId, status: Date.now() - start >= doneAfterMs[jobId] ? 'done' : 'generating' };
		};
		return { checks, fetchJob };
	}

	it('checks each job on its own grid until done; an early job is seen early, a late one soon after it ends', async () => {
		const api = fakeApi({ early: 40_000, exact: 60_000, late: 93_000 });
		const poller = new JobPoller(api.fetchJob, new AbortController().signal);
		const jobs = ['early', 'exact', 'late'].map(async (jobId) => await poller.waitForJob({ jobId, status: 'accepted', estimatedSeconds: 60 }, 600_000));
		await jest.advanceTimersByTimeAsync(200_000);
		expect((await Promise.all(jobs)).map((job) => job.status)).toEqual(['done', 'done', 'done']);
		const of = (id: string) => api.checks.filter(([jobId]) => jobId === id).map(([, at]) => at / 1000);
		expect(of('early')).toEqual([36, 44]);
		expect(of('exact')).toEqual([36, 44, 52, 60]);
		expect(of('late')).toEqual([36, 44, 52, 60, 68, 76, 84, 92, 100]);
	});

	it('skips the checks before the estimate while the request budget has no room to spare', async () => {
		const api = fakeApi({ early: 40_000, late: 70_000 });
		let room = false;
		const poller = new JobPoller(api.fetchJob, new AbortController().signal, { budgetHasRoom: () => room });
		const early = poller.waitForJob({ jobId: 'early', status: 'accepted', estimatedSeconds: 60 }, 600_000);
		const late = poller.waitForJob({ jobId: 'late', status: 'accepted', estimatedSeconds: 60 }, 600_000);
		await jest.advanceTimersByTimeAsync(50_000);
		room = true; // the budget frees: the next guess (52 s) is made again
		await jest.advanceTimersByTimeAsync(100_000);
		await expect(early).resolves.toMatchObject({ status: 'done' });
		await expect(late).resolves.toMatchObject({ status: 'done' });
		expect(api.checks.map(([id, at]) => `${id}@${at / 1000}`)).toEqual(['early@52', 'late@52', 'late@60', 'late@68', 'late@76']);
	});

	it('checks last exactly at the deadline, then gives up naming the job', async () => {
		const api = fakeApi({ slow: 10_000_000 });
		const poller = new JobPoller(api.fetchJob, new AbortController().signal);
		const waiting = poller.waitForJob({ jobId: 'slow', status: 'accepted', estimatedSeconds: 60 }, 100_000).catch((error: Error) => error);
		await jest.advanceTimersByTimeAsync(200_000);
		const error = await waiting;
		expect(error).toBeInstanceOf(JobWaitTimeoutError);
		expect((error as Error).message).toMatch(/^Job slow was still "generating" after waiting 100 s/);
		expect(api.checks.map(([, at]) => at / 1000)).toEqual([36, 44, 52, 60, 68, 76, 84, 92, 100]);
	});

	it('stops at once when the batch is stopped, and checks nothing after', async () => {
		const api = fakeApi({ a: 10_000_000 });
		const stop = new AbortController();
		const poller = new JobPoller(api.fetchJob, stop.signal);
		const waiting = poller.waitForJob({ jobId: 'a', status: 'accepted', estimatedSeconds: 60 }, 600_000).catch((error: Error) => error.message);
		await jest.advanceTimersByTimeAsync(30_000);
		stop.abort();
		expect(await waiting).toBe('The execution was cancelled');
		await jest.advanceTimersByTimeAsync(600_000);
		expect(api.checks).toEqual([]);
	});

	it('wakes for each new job without leaving a timer or a listener per wake', async () => {
		const api = fakeApi(Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`j${i}`, 30_000])));
		const stop = new AbortController();
		const poller = new JobPoller(api.fetchJob, stop.signal);
		const waits: Array<Promise<Job>> = [];
		for (let i = 0; i < 100; i++) {
			// Items arrive one after another (as their submits are answered), each waking the loop.
			waits.push(poller.waitForJob({ jobId: `j${i}`, status: 'accepted', estimatedSeconds: 30 }, 600_000));
			await jest.advanceTimersByTimeAsync(10);
			expect(jest.getTimerCount()).toBeLessThanOrEqual(1);
			expect(abortCallbackCount(stop.signal)).toBeLessThanOrEqual(1);
		}
		await jest.advanceTimersByTimeAsync(40_000);
		expect((await Promise.all(waits)).every((job) => job.status === 'done')).toBe(true);
		// Estimate 30 s: checks at 22.5 s (a quarter of the estimate apart) and 30 s.
		expect(api.checks).toHaveLength(200);
		expect(jest.getTimerCount()).toBe(0);
		expect(abortCallbackCount(stop.signal)).toBe(0);
	});
});
