import { randomBytes } from 'node:crypto';
import type { KeyAccount } from './keys';
import type { JobStatus, SimJobView } from './types';
import type { GenerateRequest, Model, Resolution } from './validation';

/**
 * Directives let tests and real n8n workflows steer a job through its prompt or script text:
 *   [sim:fail]                       the job fails at the end of its run with a default error
 *   [sim:fail=Content policy: ...]   ... with that error text
 *   [sim:failonce] [sim:failonce=msg] only the first job with this exact text (per key) fails; later ones
 *                                    run normally, as a transient model failure would on a retry
 *   [sim:overrun=1.5]                the job runs 1.5x its estimate (the estimate is unchanged); 0.7 ends early
 *   [sim:spread=0.3]                 the run time is the estimate × a lognormal draw (σ 0.3, median 1), as real
 *                                    jobs scatter around their estimate; the draw is seeded by the prompt text,
 *                                    so the same prompt always runs as long (and a benchmark is repeatable)
 *   [sim:seed=7]                     another seed for the spread draw (the text is then not used)
 *   [sim:seconds=2]                  nominal duration 2 s (before timeScale); the estimate matches
 *   [sim:bytes=1073741824]           the output is that many bytes
 *   [sim:chunked]                    storage sends the output chunked, without Content-Length
 * The prompt is stored and echoed as sent; directives are only read, never stripped.
 */
export interface Directives {
	fail?: string;
	failOnce?: string;
	overrun?: number;
	spread?: number;
	seed?: number;
	seconds?: number;
	bytes?: number;
	chunked?: boolean;
}

export const DEFAULT_FAILURE = 'Generation failed: the model could not produce this output (simulated)';

const DIRECTIVE_PATTERN = /\[sim:(failonce|fail|overrun|spread|seed|seconds|bytes|chunked)(?:=([^\]]*))?\]/g;

export function parseDirectives(text: string): Directives {
	const directives: Directives = {};
	for (const match of text.matchAll(DIRECTIVE_PATTERN)) {
		const [, name, rawValue] = match;
		const value = rawValue?.trim();
		if (name === 'fail' || name === 'failonce') {
			directives[name === 'fail' ? 'fail' : 'failOnce'] = value ? value : DEFAULT_FAILURE;
			continue;
		}
		if (name === 'chunked') {
			directives.chunked = true;
			continue;
		}
		const number = Number(value);
		if (value === undefined || value === '' || !Number.isFinite(number) || number < 0) continue;
		if (name === 'overrun') directives.overrun = number;
		if (name === 'spread') directives.spread = number;
		if (name === 'seed') directives.seed = Math.floor(number);
		if (name === 'seconds') directives.seconds = number;
		if (name === 'bytes') directives.bytes = Math.floor(number);
	}
	return directives;
}

/**
 * How much longer (or shorter) than its estimate a job runs: overrun × exp(spread × Z), Z a standard
 * normal drawn from a PRNG seeded by [sim:seed] or the text, so runs are repeatable prompt by prompt.
 */
export function runFactor(directives: Directives, text: string): number {
	const overrun = directives.overrun ?? 1;
	if (!directives.spread) return overrun;
	const random = seededRandom(directives.seed ?? hashText(text));
	// Box-Muller; 1 - u keeps the logarithm finite.
	const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
	return overrun * Math.exp(directives.spread * z);
}

function hashText(text: string): number {
	let hash = 2166136261;
	for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619);
	return hash >>> 0;
}

