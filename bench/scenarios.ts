/**
 * The scenarios of issue #7. Each one runs our node (engine harness) and the guide's baseline (Node's
 * fetch) against a simulator started for that scenario, each side on a fresh key, one after the other
 * (never at the same time, so neither steals the other's event loop). Every figure is a count or a
 * ratio measured within this run.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

import { startSimulator } from '../simulator';
import type { Simulator } from '../simulator';
import { ANSWER_TIMEOUT_MS } from '../simulator/webhooks';
import { bulkGenerate, submitWithRetry } from './lib/baseline';
import { HttpIntervals, apiRequests, fmt, mib, now, pct, startReceiver, submits, traffic } from './lib/measure';
import { NODE_NAME, addKey, credential, runOurNode, useWindowScale } from './lib/ours';

export interface Row {
	figure: string;
	scenario: string;
	ours: string;
	baseline: string;
	limit: string;
	target: string;
	met: string;
}

export interface ScenarioResult {
	rows: Row[];
	notes: string[];
	/** Count-based figures that are clearly broken (the smoke run fails on these, never on timing). */
	broken: string[];
	/** Markdown appended to BENCHMARKS.md after the main table's notes. */
	sections?: string[];
	/** Files written beside BENCHMARKS.md (path from the repository root → content), full runs only. */
	files?: Record<string, string>;
}

export interface Sizes {
	smoke: boolean;
	/** Simulator time scale: a 60 s job takes 60 000 × timeScale ms. */
	timeScale: number;
	pollJobs: number;
	callbackJobs: number;
	proJobs: number;
	premiumJobs: number;
	overheadItems: number;
	memoryBytes: number;
	/** Runs of each memory child (median reported). */
	memoryRuns: number;
	/** Runs of each side of the overhead scenario (median reported). */
	overheadRuns: number;
	/** Jobs per case and contender on the requests / latency plane, and its time scale. */
	planeJobs: number;
	planeScale: number;
	/** Real n8n: the HTTP Request + Wait loop's jobs and time scale, the batch sizes and job length, Trigger deliveries. */
	n8nJobs: number;
	n8nScale: number;
	n8nProJobs: number;
	n8nPremiumJobs: number;
	n8nBatchSeconds: number;
	triggerDeliveries: number;
	/** How many deliveries the Trigger already remembers, one variant each. */
	triggerRemembered: number[];
	/** The Trigger's diagnostic variants (one thing taken out, the legacy engine): full runs only. */
	triggerDiagnostics: boolean;
	/** Seconds after a Trigger load before n8n's settled memory is read. */
	triggerSettleSeconds: number;
	/** Whether the Webhook and Trigger variants share one n8n (the smoke run: it checks counts, not memory). */
	triggerOneN8n: boolean;
}

export const FULL: Sizes = {
	smoke: false,
	timeScale: 0.01,
	pollJobs: 20,
	callbackJobs: 20,
	proJobs: 50,
	premiumJobs: 100,
	overheadItems: 500,
	memoryBytes: 1024 ** 3,
	memoryRuns: 3,
	overheadRuns: 3,
	planeJobs: 20,
	planeScale: 0.03,
	n8nJobs: 20,
	n8nScale: 0.1,
	n8nProJobs: 50,
	n8nPremiumJobs: 100,
	n8nBatchSeconds: 30,
	triggerDeliveries: 300,
	triggerRemembered: [1_000, 10_000, 20_000],
	triggerDiagnostics: true,
	triggerSettleSeconds: 15,
	triggerOneN8n: false,
};

export const SMOKE: Sizes = {
	smoke: true,
	timeScale: 0.01,
	pollJobs: 5,
	callbackJobs: 8,
	proJobs: 10,
	premiumJobs: 20,
	overheadItems: 50,
	memoryBytes: 64 * 1024 ** 2,
	memoryRuns: 1,
	overheadRuns: 1,
	planeJobs: 2,
	// The full run's scale: at 0.01 (a 25 ms check interval) a loaded machine once left our node's job with
	// the 2.5 s interval unfinished (npm test, beside the n8n suites), a count the smoke fails on.
	planeScale: 0.03,
	n8nJobs: 3,
	n8nScale: 0.05,
	n8nProJobs: 5,
	n8nPremiumJobs: 10,
	n8nBatchSeconds: 3,
	triggerDeliveries: 30,
	triggerRemembered: [],
	triggerDiagnostics: false,
	triggerSettleSeconds: 1,
	triggerOneN8n: true,
};

