/**
 * What a failure does to the rest of a batch (issue #11): the paid jobs it leaves behind are named, a
 * stopped batch sends nothing more, uploads wait for their item's job slot, and a Retry-After longer
 * than the item may wait fails the item instead of putting it to sleep. Through n8n's engine, against
 * the simulator; every scenario uses a key of its own, so no job of another test holds its slots.
 */
import { randomBytes } from 'node:crypto';

import { Logger } from '@n8n/backend-common';
import { Container } from '@n8n/di';

import type { Simulator } from '../../simulator';
import { MAX_PARALLEL_DOWNLOADS } from '../../nodes/GeminiOmni/scheduler';
import { logOf, runGeminiNode, startTestSimulator } from './support';

let sim: Simulator;
beforeAll(async () => {
	sim = await startTestSimulator({ timeScale: 0.01 });
});
afterAll(async () => await sim.close());
beforeEach(() => {
	sim.clearFaults();
	sim.clearLog();
});

function freshCredential(plan: 'pro' | 'premium' = 'pro') {
	const key = `gomni_${randomBytes(32).toString('hex')}`;
	sim.addKey({ key, plan });
	return { type: 'geminiOmniApi', id: key.slice(-8), data: { apiKey: key, baseUrl: sim.url, plan } };
}
const generates = () => logOf(sim, { method: 'POST', path: '/api/v1/generate' });
const description = (error: unknown) => String((error as { description?: string } | undefined)?.description ?? '');

describe('a failure late in a batch (Continue On Fail off)', () => {
	it('names every accepted job of the batch with its state: the finished ones with their outputUrl', async () => {
		const prompts = [...Array.from({ length: 5 }, (_, i) => `quick ${i} [sim:seconds=2]`), 'late [sim:seconds=200] [sim:fail=Late failure]'];
		const { status, error } = await runGeminiNode(
			sim,
			{ resource: 'video', operation: 'textToVideo', prompt: '={{ $json.p }}' },
			{ credential: freshCredential(), items: prompts.map((p) => ({ p })), timeoutMs: 30_000 },
		);
		expect(status).toBe('error');
		const jobByPrompt = new Map(generates().map((entry) => [(entry.body as { prompt: string }).prompt, String(entry.jobId)]));
		expect(error?.message).toContain(`Job ${jobByPrompt.get(prompts[5])} failed: Late failure`);
		expect(error?.message).toMatch(/\[item 5\]$/);
		for (let i = 0; i < 5; i++) {
			const job = sim.getJob(jobByPrompt.get(prompts[i])!);
			expect(job?.status).toBe('done');
			expect(description(error)).toContain(`${job?.jobId} (item ${i}): done, outputUrl ${job?.outputUrl}`);
		}
		expect(description(error)).toMatch(/a Retry of this execution reuses them instead of paying again/);
	});

	it('a job still running is listed with the status its last check saw, not the one it was accepted with', async () => {
		const prompts = ['late [sim:seconds=300] [sim:fail=Late failure]', 'long [sim:seconds=100] [sim:overrun=10]'];
		const { error } = await runGeminiNode(
			sim,
			{ resource: 'video', operation: 'textToVideo', prompt: '={{ $json.p }}' },
			{ credential: freshCredential(), items: prompts.map((p) => ({ p })), timeoutMs: 30_000 },
		);
		const [, long] = generates();
		// Checked once at its estimate (1 s here) and seen generating, before item 0 failed at 3 s.
		expect(logOf(sim, { method: 'GET', path: `/api/v1/jobs/${long.jobId}` }).length).toBeGreaterThanOrEqual(1);
		expect(description(error)).toContain(`${long.jobId} (item 1): generating`);
	});
});

describe('a stopped batch sends nothing more', () => {
	it('a download still waiting for the storage’s answer is aborted by the stop, not waited for', async () => {
		// Item 0's output answers only after a minute; item 1 fails at 2 s and stops the batch.
		sim.injectFault({ method: 'GET', path: '/r2/omni/', delayMs: 60_000 });
		const prompts = ['quick [sim:seconds=1]', 'late [sim:seconds=200] [sim:fail=Late failure]'];
		const { status, error } = await runGeminiNode(
			sim,
			{ resource: 'video', operation: 'textToVideo', prompt: '={{ $json.p }}' },
			{ credential: freshCredential(), items: prompts.map((p) => ({ p })), timeoutMs: 15_000 },
		);
		expect(status).toBe('error');
		expect(error?.message).toMatch(/failed: Late failure/);
		const [quick] = generates();
		expect(description(error)).toContain(`${quick.jobId} (item 0): done, outputUrl`);
	}, 30_000);

	it('after the first error, an item sleeping out a 429’s Retry-After does not submit, and the error comes at once', async () => {
		// The first generate to arrive (item 0's) gets a 429 asking for 3 s; item 1 is invalid (400).
		sim.injectFault({ method: 'POST', path: '/api/v1/generate', status: 429, retryAfter: '3', body: { error: 'Rate limit exceeded' } });
		const startedAt = Date.now();
		const { status, error } = await runGeminiNode(
			sim,
			{ resource: 'video', operation: 'textToVideo', prompt: '={{ $json.p }}', resolution: '={{ $json.r }}', options: { maxConcurrentJobs: 2 } },
			{
				credential: freshCredential(),
				items: [{ p: 'fine', r: '720p' }, { p: 'bad', r: '8k' }, { p: 'next', r: '720p' }, { p: 'last', r: '720p' }],
				timeoutMs: 20_000,
			},
		);
		const tookMs = Date.now() - startedAt;
		expect(status).toBe('error');
		expect(error?.message).toMatch(/^Invalid request: .*\[item 1\]$/);
		// Reported before the 3 s Retry-After ran out, and nothing sent afterwards.
		expect(tookMs).toBeLessThan(3_000);
		await new Promise((resolve) => setTimeout(resolve, 3_500));
		// Two generates in all: item 0's (429, not resent) and item 1's (400); items 2 and 3 never sent.
		expect(generates().map((entry) => entry.status).sort()).toEqual([400, 429]);
		expect(sim.log.filter((entry) => entry.status === 200)).toEqual([]);
	}, 30_000);
});

