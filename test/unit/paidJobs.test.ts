/** The record of paid jobs (Reuse Paid Jobs on Retry) on an explicit clock: expiry, claims, layers. */
import type { IDataObject } from 'n8n-workflow';

import { OUTPUT_URL_LIFETIME_MS } from '../../nodes/GeminiOmni/helpers/job';
import { MAX_REMEMBERED_JOBS, PaidJobRecord, REUSE_MARGIN_MS, STORE_FIELD, forgetInProcessPaidJobs, requestFingerprint } from '../../nodes/GeminiOmni/scheduler/paidJobs';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const DAY = 86_400_000;
/** What n8n saves and loads: a JSON copy, as the database holds it. */
const saved = (data: IDataObject) => JSON.parse(JSON.stringify(data)) as IDataObject;

/** Runs changes on a record and saves it, as the node does when its run ends. */
function saved_(record: PaidJobRecord, change: (record: PaidJobRecord) => void): PaidJobRecord {
	change(record);
	record.save();
	return record;
}

let now = T0;
const clock = () => now;
beforeEach(() => {
	now = T0;
	forgetInProcessPaidJobs();
});

describe('fingerprint', () => {
	it('the same body in another key order is the same request; another value or file is not', () => {
		const a = requestFingerprint({ model: 'gemini-omni-video', prompt: 'x', resolution: '720p' });
		expect(requestFingerprint({ resolution: '720p', prompt: 'x', model: 'gemini-omni-video' })).toBe(a);
		expect(requestFingerprint({ model: 'gemini-omni-video', prompt: 'x', resolution: '1080p' })).not.toBe(a);
		expect(requestFingerprint({ model: 'gemini-omni-video', prompt: 'x', resolution: '720p' }, { imageUrl: 'ab' })).not.toBe(a);
		expect(requestFingerprint({ model: 'gemini-omni-video', prompt: 'x', resolution: '720p' }, { imageUrl: 'ab' })).toBe(
			requestFingerprint({ model: 'gemini-omni-video', prompt: 'x', resolution: '720p' }, { imageUrl: 'ab' }),
		);
	});
});

describe('expiry: a job is reused only while its output lives (7 days)', () => {
	it('not seen finished: reusable until an hour (time to download) before 7 days after it was accepted, not a millisecond longer', () => {
		const staticData: IDataObject = {};
		saved_(new PaidJobRecord(staticData, 's', clock), (record) => record.accepted('f', 'job_a', 150));
		forgetInProcessPaidJobs();
		now = T0 + OUTPUT_URL_LIFETIME_MS - REUSE_MARGIN_MS - 1;
		expect(new PaidJobRecord(saved(staticData), 's', clock).claim('f')?.jobId).toBe('job_a');
		now = T0 + OUTPUT_URL_LIFETIME_MS - REUSE_MARGIN_MS;
		expect(new PaidJobRecord(saved(staticData), 's', clock).claim('f')).toBeUndefined();
	});

	it('seen done: 7 days from its completion (the server’s completedAt)', () => {
		const staticData: IDataObject = {};
		const record = new PaidJobRecord(staticData, 's', clock);
		record.accepted('f', 'job_a');
		now = T0 + DAY;
		record.completed('job_a', new Date(T0 + DAY / 2).toISOString());
		record.save();
		forgetInProcessPaidJobs();
		now = T0 + DAY / 2 + 7 * DAY - REUSE_MARGIN_MS - 1;
		expect(new PaidJobRecord(saved(staticData), 's', clock).claim('f')?.jobId).toBe('job_a');
		now = T0 + DAY / 2 + 7 * DAY - REUSE_MARGIN_MS;
		expect(new PaidJobRecord(saved(staticData), 's', clock).claim('f')).toBeUndefined();
	});

	it('a completedAt in the future (clock skew) counts as now', () => {
		const staticData: IDataObject = {};
		const record = new PaidJobRecord(staticData, 's', clock);
		record.accepted('f', 'job_a');
		record.completed('job_a', new Date(T0 + 30 * DAY).toISOString());
		record.save();
		forgetInProcessPaidJobs();
		now = T0 + 7 * DAY;
		expect(new PaidJobRecord(saved(staticData), 's', clock).claim('f')).toBeUndefined();
	});

	it('expired jobs leave the saved record at the next write', () => {
		const staticData: IDataObject = {};
		saved_(new PaidJobRecord(staticData, 's', clock), (record) => record.accepted('old', 'job_old'));
		now = T0 + 8 * DAY;
		saved_(new PaidJobRecord(staticData, 's', clock), (record) => record.accepted('new', 'job_new'));
		expect(Object.keys(staticData[STORE_FIELD] as IDataObject)).toEqual(['new']);
	});
});

