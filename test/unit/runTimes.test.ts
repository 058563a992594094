/** Where the poll schedule starts, learned from how a key's jobs really ran against their estimates. */
import type { Job } from '../../nodes/GeminiOmni/helpers/job';
import { DEFAULT_POLL_SCHEDULE, JobPoller, nextCheckAt } from '../../nodes/GeminiOmni/scheduler/poller';
import { RunTimeModel } from '../../nodes/GeminiOmni/scheduler/runTimes';

const ran = (seconds: number, status = 'done'): Job => ({
	jobId: `job_${seconds}`,
	status,
	createdAt: '2026-12-01T10:00:00.000Z',
	completedAt: new Date(Date.parse('2026-12-01T10:00:00.000Z') + seconds * 1000).toISOString(),
});

const DEFAULTS = { earliestShare: 0.55, anchorShare: 1 };

describe('RunTimeModel', () => {
	it('keeps the defaults until 5 jobs were seen, then passes through their median and starts at 0.9 × the earliest', () => {
		const model = new RunTimeModel();
		for (const seconds of [60, 61, 59.4, 60]) model.observe(ran(seconds), 60);
		expect(model.shares(DEFAULTS)).toEqual(DEFAULTS);
		model.observe(ran(66), 60);
		const shares = model.shares(DEFAULTS);
		expect(shares.anchorShare).toBeCloseTo(1, 10);
		expect(shares.earliestShare).toBeCloseTo(0.9 * 0.99, 10);
	});

	it('follows jobs that run late, and never starts earlier than the default nor after the anchor', () => {
		const late = new RunTimeModel();
		for (let i = 0; i < 5; i++) late.observe(ran(90), 60);
		expect(late.shares(DEFAULTS).anchorShare).toBeCloseTo(1.5, 10);
		expect(late.shares(DEFAULTS).earliestShare).toBeCloseTo(1.35, 10);
		const early = new RunTimeModel();
		for (let i = 0; i < 5; i++) early.observe(ran(24), 60);
		expect(early.shares(DEFAULTS)).toEqual({ earliestShare: 0.4, anchorShare: 0.4 });
		const scattered = new RunTimeModel();
		for (const seconds of [30, 55, 60, 66, 80]) scattered.observe(ran(seconds), 60);
		expect(scattered.shares(DEFAULTS)).toEqual({ earliestShare: 0.55, anchorShare: 1 });
	});

	it('ignores failed jobs, jobs without times or estimate, and forgets all but the last 50', () => {
		const model = new RunTimeModel();
		model.observe(ran(10, 'failed'), 60);
		model.observe({ jobId: 'x', status: 'done' }, 60);
		model.observe(ran(10), undefined);
		for (let i = 0; i < 4; i++) model.observe(ran(60), 60);
		expect(model.shares(DEFAULTS)).toEqual(DEFAULTS); // only 4 counted
		model.observe(ran(30), 60); // the fifth: 0.5 × the estimate
		expect(model.shares(DEFAULTS).earliestShare).toBe(0.55);
		for (let i = 0; i < 50; i++) model.observe(ran(60), 60); // the early one is forgotten
		expect(model.shares(DEFAULTS).earliestShare).toBeCloseTo(0.9, 10);
	});
});

describe('nextCheckAt with learned shares', () => {
	it('jobs that ran 1.5× their estimate: the grid passes through 1.5× and starts at 1.35×', () => {
		const schedule = { ...DEFAULT_POLL_SCHEDULE, earliestShare: 1.35, anchorShare: 1.5 };
		const first = nextCheckAt(60, undefined, schedule);
		expect(first).toEqual({ atMs: 82_000, speculative: true });
		expect(nextCheckAt(60, first.atMs, schedule)).toEqual({ atMs: 90_000, speculative: false });
	});
});

