/** Cancellable waits on a fake clock: they end at once when cancelled and leave no long timer behind. */
import { SLEEP_STEP_MS, sleepUnlessCancelled } from '../../nodes/GeminiOmni/transport/sleep';

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

it('waits the whole time when not cancelled', async () => {
	let done = false;
	void sleepUnlessCancelled(3_600_000, new AbortController().signal).then(() => (done = true));
	await jest.advanceTimersByTimeAsync(3_599_000);
	expect(done).toBe(false);
	await jest.advanceTimersByTimeAsync(1_000);
	expect(done).toBe(true);
	expect(jest.getTimerCount()).toBe(0);
});

it('a cancelled hour-long wait ends at once, with no listener left and no timer after one step', async () => {
	const stop = new AbortController();
	const removed = jest.spyOn(stop.signal, 'removeEventListener');
	const outcome = sleepUnlessCancelled(3_600_000, stop.signal).then(() => 'slept', (error: Error) => error.message);
	await jest.advanceTimersByTimeAsync(10_500);
	stop.abort();
	expect(await outcome).toBe('The execution was cancelled');
	expect(removed).toHaveBeenCalledTimes(1);
	expect(jest.getTimerCount()).toBeLessThanOrEqual(1);
	await jest.advanceTimersByTimeAsync(SLEEP_STEP_MS);
	expect(jest.getTimerCount()).toBe(0);
});
