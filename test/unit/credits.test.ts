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

	it('a kind not seen yet reserves what is left of the cap: nothing else goes until its cost is known, then in order', async () => {
		const costs = new Map<string, number>();
		const budget = new CreditBudget(1000, new ExecutionCredits(), costs);
		const first = await budget.reserve(VIDEO);
		expect(first).toMatchObject({ guess: true, amount: 1000 });
		const order: number[] = [];
		const others = [1, 2, 3].map(async (n) => {
			const reservation = await budget.reserve(VIDEO);
			order.push(n);
			return reservation;
		});
		await new Promise((resolve) => setImmediate(resolve));
		expect(order).toEqual([]);
		budget.settle(first, 150, 'job_first');
		const reserved = await Promise.all(others);
		expect(order).toEqual([1, 2, 3]);
		expect(reserved.map((reservation) => reservation.amount)).toEqual([150, 150, 150]);
		expect(costs.get(VIDEO)).toBe(150);
	});

	it('new kinds of every sort are guessed one at a time: five different scripts under a cap of 200 stop once it is reached', async () => {
		const budget = new CreditBudget(200, new ExecutionCredits(), new Map());
		const scripts = ['a', 'bb', 'ccc', 'dddd', 'eeeee'].map((script) => costKind({ model: 'gemini-omni-audio', script }));
		let inFlight = 0;
		let mostInFlight = 0;
		const outcomes = await Promise.allSettled(
			scripts.map(async (kind) => {
				const reservation = await budget.reserve(kind);
				mostInFlight = Math.max(mostInFlight, ++inFlight);
				// Each speech job costs 60 credits once accepted.
				await new Promise((resolve) => setImmediate(resolve));
				inFlight--;
				budget.settle(reservation, 60, kind);
				return kind;
			}),
		);
		expect(mostInFlight).toBe(1);
		expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(4);
		// The fourth was the one guess that could pass the cap (60 with 20 left): after it, nothing.
		expect(budget.accepted).toBe(240);
		expect(String((outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult).reason)).toContain('240 of 200');
	});

	it('a cost learned elsewhere in the process never blocks a cheaper new kind', async () => {
		const budget = new CreditBudget(400, new ExecutionCredits(), new Map([[costKind({ model: 'gemini-omni-video', resolution: '4k', duration: 8 }), 375]]));
		await expect(budget.reserve(costKind({ model: 'gemini-omni-video', resolution: '720p', duration: 8 }))).resolves.toMatchObject({ guess: true, amount: 400 });
	});

	it('an answer without a readable creditCost counts what was reserved and teaches nothing', async () => {
		const costs = new Map<string, number>();
		const budget = new CreditBudget(500, new ExecutionCredits(), costs);
		budget.settle(await budget.reserve(VIDEO), undefined, 'job_x');
		expect(budget.accepted).toBe(500);
		expect(costs.has(VIDEO)).toBe(false);
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
		budget.settle(await budget.reserve(VIDEO), 150, 'job_failed');
		budget.refundJob('job_failed');
		budget.refundJob('job_failed');
		expect(budget.accepted).toBe(0);
		await expect(budget.reserve(VIDEO)).resolves.toMatchObject({ amount: 150 });
	});

	it('no cap (0): never waits nor refuses, and still counts', async () => {
		const budget = new CreditBudget(0, new ExecutionCredits(), new Map());
		const reservations = await Promise.all([budget.reserve(VIDEO), budget.reserve(VIDEO)]);
		for (const reservation of reservations) budget.settle(reservation, 150);
		expect(budget.accepted).toBe(300);
	});

	it('a stop while waiting for a new kind’s cost ends the wait', async () => {
		const budget = new CreditBudget(1000, new ExecutionCredits(), new Map());
		await budget.reserve(VIDEO);
		const stop = new AbortController();
		const waiting = budget.reserve(VIDEO, stop.signal);
		stop.abort();
		await expect(waiting).rejects.toThrow('cancelled');
	});
});
