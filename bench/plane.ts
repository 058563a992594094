/**
 * Issue #13: the requests / latency plane. Every contender (the vendor guide, the poll loops of the n8n
 * media nodes users know, our node at its default and at one documented setting) runs the same prompts
 * one job at a time, each on its own Premium key of one simulator, all contenders side by side. The
 * prompts carry the same directives, so job i runs exactly as long for every contender.
 *
 * One job at a time is how the n8n nodes run a batch (their routers await each item), and it is the
 * schedule alone: no contender meets the plan's request limits, so nobody's figures are 429 noise. How
 * our node keeps a batch of many jobs inside the Pro budget is measured after it (and in the batch rows).
 *
 * Latency = when the item is available − when the job was done on the server: the arrival of the first
 * check that was answered "done" (the simulator's log; the server's and this process's clock are one),
 * plus any wait the contender's code makes after that check. Requests = every API request of the key,
 * 429s included, per job done.
 */
import type { Simulator } from '../simulator';
import { startSimulator } from '../simulator';
import { apiRequests, fmt, submits } from './lib/measure';
import { addKey, credential, runOurNode, useWindowScale } from './lib/ours';
import { PEERS, type Peer } from './lib/peers';
import type { Row, ScenarioResult, Sizes } from './scenarios';

/** The one documented setting besides the default: Options → Check Interval Near Estimate = 2.5 s. */
export const FAST_CHECK_INTERVAL = 2.5;

/** The run-time cases, shared with the real-n8n loop (bench/n8n.ts). */
export const CASES = [
	{ label: 'exact', directives: '' },
	{ label: 'early (0.7×)', directives: '[sim:overrun=0.7]' },
	{ label: 'just late (1.01×)', directives: '[sim:overrun=1.01]' },
	{ label: 'late (1.5×)', directives: '[sim:overrun=1.5]' },
	{ label: 'lognormal σ 0.3', directives: '[sim:spread=0.3]' },
];
const LOGNORMAL = CASES[4].label;

interface Contender {
	name: string;
	ours: boolean;
	peer?: Peer;
	checkIntervalSeconds?: number;
}

const CONTENDERS: Contender[] = [
	...PEERS.map((peer) => ({ name: peer.name, ours: false, peer })),
	{ name: 'our node, default (8 s)', ours: true },
	{ name: `our node, Check Interval Near Estimate ${FAST_CHECK_INTERVAL} s`, ours: true, checkIntervalSeconds: FAST_CHECK_INTERVAL },
];

export interface PlanePoint {
	contender: string;
	caseLabel: string;
	jobs: number;
	done: number;
	/** Items whose job was accepted but never handed on as done (failed item, timeout). */
	lost: number;
	/** Items that failed before a job was accepted. */
	notSubmitted: number;
	requestsPerDone: number;
	rateLimited: number;
	meanLatency: number;
	p95Latency: number;
}

const prompts = (n: number, directives: string) => Array.from({ length: n }, (_, i) => `clip ${i} of the batch ${directives}`.trim());

const sleep = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms));

/** Latencies (API seconds) and counts for one key, from the simulator's log. */
export function measureKey(sim: Simulator, key: string, jobs: number, handedOn: number, trailingSeconds: number, scale: number) {
	const requests = apiRequests(sim, key);
	const accepted = submits(sim, key).filter((entry) => entry.status === 200 && entry.jobId);
	const latencies: number[] = [];
	for (const submit of accepted) {
		const completedAt = Date.parse(sim.getJob(submit.jobId!)?.completedAt ?? '');
		if (!Number.isFinite(completedAt)) continue;
		const seen = requests.find((entry) => entry.method === 'GET' && entry.jobId === submit.jobId && entry.status === 200 && entry.at >= completedAt);
		if (seen) latencies.push((seen.at - completedAt) / scale / 1000 + trailingSeconds);
	}
	latencies.sort((a, b) => a - b);
	const done = Math.min(handedOn, latencies.length);
	return {
		done,
		lost: accepted.length - done,
		notSubmitted: jobs - accepted.length,
		requestsPerDone: requests.length / Math.max(1, done),
		rateLimited: requests.filter((entry) => entry.status === 429).length,
		meanLatency: latencies.reduce((sum, value) => sum + value, 0) / Math.max(1, latencies.length),
		p95Latency: latencies.length ? latencies[Math.min(latencies.length - 1, Math.ceil(0.95 * latencies.length) - 1)] : NaN,
	};
}