describe('claims', () => {
	it('the k-th item with a request takes the k-th job recorded for it, each job once per run', () => {
		const staticData: IDataObject = {};
		const first = new PaidJobRecord(staticData, 's', clock);
		first.accepted('f', 'job_1');
		now += 1;
		first.accepted('f', 'job_2');
		first.save();
		const run = new PaidJobRecord(saved(staticData), 's', clock);
		expect(run.claim('f')?.jobId).toBe('job_1');
		expect(run.has('f')).toBe(true);
		expect(run.claim('f')?.jobId).toBe('job_2');
		expect(run.has('f')).toBe(false);
		expect(run.claim('f')).toBeUndefined();
	});

	it('a forgotten job (it failed) is never claimed again, in this process or from the saved record', () => {
		const staticData: IDataObject = {};
		const record = new PaidJobRecord(staticData, 's', clock);
		record.accepted('f', 'job_failed');
		record.forget('job_failed');
		record.save();
		expect(new PaidJobRecord(staticData, 's', clock).claim('f')).toBeUndefined();
		forgetInProcessPaidJobs();
		expect(new PaidJobRecord(saved(staticData), 's', clock).claim('f')).toBeUndefined();
	});

	it('scopes (workflow and node) do not see each other’s jobs', () => {
		saved_(new PaidJobRecord({}, 'wf:a', clock), (record) => record.accepted('f', 'job_a'));
		expect(new PaidJobRecord({}, 'wf:b', clock).claim('f')).toBeUndefined();
		expect(new PaidJobRecord({}, 'wf:a', clock).claim('f')?.jobId).toBe('job_a');
	});
});

describe('layers', () => {
	it('an editor re-run (static data not saved by n8n) still finds the job in the process', () => {
		saved_(new PaidJobRecord({}, 's', clock), (record) => record.accepted('f', 'job_a'));
		expect(new PaidJobRecord({}, 's', clock).claim('f')?.jobId).toBe('job_a');
	});

	it('the execution context alone (a Retry on another worker: no static data, no process memory) finds the jobs, and keeps only this execution’s', () => {
		const staticData: IDataObject = {};
		saved_(new PaidJobRecord(staticData, 's', clock), (record) => record.accepted('other', 'job_of_another_execution'));
		const context: IDataObject = {};
		saved_(new PaidJobRecord(staticData, 's', clock, context), (record) => record.accepted('f', 'job_mine'));
		expect(Object.keys(context[STORE_FIELD] as IDataObject)).toEqual(['f']);
		forgetInProcessPaidJobs();
		const retry = new PaidJobRecord({}, 's', clock, saved(context));
		expect(retry.claim('f')?.jobId).toBe('job_mine');
		expect(retry.claim('other')).toBeUndefined();
	});

	it('in a Retry (static data is a stale or empty copy that n8n saves over the whole column) nothing is written to static data', () => {
		const retryCopy: IDataObject = {};
		const context: IDataObject = {};
		saved_(new PaidJobRecord(retryCopy, 's', clock, context, false), (record) => record.accepted('f', 'job_retry'));
		expect(retryCopy).toEqual({});
		expect(Object.keys(context[STORE_FIELD] as IDataObject)).toEqual(['f']);
	});

	it('two executions saving over each other: the last save holds both jobs', () => {
		const loadedByA = saved({});
		const loadedByB = saved({});
		saved_(new PaidJobRecord(loadedByA, 's', clock), (record) => record.accepted('fa', 'job_a'));
		saved_(new PaidJobRecord(loadedByB, 's', clock), (record) => record.accepted('fb', 'job_b'));
		// B saves last; a retry on another worker loads only that.
		forgetInProcessPaidJobs();
		const retry = new PaidJobRecord(saved(loadedByB), 's', clock);
		expect(retry.claim('fa')?.jobId).toBe('job_a');
		expect(retry.claim('fb')?.jobId).toBe('job_b');
	});

	it('the saved record is bounded: the oldest jobs go first', () => {
		const staticData: IDataObject = {};
		const record = new PaidJobRecord(staticData, 's', clock);
		for (let i = 0; i <= MAX_REMEMBERED_JOBS; i++) {
			now = T0 + i;
			record.accepted(`f${i}`, `job_${i}`);
		}
		record.save();
		const kept = staticData[STORE_FIELD] as IDataObject;
		expect(Object.keys(kept)).toHaveLength(MAX_REMEMBERED_JOBS);
		expect(kept.f0).toBeUndefined();
		expect(kept[`f${MAX_REMEMBERED_JOBS}`]).toBeDefined();
	});
});
