/**
 * The per-key limits on a fake clock (jest's modern fake timers drive Date.now and the timers that
 * n8n-workflow's sleep uses): deterministic, in milliseconds.
 */
import { ConcurrencyHoldBack, JobGate, RequestBudget, setRateWindowScale } from '../../nodes/GeminiOmni/scheduler/limits';

beforeEach(() => {
	jest.useFakeTimers({ now: new Date('2026-12-01T10:00:00Z') });
	setRateWindowScale(1);
});
afterEach(() => jest.useRealTimers());

describe('ConcurrencyHoldBack (concurrent-limit 429s from elsewhere)', () => {
	it('holds back exactly one slot, however many 429s arrive', () => {
		const gate = new JobGate(5);
		const holdBack = new ConcurrencyHoldBack(gate, () => 5);
		for (let i = 0; i < 4; i++) holdBack.holdOneSlot(10_000);
		expect(gate.limit).toBe(4);
	});

	it('gives the slot back when the LATEST Retry-After has passed, not the earliest', async () => {
		const gate = new JobGate(5);
		const holdBack = new ConcurrencyHoldBack(gate, () => 5);
		holdBack.holdOneSlot(2_000);
		await jest.advanceTimersByTimeAsync(500);
		holdBack.holdOneSlot(10_000); // asks for longer: until 10.5 s from the start
		await jest.advanceTimersByTimeAsync(2_000);
		expect(gate.limit).toBe(4);
		await jest.advanceTimersByTimeAsync(7_900);
		expect(gate.limit).toBe(4);
		await jest.advanceTimersByTimeAsync(200);
		expect(gate.limit).toBe(5);
		expect(holdBack.holding).toBe(false);
	});

	it('keeps at least one slot on a plan of one', () => {
		const gate = new JobGate(1);
		new ConcurrencyHoldBack(gate, () => 1).holdOneSlot(1_000);
		expect(gate.limit).toBe(1);
	});
});

describe('RequestBudget', () => {
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
		expect(gate.listenerCount).toBe(1);
		for (let i = 0; i < 100; i++) gate.leave();
		await Promise.all(waiters);
		expect(removed).toHaveBeenCalledTimes(1);
		expect(gate.listenerCount).toBe(0);
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
		expect(gate.listenerCount).toBe(0);
	});
});
