/** The poll schedule and the shared poll loop on a fake clock: deterministic, in milliseconds. */
import type { Job } from '../../nodes/GeminiOmni/helpers/job';
import { JobPoller, JobWaitTimeoutError, nextPollDelay } from '../../nodes/GeminiOmni/scheduler/poller';
import { abortCallbackCount } from '../../nodes/GeminiOmni/transport/abort';

describe('nextPollDelay', () => {
	it('checks first at the estimate, then backs off ×1.5 from half the estimate, capped at 60 s', () => {
		expect([0, 1, 2, 3].map((checks) => nextPollDelay(60, checks))).toEqual([60_000, 30_000, 45_000, 60_000]);
		expect(nextPollDelay(60, 10)).toBe(60_000);
	});

	it('uses 10 s when the server gave no estimate, and never polls faster than every 200 ms', () => {
		expect(nextPollDelay(undefined, 0)).toBe(10_000);
		expect(nextPollDelay(0.1, 1)).toBe(200);
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

	it('one check per job when the estimate is right; an overrun job backs off', async () => {
		const api = fakeApi({ a: 60_000, b: 100_000 });
		const poller = new JobPoller(api.fetchJob, new AbortController().signal);
		const a = poller.waitForJob({ jobId: 'a', status: 'accepted', estimatedSeconds: 60 }, 600_000);
		const b = poller.waitForJob({ jobId: 'b', status: 'accepted', estimatedSeconds: 60 }, 600_000);
		await jest.advanceTimersByTimeAsync(200_000);
		await expect(a).resolves.toMatchObject({ status: 'done' });
		await expect(b).resolves.toMatchObject({ status: 'done' });
		expect(api.checks.filter(([id]) => id === 'a').map(([, at]) => at)).toEqual([60_000]);
		expect(api.checks.filter(([id]) => id === 'b').map(([, at]) => at)).toEqual([60_000, 90_000, 135_000]);
	});

	it('checks last exactly at the deadline, then gives up naming the job', async () => {
		const api = fakeApi({ slow: 10_000_000 });
		const poller = new JobPoller(api.fetchJob, new AbortController().signal);
		const waiting = poller.waitForJob({ jobId: 'slow', status: 'accepted', estimatedSeconds: 60 }, 100_000).catch((error: Error) => error);
		await jest.advanceTimersByTimeAsync(200_000);
		const error = await waiting;
		expect(error).toBeInstanceOf(JobWaitTimeoutError);
		expect((error as Error).message).toMatch(/^Job slow was still "generating" after waiting 100 s/);
		expect(api.checks.map(([, at]) => at)).toEqual([60_000, 90_000, 100_000]);
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
		expect(api.checks).toHaveLength(100);
		expect(jest.getTimerCount()).toBe(0);
		expect(abortCallbackCount(stop.signal)).toBe(0);
	});
});