describe('JobPoller with a RunTimeModel', () => {
	beforeEach(() => jest.useFakeTimers({ now: new Date('2026-12-01T10:00:00Z') }));
	afterEach(() => jest.useRealTimers());

	it('after five jobs that ended at their estimate, checks the next one first at its estimate', async () => {
		const runTimes = new RunTimeModel();
		const checks: number[] = [];
		let started = Date.now();
		const fetchJob = async (jobId: string): Promise<Job> => {
			checks.push(Date.now() - started);
			const done = Date.now() - started >= 60_000;
			return done
				? { jobId, status: 'done', createdAt: new Date(started).toISOString(), completedAt: new Date(started + 60_000).toISOString() }
				: { jobId, status: 'generating' };
		};
		const poller = new JobPoller(fetchJob, new AbortController().signal, { runTimesFor: () => runTimes });
		const counts: number[] = [];
		for (let i = 0; i < 6; i++) {
			started = Date.now();
			checks.length = 0;
			const waiting = poller.waitForJob({ jobId: `j${i}`, status: 'accepted', estimatedSeconds: 60 }, 600_000, { kind: 'video', learn: true });
			await jest.advanceTimersByTimeAsync(70_000);
			await expect(waiting).resolves.toMatchObject({ status: 'done' });
			counts.push(checks.length);
		}
		// 36, 44, 52, 60 s for the first five; then from 0.9 × 60 s on the 8 s grid: 60 s only.
		expect(counts).toEqual([4, 4, 4, 4, 4, 1]);
	});

	it('learns during a wait: a job already waiting when the fifth job ends moves to the learned grid', async () => {
		const runTimes = new RunTimeModel();
		for (let i = 0; i < 4; i++) runTimes.observe({ jobId: `old${i}`, status: 'done', createdAt: '2026-12-01T09:00:00.000Z', completedAt: '2026-12-01T09:01:30.000Z' }, 60);
		const start = Date.now();
		const checks: Array<[string, number]> = [];
		const doneAt: Record<string, number> = { fifth: 36_000, waiting: 90_000 };
		const fetchJob = async (jobId: string): Promise<Job> => {
			checks.push([jobId, (Date.now() - start) / 1000]);
			const elapsed = Date.now() - start;
			if (elapsed < doneAt[jobId]) return { jobId, status: 'generating' };
			// The fifth job also ran 1.5× its estimate (24 s of a 16 s estimate… here: created 54 s before its end).
			const created = jobId === 'fifth' ? start + doneAt.fifth - 54_000 : start;
			return { jobId, status: 'done', createdAt: new Date(created).toISOString(), completedAt: new Date(start + doneAt[jobId]).toISOString() };
		};
		const poller = new JobPoller(fetchJob, new AbortController().signal, { runTimesFor: () => runTimes });
		const fifth = poller.waitForJob({ jobId: 'fifth', status: 'accepted', estimatedSeconds: 36 }, 600_000, { kind: 'video', learn: true });
		const waiting = poller.waitForJob({ jobId: 'waiting', status: 'accepted', estimatedSeconds: 60 }, 600_000, { kind: 'video', learn: true });
		await jest.advanceTimersByTimeAsync(200_000);
		await Promise.all([fifth, waiting]);
		// Until 36 s the waiting job is on the default grid (36 s); from then on on 1.5 × 60 = 90 s, from 81 s.
		expect(checks.filter(([id]) => id === 'waiting').map(([, at]) => at)).toEqual([36, 82, 90]);
	});
});

describe('JobPoller: jobs looked up, and what is learned from', () => {
	beforeEach(() => jest.useFakeTimers({ now: new Date('2026-12-01T10:00:00Z') }));
	afterEach(() => jest.useRealTimers());

	it('a job looked up 50 s after its creation is checked on its grid from createdAt, and teaches nothing', async () => {
		const runTimes = new RunTimeModel();
		const now = Date.now();
		const created = now - 50_000;
		const checks: number[] = [];
		const fetchJob = async (jobId: string): Promise<Job> => {
			checks.push((Date.now() - now) / 1000);
			return Date.now() - created >= 60_000
				? { jobId, status: 'done', createdAt: new Date(created).toISOString(), completedAt: new Date(created + 60_000).toISOString() }
				: { jobId, status: 'generating' };
		};
		const poller = new JobPoller(fetchJob, new AbortController().signal, { runTimesFor: () => runTimes });
		for (let i = 0; i < 5; i++) {
			const found = poller.waitForJob({ jobId: `old${i}`, status: 'generating', estimatedSeconds: 60, createdAt: new Date(created).toISOString() }, 600_000, { kind: 'video' });
			await jest.advanceTimersByTimeAsync(i === 0 ? 20_000 : 0);
			await expect(found).resolves.toMatchObject({ status: 'done' });
		}
		// The grid 36, 44, 52, 60 s after createdAt: 36 and 44 are past (one check at once), then 52 and 60.
		expect(checks.slice(0, 3)).toEqual([0, 2, 10]);
		expect(runTimes.shares({ earliestShare: 0.55, anchorShare: 1 })).toEqual({ earliestShare: 0.55, anchorShare: 1 });
	});
});

describe('nextCheckAt: odd estimates', () => {
	it('treats an infinite estimate as none, and keeps a long job\'s grid to at most 30 steps per estimate', () => {
		expect(nextCheckAt(Number.POSITIVE_INFINITY, undefined).atMs).toBe(7_500);
		// 360 s: a step of 12 s (360 / 30), not 8 s.
		const first = nextCheckAt(360, undefined).atMs;
		expect(first).toBe(204_000);
		expect(nextCheckAt(360, first).atMs).toBe(216_000);
	});
});