const yesNo = (ok: boolean): string => (ok ? 'yes' : '**NO**');

/**
 * A time-scaled simulator. Its webhooks get the contract's 10 s to be answered, unscaled: the receivers
 * here answer in this process, and on a loaded machine (npm test, beside the n8n suites) an answer came
 * later than the scaled 100 ms, so the retry counted as a second webhook for the job.
 */
async function withSimulator<T>(timeScale: number, body: (sim: Simulator) => Promise<T>): Promise<T> {
	const sim = await startSimulator({ timeScale, webhookAnswerTimeoutMs: ANSWER_TIMEOUT_MS });
	useWindowScale(timeScale);
	try {
		return await body(sim);
	} finally {
		await sim.close();
		useWindowScale(1);
	}
}

const videoParameters = (extra: Record<string, unknown> = {}) => ({
	resource: 'video',
	operation: 'textToVideo',
	prompt: '={{ $json.idea }}',
	resolution: '1080p',
	duration: 8,
	...extra,
});

/** Prompts for n jobs; a 1080p 8 s video is a 60 s job in the simulator (the guide's example). */
const ideas = (n: number, directives = ''): string[] =>
	Array.from({ length: n }, (_, i) => `clip ${i} of the batch ${directives}`.trim());

// ---------------------------------------------------------------------------------------------
// API requests per completed job, poll mode.

export async function pollMode(sizes: Sizes): Promise<ScenarioResult> {
	const rows: Row[] = [];
	const notes: string[] = [];
	const broken: string[] = [];
	for (const variant of [
		{ label: 'estimates accurate', directives: '', target: 2.5, limit: '2' },
		{ label: 'jobs run 1.5× their estimate', directives: '[sim:overrun=1.5]', target: 4, limit: '—' },
	]) {
		await withSimulator(sizes.timeScale, async (sim) => {
			const prompts = ideas(sizes.pollJobs, variant.directives);
			const ourKey = addKey(sim, { plan: 'pro' });
			const run = await runOurNode(
				credential(sim, ourKey, 'pro'),
				videoParameters({ downloadOutput: false }),
				prompts.map((idea) => ({ idea })),
				{ continueOnFail: true },
			);
			const ourDone = run.items.filter((item) => item.json.status === 'done').length;
			const ours = traffic(sim, ourKey);
			const ourPerJob = ours.requests / ourDone;

			const baseKey = addKey(sim, { plan: 'pro' });
			const results = await bulkGenerate({ baseUrl: sim.url, apiKey: baseKey, timeScale: sizes.timeScale }, prompts, 5);
			const baseDone = results.filter((result) => result.status === 'done').length;
			const base = traffic(sim, baseKey);
			const basePerJob = base.requests / baseDone;

			rows.push({
				figure: 'API requests per completed job, poll mode',
				scenario: `${sizes.pollJobs} jobs of 60 s on Pro, ${variant.label}`,
				ours: `${fmt(ourPerJob)} (${ourDone}/${sizes.pollJobs} done, ${ours.rateLimited}× 429)`,
				baseline: `${fmt(basePerJob)} (${baseDone}/${sizes.pollJobs} done, ${base.rateLimited}× 429)`,
				limit: variant.limit,
				target: `≤ ${variant.target} mean`,
				met: yesNo(ourDone === sizes.pollJobs && ourPerJob <= variant.target),
			});
			if (ourDone !== sizes.pollJobs) broken.push(`poll mode (${variant.label}): only ${ourDone}/${sizes.pollJobs} jobs done`);
			if (!(ourPerJob <= 2 * variant.target)) broken.push(`poll mode (${variant.label}): ${fmt(ourPerJob)} requests per job`);
			if (!(ourPerJob <= variant.target)) {
				notes.push(
					`Poll mode, ${variant.label}: issue #7's target (≤ ${variant.target}) was set for a schedule whose first check was at the estimate. ` +
						'Since 0.4.0 (issue #13) checks also come before the estimate while the key\'s budget has room, until 5 of the key\'s jobs have shown where they end: ' +
						'the first jobs pay for that, the later ones cost 2 requests (accurate estimates) or 3 (1.5×). The target is kept, and missed, to show that price; the plane (below) shows what it buys.',
				);
			}
			const baseFailures = results.filter((result) => result.status === 'failed');
			if (baseFailures.length) {
				const reasons = [...new Set(baseFailures.map((result) => result.error))].join('; ');
				notes.push(`Poll mode, ${variant.label}: the baseline lost ${baseFailures.length} of ${sizes.pollJobs} jobs (${reasons}).`);
			}
		});
	}
	return { rows, notes, broken };
}