describe('a submit in flight when the batch stops', () => {
	it('finishes, and its job is named in the error', async () => {
		// Item 0's generate is answered after 1 s; item 1 is refused at once (400) and stops the batch.
		sim.injectFault({ method: 'POST', path: '/api/v1/generate', delayMs: 1_000 });
		const { error } = await runGeminiNode(
			sim,
			{ resource: 'video', operation: 'textToVideo', prompt: '={{ $json.p }}', resolution: '={{ $json.r }}', options: { maxConcurrentJobs: 2 } },
			{ credential: freshCredential(), items: [{ p: 'slow answer [sim:seconds=3000]', r: '720p' }, { p: 'bad', r: '8k' }], timeoutMs: 20_000 },
		);
		expect(error?.message).toMatch(/^Invalid request: .*\[item 1\]$/);
		const created = generates().filter((entry) => entry.status === 200);
		expect(created).toHaveLength(1);
		expect(description(error)).toContain(`${created[0].jobId} (item 0): accepted`);
	});
});

describe('the user’s Stop', () => {
	it('logs every accepted job as a warning (n8n keeps none of the node’s output), and nothing is sent afterwards', async () => {
		const warn = jest.spyOn(Container.get(Logger), 'warn');
		const controller = new AbortController();
		const running = runGeminiNode(
			sim,
			{ resource: 'video', operation: 'textToVideo', prompt: '={{ $json.p }}' },
			{ credential: freshCredential(), items: [0, 1, 2, 3, 4, 5].map((i) => ({ p: `long ${i} [sim:seconds=3000]` })), abortSignal: controller.signal },
		);
		for (let i = 0; i < 100 && generates().filter((entry) => entry.status === 200).length < 5; i++) {
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
		controller.abort();
		const stoppedAt = Date.now();
		expect((await running).status).toBe('canceled');
		const accepted = generates().filter((entry) => entry.status === 200).map((entry) => String(entry.jobId));
		expect(accepted).toHaveLength(5);
		// n8n reports the run cancelled as soon as it aborts; the node finishes its own stop just after.
		await new Promise((resolve) => setTimeout(resolve, 1_000));
		const warnings = warn.mock.calls.map(([message]) => String(message)).filter((message) => message.startsWith('Gemini Omni: execution stopped'));
		expect(warnings).toHaveLength(1);
		// Every job the server accepted is named, or (its answer still on its way when the stop came, as on
		// a loaded machine) the item whose submit may have created it.
		for (const entry of generates().filter((generate) => generate.status === 200)) {
			const prompt = String((entry.body as { prompt?: string }).prompt);
			const itemIndex = Number(/long (\d+)/.exec(prompt)?.[1]);
			const named = warnings[0].includes(String(entry.jobId)) || new RegExp(`may have created a job.*item ${itemIndex}\\b`).test(warnings[0]);
			expect({ jobId: entry.jobId, itemIndex, named }).toEqual({ jobId: entry.jobId, itemIndex, named: true });
		}
		expect(sim.log.filter((entry) => entry.at > stoppedAt + 50)).toEqual([]);
		warn.mockRestore();
	});
});

describe('binary batches', () => {
	it('upload each item’s file inside its job slot, just before its submit', async () => {
		const photo = () => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(2_000)]);
		const { status } = await runGeminiNode(
			sim,
			{
				resource: 'video',
				operation: 'imageToVideo',
				prompt: 'Animate it [sim:seconds=2]',
				imageUrlSource: 'binary',
				imageUrlBinaryProperty: 'data',
				downloadOutput: false,
				options: { maxConcurrentJobs: 1 },
			},
			{
				credential: freshCredential(),
				items: [{}, {}, {}],
				binaries: [0, 1, 2].map(() => ({ data: { data: photo(), fileName: 'frame.png', mimeType: 'image/png' } })),
				timeoutMs: 20_000,
			},
		);
		expect(status).toBe('success');
		const order = sim.log
			.filter((entry) => entry.kind === 'upload' || (entry.method === 'POST' && entry.path === '/api/v1/generate'))
			.map((entry) => (entry.kind === 'upload' ? 'upload' : 'generate'));
		expect(order).toEqual(['upload', 'generate', 'upload', 'generate', 'upload', 'generate']);
	});
});

