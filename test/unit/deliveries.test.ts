/** The trigger's delivery memory and replay window, on explicit clocks: deterministic, in milliseconds. */
import type { IDataObject } from 'n8n-workflow';

import {
	FUTURE_SKEW_MS,
	REMEMBER_MS,
	REPLAY_WINDOW_MS,
	deliveryAge,
	forgetInProcessDeliveries,
	rememberDelivery,
} from '../../nodes/GeminiOmniTrigger/deliveries';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const scope = 'wf1:node1:';
const key = (jobId: string, event = 'job.completed') => `${scope}${jobId}:${event}`;
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
	it('a repeat of (jobId, event) is recognised; another event of the job is not', () => {
		const data: IDataObject = {};
		expect(rememberDelivery(data, scope, key('job_a'), T0)).toBe(true);
		expect(rememberDelivery(data, scope, key('job_a'), T0 + 1000)).toBe(false);
		expect(rememberDelivery(data, scope, key('job_a', 'job.failed'), T0 + 1000)).toBe(true);
	});

	it('concurrent requests that load the same saved state lose nothing: the last save holds every key', () => {
		const before = saved({});
		// 50 deliveries of different jobs at once: each request loads the same state, adds its key, saves.
		const copies = Array.from({ length: 50 }, () => saved(before));
		copies.forEach((copy, i) => expect(rememberDelivery(copy, scope, key(`job_${i}`), T0 + i)).toBe(true));
		const lastSave = saved(copies[49]);
		forgetInProcessDeliveries(); // n8n restarts
		for (let i = 0; i < 50; i++) expect(rememberDelivery(saved(lastSave), scope, key(`job_${i}`), T0 + 60_000)).toBe(false);
	});

	it('writes back only this node’s keys', () => {
		const other: IDataObject = {};
		rememberDelivery(other, 'wf2:node9:', 'wf2:node9:job_x:job.completed', T0);
		const mine: IDataObject = {};
		rememberDelivery(mine, scope, key('job_y'), T0);
		expect(Object.keys(mine.deliveriesSeen as object)).toEqual([key('job_y')]);
	});

	it('remembers across a restart for REMEMBER_MS, then forgets (the window refuses such old events anyway)', () => {
		const data: IDataObject = {};
		rememberDelivery(data, scope, key('job_a'), T0);
		forgetInProcessDeliveries();
		expect(rememberDelivery(saved(data), scope, key('job_a'), T0 + REMEMBER_MS - 1)).toBe(false);
		forgetInProcessDeliveries();
		const later: IDataObject = saved(data);
		expect(rememberDelivery(later, scope, key('job_b'), T0 + REMEMBER_MS + 1)).toBe(true);
		expect(Object.keys(later.deliveriesSeen as object)).toEqual([key('job_b')]);
	});

	it('reads the earlier format (a list of keys) and replaces it', () => {
		const data: IDataObject = { deliveries: [key('job_old')] };
		expect(rememberDelivery(data, scope, key('job_old'), T0)).toBe(false);
		expect(rememberDelivery(data, scope, key('job_new'), T0)).toBe(true);
		expect(data.deliveries).toBeUndefined();
		expect(Object.keys(data.deliveriesSeen as object).sort()).toEqual([key('job_new'), key('job_old')]);
	});
});
