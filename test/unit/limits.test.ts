/**
 * The per-key limits on a fake clock (jest's modern fake timers drive Date.now and the timers that
 * n8n-workflow's sleep uses): deterministic, in milliseconds.
 */
import { JobGate, RequestBudget, setRateWindowScale } from '../../nodes/GeminiOmni/scheduler/limits';
import { abortCallbackCount } from '../../nodes/GeminiOmni/transport/abort';

beforeEach(() => {
	jest.useFakeTimers({ now: new Date('2026-12-01T10:00:00Z') });
	setRateWindowScale(1);
});
afterEach(() => jest.useRealTimers());

describe('JobGate holds (the server full of jobs from elsewhere, jobs that run on unwatched)', () => {
	it('while the server is full, admits only the accepted jobs and one submit, however many 429s arrive', async () => {
		const gate = new JobGate(5);
		for (let i = 0; i < 3; i++) await gate.enter();
		gate.markAccepted();
		gate.markAccepted();
		for (let i = 0; i < 4; i++) gate.serverFullUntil(Date.now() + 10_000);
		expect(gate.capacity).toBe(3);
		// The submit still inside is the probe: nobody else gets in until it is accepted.
		let fourth = false;
		const waiting = gate.enter().then(() => (fourth = true));
		await jest.advanceTimersByTimeAsync(1_000);
		expect(fourth).toBe(false);
		gate.markAccepted();
		await waiting;
		expect(fourth).toBe(true);
		expect(gate.capacity).toBe(4);
	});

	it('probes until the LATEST Retry-After has passed, not the earliest, then opens fully', async () => {
		const gate = new JobGate(5);
		gate.serverFullUntil(Date.now() + 2_000);
		await jest.advanceTimersByTimeAsync(500);
		gate.serverFullUntil(Date.now() + 10_000); // asks for longer: until 10.5 s from the start
		await jest.advanceTimersByTimeAsync(2_000);
		expect(gate.capacity).toBe(1);
		await jest.advanceTimersByTimeAsync(7_900);
		expect(gate.capacity).toBe(1);
		await jest.advanceTimersByTimeAsync(200);
		expect(gate.capacity).toBe(5);
		expect(gate.holdingBack).toBe(false);
	});

	it('a job that leaves after being accepted narrows the probing gate again; kept slots count as accepted', async () => {
		const gate = new JobGate(5);
		await gate.enter();
		await gate.enter();
		gate.markAccepted();
		gate.markAccepted();
		gate.serverFullUntil(Date.now() + 60_000);
		expect(gate.capacity).toBe(3);
		gate.leave(true);
		expect(gate.capacity).toBe(2);
		gate.keepSlotUntil(Date.now() + 30_000, true);
		expect(gate.active).toBe(1);
		expect(gate.capacity).toBe(2);
		await jest.advanceTimersByTimeAsync(30_001);
		expect(gate.capacity).toBe(1);
	});

	it('keeps a probe on a plan of one, and the hold when the plan changes', () => {
		const single = new JobGate(1);
		single.serverFullUntil(Date.now() + 1_000);
		expect(single.capacity).toBe(1);
		const gate = new JobGate(5);
		gate.serverFullUntil(Date.now() + 60_000);
		gate.setLimit(10);
		expect(gate.capacity).toBe(1);
		expect(gate.holdingBack).toBe(true);
	});

	it('a waiter is admitted when the hold ends, with no timer before or after it waits', async () => {
		const gate = new JobGate(2);
		gate.serverFullUntil(Date.now() + 10_000);
		expect(gate.hasTimer).toBe(false);
		await gate.enter();
		let admitted = false;
		const second = gate.enter().then(() => (admitted = true));
		expect(gate.hasTimer).toBe(true);
		await jest.advanceTimersByTimeAsync(9_900);
		expect(admitted).toBe(false);
		await jest.advanceTimersByTimeAsync(200);
		await second;
		expect(admitted).toBe(true);
		expect(gate.hasTimer).toBe(false);
		expect(jest.getTimerCount()).toBe(0);
	});

	it('a kept slot counts until its time, then frees itself without any timer when nobody waits', async () => {
		const gate = new JobGate(2);
		await gate.enter();
		gate.keepSlotUntil(Date.now() + 30_000);
		expect(gate.active).toBe(1);
		expect(jest.getTimerCount()).toBe(0);
		await jest.advanceTimersByTimeAsync(30_001);
		expect(gate.active).toBe(0);
	});

	it('a waiter behind kept slots is admitted when the first of them ends', async () => {
		const gate = new JobGate(2);
		await gate.enter();
		await gate.enter();
		gate.keepSlotUntil(Date.now() + 20_000);
		gate.keepSlotUntil(Date.now() + 5_000);
		let admitted = false;
		const third = gate.enter().then(() => (admitted = true));
		await jest.advanceTimersByTimeAsync(4_900);
		expect(admitted).toBe(false);
		await jest.advanceTimersByTimeAsync(200);
		await third;
		expect(admitted).toBe(true);
		expect(gate.active).toBe(2);
		expect(jest.getTimerCount()).toBe(0);
	});

	it('a stopped waiter leaves no listener and no timer', async () => {
		const gate = new JobGate(1);
		await gate.enter();
		gate.keepSlotUntil(Date.now() + 60_000);
		const stop = new AbortController();
		const entry = gate.enter(stop.signal).then(() => 'in', () => 'rejected');
		expect(gate.hasTimer).toBe(true);
		stop.abort();
		expect(await entry).toBe('rejected');
		expect(gate.hasTimer).toBe(false);
		expect(gate.waitingCount).toBe(0);
		expect(abortCallbackCount(stop.signal)).toBe(0);
		expect(jest.getTimerCount()).toBe(0);
	});
});