// ---------------------------------------------------------------------------------------------
// Callback mode: the submit only, then exactly one signed webhook per job.

export async function callbackMode(sizes: Sizes): Promise<ScenarioResult> {
	const rows: Row[] = [];
	const notes: string[] = [];
	const broken: string[] = [];
	notes.push(
		'Callback mode: the node\'s Wait for Completion → Wait Mode "Callback"; callbackUrl = the execution\'s resume URL (the harness\'s instance base URL points at the bench\'s receiver). In the engine harness the execution ends "waiting" with no resume, so what is measured is the submit requests per job (simulator log) and the signed webhooks delivered per job (the receiver verifies X-Gemini-Signature).',
	);
	const T = 60_000 * sizes.timeScale;
	for (const variant of [
		{ label: 'Pro (5 concurrent)', concurrent: undefined as number | undefined, assert: false },
		{ label: `key allowing ${sizes.callbackJobs} concurrent jobs`, concurrent: sizes.callbackJobs, assert: true },
	]) {
		await withSimulator(sizes.timeScale, async (sim) => {
			const receiver = await startReceiver(sim.webhookSecret);
			try {
				const limits = variant.concurrent ? { limits: { concurrent: variant.concurrent } } : {};
				// n jobs triggered at once: one execution per job (callback mode takes one item per run).
				const prompts = ideas(sizes.callbackJobs);
				const ourKey = addKey(sim, { plan: 'pro', ...limits });
				const cred = credential(sim, ourKey, 'pro');
				const runs = await Promise.all(
					prompts.map(async (idea) =>
						await runOurNode(
							cred,
							videoParameters({ waitForCompletion: true, waitMode: 'callback', downloadOutput: false }),
							[{ idea }],
							{ instanceBaseUrl: receiver.url, continueOnFail: true },
						),
					),
				);
				const ourJobs = runs
					.map((run) => run.items[0]?.json.jobId ?? (run.result.run.data.resultData.runData[NODE_NAME]?.[0]?.data?.main?.[0]?.[0]?.json?.jobId as string))
					.filter((id): id is string => typeof id === 'string');
				const statuses = [...new Set(runs.map((run) => run.result.status))].join(', ');
				const ourAccepted = traffic(sim, ourKey).accepted;

				const baseKey = addKey(sim, { plan: 'pro', ...limits });
				const options = { baseUrl: sim.url, apiKey: baseKey, timeScale: sizes.timeScale };
				const baseResults = await Promise.all(
					prompts.map(async (prompt) =>
						await submitWithRetry(options, {
							model: 'gemini-omni-video',
							prompt,
							resolution: '1080p',
							duration: 8,
							callbackUrl: `${receiver.url}/baseline`,
						}).then(
							(accepted) => accepted.jobId,
							() => undefined,
						),
					),
				);
				const baseAccepted = baseResults.filter((id) => id !== undefined).length;

				// Wait until every accepted job's callback arrived, then a while longer to catch duplicates.
				const expected = ourAccepted + baseAccepted;
				const deadline = Date.now() + T * (sizes.callbackJobs + 4);
				while (receiver.deliveries.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
				await new Promise((resolve) => setTimeout(resolve, T * 2));

				const perJob = (key: string, accepted: number) => {
					const requests = apiRequests(sim, key);
					const jobIds = new Set(submits(sim, key).filter((entry) => entry.status === 200).map((entry) => entry.jobId));
					const hooks = receiver.deliveries.filter((delivery) => jobIds.has(delivery.jobId));
					return {
						requestsPerJob: requests.length / accepted,
						rateLimited: requests.filter((entry) => entry.status === 429).length,
						hooksPerJob: hooks.length / accepted,
						allValid: hooks.every((delivery) => delivery.valid),
						distinct: new Set(hooks.map((delivery) => delivery.jobId)).size,
					};
				};
				const ours = perJob(ourKey, ourAccepted);
				const base = perJob(baseKey, baseAccepted);
				const n = sizes.callbackJobs;
				rows.push({
					figure: 'API requests per job, callback mode',
					scenario: `${n} jobs triggered at once, ${variant.label}`,
					ours: `${fmt(ours.requestsPerJob)} (${ourAccepted}/${n} accepted, ${ours.rateLimited}× 429)`,
					baseline: `${fmt(base.requestsPerJob)} (${baseAccepted}/${n} accepted, ${base.rateLimited}× 429)`,
					limit: '1',
					target: 'exactly 1',
					met: yesNo(ourAccepted === n && Math.abs(ours.requestsPerJob - 1) < 1e-9),
				});
				rows.push({
					figure: 'signed webhooks delivered per job, callback mode',
					scenario: `the same`,
					ours: `${fmt(ours.hooksPerJob)} (${ours.allValid ? 'all signatures valid' : 'INVALID signature'})`,
					baseline: `${fmt(base.hooksPerJob)} (${base.allValid ? 'all signatures valid' : 'INVALID signature'})`,
					limit: '1',
					target: 'exactly 1',
					met: yesNo(ourAccepted > 0 && Math.abs(ours.hooksPerJob - 1) < 1e-9 && ours.allValid),
				});
				notes.push(
					`Callback mode, ${variant.label}: our executions ended ${statuses}${ourJobs.length ? `; ${ourJobs.length} job IDs in the node output` : ''}; ` +
						`webhooks for ${ours.distinct} distinct jobs (ours) and ${base.distinct} (baseline).`,
				);
				if (ours.rateLimited > 0) {
					notes.push(
						`Callback mode, ${variant.label}: our extra requests are submits answered 429 "Concurrent job limit reached" (Retry-After honoured, so every job is accepted in the end). ` +
							`A paused execution holds no slot of the node's per-key JobGate, so nothing keeps the ${variant.concurrent ?? 5}-job limit on the client side between executions; ` +
							`the baseline (submitWithRetry, Retry-After ignored) loses the jobs instead.`,
					);
				}
				if (variant.assert) {
					if (Math.abs(ours.requestsPerJob - 1) > 1e-9 || ourAccepted !== n) {
						broken.push(`callback mode (${variant.label}): ${fmt(ours.requestsPerJob)} requests per job, ${ourAccepted}/${n} accepted`);
					}
					if (Math.abs(ours.hooksPerJob - 1) > 1e-9 || !ours.allValid) {
						broken.push(`callback mode (${variant.label}): ${fmt(ours.hooksPerJob)} webhooks per job`);
					}
				}
			} finally {
				await receiver.close();
			}
		});
	}
	return { rows, notes, broken };
}

// ---------------------------------------------------------------------------------------------
// Makespan of a batch on the plan's limits, and the 429s it earns.

export async function batches(sizes: Sizes): Promise<ScenarioResult> {
	const rows: Row[] = [];
	const notes: string[] = [];
	const broken: string[] = [];
	const T = 60_000 * sizes.timeScale;
	for (const variant of [
		{ plan: 'pro' as const, jobs: sizes.proJobs, concurrent: 5, label: 'Pro limits (5 concurrent, 30 req/min, 200 req/h)' },
		{ plan: 'premium' as const, jobs: sizes.premiumJobs, concurrent: 10, label: 'Premium limits (10 concurrent, 60 req/min, 500 req/h)' },
	]) {
		await withSimulator(sizes.timeScale, async (sim) => {
			const prompts = ideas(variant.jobs);
			const minimum = Math.ceil(variant.jobs / variant.concurrent) * T;

			const ourKey = addKey(sim, { plan: variant.plan });
			const run = await runOurNode(
				credential(sim, ourKey, variant.plan),
				videoParameters({ downloadOutput: false }),
				prompts.map((idea) => ({ idea })),
				{ continueOnFail: true },
			);
			const ours = traffic(sim, ourKey);
			const ourDone = run.items.filter((item) => item.json.status === 'done').length;
			const ourFailed = run.items.filter((item) => item.json.error !== undefined);
			const ourFailed429 = ourFailed.filter((item) => /429|rate limit|concurrent/i.test(`${item.json.error} ${item.json.httpCode}`)).length;
			const ourEnd = run.nodeStart + run.nodeMs;
			const ourRatio = (ourEnd - ours.firstSubmitAt) / minimum;
			const ourServerRatio = (ours.lastCompletionAt - ours.firstSubmitAt) / minimum;
			const ourPeak = sim.maxInFlight(ourKey.slice(-6));

			const baseKey = addKey(sim, { plan: variant.plan });
			const results = await bulkGenerate({ baseUrl: sim.url, apiKey: baseKey, timeScale: sizes.timeScale }, prompts, variant.concurrent);
			const baseEnd = Date.now();
			const base = traffic(sim, baseKey);
			const baseDone = results.filter((result) => result.status === 'done').length;
			const baseFailed = results.filter((result) => result.status === 'failed');
			const baseFailed429 = baseFailed.filter((result) => /Max retries exceeded|Timeout/.test(result.error ?? '')).length;
			const baseRatio = (baseEnd - base.firstSubmitAt) / minimum;

			const scenario = `${variant.jobs} jobs of 60 s on ${variant.label}`;
			rows.push({
				figure: 'makespan / theoretical minimum',
				scenario,
				ours: `${fmt(ourRatio)} (${ourDone}/${variant.jobs} done, ${ourFailed429} failed by 429)`,
				baseline: `${fmt(baseRatio)} (${baseDone}/${variant.jobs} done, ${baseFailed429} failed by 429)`,
				limit: `1.00 (= ceil(${variant.jobs}/${variant.concurrent})·T)`,
				target: variant.plan === 'pro' ? '≤ 1.10, 0 items failed by 429' : '≤ 1.10',
				met: yesNo(ourRatio <= 1.1 && ourDone === variant.jobs && ourFailed429 === 0),
			});
			rows.push({
				figure: '429 answers received',
				scenario,
				ours: `${ours.rateLimited} of ${ours.requests} requests (${pct(ours.rateLimited / ours.requests)})`,
				baseline: `${base.rateLimited} of ${base.requests} requests (${pct(base.rateLimited / base.requests)})`,
				limit: '0',
				target: '≤ 1 % of requests',
				met: yesNo(ours.rateLimited / ours.requests <= 0.01),
			});
			notes.push(
				`${variant.plan === 'pro' ? 'Pro' : 'Premium'} batch: T = ${T} ms (60 s × ${sizes.timeScale}), minimum ${minimum} ms. ` +
					`Makespan = first submit (simulator log) → end of the Gemini Omni node's run (n8n's executionTime) for ours, → bulkGenerate resolved for the baseline. ` +
					`Ours by the simulator's clock (first submit → last job's completedAt): ${fmt(ourServerRatio)}. ` +
					`Our peak jobs in flight: ${ourPeak}; requests ${ours.requests} (${fmt(ours.requests / Math.max(1, ourDone))} per done job); ` +
					`baseline requests ${base.requests} (${fmt(base.requests / Math.max(1, baseDone))} per done job).` +
					(baseFailed.length
						? ` Baseline failures: ${[...new Set(baseFailed.map((r) => r.error))].join('; ')}; both are 429s: "Max retries exceeded" = every submit attempt answered 429, ` +
							`"Timeout" = 60 polls, most answered 429, never saw the job done (a baseline ratio under 1.00 only means jobs were lost).`
						: ''),
			);
			if (ourDone !== variant.jobs) broken.push(`${variant.plan} batch: only ${ourDone}/${variant.jobs} of our jobs done`);
			if (ourPeak > variant.concurrent) broken.push(`${variant.plan} batch: ${ourPeak} jobs in flight > ${variant.concurrent}`);
		});
	}
	return { rows, notes, broken };
}

// ---------------------------------------------------------------------------------------------
// Peak RSS growth downloading one big output, each side in its own child process.

interface ChildMemory {
	mode: string;
	before: number;
	peak: number;
	growth: number;
	sampledPeak: number;
	hwm?: number;
	peakReset: boolean;
	bytes: number;
	ms: number;
	/** Largest growth of V8's heap (heapTotal) and of external + ArrayBuffer memory seen while sampling. */
	heapPeak: number;
	externalPeak: number;
}

async function runChild(mode: 'ours' | 'baseline' | 'reference', env: Record<string, string>): Promise<ChildMemory> {
	const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(__dirname, 'memory-child.ts'), mode], {
		cwd: path.resolve(__dirname, '..'),
		env: { ...process.env, ...env },
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let stdout = '';
	let stderr = '';
	child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
	child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
	const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
	const line = stdout.trim().split('\n').filter(Boolean).pop();
	if (code !== 0 || !line) throw new Error(`memory child "${mode}" exited ${code}: ${stderr.trim().slice(-2000)}`);
	return JSON.parse(line) as ChildMemory;
}

export async function memory(sizes: Sizes): Promise<ScenarioResult> {
	const notes: string[] = [];
	const broken: string[] = [];
	// The simulator serves from this process; the children only download. Jobs are done at once.
	return await withSimulator(sizes.timeScale, async (sim) => {
		const key = addKey(sim, { plan: 'pro' });
		const create = async (prompt: string) => {
			const response = await fetch(`${sim.url}/api/v1/generate`, {
				method: 'POST',
				headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
				body: JSON.stringify({ model: 'gemini-omni-video', prompt, resolution: '4k', duration: 8 }),
			});
			const { jobId } = (await response.json()) as { jobId: string };
			await new Promise((resolve) => setTimeout(resolve, 20));
			return { jobId, url: sim.getJob(jobId)!.outputUrl! };
		};
		const big = await create(`a 4k clip [sim:seconds=0] [sim:bytes=${sizes.memoryBytes}]`);
		const warm = await create('a small clip [sim:seconds=0]');
		const env = {
			BENCH_SIM_URL: sim.url,
			BENCH_API_KEY: key,
			BENCH_BIG_JOB: big.jobId,
			BENCH_WARM_JOB: warm.jobId,
			BENCH_BIG_URL: big.url,
			BENCH_WARM_URL: warm.url,
		};
		// Each peak depends on when V8 happens to collect, so every child runs `memoryRuns` times,
		// interleaved; the figure is the median, the range is shown.
		const runs: Record<'ours' | 'baseline' | 'reference', ChildMemory[]> = { ours: [], baseline: [], reference: [] };
		for (let i = 0; i < sizes.memoryRuns; i++) {
			for (const mode of ['ours', 'baseline', 'reference'] as const) runs[mode].push(await runChild(mode, env));
		}
		// Diagnostic: ours again with a minor GC every 10 ms, which frees dead chunks at once.
		const collected = sizes.smoke ? undefined : await runChild('ours', { ...env, BENCH_GC_EVERY_MS: '10' });
		const all = [...runs.ours, ...runs.baseline, ...runs.reference, ...(collected ? [collected] : [])];
		const sent = sim.log.filter((entry) => entry.kind === 'storage' && entry.path.includes(big.jobId)).map((entry) => entry.bytesSent);
		const complete =
			sent.length === all.length && sent.every((bytes) => bytes === sizes.memoryBytes) && all.every((run) => run.bytes === sizes.memoryBytes);
		if (!complete) broken.push(`memory: downloads incomplete (served ${sent.join(', ')}; stored ${all.map((run) => run.bytes).join(', ')})`);
		const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
		const summary = (list: ChildMemory[], pick: (run: ChildMemory) => number = (run) => run.growth) => {
			const values = list.map(pick);
			const range = values.length > 1 ? ` (median of ${values.length}: ${values.map((v) => (v / 1048576).toFixed(0)).join(', ')} MiB)` : '';
			return { median: median(values), text: `${mib(median(values))}${range}` };
		};
		const ours = summary(runs.ours);
		const base = summary(runs.baseline);
		const floor = summary(runs.reference);
		// Issue #13: the absolute 64 MiB of issue #7 is below Node's own floor here; the target is a ratio to it.
		const ratio = ours.median / floor.median;
		const size = sizes.memoryBytes >= 1024 ** 3 ? `${sizes.memoryBytes / 1024 ** 3} GiB` : mib(sizes.memoryBytes);
		const o = runs.ours[0];
		const b = runs.baseline[0];
		notes.push(
			`Memory: each side in its own child process (\`node --expose-gc --import tsx bench/memory-child.ts ours|baseline|reference\`), the simulator in the parent; ` +
				`every child is warmed up by two small downloads, then growth = peak RSS of the whole process (Linux VmHWM, reset via /proc/self/clear_refs right before the download, ` +
				`and process.memoryUsage().rss sampled every 5 ms) − RSS right before. ` +
				`Ours: Job → Download Output through the engine harness in filesystem binary mode (first run: RSS before ${mib(o.before)}, ${o.ms} ms, ` +
				`V8 heap growth ${mib(o.heapPeak)}, external memory (Buffers) ${mib(o.externalPeak)}); ` +
				`baseline: fetch + arrayBuffer() as the guide's §6 (first run: RSS before ${mib(b.before)}, ${b.ms} ms, V8 heap ${mib(b.heapPeak)}, external ${mib(b.externalPeak)}). ` +
				`Every download received all ${sizes.memoryBytes} bytes: ${complete ? 'yes' : '**NO**'}. ` +
				`Streaming floor in Node ("reference": Node's fetch piped straight to a file, no n8n): ${floor.text}. ` +
				(collected
					? `Cause of our growth: dead 64 KiB chunks waiting for V8, not data the node keeps: V8 collects for external memory only after ~64 MiB of it, and ` +
						`with a minor GC every 10 ms (diagnostic run, BENCH_GC_EVERY_MS=10) ours grows ${mib(collected.growth)}.`
					: ''),
		);
		return {
			rows: [
				{
					figure: 'peak RSS growth downloading one output, as a ratio to Node\'s streaming floor',
					scenario: `${size} output, n8n filesystem binary mode`,
					ours: `${fmt(ratio)}× (${ours.text})`,
					baseline: `${fmt(base.median / floor.median)}× (${base.text})`,
					limit: `1.00 (Node streaming floor, same run: ${floor.text})`,
					target: '≤ 1.10×',
					met: yesNo(ratio <= 1.1 && complete),
				},
			],
			notes,
			broken,
		};
	});
}

// ---------------------------------------------------------------------------------------------
// Node overhead per item: wait off, the simulator answering at once.

export async function overhead(sizes: Sizes): Promise<ScenarioResult> {
	const notes: string[] = [];
	const broken: string[] = [];
	const n = sizes.overheadItems;
	const sim = await startSimulator({ timeScale: sizes.timeScale });
	// The server never limits this key; the node's client budget uses the Premium plan's numbers with
	// its windows shrunk a million-fold (1 min → 0.06 ms, 1 h → 3.6 ms), so it never waits for a window.
	// What remains of it is real node behaviour: requests in flight count as "now", so at most 60 are in flight.
	useWindowScale(1e-6);
	try {
		const unlimited = { perMinute: 1e9, perHour: 1e9, concurrent: 1e9 };
		const freshKey = () => addKey(sim, { plan: 'premium', limits: unlimited });
		const prompts = ideas(n, '[sim:seconds=0]');
		const body = (prompt: string) => ({ model: 'gemini-omni-video', prompt, resolution: '1080p', duration: 8 });

		const ourRun = async (batch: string[]) => {
			const key = freshKey();
			const http = new HttpIntervals().start();
			const run = await runOurNode(credential(sim, key, 'premium'), videoParameters({ waitForCompletion: false }), batch.map((idea) => ({ idea })));
			http.stop();
			const accepted = run.items.filter((item) => item.json.status === 'accepted' || item.json.status === 'done').length;
			const inHttp = http.coveredMs(run.nodeStart, run.nodeStart + run.nodeMs);
			return { ms: run.nodeMs, inHttp, outside: 1 - inHttp / run.nodeMs, peak: http.peakConcurrency(), accepted, requests: apiRequests(sim, key).length };
		};
		// Raw fetch: the same requests, `concurrency` at a time.
		const rawFetch = async (batch: string[], concurrency: number): Promise<number> => {
			const key = freshKey();
			const started = now();
			const queue = [...batch];
			await Promise.all(
				Array.from({ length: Math.max(1, concurrency) }, async () => {
					for (let prompt = queue.shift(); prompt !== undefined; prompt = queue.shift()) {
						const response = await fetch(`${sim.url}/api/v1/generate`, {
							method: 'POST',
							headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
							body: JSON.stringify(body(prompt)),
						});
						await response.json();
					}
				}),
			);
			return now() - started;
		};
		// The guide's pattern doing the same: bulkGenerate (10 at once on Premium) of submitWithRetry.
		const guide = async (batch: string[]): Promise<number> => {
			const options = { baseUrl: sim.url, apiKey: freshKey(), timeScale: sizes.timeScale };
			const started = now();
			await bulkGenerate(options, batch, 10, async (prompt) => {
				await submitWithRetry(options, body(prompt));
				return '';
			});
			return now() - started;
		};

		// Warm-ups, so module loading and JIT are billed to nobody.
		const warm = prompts.slice(0, 100);
		const warmRun = await ourRun(warm);
		await rawFetch(warm, warmRun.peak);
		await guide(warm);

		// Interleaved repetitions; medians are reported.
		const ours: Array<Awaited<ReturnType<typeof ourRun>>> = [];
		const raw: number[] = [];
		const guided: number[] = [];
		for (let i = 0; i < sizes.overheadRuns; i++) {
			const run = await ourRun(prompts);
			ours.push(run);
			raw.push(await rawFetch(prompts, run.peak));
			guided.push(await guide(prompts));
			if (run.accepted !== n || run.requests !== n) broken.push(`overhead: ${run.accepted}/${n} accepted with ${run.requests} requests`);
		}
		const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
		const ourMs = median(ours.map((run) => run.ms));
		const outside = median(ours.map((run) => run.outside));
		const rawMs = median(raw);
		const baseMs = median(guided);
		const ratio = median(ours.map((run, i) => run.ms / raw[i]));
		const peak = Math.max(...ours.map((run) => run.peak));
		const list = (values: number[], digits = 0) => values.map((value) => fmt(value, digits)).join(', ');
		notes.push(
			`Overhead: ${n} items, Wait for Completion off, [sim:seconds=0], a key the simulator never limits; the node's budget on Premium numbers with setRateWindowScale(1e-6): ` +
				`its windows never make it wait, but requests in flight still count, so at most 60 are in flight (real node behaviour, kept). ` +
				`Node time = n8n's executionTime of the Gemini Omni node: ${list(ours.map((run) => run.ms))} ms in ${sizes.overheadRuns} run(s) (peak ${peak} requests in flight). ` +
				`"Outside HTTP" = share of that time with no request of ours in flight (client side, Node's http diagnostics_channel, request start → last response byte): ` +
				`${list(ours.map((run) => run.outside * 100), 1)} %. Raw fetch doing the same ${n} requests ${peak} at a time: ${list(raw)} ms; ` +
				`the guide's bulkGenerate (10 at once) of submitWithRetry: ${list(guided)} ms. The simulator runs in the same process for all three, so its own work is in every figure. ` +
				`The node's time beyond raw fetch that is not "outside HTTP" is spent while requests are in flight: n8n's request helper (axios) per request, and the node's per-item work overlapping them.`,
		);
		return {
			rows: [
				{
					figure: 'node overhead per item',
					scenario: `${n} items, wait off, simulator answering at once`,
					ours: `${fmt(ourMs / n, 3)} ms/item; ${pct(outside)} of the time outside HTTP; ${fmt(ratio)}× raw fetch's time`,
					baseline: `${fmt(baseMs / n, 3)} ms/item (guide, 10 at once); raw fetch ${peak} at a time: ${fmt(rawMs / n, 3)} ms/item`,
					limit: '—',
					target: 'report ms/item and share outside HTTP',
					met: 'reported',
				},
			],
			notes,
			broken,
		};
	} finally {
		await sim.close();
		useWindowScale(1);
	}
}
