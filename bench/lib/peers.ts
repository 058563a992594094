/**
 * What users would pick instead of our node, reproduced from their code (read at the commits cited in
 * SOURCES) as poll loops over Node's fetch against the simulator. Only the waiting is reproduced: each
 * submits like the guide's generate body, then polls on its own schedule. Every duration is multiplied
 * by the simulator's time scale; nothing else is changed, including what each does with an error answer.
 *
 * Each resolves when the peer's code would hand the item on; `trailingSeconds` is a wait its code
 * makes after the check that saw the job done (the OpenAI node sleeps once more after that check).
 */
import { generateVideo } from './baseline';

export interface PeerOptions {
	baseUrl: string;
	apiKey: string;
	timeScale: number;
}

export interface Peer {
	name: string;
	/** One line: the schedule, what happens on an error answer, and how items are run. */
	schedule: string;
	source: string;
	/** Seconds (API time) the code waits after the check that saw the job done, before it returns. */
	trailingSeconds: number;
	run: (options: PeerOptions, prompt: string) => Promise<void>;
}

const sleep = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

async function submit(options: PeerOptions, prompt: string): Promise<string> {
	const response = await fetch(`${options.baseUrl}/api/v1/generate`, {
		method: 'POST',
		headers: { Authorization: `Bearer ${options.apiKey}`, 'Content-Type': 'application/json' },
		body: JSON.stringify({ model: 'gemini-omni-video', prompt, resolution: '1080p', duration: 8 }),
	});
	const body = (await response.json()) as { jobId?: string; error?: string };
	// None of the n8n nodes retries its submit: an error answer fails the item.
	if (!response.ok || !body.jobId) throw new Error(`submit answered ${response.status}: ${body.error ?? ''}`);
	return body.jobId;
}

async function check(options: PeerOptions, jobId: string): Promise<{ httpStatus: number; status?: string }> {
	const response = await fetch(`${options.baseUrl}/api/v1/jobs/${jobId}`, { headers: { Authorization: `Bearer ${options.apiKey}` } });
	const body = (await response.json().catch(() => ({}))) as { status?: string };
	return { httpStatus: response.status, status: body.status };
}

class PeerError extends Error {
	constructor(
		message: string,
		public readonly jobId?: string,
	) {
		super(message);
	}
}

function finished(status: string | undefined, jobId: string): boolean {
	if (status === 'failed') throw new PeerError('job failed', jobId);
	return status === 'done';
}

