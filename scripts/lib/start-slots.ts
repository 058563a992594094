/**
 * How many n8n processes may be starting at once on this machine. A start takes about 1.5 cores for
 * 10-15 s; on 2 cores, four test files starting two queue-mode stacks and two more n8n at once made
 * each start take minutes (a stack ready in 162 s instead of 41 s) and requests to the others time out.
 * Queued, they start one or two at a time at their normal speed. Slots are files holding the starting
 * process's PID, so test workers, the benchmark and the demo share them; a slot whose holder died, or
 * that is held far longer than any start, is taken over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface StartSlotOptions {
	directory?: string;
	slots?: number;
	/** A slot held longer than this is taken over (a start that hangs is failed by its own timeout first). */
	staleMs?: number;
	sleep?: (ms: number) => Promise<void>;
	now?: () => number;
}

/** Starts at once for everyone. */
export const START_SLOTS = 2;
/**
 * One more slot, after those, that only starts asking for it take (`slots: START_SLOTS + PRIORITY_SLOTS`):
 * the queue stacks of the batch in passes and of the trigger file, whose starts and restarts are on
 * `npm test`'s longest path. With three stacks and n8n 1.x starting at once, a stack was ready after
 * 129-189 s.
 */
export const PRIORITY_SLOTS = 1;

const DEFAULTS = {
	directory: join(tmpdir(), 'gemini-omni-n8n-start-slots'),
	slots: START_SLOTS,
	staleMs: 240_000,
	sleep: (ms: number) => new Promise<void>((done) => setTimeout(done, ms)),
	now: () => Date.now(),
};

/** Whether a lock file's holder is gone: the lock is older than `staleMs`, or its PID no longer runs. */
export function holderGone(path: string, staleMs: number, now: number): boolean {
	try {
		if (now - statSync(path).mtimeMs > staleMs) return true;
		const pid = Number(readFileSync(path, 'utf8'));
		if (!Number.isInteger(pid) || pid <= 0) return false; // being written
		process.kill(pid, 0);
		return false;
	} catch (error) {
		// ESRCH: no such process. ENOENT: released meanwhile (the next try takes it).
		return (error as NodeJS.ErrnoException).code === 'ESRCH';
	}
}

/** Waits for a free slot and takes it; resolves with the function that gives it back. */
export async function acquireStartSlot(options: StartSlotOptions = {}): Promise<() => void> {
	const { directory, slots, staleMs, sleep, now } = { ...DEFAULTS, ...options };
	mkdirSync(directory, { recursive: true });
	for (;;) {
		for (let slot = 0; slot < slots; slot++) {
			const path = join(directory, `slot-${slot}`);
			try {
				const fd = openSync(path, 'wx');
				writeSync(fd, String(process.pid));
				closeSync(fd);
				return () => rmSync(path, { force: true });
			} catch (error) {
				if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
				// Free it and try the same slot again at once.
				if (holderGone(path, staleMs, now())) {
					rmSync(path, { force: true });
					slot--;
				}
			}
		}
		await sleep(200);
	}
}