/** mulberry32: small, fast and good enough to scatter run times. */
function seededRandom(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

/** One factor for cost, duration and output size: a 4k clip is much heavier than a 720p one. */
const RESOLUTION_FACTOR: Record<Resolution, number> = { '720p': 0.6, '1080p': 1, '4k': 2.5 };

/**
 * Credit cost, decided (the guide only shows 150 for a 1080p 8 s video):
 *   video      round(150 × duration/8 × resolution factor)   720p 0.6, 1080p 1, 4k 2.5
 *   character  the video cost × 1.2, rounded
 *   audio      10 + ceil(script characters / 50); lip-sync (videoUrl) adds 50
 */
export function creditCost(request: GenerateRequest): number {
	if (request.model === 'gemini-omni-audio') {
		return 10 + Math.ceil(request.text.length / 50) + (request.lipSync ? 50 : 0);
	}
	const video = 150 * (request.duration / 8) * RESOLUTION_FACTOR[request.resolution];
	return Math.round(request.model === 'gemini-omni-character' ? video * 1.2 : video);
}

/**
 * Nominal run time in seconds before timeScale: a 1080p 8 s video takes 60 s (the guide's example),
 * scaling like the cost; character × 1.2; speech 15 s, lip-sync 30 s. [sim:seconds=N] overrides.
 */
export function nominalSeconds(request: GenerateRequest, directives: Directives): number {
	if (directives.seconds !== undefined) return directives.seconds;
	if (request.model === 'gemini-omni-audio') return request.lipSync ? 30 : 15;
	const video = 60 * (request.duration / 8) * RESOLUTION_FACTOR[request.resolution];
	return request.model === 'gemini-omni-character' ? video * 1.2 : video;
}

/** Default outputs are small so tests stay fast; [sim:bytes=N] asks for a big one. */
export function outputBytes(request: GenerateRequest, directives: Directives): number {
	if (directives.bytes !== undefined) return directives.bytes;
	if (request.model === 'gemini-omni-audio') return 64 * 1024;
	return Math.round(256 * 1024 * RESOLUTION_FACTOR[request.resolution] * (request.duration / 8));
}

/**
 * Decided: text-to-speech yields audio/mpeg; lip-sync (an audio job with a character clip) yields the
 * synced clip, a video/mp4, like the video models.
 */
export function outputKind(job: Pick<Job, 'model' | 'lipSync'>): { extension: 'mp3' | 'mp4'; mimeType: string } {
	return job.model === 'gemini-omni-audio' && !job.lipSync
		? { extension: 'mp3', mimeType: 'audio/mpeg' }
		: { extension: 'mp4', mimeType: 'video/mp4' };
}

export interface Job {
	id: string;
	account: KeyAccount;
	model: Model;
	/** An audio job with a videoUrl: its output is the lip-synced clip. */
	lipSync?: boolean;
	createdAt: number;
	/** Actual run time in ms, after timeScale and overrun. */
	durationMs: number;
	finishAt: number;
	estimatedSeconds: number;
	/** Charged at acceptance; set to 0 when a failed job is refunded. */
	creditCost: number;
	failure?: string;
	outputBytes: number;
	/** Storage omits Content-Length (chunked transfer), as some CDNs do. */
	chunkedOutput?: boolean;
	callbackUrl?: string;
	/** True once the finish side effects (refund, signed URL, webhook) ran. */
	settled: boolean;
	outputUrl?: string;
	/** The final webhook event, serialised once so retries and redeliveries send identical bytes. */
	finalEvent?: { event: string; body: string; signature: string };
}

export function newJobId(): string {
	return 'job_' + randomBytes(10).toString('hex');
}

/** Status follows the clock so it is exact however late a timer fires: accepted for the first 10 %. */
export function jobStatus(job: Job, now: number): JobStatus {
	if (now >= job.finishAt) return job.failure !== undefined ? 'failed' : 'done';
	return now - job.createdAt < job.durationMs * 0.1 ? 'accepted' : 'generating';
}

export function jobView(job: Job, now: number): SimJobView {
	const status = jobStatus(job, now);
	const view: SimJobView = {
		jobId: job.id,
		status,
		model: job.model,
		creditCost: status === 'failed' ? 0 : job.creditCost,
		createdAt: new Date(job.createdAt).toISOString(),
		estimatedSeconds: job.estimatedSeconds,
	};
	if (status === 'done' && job.outputUrl) view.outputUrl = job.outputUrl;
	if (status === 'done' || status === 'failed') view.completedAt = new Date(job.finishAt).toISOString();
	if (status === 'failed') view.error = job.failure;
	return view;
}
