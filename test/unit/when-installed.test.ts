/**
 * `whenInstalled`: on a fresh clone `npm test` starts the tests while n8n 1.x is still installing
 * (GEMINI_OMNI_INSTALLING); a start of that version waits for the install's `.installed` mark. Fake clock.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { n8nHome, whenInstalled } from '../../scripts/lib/n8n-install';

const VERSION = `0.0.0-unit-${process.pid}`;
const home = n8nHome(VERSION);

beforeEach(() => {
	jest.useFakeTimers();
	rmSync(home, { recursive: true, force: true });
	mkdirSync(home, { recursive: true });
	process.env.GEMINI_OMNI_INSTALLING = `1.2.3,${VERSION}`;
});
afterEach(() => {
	jest.useRealTimers();
	rmSync(home, { recursive: true, force: true });
	delete process.env.GEMINI_OMNI_INSTALLING;
});

/** Whether the promise has settled, after letting the fake clock run `ms`. */
async function settledAfter(promise: Promise<unknown>, ms: number): Promise<boolean> {
	let settled = false;
	promise.then(
		() => (settled = true),
		() => (settled = true),
	);
	await jest.advanceTimersByTimeAsync(ms);
	return settled;
}

it('returns at once for a version nobody is installing, installed or not', async () => {
	process.env.GEMINI_OMNI_INSTALLING = '1.2.3';
	await expect(settledAfter(whenInstalled(VERSION), 0)).resolves.toBe(true);
});

it('waits for a version being installed until its .installed mark appears', async () => {
	const waiting = whenInstalled(VERSION);
	await expect(settledAfter(waiting, 60_000)).resolves.toBe(false);
	writeFileSync(join(home, '.installed'), '');
	await expect(settledAfter(waiting, 2_000)).resolves.toBe(true);
	await expect(waiting).resolves.toBeUndefined();
});

it('fails when the install failed, saying so', async () => {
	const waiting = whenInstalled(VERSION);
	const failure = expect(waiting).rejects.toThrow(`n8n ${VERSION} could not be installed`);
	writeFileSync(join(home, '.install-failed'), '');
	await jest.advanceTimersByTimeAsync(2_000);
	await failure;
});

it('gives up after its time limit', async () => {
	const waiting = whenInstalled(VERSION, 10_000);
	const failure = expect(waiting).rejects.toThrow('still being installed after');
	await jest.advanceTimersByTimeAsync(12_000);
	await failure;
});
