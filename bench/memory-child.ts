/**
 * One memory measurement in a process of its own: `tsx bench/memory-child.ts ours|baseline|reference`.
 * The simulator runs in the parent (bench/run.ts), so this process holds only the client.
 *
 * Environment: BENCH_SIM_URL, BENCH_API_KEY, BENCH_BIG_JOB, BENCH_WARM_JOB (a small done job used to
 * warm every code path first), BENCH_BIG_URL / BENCH_WARM_URL (their outputUrls, for the baseline).
 *
 * Peak memory is the whole process's: Linux's VmHWM (peak RSS), reset right before the download by
 * writing 5 to /proc/self/clear_refs, cross-checked by sampling process.memoryUsage.rss() every 5 ms.
 * Growth = peak − RSS just before the download. Prints one JSON line.
 */
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { downloadWhole } from './lib/baseline';

function statusKb(field: 'VmHWM' | 'VmRSS'): number | undefined {
	try {
		const match = readFileSync('/proc/self/status', 'utf8').match(new RegExp(`${field}:\\s+(\\d+) kB`));
		return match ? Number(match[1]) * 1024 : undefined;
	} catch {
		return undefined;
	}
}

function resetPeak(): boolean {
	try {
		writeFileSync('/proc/self/clear_refs', '5');
		return true;
	} catch {
		return false;
	}
}

const gc = (globalThis as { gc?: () => void }).gc;

async function measure(download: () => Promise<number>): Promise<Record<string, number | boolean | undefined>> {
	gc?.();
	await new Promise((resolve) => setTimeout(resolve, 100));
	gc?.();
	const peakReset = resetPeak();
	const before = process.memoryUsage.rss();
	const heapBefore = process.memoryUsage();
	let sampled = before;
	let heapPeak = 0;
	let externalPeak = 0;
	const timer = setInterval(() => {
		const usage = process.memoryUsage();
		sampled = Math.max(sampled, usage.rss);
		heapPeak = Math.max(heapPeak, usage.heapTotal - heapBefore.heapTotal);
		externalPeak = Math.max(externalPeak, usage.external - heapBefore.external); // external includes ArrayBuffers
	}, 5);
	// Diagnostic only (BENCH_GC_EVERY_MS): collect garbage while downloading, to tell GC lag from retention.
	const gcEvery = Number(process.env.BENCH_GC_EVERY_MS);
	const gcTimer = gcEvery > 0 && gc ? setInterval(() => (gc as (options: object) => void)({ type: 'minor' }), gcEvery) : undefined;
	const started = Date.now();
	const bytes = await download();
	if (gcTimer) clearInterval(gcTimer);
	const ms = Date.now() - started;
	clearInterval(timer);
	sampled = Math.max(sampled, process.memoryUsage.rss());
	const hwm = peakReset ? statusKb('VmHWM') : undefined;
	const peak = Math.max(sampled, hwm ?? 0);
	return { before, peak, growth: peak - before, sampledPeak: sampled, hwm, peakReset, bytes, ms, heapPeak, externalPeak };
}

async function ours(): Promise<Record<string, number | boolean | undefined>> {
	const { credential, runOurNode, useWindowScale } = await import('./lib/ours');
	const env = process.env;
	useWindowScale(1);
	const cred = credential({ url: env.BENCH_SIM_URL!, webhookSecret: '' }, env.BENCH_API_KEY!, 'pro');
	const download = async (jobId: string): Promise<number> => {
		const run = await runOurNode(cred, { resource: 'job', operation: 'downloadOutput', jobId }, [{}], { binaryMode: 'filesystem' });
		if (run.result.status !== 'success') throw new Error(`download run ${run.result.status}: ${run.result.error?.message}`);
		const binary = run.items[0]?.binary?.data;
		if (!binary?.id) throw new Error('the output is not in the filesystem binary store');
		return Number(binary.bytes ?? NaN);
	};
	await download(env.BENCH_WARM_JOB!);
	await download(env.BENCH_WARM_JOB!);
	return await measure(async () => await download(env.BENCH_BIG_JOB!));
}

async function baseline(): Promise<Record<string, number | boolean | undefined>> {
	const env = process.env;
	await downloadWhole(env.BENCH_WARM_URL!);
	await downloadWhole(env.BENCH_WARM_URL!);
	let kept: Buffer | undefined;
	const result = await measure(async () => {
		kept = await downloadWhole(env.BENCH_BIG_URL!);
		return kept.length;
	});
	// What the guide does next (upload Body: Buffer.from(buffer)) needs the whole buffer alive until here.
	result.bytes = kept?.length;
	return result;
}

/**
 * A floor for any streaming client in Node: Node's fetch piped straight into a file. Chunks that were
 * written are garbage until V8 collects them, and V8 starts a collection for external memory only
 * after it grew by about 64 MiB, so even this shows tens of MiB.
 */
async function reference(): Promise<Record<string, number | boolean | undefined>> {
	const env = process.env;
	const dir = mkdtempSync(path.join(tmpdir(), 'gemini-omni-bench-'));
	const file = path.join(dir, 'output.mp4');
	const streamToFile = async (url: string): Promise<number> => {
		const response = await fetch(url);
		await pipeline(Readable.fromWeb(response.body as never), createWriteStream(file));
		return statSync(file).size;
	};
	try {
		await streamToFile(env.BENCH_WARM_URL!);
		await streamToFile(env.BENCH_WARM_URL!);
		return await measure(async () => await streamToFile(env.BENCH_BIG_URL!));
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

const MODES = { ours, baseline, reference };

async function main(): Promise<void> {
	const mode = process.argv[2] as keyof typeof MODES;
	if (!MODES[mode]) throw new Error('usage: memory-child.ts ours|baseline|reference');
	const result = await MODES[mode]();
	process.stdout.write(`${JSON.stringify({ mode, ...result })}\n`);
}

main().then(
	() => process.exit(0),
	(error: Error) => {
		process.stderr.write(`${error.stack ?? error.message}\n`);
		process.exit(1);
	},
);