async function runContender(sim: Simulator, contender: Contender, list: string[], scale: number): Promise<PlanePoint & { caseLabel: string }> {
	const key = addKey(sim, { plan: 'premium' });
	let handedOn = 0;
	for (const prompt of list) {
		if (contender.peer) {
			await contender.peer.run({ baseUrl: sim.url, apiKey: key, timeScale: scale }, prompt).then(
				() => handedOn++,
				() => undefined,
			);
		} else {
			const options = contender.checkIntervalSeconds ? { checkIntervalSeconds: contender.checkIntervalSeconds } : {};
			const run = await runOurNode(
				credential(sim, key, 'premium'),
				{ resource: 'video', operation: 'textToVideo', prompt: '={{ $json.idea }}', resolution: '1080p', duration: 8, downloadOutput: false, options },
				[{ idea: prompt }],
				{ continueOnFail: true },
			);
			if (run.items[0]?.json.status === 'done') handedOn++;
		}
	}
	return { contender: contender.name, caseLabel: '', jobs: list.length, ...measureKey(sim, key, list.length, handedOn, contender.peer?.trailingSeconds ?? 0, scale) };
}

/** Our node in a batch on Pro: all jobs at once, 5 running, inside 30 requests a minute and 200 an hour. */
async function ourProBatch(sim: Simulator, jobs: number, scale: number) {
	const key = addKey(sim, { plan: 'pro' });
	const run = await runOurNode(
		credential(sim, key, 'pro'),
		{ resource: 'video', operation: 'textToVideo', prompt: '={{ $json.idea }}', resolution: '1080p', duration: 8, downloadOutput: false },
		prompts(jobs, '[sim:spread=0.3]').map((idea) => ({ idea })),
		{ continueOnFail: true },
	);
	const handedOn = run.items.filter((item) => item.json.status === 'done').length;
	const figures = measureKey(sim, key, jobs, handedOn, 0, scale);
	// The most requests the server counted in any minute (and hour) window, by arrival.
	const times = apiRequests(sim, key).map((entry) => entry.at);
	const most = (windowMs: number) => Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + windowMs).length));
	return { ...figures, perMinute: most(60_000 * scale), perHour: most(3_600_000 * scale) };
}

/** An SVG of the lognormal plane: requests per job across, mean latency up, one dot per contender. */
function planeSvg(points: PlanePoint[]): string {
	const width = 720;
	const height = 420;
	const pad = { left: 60, right: 20, top: 30, bottom: 50 };
	const maxX = Math.max(...points.map((p) => p.requestsPerDone)) * 1.1;
	const maxY = Math.max(...points.map((p) => p.meanLatency)) * 1.15;
	const x = (v: number) => pad.left + (v / maxX) * (width - pad.left - pad.right);
	const y = (v: number) => height - pad.bottom - (v / maxY) * (height - pad.top - pad.bottom);
	const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
	const dots = points
		.map((p) => {
			const colour = p.contender.startsWith('our node') ? '#c2185b' : '#455a64';
			return (
				`<circle cx="${x(p.requestsPerDone).toFixed(1)}" cy="${y(p.meanLatency).toFixed(1)}" r="5" fill="${colour}"/>` +
				`<text x="${(x(p.requestsPerDone) + 8).toFixed(1)}" y="${(y(p.meanLatency) + 4).toFixed(1)}" font-size="12" fill="${colour}">${escape(p.contender)} (${fmt(p.requestsPerDone, 1)}, ${fmt(p.meanLatency, 1)} s)</text>`
			);
		})
		.join('\n');
	return [
		`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">`,
		`<rect width="100%" height="100%" fill="white"/>`,
		`<text x="${pad.left}" y="18" font-size="14">60 s jobs, run time = estimate × lognormal σ 0.3: lower left is better</text>`,
		`<line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="black"/>`,
		`<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" stroke="black"/>`,
		`<text x="${width / 2}" y="${height - 12}" font-size="12" text-anchor="middle">API requests per completed job</text>`,
		`<text x="16" y="${height / 2}" font-size="12" transform="rotate(-90 16 ${height / 2})" text-anchor="middle">mean latency after completion (s)</text>`,
		...[0, 0.25, 0.5, 0.75, 1].map(
			(f) =>
				`<text x="${x(f * maxX).toFixed(1)}" y="${height - pad.bottom + 16}" font-size="11" text-anchor="middle">${(f * maxX).toFixed(0)}</text>` +
				`<text x="${pad.left - 6}" y="${(y(f * maxY) + 4).toFixed(1)}" font-size="11" text-anchor="end">${(f * maxY).toFixed(1)}</text>`,
		),
		dots,
		'</svg>',
		'',
	].join('\n');
}

