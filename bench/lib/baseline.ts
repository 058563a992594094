/**
 * The baseline: the naive integration the vendor's developer guide shows
 * (../shared/seed/gemini-omni-developer-guide.txt §3 pollJob, §5 submitWithRetry, §7 generateVideo,
 * §8 bulkGenerate, §6 ingest via arrayBuffer), written by us from that text with Node's fetch. Every
 * duration is multiplied by the simulator's time scale, nothing else is changed:
 *  - submit with submitWithRetry: 3 retries after 1 s, 2 s, 4 s; retries 429 and 5xx, ignores Retry-After;
 *  - poll: sleep 3 s, GET the job, up to 60 tries (a 429 answer is just "not done yet", as in the guide);
 *  - batches: a queue with `concurrency` jobs in flight (5 on Pro, "adjust to match your plan": 10 on Premium);
 *  - output: fetched whole into memory with arrayBuffer().
 */

export interface BaselineOptions {
	baseUrl: string;
	apiKey: string;
	/** The simulator's time scale: 3 s becomes 3000 × timeScale ms. */
	timeScale: number;
}

const sleep = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms));

/** §5 submitWithRetry, with the payload's callbackUrl when given. */
export async function submitWithRetry(options: BaselineOptions, payload: object, maxRetries = 3): Promise<{ jobId: string }> {
	for (let attempt = 0; attempt <= maxRetries; attempt++) {
		const res = await fetch(`${options.baseUrl}/api/v1/generate`, {
			method: 'POST',
			headers: { Authorization: `Bearer ${options.apiKey}`, 'Content-Type': 'application/json' },
			body: JSON.stringify(payload),
		});
		if (res.ok) return (await res.json()) as { jobId: string };
		const status = res.status;
		const text = await res.text();
		// Don't retry client errors (except 429)
		if (status >= 400 && status < 500 && status !== 429) throw new Error(`Client error ${status}: ${text}`);
		if (attempt < maxRetries) await sleep(Math.pow(2, attempt) * 1000 * options.timeScale); // 1s, 2s, 4s
	}
	throw new Error('Max retries exceeded');
}

/** §7 generateVideo (poll loop of §3) with §5's submit: resolves with the outputUrl. */
export async function generateVideo(options: BaselineOptions, prompt: string): Promise<string> {
	const { jobId } = await submitWithRetry(options, { model: 'gemini-omni-video', prompt, resolution: '1080p', duration: 8 });
	for (let i = 0; i < 60; i++) {
		await sleep(3000 * options.timeScale);
		const pollRes = await fetch(`${options.baseUrl}/api/v1/jobs/${jobId}`, {
			headers: { Authorization: `Bearer ${options.apiKey}` },
		});
		const job = (await pollRes.json()) as { status?: string; outputUrl?: string; error?: string };
		if (job.status === 'done') return job.outputUrl!;
		if (job.status === 'failed') throw new Error(`Job failed: ${job.error}`);
	}
	throw new Error('Timeout');
}

export interface BulkResult {
	prompt: string;
	url?: string;
	error?: string;
	status: 'done' | 'failed';
}

/** §8 bulkGenerate: a queue with `concurrency` jobs in flight. `work` defaults to generateVideo. */
export async function bulkGenerate(
	options: BaselineOptions,
	prompts: string[],
	concurrency: number,
	work: (prompt: string) => Promise<string> = async (prompt) => await generateVideo(options, prompt),
): Promise<BulkResult[]> {
	const results: BulkResult[] = [];
	const queue = [...prompts];
	const inFlight = new Set<Promise<void>>();
	while (queue.length > 0 || inFlight.size > 0) {
		while (queue.length > 0 && inFlight.size < concurrency) {
			const prompt = queue.shift()!;
			const promise: Promise<void> = work(prompt)
				.then((url) => {
					results.push({ prompt, url, status: 'done' });
				})
				.catch((err: Error) => {
					results.push({ prompt, error: err.message, status: 'failed' });
				})
				.finally(() => inFlight.delete(promise));
			inFlight.add(promise);
		}
		if (inFlight.size > 0) await Promise.race(inFlight);
	}
	return results;
}

/** §6: the output fetched whole into memory. */
export async function downloadWhole(outputUrl: string): Promise<Buffer> {
	const response = await fetch(outputUrl);
	const buffer = await response.arrayBuffer();
	return Buffer.from(buffer);
}