describe('Retry-After has an upper bound', () => {
	it('a poll answered 429 with Retry-After 86400 fails the item at once, saying why, instead of sleeping a day', async () => {
		sim.injectFault({ method: 'GET', path: '/api/v1/jobs/', status: 429, retryAfter: '86400', body: { error: 'Rate limit exceeded' } });
		const { status, error } = await runGeminiNode(
			sim,
			{ resource: 'video', operation: 'textToVideo', prompt: 'x [sim:seconds=2]', options: { maxWaitMinutes: 0.5 } },
			{ credential: freshCredential(), timeoutMs: 15_000 },
		);
		expect(status).toBe('error');
		expect(error?.message).toMatch(/the server asked to wait 86400 s \(Retry-After\), longer than/);
	});

	it('a generate answered 429 with a far HTTP date fails the item instead of stalling the key', async () => {
		sim.injectFault({ method: 'POST', path: '/api/v1/generate', status: 429, retryAfter: new Date(Date.now() + 86400_000).toUTCString() });
		const credential = freshCredential();
		const { error } = await runGeminiNode(sim, { resource: 'video', operation: 'textToVideo', prompt: 'x', waitForCompletion: false }, { credential, timeoutMs: 15_000 });
		expect(error?.message).toMatch(/Retry-After\), longer than the 10 minutes this node waits at most/);
		// The key's budget was not paused for a day: the next run on it goes straight through.
		const next = await runGeminiNode(sim, { resource: 'video', operation: 'textToVideo', prompt: 'y', waitForCompletion: false }, { credential, timeoutMs: 5_000 });
		expect(next.status).toBe('success');
	});
});

describe('downloads follow the API’s retry rules', () => {
	it('a storage 503 asking for 3 s is waited out, and the file arrives', async () => {
		sim.injectFault({ method: 'GET', path: '/r2/omni/', status: 503, retryAfter: '3', body: { error: 'Storage busy' } });
		const startedAt = Date.now();
		const { status, items } = await runGeminiNode(
			sim,
			{ resource: 'video', operation: 'textToVideo', prompt: 'x [sim:seconds=2]' },
			{ credential: freshCredential(), timeoutMs: 20_000 },
		);
		expect(status).toBe('success');
		expect(items[0].binary?.data.mimeType).toBe('video/mp4');
		const downloads = logOf(sim, { kind: 'storage' });
		expect(downloads.map((entry) => entry.status)).toEqual([503, 200]);
		expect(downloads[1].at - downloads[0].at).toBeGreaterThanOrEqual(2_900);
		expect(Date.now() - startedAt).toBeGreaterThanOrEqual(3_000);
	}, 30_000);
});

describe('a storage Retry-After longer than the node waits', () => {
	it('fails the download at once, saying how long the storage asked for', async () => {
		sim.injectFault({ method: 'GET', path: '/r2/omni/', status: 503, retryAfter: '86400', body: { error: 'Storage busy' } });
		const { status, error } = await runGeminiNode(
			sim,
			{ resource: 'video', operation: 'textToVideo', prompt: 'x [sim:seconds=2]' },
			{ credential: freshCredential(), timeoutMs: 10_000 },
		);
		expect(status).toBe('error');
		expect(error?.message).toMatch(/failed with HTTP 503: the storage asked to wait 86400 s \(Retry-After\), longer than the 10 minutes this node waits at most/);
		expect(logOf(sim, { kind: 'storage' })).toHaveLength(1);
	});
});

describe('batch downloads are bounded', () => {
	it('streams at most MAX_PARALLEL_DOWNLOADS outputs at once', async () => {
		const { status, items } = await runGeminiNode(
			sim,
			{ resource: 'video', operation: 'textToVideo', prompt: '={{ $json.p }}' },
			{ credential: freshCredential('premium'), items: Array.from({ length: 8 }, (_, i) => ({ p: `clip ${i} [sim:seconds=2] [sim:bytes=20971520]` })), binaryMode: 'filesystem', timeoutMs: 60_000 },
		);
		expect(status).toBe('success');
		expect(items.every((item) => item.binary?.data)).toBe(true);
		const spans = logOf(sim, { kind: 'storage' }).map((entry) => [entry.at, entry.endedAt ?? Infinity] as const);
		expect(spans).toHaveLength(8);
		const mostAtOnce = Math.max(...spans.map(([start]) => spans.filter(([s, e]) => s <= start && start < e).length));
		expect(mostAtOnce).toBeLessThanOrEqual(MAX_PARALLEL_DOWNLOADS);
		expect(mostAtOnce).toBeGreaterThan(1);
	}, 90_000);
});