let lastLognormal: { default: PlanePoint; fast: PlanePoint } | undefined;

/** Our two points on the lognormal mix from the plane of this run, for contenders measured elsewhere (real n8n). */
export function ourLognormalPoints(): { default: PlanePoint; fast: PlanePoint } | undefined {
	return lastLognormal;
}

export async function plane(sizes: Sizes): Promise<ScenarioResult> {
	const rows: Row[] = [];
	const notes: string[] = [];
	const broken: string[] = [];
	const scale = sizes.planeScale;
	const points: PlanePoint[] = [];
	const sim = await startSimulator({ timeScale: scale });
	useWindowScale(scale);
	let pro: Awaited<ReturnType<typeof ourProBatch>>;
	try {
		for (const testCase of CASES) {
			const list = prompts(sizes.planeJobs, testCase.directives);
			// Side by side: each contender on its own key, so nobody's requests count against another's.
			const results = await Promise.all(CONTENDERS.map(async (contender) => await runContender(sim, contender, list, scale)));
			for (const result of results) points.push({ ...result, caseLabel: testCase.label });
			await sleep(10);
		}
		pro = await ourProBatch(sim, sizes.planeJobs, scale);
	} finally {
		await sim.close();
		useWindowScale(1);
	}

	const table = [
		'| case | contender | requests per done job | mean latency (s) | p95 latency (s) | done | jobs lost | not submitted | 429s |',
		'|---|---|---|---|---|---|---|---|---|',
		...points.map(
			(p) =>
				`| ${p.caseLabel} | ${p.contender} | ${fmt(p.requestsPerDone)} | ${fmt(p.meanLatency)} | ${fmt(p.p95Latency)} | ${p.done}/${p.jobs} | ${p.lost} | ${p.notSubmitted} | ${p.rateLimited} |`,
		),
	].join('\n');

	// Dominance on the lognormal mix: fewer requests per job AND no higher mean latency.
	const lognormal = points.filter((p) => p.caseLabel === LOGNORMAL);
	const ourDefault = lognormal.find((p) => p.contender === CONTENDERS.at(-2)!.name)!;
	const ourFast = lognormal.find((p) => p.contender === CONTENDERS.at(-1)!.name)!;
	lastLognormal = { default: ourDefault, fast: ourFast };
	const dominates = (ours: PlanePoint, peer: PlanePoint) =>
		ours.done === ours.jobs && ours.requestsPerDone < peer.requestsPerDone && ours.meanLatency <= peer.meanLatency;
	const dominance = [
		'| peer (lognormal σ 0.3) | peer: requests, mean latency | our default dominates? | our 2.5 s setting dominates? | met |',
		'|---|---|---|---|---|',
	];
	for (const peer of lognormal.filter((p) => !p.contender.startsWith('our node'))) {
		const byDefault = dominates(ourDefault, peer);
		const byFast = dominates(ourFast, peer);
		dominance.push(
			`| ${peer.contender} | ${fmt(peer.requestsPerDone)}, ${fmt(peer.meanLatency)} s | ${byDefault ? 'yes' : 'no'} (${fmt(ourDefault.requestsPerDone)}, ${fmt(ourDefault.meanLatency)} s) | ${byFast ? 'yes' : 'no'} (${fmt(ourFast.requestsPerDone)}, ${fmt(ourFast.meanLatency)} s) | ${byDefault || byFast ? 'yes' : '**NO**'} |`,
		);
		rows.push({
			figure: 'dominates on the requests / latency plane (fewer requests per job and no higher mean latency)',
			scenario: `${sizes.planeJobs} jobs of 60 s one at a time, run time = estimate × lognormal σ 0.3, against ${peer.contender}`,
			ours: `${byDefault ? 'default' : byFast ? `${FAST_CHECK_INTERVAL} s setting` : 'neither'}: ${fmt((byDefault || !byFast ? ourDefault : ourFast).requestsPerDone)} requests, ${fmt((byDefault || !byFast ? ourDefault : ourFast).meanLatency)} s`,
			baseline: `${fmt(peer.requestsPerDone)} requests, ${fmt(peer.meanLatency)} s`,
			limit: '—',
			target: 'default or the one documented setting dominates',
			met: byDefault || byFast ? 'yes' : '**NO**',
		});
	}
	const proOk = pro.rateLimited === 0 && pro.done === sizes.planeJobs && pro.perMinute <= 30 && pro.perHour <= 200;
	rows.push({
		figure: 'inside the plan budget: requests per job, latency, 429s',
		scenario: `${sizes.planeJobs} jobs at once on Pro (5 running), lognormal σ 0.3, our default`,
		ours: `${fmt(pro.requestsPerDone)} per job, mean ${fmt(pro.meanLatency)} s (p95 ${fmt(pro.p95Latency)} s), ${pro.done}/${sizes.planeJobs} done, ${pro.rateLimited}× 429, at most ${pro.perMinute} requests in a minute, ${pro.perHour} in an hour`,
		baseline: '—',
		limit: '30 per minute, 200 per hour',
		target: '0 × 429, every job done, ≤ 30/min, ≤ 200/h',
		met: proOk ? 'yes' : '**NO**',
	});

	for (const p of points) {
		if (p.contender.startsWith('our node') && p.done !== p.jobs) broken.push(`plane (${p.caseLabel}): ${p.contender} handed on ${p.done}/${p.jobs} jobs`);
		if (p.contender.startsWith('our node') && !(p.requestsPerDone < 60)) broken.push(`plane (${p.caseLabel}): ${p.contender} ${fmt(p.requestsPerDone)} requests per job`);
	}
	if (pro.rateLimited > 0 || pro.done !== sizes.planeJobs) broken.push(`plane, Pro batch: ${pro.done}/${sizes.planeJobs} done, ${pro.rateLimited}× 429`);

	notes.push(
		`Plane: ${sizes.planeJobs} jobs of 60 s per case, one at a time, each contender on its own Premium key of one simulator at time scale ${scale}, all contenders at once. ` +
			'Latency = arrival of the first check answered "done" − the job\'s completedAt (+ the 10 s the OpenAI node sleeps after that check), in API seconds. ' +
			`Our node: the engine harness, one item per execution, Download Output off; the 2.5 s setting is Options → Check Interval Near Estimate.`,
	);
	const sections = [
		'## The requests / latency plane (issue #13)',
		'',
		'Each peer\'s poll loop is reproduced from its code (bench/lib/peers.ts), durations × the time scale, error handling as in the code:',
		'',
		...PEERS.map((peer) => `- **${peer.name}**: ${peer.schedule}. Source: ${peer.source}`),
		'- **our node**: checks on a grid of Check Interval Near Estimate (default 8 s, at most a quarter of the estimate) through the estimate, from 0.55× to 2× it, then ×1.5 up to 60 s; checks before the estimate only while the key\'s request budget is less than two thirds used.',
		'',
		'![requests / latency plane](docs/benchmark-plane.svg)',
		'',
		dominance.join('\n'),
		'',
		table,
		'',
	];
	return { rows, notes, broken, sections, files: { 'docs/benchmark-plane.svg': planeSvg(lognormal) } };
}