export const PEERS: Peer[] = [
	{
		name: 'vendor guide',
		schedule: 'sleep 3 s, check; 60 tries; a 429 is "not done yet"; submit retried 1, 2, 4 s (ignores Retry-After); its bulkGenerate runs 5 (10 on Premium) jobs at once, here one at a time like every contender',
		source: '../shared/seed/gemini-omni-developer-guide.txt §3, §5, §7, §8 (bench/lib/baseline.ts)',
		trailingSeconds: 0,
		run: async (options, prompt) => {
			await generateVideo(options, prompt);
		},
	},
	{
		name: 'n8n Google Gemini node (Veo)',
		schedule: 'sleep 5 s, check, until done; no deadline; an error answer (429 too) fails the item; items one after another',
		source:
			'n8n-io/n8n packages/@n8n/nodes-langchain/nodes/vendors/GoogleGemini/actions/video/generate.operation.ts @ 0f59eeaf5b824f4e5d6a66b6d3d199e0608af078; router.ts @ 07a851693285054f7c6b361d9f7d59099e39336c',
		trailingSeconds: 0,
		run: async (options, prompt) => {
			const jobId = await submit(options, prompt);
			for (;;) {
				await sleep(5000 * options.timeScale);
				const answer = await check(options, jobId);
				if (answer.httpStatus !== 200) throw new PeerError(`check answered ${answer.httpStatus}`, jobId);
				if (finished(answer.status, jobId)) return;
			}
		},
	},
	{
		name: 'n8n OpenAI node (Sora)',
		schedule: 'check at once, then sleep 10 s after every check (the one that saw it done too); 300 s Wait Timeout; an error answer fails the item; items one after another',
		source:
			'n8n-io/n8n packages/@n8n/nodes-langchain/nodes/vendors/OpenAi/v2/actions/video/generate.operation.ts @ 03444e9329eeea11178f5f212fdaaf12420b2d16; helpers/polling.ts @ 99a2fac856ce466095e0226722f9dce8f083f799; v2/actions/router.ts @ 07a851693285054f7c6b361d9f7d59099e39336c',
		trailingSeconds: 10,
		run: async (options, prompt) => {
			const jobId = await submit(options, prompt);
			const started = Date.now();
			for (;;) {
				if (Date.now() - started >= 300_000 * options.timeScale) throw new PeerError('Timeout reached', jobId);
				const answer = await check(options, jobId);
				if (answer.httpStatus !== 200) throw new PeerError(`check answered ${answer.httpStatus}`, jobId);
				const done = finished(answer.status, jobId);
				await sleep(10_000 * options.timeScale);
				if (done) return;
			}
		},
	},
	{
		name: 'Creatomate node',
		schedule: 'sleep 3 s ×1.5 up to 15 s, check; 3 h deadline; 429 and 5xx waited out, other 4xx fail; items one after another',
		source: 'Creatomate/n8n-nodes-creatomate nodes/Creatomate/Creatomate.node.ts @ 4377e087cdeb38b21b2328912603d34de08ed569',
		trailingSeconds: 0,
		run: async (options, prompt) => {
			const jobId = await submit(options, prompt);
			const deadline = Date.now() + 10_800_000 * options.timeScale;
			let interval = 3000;
			for (;;) {
				await sleep(Math.min(interval * options.timeScale, deadline - Date.now()));
				const answer = await check(options, jobId);
				if (answer.httpStatus >= 400 && answer.httpStatus < 500 && answer.httpStatus !== 429) throw new PeerError(`check answered ${answer.httpStatus}`, jobId);
				if (answer.httpStatus === 200 && finished(answer.status, jobId)) return;
				if (Date.now() >= deadline) throw new PeerError('The render did not finish in time', jobId);
				interval = Math.min(interval * 1.5, 15_000);
			}
		},
	},
	{
		name: 'JSON2Video node',
		schedule: 'sleep 5 s, check; from each elapsed minute ×1.5 (5, 8, 11, 17, 25, 30 s); 600 s timeout; a 4xx (429 too) fails the item, the 4th 5xx in a row fails it; items one after another',
		source:
			'JSON2Video/n8n-nodes-json2video nodes/Json2Video/helpers/polling.ts @ 761ffd3abb71bb5f9931391161a18c14c730fb9d; actions/movie/renderAndWait.ts @ 761ffd3abb71bb5f9931391161a18c14c730fb9d',
		trailingSeconds: 0,
		run: async (options, prompt) => {
			const jobId = await submit(options, prompt);
			const started = Date.now();
			const timeoutMs = 600_000 * options.timeScale;
			let failures = 0;
			for (;;) {
				const elapsed = Date.now() - started;
				const remaining = timeoutMs - elapsed;
				if (remaining <= 0) throw new PeerError('Timed out', jobId);
				const tier = Math.floor(elapsed / (60_000 * options.timeScale));
				const intervalSeconds = Math.max(5, Math.min(30, Math.round(5 * 1.5 ** tier)));
				await sleep(Math.min(intervalSeconds * 1000 * options.timeScale, remaining));
				const answer = await check(options, jobId);
				if (answer.httpStatus >= 400 && answer.httpStatus < 500) throw new PeerError(`check answered ${answer.httpStatus}`, jobId);
				if (answer.httpStatus >= 500) {
					if (++failures > 3) throw new PeerError('Lost contact', jobId);
					continue;
				}
				failures = 0;
				if (finished(answer.status, jobId)) return;
			}
		},
	},
];
