/** Max Credits per Execution: reservations before submits, learned costs, one guess per new kind. */
import { CreditBudget, CreditCapError, ExecutionCredits, costKind } from '../../nodes/GeminiOmni/scheduler/credits';

const VIDEO = costKind({ model: 'gemini-omni-video', resolution: '1080p', duration: 8 });

describe('costKind', () => {
	it('tells apart what the price depends on', () => {
		expect(costKind({ model: 'gemini-omni-video', resolution: '720p', duration: 8, prompt: 'a' })).toBe(
			costKind({ model: 'gemini-omni-video', resolution: '720p', duration: 8, prompt: 'b' }),
		);
		expect(costKind({ model: 'gemini-omni-video', resolution: '4k', duration: 8 })).not.toBe(VIDEO);
		expect(costKind({ model: 'gemini-omni-video', resolution: '1080p', duration: 16 })).not.toBe(VIDEO);
		expect(costKind({ model: 'gemini-omni-character', resolution: '1080p', duration: 8 })).not.toBe(VIDEO);
		expect(costKind({ model: 'gemini-omni-audio', script: 'abc' })).not.toBe(costKind({ model: 'gemini-omni-audio', script: 'abc' }, true));
	});
});

describe('CreditBudget', () => {
	it('a known kind: reserves until the next job would pass the cap, then refuses with the accepted total', async () => {
		const budget = new CreditBudget(450, new ExecutionCredits(), new Map([[VIDEO, 150]]));
		const reservations = [await budget.reserve(VIDEO), await budget.reserve(VIDEO), await budget.reserve(VIDEO)];
		for (const reservation of reservations) budget.settle(reservation, 150);
		await expect(budget.reserve(VIDEO)).rejects.toThrow(CreditCapError);
		await expect(budget.reserve(VIDEO)).rejects.toThrow('450 of 450 credits accepted');
		expect(budget.accepted).toBe(450);
	});

	it('a reservation that could still be released waits instead of refusing, and goes when it is released', async () => {
		const budget = new CreditBudget(300, new ExecutionCredits(), new Map([[VIDEO, 150]]));
		const a = await budget.reserve(VIDEO);
		const b = await budget.reserve(VIDEO);
		let third: unknown;
		const waiting = budget.reserve(VIDEO).then((reservation) => (third = reservation));
		await Promise.resolve();
		expect(third).toBeUndefined();
		budget.settle(a, 150);
		await Promise.resolve();
		expect(third).toBeUndefined();
		// b's submit was refused (e.g. a 400): its credits free up for the waiting item.
		budget.release(b);
		await waiting;
		expect(third).toMatchObject({ kind: VIDEO, amount: 150 });
	});

	it('a kind not seen yet: only one job of it at a time until its cost is known', async () => {
		const costs = new Map<string, number>();
		const budget = new CreditBudget(1000, new ExecutionCredits(), costs);
		const first = await budget.reserve(VIDEO);
		expect(first.learning).toBe(true);
		const order: number[] = [];
		const others = [1, 2, 3].map(async (n) => {
			const reservation = await budget.reserve(VIDEO);
			order.push(n);
			return reservation;
		});
		await new Promise((resolve) => setImmediate(resolve));
		expect(order).toEqual([]);
		budget.settle(first, 150);
		const reserved = await Promise.all(others);
		expect(order).toEqual([1, 2, 3]);
		expect(reserved.map((reservation) => reservation.amount)).toEqual([150, 150, 150]);
		expect(costs.get(VIDEO)).toBe(150);
	});

	it('a new kind is guessed at the dearest kind seen, so it is refused when that would pass the cap', async () => {
		const budget = new CreditBudget(400, new ExecutionCredits(), new Map([[VIDEO, 375]]));
		const first = await budget.reserve(VIDEO);
		budget.settle(first, 375);
		await expect(budget.reserve(costKind({ model: 'gemini-omni-video', resolution: '720p', duration: 8 }))).rejects.toThrow(CreditCapError);
	});

	it('one execution’s credits add up across batches (Retry On Fail, agent tool calls); another execution starts at 0', async () => {
		const costs = new Map([[VIDEO, 150]]);
		const execution = new ExecutionCredits();
		const firstTry = new CreditBudget(300, execution, costs);
		firstTry.settle(await firstTry.reserve(VIDEO), 150);
		const secondTry = new CreditBudget(300, execution, costs);
		secondTry.settle(await secondTry.reserve(VIDEO), 150);
		await expect(secondTry.reserve(VIDEO)).rejects.toThrow('300 of 300');
		const other = new CreditBudget(300, new ExecutionCredits(), costs);
		await expect(other.reserve(VIDEO)).resolves.toMatchObject({ amount: 150 });
	});

	it('a failed job is refunded and no longer counts', async () => {
		const budget = new CreditBudget(150, new ExecutionCredits(), new Map([[VIDEO, 150]]));
		budget.settle(await budget.reserve(VIDEO), 150);
		budget.refund(150);
		expect(budget.accepted).toBe(0);
		await expect(budget.reserve(VIDEO)).resolves.toMatchObject({ amount: 150 });
	});

	it('no cap (0): never waits nor refuses, and still counts', async () => {
		const budget = new CreditBudget(0, new ExecutionCredits(), new Map());
		const reservations = await Promise.all([budget.reserve(VIDEO), budget.reserve(VIDEO)]);
		for (const reservation of reservations) budget.settle(reservation, 150);
		expect(budget.accepted).toBe(300);
	});

	it('a stop while waiting for a kind’s first cost ends the wait', async () => {
		const budget = new CreditBudget(1000, new ExecutionCredits(), new Map());
		await budget.reserve(VIDEO);
		const stop = new AbortController();
		const waiting = budget.reserve(VIDEO, stop.signal);
		stop.abort();
		await expect(waiting).rejects.toThrow('cancelled');
	});
});
