/** The loop pass's planning (scheduler/passes.ts), on a fixed clock. */
import {
	DUE_TOLERANCE_MS,
	FIRST_BACKOFF_MS,
	MAX_BACKOFF_MS,
	MIN_PASS_GAP_MS,
	PASS_STATE_FIELD,
	acceptedState,
	freeSlots,
	isDue,
	nextCheckAt,
	readPassState,
	splitByDue,
	stillRunningState,
	submitSlots,
	type PassTally,
} from '../../nodes/GeminiOmni/scheduler/passes';

const NOW = Date.parse('2026-12-01T12:00:00Z');

describe('loop pass planning', () => {
	it('reads only well-formed state of this node, and treats an item without a job as queued', () => {
		const node = 'Text to Video (Passes)';
		expect(readPassState({}, node)).toBeUndefined();
		expect(readPassState({ [PASS_STATE_FIELD]: 'job_x' }, node)).toBeUndefined();
		expect(readPassState({ [PASS_STATE_FIELD]: [] }, node)).toBeUndefined();
		expect(readPassState({ [PASS_STATE_FIELD]: { node, jobId: '', dueAt: 'soon', checks: Number.NaN } }, node)).toEqual({ node });
		expect(readPassState({ [PASS_STATE_FIELD]: { node, jobId: 'job_a', dueAt: NOW, submittedAt: NOW - 5, checks: 2, extra: 1 } }, node)).toEqual({
			node,
			jobId: 'job_a',
			dueAt: NOW,
			submittedAt: NOW - 5,
			checks: 2,
		});
		// Another loop node's job (an item passed on through a Merge) is not adopted.
		expect(readPassState({ [PASS_STATE_FIELD]: { node: 'Other Loop', jobId: 'job_a' } }, node)).toBeUndefined();
		expect(readPassState({ [PASS_STATE_FIELD]: { jobId: 'job_a' } }, node)).toBeUndefined();
	});

	it('an estimate that is missing or not a number makes a job due at once, never at NaN', () => {
		for (const estimatedSeconds of [undefined, 'soon', Number.NaN, -5]) {
			const state = acceptedState({ jobId: 'job_a', status: 'accepted', estimatedSeconds: estimatedSeconds as never }, NOW, 'Loop');
			expect(state).toEqual({ node: 'Loop', jobId: 'job_a', submittedAt: NOW, dueAt: NOW, checks: 0 });
		}
		const late = stillRunningState({ jobId: 'job_a' }, { jobId: 'job_a', status: 'generating', createdAt: new Date(NOW).toISOString(), estimatedSeconds: 'x' as never }, NOW);
		expect(Number.isFinite(late.dueAt)).toBe(true);
		// A state without its submit time starts Max Wait's clock at this check.
		expect(late.submittedAt).toBe(NOW);
	});

	it('a job is due from its estimate (minus the tolerance), a queued item never', () => {
		const state = acceptedState({ jobId: 'job_a', status: 'accepted', estimatedSeconds: 60 }, NOW);
		expect(state).toEqual({ jobId: 'job_a', submittedAt: NOW, dueAt: NOW + 60_000, checks: 0 });
		expect(isDue(state, NOW + 60_000 - DUE_TOLERANCE_MS - 1)).toBe(false);
		expect(isDue(state, NOW + 60_000 - DUE_TOLERANCE_MS)).toBe(true);
		expect(isDue({}, NOW + 10 ** 9)).toBe(false);
	});

	it('a job still running is due at its estimate if that is ahead, else backs off doubling up to the cap', () => {
		const createdAt = new Date(NOW).toISOString();
		const job = { jobId: 'job_a', status: 'generating', createdAt, estimatedSeconds: 120 };
		// Checked early (the estimate is 2 min, it is 1 min in): due at the estimate.
		expect(stillRunningState({ jobId: 'job_a', checks: 0 }, job, NOW + 60_000).dueAt).toBe(NOW + 120_000);
		// Past the estimate: 15 s, 30 s, 60 s … never more than 10 min.
		let state = { jobId: 'job_a', checks: 0 } as ReturnType<typeof stillRunningState>;
		const later = NOW + 200_000;
		const gaps: number[] = [];
		for (let i = 0; i < 8; i++) {
			state = stillRunningState(state, job, later);
			gaps.push(state.dueAt! - later);
		}
		expect(gaps.slice(0, 3)).toEqual([FIRST_BACKOFF_MS, 2 * FIRST_BACKOFF_MS, 4 * FIRST_BACKOFF_MS]);
		expect(gaps[7]).toBe(MAX_BACKOFF_MS);
		expect(state.checks).toBe(8);
		// No createdAt: backoff only.
		expect(stillRunningState({ jobId: 'job_a' }, { jobId: 'job_a', status: 'generating' }, NOW).dueAt).toBe(NOW + FIRST_BACKOFF_MS);
	});

	it('the next pass is at the first due job, never sooner than the gap that frees the worker, nor before a Retry-After', () => {
		expect(nextCheckAt([], NOW)).toBe(NOW + MIN_PASS_GAP_MS);
		expect(nextCheckAt([{ dueAt: NOW + 10_000 }, { dueAt: NOW + 500_000 }], NOW)).toBe(NOW + MIN_PASS_GAP_MS);
		expect(nextCheckAt([{ dueAt: NOW + 300_000 }, { dueAt: NOW + 200_000 }], NOW)).toBe(NOW + 200_000);
		expect(nextCheckAt([], NOW, NOW + 100_000)).toBe(NOW + 100_000);
		expect(MIN_PASS_GAP_MS).toBeGreaterThan(65_000);
	});

	it('free slots are the limit minus this loop’s running jobs, never negative', () => {
		expect(freeSlots(5, 0)).toBe(5);
		expect(freeSlots(5, 3)).toBe(2);
		expect(freeSlots(5, 7)).toBe(0);
	});

	it('splits a pass: due jobs are checked, queued items wait for a slot, jobs not due go round unasked', () => {
		const node = 'Loop';
		const tally: PassTally = { done: [], running: [], abandonedOnServer: 0 };
		const request = { body: { model: 'gemini-omni-video' } };
		const dueNow = { itemIndex: 0, state: { node, jobId: 'job_due', dueAt: NOW + DUE_TOLERANCE_MS }, request };
		const later = { itemIndex: 1, state: { node, jobId: 'job_later', dueAt: NOW + DUE_TOLERANCE_MS + 1 }, request };
		const fresh = { itemIndex: 2, request };
		const queuedBefore = { itemIndex: 3, state: { node, queuedSince: NOW - 1000 }, request };
		const { due, queued } = splitByDue([dueNow, later, fresh, queuedBefore], NOW, tally);
		expect(due).toEqual([dueNow]);
		expect(queued).toEqual([fresh, queuedBefore]);
		expect(tally.running).toEqual([{ itemIndex: 1, state: later.state }]);
		expect(tally.done).toEqual([]);
	});

	it('submits into the slots the loop leaves free, never more than the process has free', () => {
		expect(submitSlots({ limit: 5 }, 2)).toBe(3);
		expect(submitSlots({ limit: 5, processFree: () => 1 }, 2)).toBe(1);
		expect(submitSlots({ limit: 5, processFree: () => -2 }, 0)).toBe(0);
		expect(submitSlots({ limit: 2, processFree: () => 10 }, 4)).toBe(0);
	});
});
