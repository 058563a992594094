/** The machine-wide limit on n8n processes starting at once (scripts/lib/start-slots.ts), on an explicit clock. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { acquireStartSlot, PRIORITY_SLOTS, START_SLOTS } from '../../scripts/lib/start-slots';

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

	it('keeps a slot for priority starts: with every common slot taken, a priority start goes ahead and a common one waits', async () => {
		const directory = mkdtempSync(join(tmpdir(), 'slots-'));
		const clock = controlledSleep();
		const common = { directory, slots: START_SLOTS, sleep: clock.sleep };
		const priority = { ...common, slots: START_SLOTS + PRIORITY_SLOTS };
		for (let i = 0; i < START_SLOTS; i++) await acquireStartSlot(common);
		let commonStart: (() => void) | undefined;
		void acquireStartSlot(common).then((release) => (commonStart = release));
		let priorityStart: (() => void) | undefined;
		void acquireStartSlot(priority).then((release) => (priorityStart = release));
		await flush();
		expect(priorityStart).toBeInstanceOf(Function);
		expect(commonStart).toBeUndefined();
		// A released priority slot is not one a common start may take.
		priorityStart!();
		clock.wakeAll();
		await flush();
		expect(commonStart).toBeUndefined();
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
});
