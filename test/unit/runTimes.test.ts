/** Where the poll schedule starts, learned from how a key's jobs really ran against their estimates. */
import type { Job } from '../../nodes/GeminiOmni/helpers/job';
import { JobPoller } from '../../nodes/GeminiOmni/scheduler/poller';
import { RunTimeModel } from '../../nodes/GeminiOmni/scheduler/runTimes';

const ran = (seconds: number, status = 'done'): Job => ({
	jobId: `job_${seconds}`,
	status,
	createdAt: '2026-12-01T10:00:00.000Z',
	completedAt: new Date(Date.parse('2026-12-01T10:00:00.000Z') + seconds * 1000).toISOString(),
});

describe('RunTimeModel', () => {
	it('keeps the default start until 5 jobs were seen, then starts at 0.9 × the earliest of them', () => {
		const model = new RunTimeModel();
		for (const seconds of [60, 61, 59.4, 60]) model.observe(ran(seconds), 60);
		expect(model.earliestShare(0.55)).toBe(0.55);
		model.observe(ran(66), 60);
		expect(model.earliestShare(0.55)).toBeCloseTo(0.9 * 0.99, 10);
	});

	it('never starts later than the estimate nor earlier than the default', () => {
		const late = new RunTimeModel();
		for (let i = 0; i < 5; i++) late.observe(ran(90), 60);
		expect(late.earliestShare(0.55)).toBe(1);
		const early = new RunTimeModel();
		for (let i = 0; i < 5; i++) early.observe(ran(12), 60);
		expect(early.earliestShare(0.55)).toBe(0.55);
	});

	it('ignores failed jobs, jobs without times or estimate, and forgets all but the last 50', () => {
		const model = new RunTimeModel();
		model.observe(ran(10, 'failed'), 60);
		model.observe({ jobId: 'x', status: 'done' }, 60);
		model.observe(ran(10), undefined);
		for (let i = 0; i < 4; i++) model.observe(ran(60), 60);
		expect(model.earliestShare(0.55)).toBe(0.55); // only 4 counted
		model.observe(ran(30), 60); // the fifth: 0.5 × the estimate
		expect(model.earliestShare(0.55)).toBe(0.55);
		for (let i = 0; i < 50; i++) model.observe(ran(60), 60); // the early one is forgotten
		expect(model.earliestShare(0.55)).toBeCloseTo(0.9, 10);
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
		const poller = new JobPoller(fetchJob, new AbortController().signal, { runTimes });
		const counts: number[] = [];
		for (let i = 0; i < 6; i++) {
			started = Date.now();
			checks.length = 0;
			const waiting = poller.waitForJob({ jobId: `j${i}`, status: 'accepted', estimatedSeconds: 60 }, 600_000);
			await jest.advanceTimersByTimeAsync(70_000);
			await expect(waiting).resolves.toMatchObject({ status: 'done' });
			counts.push(checks.length);
		}
		// 36, 44, 52, 60 s for the first five; then from 0.9 × 60 s on the 8 s grid: 60 s only.
		expect(counts).toEqual([4, 4, 4, 4, 4, 1]);
	});
});
