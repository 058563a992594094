/** The trigger's delivery memory and replay window, on explicit clocks: deterministic, in milliseconds. */
import type { IDataObject } from 'n8n-workflow';

import {
	FUTURE_SKEW_MS,
	MAX_REMEMBERED,
	REMEMBER_MS,
	REPLAY_WINDOW_MS,
	deliveryAge,
	forgetInProcessDeliveries,
	rememberDelivery,
} from '../../nodes/GeminiOmniTrigger/deliveries';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const scope = 'wf1:node1:';
/** What n8n saves and loads: a JSON copy, as the database holds it. */
const saved = (data: IDataObject) => JSON.parse(JSON.stringify(data)) as IDataObject;

beforeEach(() => forgetInProcessDeliveries());

describe('replay window', () => {
	it.each([
		['30 minutes old (the last platform retry)', 'fresh', T0 - 30 * 60_000],
		['just inside the window', 'fresh', T0 - REPLAY_WINDOW_MS + 1],
		['just past the window', 'tooOld', T0 - REPLAY_WINDOW_MS - 1],
		['a day old', 'tooOld', T0 - 86_400_000],
		['a little in the future (clock skew)', 'fresh', T0 + FUTURE_SKEW_MS - 1],
		['far in the future', 'inTheFuture', T0 + FUTURE_SKEW_MS + 1],
	])('an event stamped %s is %s', (_label, expected, at) => {
		expect(deliveryAge(new Date(at).toISOString(), T0)).toBe(expected);
	});

	it('an event without a readable timestamp is left to the memory', () => {
		expect(deliveryAge(undefined, T0)).toBe('fresh');
		expect(deliveryAge('yesterday', T0)).toBe('fresh');
	});

	it('the memory outlives the window, so whatever passes the window is recognised', () => {
		expect(REMEMBER_MS).toBeGreaterThan(REPLAY_WINDOW_MS + FUTURE_SKEW_MS);
	});
});

describe('delivery memory', () => {
	const seen = (data: IDataObject) => Object.keys(data.deliveriesSeen as object).sort();

	it('a repeat of (jobId, event) is recognised; another event of the job is not', () => {
		const data: IDataObject = {};
		expect(rememberDelivery(data, scope, 'job_a', 'job.completed', T0)).toBe(true);
		expect(rememberDelivery(data, scope, 'job_a', 'job.completed', T0 + 1000)).toBe(false);
		expect(rememberDelivery(data, scope, 'job_a', 'job.failed', T0 + 1000)).toBe(true);
	});

	it('concurrent calls that load the same saved state lose nothing: the last save holds every key', () => {
		const before = saved({});
		// 50 deliveries of different jobs at once: each call loads the same state, adds its key, saves.
		const copies = Array.from({ length: 50 }, () => saved(before));
		copies.forEach((copy, i) => expect(rememberDelivery(copy, scope, `job_${i}`, 'job.completed', T0 + i)).toBe(true));
		const lastSave = saved(copies[49]);
		forgetInProcessDeliveries(); // n8n restarts
		for (let i = 0; i < 50; i++) expect(rememberDelivery(saved(lastSave), scope, `job_${i}`, 'job.completed', T0 + 60_000)).toBe(false);
	});

	it('calls that end in another order than they began lose nothing either: the FIRST call’s copy, saved last, holds every key', () => {
		const copies = Array.from({ length: 50 }, () => saved({}));
		copies.forEach((copy, i) => rememberDelivery(copy, scope, `job_${i}`, 'job.completed', T0 + i));
		const savedLast = saved(copies[0]);
		forgetInProcessDeliveries();
		expect(seen(savedLast)).toHaveLength(50);
	});

	it('a copy loaded after a key was recorded, but before that call saved, gets the key too', () => {
		const first = saved({});
		rememberDelivery(first, scope, 'job_a', 'job.completed', T0);
		const loadedBeforeTheSave = saved({});
		rememberDelivery(loadedBeforeTheSave, scope, 'job_b', 'job.completed', T0 + 1000);
		expect(seen(loadedBeforeTheSave)).toEqual(['job_a:job.completed', 'job_b:job.completed']);
	});

	it('a duplicate changes nothing that is already stored (n8n then has nothing to save)', () => {
		const data: IDataObject = {};
		rememberDelivery(data, scope, 'job_a', 'job.completed', T0);
		const stored = data.deliveriesSeen;
		const copy = { ...(stored as object) };
		expect(rememberDelivery(data, scope, 'job_a', 'job.completed', T0 + 1000)).toBe(false);
		expect(data.deliveriesSeen).toBe(stored);
		expect(data.deliveriesSeen).toEqual(copy);
	});

	it('stores keys without the node’s scope (it is implied), and reads keys stored with it', () => {
		const data: IDataObject = { deliveriesSeen: { [`${scope}job_old:job.completed`]: T0 } };
		expect(rememberDelivery(data, scope, 'job_old', 'job.completed', T0 + 1000)).toBe(false);
		expect(seen(data)).toEqual(['job_old:job.completed']);
	});

	it('remembers across a restart for REMEMBER_MS, then forgets (the window refuses such old events anyway)', () => {
		const data: IDataObject = {};
		rememberDelivery(data, scope, 'job_a', 'job.completed', T0);
		forgetInProcessDeliveries();
		expect(rememberDelivery(saved(data), scope, 'job_a', 'job.completed', T0 + REMEMBER_MS - 1)).toBe(false);
		forgetInProcessDeliveries();
		const later: IDataObject = saved(data);
		expect(rememberDelivery(later, scope, 'job_b', 'job.completed', T0 + REMEMBER_MS + 1)).toBe(true);
		expect(seen(later)).toEqual(['job_b:job.completed']);
	});

	it('keeps at most MAX_REMEMBERED, dropping the oldest', () => {
		const full: IDataObject = { deliveriesSeen: Object.fromEntries(Array.from({ length: MAX_REMEMBERED + 5 }, (_, i) => [`job_${i}:job.completed`, T0 + i])) };
		expect(rememberDelivery(full, scope, 'job_new', 'job.completed', T0 + MAX_REMEMBERED + 10)).toBe(true);
		const kept = seen(full);
		expect(kept).toHaveLength(MAX_REMEMBERED + 1);
		expect(kept).not.toContain('job_0:job.completed');
		expect(kept).toContain(`job_${MAX_REMEMBERED + 4}:job.completed`);
	});

	it('reads the earlier format (a list of keys) and replaces it', () => {
		const data: IDataObject = { deliveries: [`${scope}job_old:job.completed`] };
		expect(rememberDelivery(data, scope, 'job_old', 'job.completed', T0)).toBe(false);
		expect(rememberDelivery(data, scope, 'job_new', 'job.completed', T0)).toBe(true);
		expect(data.deliveries).toBeUndefined();
		expect(seen(data)).toEqual(['job_new:job.completed', 'job_old:job.completed']);
	});
});
