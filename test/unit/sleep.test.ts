/** Cancellable waits on a fake clock: they end at once when cancelled and leave no timer behind. */
import { abortCallbackCount, onAbort } from '../../nodes/GeminiOmni/transport/abort';
import { SLEEP_STEP_MS, sleepUnlessCancelled } from '../../nodes/GeminiOmni/transport/sleep';

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

it('waits the whole time when not cancelled', async () => {
	let done = false;
	const stop = new AbortController();
	void sleepUnlessCancelled(3_600_000, stop.signal).then(() => (done = true));
	await jest.advanceTimersByTimeAsync(3_599_000);
	expect(done).toBe(false);
	await jest.advanceTimersByTimeAsync(1_000);
	expect(done).toBe(true);
	expect(jest.getTimerCount()).toBe(0);
	expect(abortCallbackCount(stop.signal)).toBe(0);
});

it('a cancelled hour-long wait ends at once, with no listener and no timer left (n8n 2.x sleep)', async () => {
	const stop = new AbortController();
	const removed = jest.spyOn(stop.signal, 'removeEventListener');
	const outcome = sleepUnlessCancelled(3_600_000, stop.signal).then(() => 'slept', (error: Error) => error.message);
	await jest.advanceTimersByTimeAsync(10_500);
	stop.abort();
	expect(await outcome).toBe('The execution was cancelled');
	expect(removed).toHaveBeenCalledTimes(0); // the one listener went with the abort (once)
	expect(abortCallbackCount(stop.signal)).toBe(0);
	expect(jest.getTimerCount()).toBe(0);
});

it('with n8n 1.x, whose sleep cannot be cleared, a cancelled wait leaves at most one step of timer', async () => {
	await jest.isolateModulesAsync(async () => {
		jest.doMock('n8n-workflow', () => ({
			...jest.requireActual('n8n-workflow'),
			// 1.x: sleep(ms) only, a second argument is ignored.
			sleep: async (ms: number) => await new Promise<void>((resolve) => setTimeout(resolve, ms)),
		}));
		const { sleepUnlessCancelled: sleep1x } = await import('../../nodes/GeminiOmni/transport/sleep');
		const stop = new AbortController();
		const outcome = sleep1x(3_600_000, stop.signal).then(() => 'slept', (error: Error) => error.message);
		await jest.advanceTimersByTimeAsync(10_500);
		stop.abort();
		expect(await outcome).toBe('The execution was cancelled');
		expect(jest.getTimerCount()).toBe(1);
		await jest.advanceTimersByTimeAsync(SLEEP_STEP_MS);
		expect(jest.getTimerCount()).toBe(0);
	});
});

it('many waits on one signal add one listener to it, removed when the last wait ends', async () => {
	const stop = new AbortController();
	const added = jest.spyOn(stop.signal, 'addEventListener');
	const removed = jest.spyOn(stop.signal, 'removeEventListener');
	const waits = Array.from({ length: 100 }, (_, i) => sleepUnlessCancelled(1_000 + i * 10, stop.signal));
	expect(added).toHaveBeenCalledTimes(1);
	expect(abortCallbackCount(stop.signal)).toBe(100);
	await jest.advanceTimersByTimeAsync(2_000);
	await Promise.all(waits);
	expect(removed).toHaveBeenCalledTimes(1);
	expect(abortCallbackCount(stop.signal)).toBe(0);
	expect(jest.getTimerCount()).toBe(0);
});

it('onAbort calls every callback once, and a callback given an aborted signal at once', () => {
	const stop = new AbortController();
	const calls: string[] = [];
	onAbort(stop.signal, () => calls.push('a'));
	const offB = onAbort(stop.signal, () => calls.push('b'));
	onAbort(stop.signal, () => calls.push('c'));
	offB();
	stop.abort();
	stop.abort();
	onAbort(stop.signal, () => calls.push('late'));
	expect(calls).toEqual(['a', 'c', 'late']);
	expect(abortCallbackCount(stop.signal)).toBe(0);
});
