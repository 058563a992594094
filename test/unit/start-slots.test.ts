/** The machine-wide limit on n8n processes starting at once (scripts/lib/start-slots.ts), on an explicit clock. */
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { acquireStartSlot } from '../../scripts/lib/start-slots';

/** A sleep that only returns when the test lets it, and counts how often it was called. */
function controlledSleep() {
	const waiting: Array<() => void> = [];
	return {
		sleep: () => new Promise<void>((done) => waiting.push(done)),
		calls: () => waiting.length,
		wakeAll: () => waiting.splice(0).forEach((done) => done()),
	};
}

const flush = () => new Promise<void>((done) => setImmediate(done));

describe('acquireStartSlot', () => {
	it('gives out as many slots as there are, makes the next one wait, and hands a released slot on', async () => {
		const directory = mkdtempSync(join(tmpdir(), 'slots-'));
		const clock = controlledSleep();
		const options = { directory, slots: 2, sleep: clock.sleep };
		const first = await acquireStartSlot(options);
		await acquireStartSlot(options);
		let third: (() => void) | undefined;
		void acquireStartSlot(options).then((release) => (third = release));
		await flush();
		expect(third).toBeUndefined();
		expect(clock.calls()).toBe(1);
		clock.wakeAll();
		await flush();
		expect(third).toBeUndefined();
		first();
		clock.wakeAll();
		await flush();
		expect(third).toBeInstanceOf(Function);
	});

	it('takes over a slot whose holder is no longer running, or that is older than the stale limit', async () => {
		const directory = mkdtempSync(join(tmpdir(), 'slots-'));
		const clock = controlledSleep();
		// PID 2^22 + 1 is above Linux's pid_max default: no such process.
		writeFileSync(join(directory, 'slot-0'), String(4_194_305));
		writeFileSync(join(directory, 'slot-1'), String(process.pid));
		let taken: (() => void) | undefined;
		void acquireStartSlot({ directory, slots: 2, sleep: clock.sleep }).then((release) => (taken = release));
		await flush();
		expect(taken).toBeInstanceOf(Function);
		expect(clock.calls()).toBe(0);

		// Both held by this (running) process: only the stale limit frees one.
		const later = Date.now() + 300_000;
		let staleTaken: (() => void) | undefined;
		void acquireStartSlot({ directory, slots: 2, sleep: clock.sleep, staleMs: 240_000 }).then((release) => (staleTaken = release));
		await flush();
		expect(staleTaken).toBeUndefined();
		void acquireStartSlot({ directory, slots: 2, sleep: clock.sleep, staleMs: 240_000, now: () => later }).then((release) => (staleTaken = release));
		await flush();
		expect(staleTaken).toBeInstanceOf(Function);
	});

	it('an urgent start waiting for a slot goes before the others, and leaves no mark once it has one', async () => {
		const directory = mkdtempSync(join(tmpdir(), 'slots-'));
		const clock = controlledSleep();
		const options = { directory, slots: 1, sleep: clock.sleep };
		const held = await acquireStartSlot(options);
		let urgent: (() => void) | undefined;
		let ordinary: (() => void) | undefined;
		// The ordinary start waits first, so it is the first to try again.
		void acquireStartSlot(options).then((release) => (ordinary = release));
		await flush();
		void acquireStartSlot({ ...options, urgent: true }).then((release) => (urgent = release));
		await flush();
		expect(readdirSync(directory).filter((name) => name.startsWith('want-'))).toHaveLength(1);
		held();
		// Both try again, the ordinary one first: it finds the slot free, but an urgent start is waiting.
		clock.wakeAll();
		await flush();
		expect(urgent).toBeInstanceOf(Function);
		expect(ordinary).toBeUndefined();
		expect(readdirSync(directory).filter((name) => name.startsWith('want-'))).toHaveLength(0);
		urgent!();
		clock.wakeAll();
		await flush();
		expect(ordinary).toBeInstanceOf(Function);
	});

	it('the mark of an urgent start whose process died holds nobody back', async () => {
		const directory = mkdtempSync(join(tmpdir(), 'slots-'));
		const clock = controlledSleep();
		writeFileSync(join(directory, 'want-4194305-1'), String(4_194_305));
		let taken: (() => void) | undefined;
		void acquireStartSlot({ directory, slots: 1, sleep: clock.sleep }).then((release) => (taken = release));
		await flush();
		expect(taken).toBeInstanceOf(Function);
		expect(readdirSync(directory)).toEqual(['slot-0']);
	});
});
