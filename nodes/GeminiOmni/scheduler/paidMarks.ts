/**
 * Marks of paid requests in n8n's deduplication store, for the one case the record of paid jobs
 * (paidJobs.ts) cannot cover: a process killed while the node runs (a SIGKILLed or out-of-memory
 * worker). n8n saves static data and the execution's context only when an execution ends, and gives
 * community nodes no store written earlier that could hold a job ID: its deduplication store is written
 * at once, to the database every worker shares, but keeps only hashes of what it is given.
 *
 * So before each submit the node marks "the k-th item with this request was submitted on day D" there
 * (before, so that no job can exist without its mark), and takes the mark back when the submit surely
 * created nothing. A later run that finds no job recorded for such an item, but its mark, knows the job
 * most likely exists and was lost with the process: it does not pay again, and says where the job ID is
 * (the accepted-job log line). Marks count for 7 days, the life of an output. Marks made at the same
 * moment are written together, one write at a time per node in this process.
 */
import type { IExecuteFunctions } from 'n8n-workflow';

import { OUTPUT_URL_LIFETIME_MS } from '../helpers/job';

const DAY_MS = 86_400_000;
const LIFETIME_DAYS = Math.round(OUTPUT_URL_LIFETIME_MS / DAY_MS);
/** n8n's store keeps at most this many marks per node, the oldest leaving first. */
export const MAX_MARKS = 2_000;

export type Deduplication = Pick<IExecuteFunctions['helpers'], 'checkProcessedAndRecord' | 'removeProcessed'>;

export function paidMark(fingerprint: string, occurrence: number, day: number): string {
	return `paid:${fingerprint}#${occurrence}@${day}`;
}

export const dayOf = (time: number) => Math.floor(time / DAY_MS);

/** Serialises one node's writes in this process: n8n's store reads and writes its list whole. */
const chains = new Map<string, Promise<unknown>>();

export class PaidMarks {
	private available = true;

	constructor(
		private readonly store: Deduplication | undefined,
		private readonly scope: string,
		private readonly now: () => number = Date.now,
	) {
		if (!store?.checkProcessedAndRecord || !store.removeProcessed) this.available = false;
	}

	/** For each (fingerprint, occurrence): the day it was marked paid within the last 7 days, if it was. */
	async paidDays(requests: Array<{ fingerprint: string; occurrence: number }>): Promise<Array<number | undefined>> {
		if (!this.available || requests.length === 0) return requests.map(() => undefined);
		const today = dayOf(this.now());
		// Seven calendar days: a mark older than its job's output is never read (the record may outlive it by hours).
		const days = Array.from({ length: LIFETIME_DAYS }, (_, back) => today - back);
		const candidates = requests.flatMap(({ fingerprint, occurrence }) => days.map((day) => paidMark(fingerprint, occurrence, day)));
		// The store has no pure lookup: record-and-check, then take back what was not there before.
		const found = await this.serially(async () => {
			// No maxEntries here: the candidates must not push real marks out of the store's list.
			const checked = await this.store!.checkProcessedAndRecord(candidates, 'node', { mode: 'entries' });
			if (checked.new.length) {
				// Left behind, the candidates would read as paid for a week: a failed removal is tried again.
				await this.store!.removeProcessed(checked.new, 'node', { mode: 'entries' }).catch(
					async () => await this.store!.removeProcessed(checked.new, 'node', { mode: 'entries' }),
				);
			}
			return new Set(checked.processed.map(String));
		});
		if (!found) return requests.map(() => undefined);
		return requests.map(({ fingerprint, occurrence }) => days.find((day) => found.has(paidMark(fingerprint, occurrence, day))));
	}

	/** Marks a request paid today; returns the mark (to take back if its job fails). */
	async markPaid(fingerprint: string, occurrence: number): Promise<string> {
		const mark = paidMark(fingerprint, occurrence, dayOf(this.now()));
		if (this.available) await new Promise<void>((written) => {
			this.queued.push({ mark, written });
			void this.writeQueued();
		});
		return mark;
	}

	private queued: Array<{ mark: string; written: () => void }> = [];
	private writing = false;

	/** Writes the marks queued so far in one call, then the ones queued meanwhile, and so on. */
	private async writeQueued(): Promise<void> {
		if (this.writing) return;
		this.writing = true;
		while (this.queued.length) {
			const batch = this.queued.splice(0);
			const marks = batch.map((entry) => entry.mark);
			await this.serially(async () => await this.store!.checkProcessedAndRecord(marks, 'node', { mode: 'entries', maxEntries: MAX_MARKS }));
			for (const entry of batch) entry.written();
		}
		this.writing = false;
	}

	/** A failed job cost nothing: its request may be submitted again. */
	async unmark(mark: string): Promise<void> {
		if (this.available) await this.serially(async () => await this.store!.removeProcessed([mark], 'node', { mode: 'entries' }));
	}

	/**
	 * One write at a time per node in this process. Where the store is not there (an unsaved workflow in
	 * the editor, a test engine), the marks are off for this run: the record of paid jobs still works.
	 */
	private async serially<T>(write: () => Promise<T>): Promise<T | undefined> {
		const previous = chains.get(this.scope) ?? Promise.resolve();
		const next = previous.then(write, write);
		chains.set(this.scope, next.catch(() => undefined));
		try {
			return await next;
		} catch {
			this.available = false;
			return undefined;
		}
	}
}
