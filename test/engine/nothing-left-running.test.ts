/**
 * After the node returns, nothing of ours runs on: no timer and no abort listener, however large the
 * batch and however it ended (issue 11.9). Counted with async_hooks and a watch on addEventListener,
 * attributed to our code by the creating stack frame (test/harness/leaks.ts).
 */
import { randomBytes } from 'node:crypto';

import type { Simulator } from '../../simulator';
import { settle, watchOurTimersAndListeners, type LeakWatch } from '../harness/leaks';
import { logOf, runGeminiNode, startTestSimulator } from './support';

let sim: Simulator;
let watch: LeakWatch;
beforeAll(async () => {
	sim = await startTestSimulator();
});
afterAll(async () => await sim.close());
beforeEach(() => {
	sim.clearLog();
	watch = watchOurTimersAndListeners();
});
afterEach(() => watch.stop());

function premiumCredential() {
	const key = `gomni_${randomBytes(32).toString('hex')}`;
	sim.addKey({ key, plan: 'premium' });
	return { type: 'geminiOmniApi', id: key.slice(-8), data: { apiKey: key, baseUrl: sim.url, plan: 'premium' } };
}

const textToVideo = { resource: 'video', operation: 'textToVideo', prompt: '={{ $json.p }}' };

it('a 100-item batch that polls and downloads leaves no timer and no listener of ours', async () => {
	const items = Array.from({ length: 100 }, (_, i) => ({ p: `clip ${i} [sim:seconds=${2 + (i % 7)}] [sim:bytes=2048]` }));
	const result = await runGeminiNode(sim, textToVideo, { credential: premiumCredential(), items, timeoutMs: 120_000 });
	expect(result.status).toBe('success');
	expect(result.items).toHaveLength(100);
	expect(result.items.every((item) => item.json.status === 'done' && item.binary?.data)).toBe(true);
	await settle();
	// The watch saw our waits (poll naps, queued items), so a zero below is not a blind spot.
	expect(watch.created().timers).toBeGreaterThan(10);
	expect(watch.created().listeners).toBeGreaterThan(0);
	expect(watch.liveTimers()).toBe(0);
	expect(watch.liveListeners()).toBe(0);
}, 150_000);

it('a 100-item batch stopped by an early failure leaves no timer and no listener of ours', async () => {
	// Items queued for a slot, jobs being polled, one failing: the stop must end every wait.
	const items = Array.from({ length: 100 }, (_, i) => ({
		p: i === 12 ? 'bad [sim:seconds=3] [sim:fail=Rejected]' : `clip ${i} [sim:seconds=30]`,
	}));
	const result = await runGeminiNode(sim, { ...textToVideo, downloadOutput: false }, { credential: premiumCredential(), items, timeoutMs: 120_000 });
	expect(result.status).toBe('error');
	expect(result.error?.message).toMatch(/failed: Rejected/);
	const submitsAtReturn = logOf(sim, { method: 'POST', path: '/api/v1/generate' }).length;
	expect(submitsAtReturn).toBeLessThan(100);
	await settle();
	expect(watch.created().timers).toBeGreaterThan(0);
	expect(watch.liveTimers()).toBe(0);
	expect(watch.liveListeners()).toBe(0);
}, 150_000);