describe('RequestBudget', () => {
	it('has room for a guess only while both windows are less than two thirds used', async () => {
		const budget = new RequestBudget({ perMinute: 30, perHour: 45, concurrent: 5 });
		const answer = async () => (await budget.acquire())();
		for (let i = 0; i < 19; i++) await answer();
		expect(budget.hasRoom()).toBe(true);
		const inFlight = await budget.acquire(); // a request still in flight counts
		expect(budget.hasRoom()).toBe(false);
		inFlight();
		await jest.advanceTimersByTimeAsync(60_001);
		expect(budget.hasRoom()).toBe(true); // the minute window emptied; the hour holds 20 of 45
		for (let i = 0; i < 10; i++) await answer();
		expect(budget.hasRoom()).toBe(false); // 30 in the hour: two thirds of 45
		await jest.advanceTimersByTimeAsync(3_600_000);
		expect(budget.hasRoom()).toBe(true);
		budget.pauseFor(5_000); // after a 429 nothing is a spare request
		expect(budget.hasRoom()).toBe(false);
	});

	it('gives no slot to a caller whose batch was stopped while it waited', async () => {
		const budget = new RequestBudget({ perMinute: 1, perHour: 100, concurrent: 5 });
		(await budget.acquire())();
		const stop = new AbortController();
		const waiting = budget.acquire(stop.signal);
		const settled = waiting.then(
			() => 'slot',
			(error: Error) => error.message,
		);
		await jest.advanceTimersByTimeAsync(30_000);
		stop.abort();
		await jest.advanceTimersByTimeAsync(31_000);
		expect(await settled).toBe('The execution was cancelled');
	});

	it('a caller stopped while queued behind another caller leaves at once and takes no slot', async () => {
		const budget = new RequestBudget({ perMinute: 1, perHour: 100, concurrent: 5 });
		(await budget.acquire())();
		const ahead = budget.acquire(); // another execution, waiting for the minute window
		const stop = new AbortController();
		const queued = budget.acquire(stop.signal).then(() => 'slot', (error: Error) => error.message);
		await jest.advanceTimersByTimeAsync(1_000);
		stop.abort();
		await jest.advanceTimersByTimeAsync(0);
		expect(await queued).toBe('The execution was cancelled');
		(await Promise.race([ahead, jest.advanceTimersByTimeAsync(60_000).then(() => ahead)]))();
		// The stopped caller's turn took nothing: the next caller gets the slot after the answer above.
		let next = false;
		void budget.acquire().then(() => (next = true));
		await jest.advanceTimersByTimeAsync(59_000);
		expect(next).toBe(false);
		await jest.advanceTimersByTimeAsync(1_100);
		expect(next).toBe(true);
		expect(abortCallbackCount(stop.signal)).toBe(0);
	});

	it.each([0, 1, 2, 3, 4, 5, 6, 8])('a stop %i microtasks into a caller’s turn never leaves a slot in flight for ever', async (ticks) => {
		const budget = new RequestBudget({ perMinute: 100, perHour: 1, concurrent: 5 });
		const stop = new AbortController();
		const first = budget.acquire(stop.signal).then(
			(done) => done(),
			() => undefined,
		);
		for (let i = 0; i < ticks; i++) await Promise.resolve();
		stop.abort();
		await first;
		// Whatever the first caller got counts from now at the latest: an hour later there is room again.
		await jest.advanceTimersByTimeAsync(3_600_000 + 1_000);
		let next = false;
		void budget.acquire().then(() => (next = true));
		await jest.advanceTimersByTimeAsync(100);
		expect(next).toBe(true);
	});

	it('hands out the next slot when the oldest answer leaves the minute window', async () => {
		const budget = new RequestBudget({ perMinute: 2, perHour: 100, concurrent: 5 });
		(await budget.acquire())();
		await jest.advanceTimersByTimeAsync(10_000);
		(await budget.acquire())();
		let third = false;
		void budget.acquire().then(() => (third = true));
		await jest.advanceTimersByTimeAsync(49_000);
		expect(third).toBe(false);
		await jest.advanceTimersByTimeAsync(1_100);
		expect(third).toBe(true);
	});
});

describe('JobGate', () => {
	it('listens once on a signal however many items wait, and not at all once none waits', async () => {
		const gate = new JobGate(1);
		const stop = new AbortController();
		const added = jest.spyOn(stop.signal, 'addEventListener');
		const removed = jest.spyOn(stop.signal, 'removeEventListener');
		await gate.enter(stop.signal);
		const waiters = Array.from({ length: 100 }, () => gate.enter(stop.signal));
		expect(added).toHaveBeenCalledTimes(1);
		expect(abortCallbackCount(stop.signal)).toBe(100);
		for (let i = 0; i < 100; i++) gate.leave();
		await Promise.all(waiters);
		expect(removed).toHaveBeenCalledTimes(1);
		expect(abortCallbackCount(stop.signal)).toBe(0);
	});

	it('rejects every waiter of a stopped batch, and admits the others', async () => {
		const gate = new JobGate(1);
		await gate.enter();
		const stop = new AbortController();
		const stopped = [gate.enter(stop.signal), gate.enter(stop.signal)].map((entry) => entry.then(() => 'in', () => 'rejected'));
		const other = gate.enter();
		stop.abort();
		expect(await Promise.all(stopped)).toEqual(['rejected', 'rejected']);
		gate.leave();
		await other;
		expect(gate.active).toBe(1);
		expect(abortCallbackCount(stop.signal)).toBe(0);
	});
});
