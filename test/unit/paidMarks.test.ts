/**
 * Marks of paid requests in n8n's deduplication store (what outlives a killed process), against a
 * stand-in that behaves as n8n 2.41's store does: one hashed list per node, record-and-check in one
 * call, removal by value, the oldest entries dropped past maxEntries. On an explicit clock.
 */
import { createHash } from 'node:crypto';
import type { ICheckProcessedOptions } from 'n8n-workflow';

import { MAX_MARKS, PaidMarks, type Deduplication } from '../../nodes/GeminiOmni/scheduler/paidMarks';

const DAY = 86_400_000;
const T0 = Date.parse('2026-12-01T10:00:00Z');

class StoreLikeN8n {
	readonly hashes: string[] = [];
	writes = 0;
	private hash = (value: unknown) => createHash('md5').update(String(value)).digest('base64');
	readonly helpers: Deduplication = {
		checkProcessedAndRecord: async (items, _scope, options: ICheckProcessedOptions) => {
			const result = { new: [] as typeof items, processed: [] as typeof items };
			for (const item of items) {
				if (this.hashes.includes(this.hash(item))) result.processed.push(item);
				else {
					result.new.push(item);
					this.hashes.push(this.hash(item));
				}
			}
			if (options.maxEntries) this.hashes.splice(0, Math.max(0, this.hashes.length - options.maxEntries));
			this.writes++;
			return result;
		},
		removeProcessed: async (items) => {
			for (const item of items) {
				const index = this.hashes.indexOf(this.hash(item));
				if (index !== -1) this.hashes.splice(index, 1);
			}
			this.writes++;
		},
	};
}

let now = T0;
beforeEach(() => (now = T0));

it('a request marked paid is found by a later run (another process), with its day; checking leaves nothing behind', async () => {
	const store = new StoreLikeN8n();
	await new PaidMarks(store.helpers, 'wf:node', () => now).markPaid('f1', 0);
	expect(store.hashes).toHaveLength(1);
	now = T0 + 3 * DAY;
	const later = new PaidMarks(store.helpers, 'wf:node', () => now);
	const days = await later.paidDays([
		{ fingerprint: 'f1', occurrence: 0 },
		{ fingerprint: 'f1', occurrence: 1 },
		{ fingerprint: 'f2', occurrence: 0 },
	]);
	expect(days).toEqual([Math.floor(T0 / DAY), undefined, undefined]);
	expect(store.hashes).toHaveLength(1);
});

it('a mark counts for 7 calendar days (the life of an output), not on the 8th', async () => {
	const store = new StoreLikeN8n();
	await new PaidMarks(store.helpers, 's', () => now).markPaid('f', 0);
	now = T0 + 6 * DAY;
	expect(await new PaidMarks(store.helpers, 's', () => now).paidDays([{ fingerprint: 'f', occurrence: 0 }])).toEqual([Math.floor(T0 / DAY)]);
	now = T0 + 7 * DAY;
	expect(await new PaidMarks(store.helpers, 's', () => now).paidDays([{ fingerprint: 'f', occurrence: 0 }])).toEqual([undefined]);
});

it('an unmarked request (its job failed: it cost nothing) may be submitted again', async () => {
	const store = new StoreLikeN8n();
	const marks = new PaidMarks(store.helpers, 's', () => now);
	await marks.unmark(await marks.markPaid('f', 0));
	expect(await marks.paidDays([{ fingerprint: 'f', occurrence: 0 }])).toEqual([undefined]);
});

it('marks of one batch written at the same moment are all kept (one write at a time per node)', async () => {
	const store = new StoreLikeN8n();
	const original = store.helpers.checkProcessedAndRecord;
	// n8n reads the list, then writes it whole: two writes at once would lose one.
	let inFlight = 0;
	store.helpers.checkProcessedAndRecord = async (...args) => {
		inFlight++;
		expect(inFlight).toBe(1);
		await new Promise((resolve) => setImmediate(resolve));
		inFlight--;
		return await original(...args);
	};
	const marks = new PaidMarks(store.helpers, 's', () => now);
	await Promise.all(Array.from({ length: 5 }, async (_, i) => await marks.markPaid(`f${i}`, 0)));
	expect(await marks.paidDays(Array.from({ length: 5 }, (_, i) => ({ fingerprint: `f${i}`, occurrence: 0 })))).toEqual(Array(5).fill(Math.floor(T0 / DAY)));
});

it('without n8n’s store (a test engine, an unsaved workflow) the marks are off and nothing fails', async () => {
	const broken: Deduplication = {
		checkProcessedAndRecord: async () => await Promise.reject(new Error('No workflow id')),
		removeProcessed: async () => await Promise.reject(new Error('No workflow id')),
	};
	const marks = new PaidMarks(broken, 's', () => now);
	await expect(marks.markPaid('f', 0)).resolves.toEqual(expect.stringContaining('paid:f#0@'));
	await expect(marks.paidDays([{ fingerprint: 'f', occurrence: 0 }])).resolves.toEqual([undefined]);
	await expect(new PaidMarks(undefined, 's').markPaid('f', 0)).resolves.toBeDefined();
});

it('checking many requests never pushes real marks out of the store (no maxEntries on the check)', async () => {
	const store = new StoreLikeN8n();
	const marks = new PaidMarks(store.helpers, 's', () => now);
	await marks.markPaid('lost', 0);
	const many = Array.from({ length: MAX_MARKS }, (_, i) => ({ fingerprint: `f${i}`, occurrence: 0 }));
	await marks.paidDays(many);
	expect(await marks.paidDays([{ fingerprint: 'lost', occurrence: 0 }])).toEqual([Math.floor(T0 / DAY)]);
	expect(store.hashes).toHaveLength(1);
});

it('the store keeps at most MAX_MARKS marks per node', async () => {
	const store = new StoreLikeN8n();
	const marks = new PaidMarks(store.helpers, 's', () => now);
	for (let i = 0; i < MAX_MARKS + 5; i++) await marks.markPaid(`f${i}`, 0);
	expect(store.hashes).toHaveLength(MAX_MARKS);
});
