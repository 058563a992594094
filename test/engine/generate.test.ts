/**
 * The generate operations through n8n's real engine against the simulator: exact request bodies,
 * binary inputs, waiting, downloading, errors, and a batch inside the Pro plan's limits.
 */
import { createHash, randomBytes } from 'node:crypto';

import { setRateWindowScale } from '../../nodes/GeminiOmni/scheduler/limits';
import type { Simulator } from '../../simulator';
import { createJob, keyTail, logOf, runGeminiNode, startTestSimulator } from './support';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let sim: Simulator;
beforeAll(async () => {
	sim = await startTestSimulator({ timeScale: 0.01 });
});
afterAll(async () => await sim.close());
beforeEach(() => {
	sim.clearFaults();
	sim.clearLog();
});

const noWait = { waitForCompletion: false };
const submitted = () => logOf(sim, { method: 'POST', path: '/api/v1/generate' });
const polls = (jobId: string, on = sim) => logOf(on, { method: 'GET', path: `/api/v1/jobs/${jobId}` });

/**
 * Runs `test` against a simulator of its own at time scale 0.1, for the tests about where the checks
 * fall: at this file's 0.01 a grid step is 80 ms, which a timer on a loaded machine (npm test runs four
 * files at once) can overshoot, and a late check moves to the next grid point; at 0.1 it is 800 ms.
 */
async function atTenthSpeed(test: (slowSim: Simulator) => Promise<void>): Promise<void> {
	const slowSim = await startTestSimulator({ timeScale: 0.1 });
	try {
		await test(slowSim);
	} finally {
		await slowSim.close();
		setRateWindowScale(sim.timeScale);
	}
}

describe('request bodies, exactly as the contract lists them', () => {
	it.each([
		[
			'Video → Text to Video',
			{ resource: 'video', operation: 'textToVideo', prompt: 'A lighthouse in a storm', resolution: '720p', duration: 6 },
			{ model: 'gemini-omni-video', prompt: 'A lighthouse in a storm', resolution: '720p', duration: 6 },
		],
		[
			'Video → Image to Video',
			{ resource: 'video', operation: 'imageToVideo', prompt: 'The beam sweeps', imageUrl: 'https://cdn.example.com/frame.jpg' },
			{ model: 'gemini-omni-video', prompt: 'The beam sweeps', imageUrl: 'https://cdn.example.com/frame.jpg', resolution: '1080p', duration: 8 },
		],
		[
			'Character → Generate Video',
			{ resource: 'character', operation: 'generateVideo', prompt: 'Presenting', referenceUrl: 'https://cdn.example.com/face.png', resolution: '4k', duration: 12 },
			{ model: 'gemini-omni-character', prompt: 'Presenting', referenceUrl: 'https://cdn.example.com/face.png', resolution: '4k', duration: 12 },
		],
		[
			'Audio → Text to Speech',
			{ resource: 'audio', operation: 'textToSpeech', script: 'Bonjour à tous', language: 'fr-FR', voiceProfile: 'narrator' },
			{ model: 'gemini-omni-audio', script: 'Bonjour à tous', language: 'fr-FR', voiceProfile: 'narrator' },
		],
		[
			'Audio → Lip-Sync',
			{ resource: 'audio', operation: 'lipSync', script: 'Welcome', videoUrl: 'https://cdn.example.com/clip.mp4' },
			{ model: 'gemini-omni-audio', script: 'Welcome', language: 'en-US', voiceProfile: 'professional-male', videoUrl: 'https://cdn.example.com/clip.mp4' },
		],
	])('%s', async (_label, parameters, expectedBody) => {
		const { status, items } = await runGeminiNode(sim, { ...parameters, ...noWait });
		expect(status).toBe('success');
		const [request] = submitted();
		expect(request.body).toEqual(expectedBody);
		expect(request.status).toBe(200);
		// Wait off: the accepted job at once, nothing polled.
		expect(items[0].json).toMatchObject({ jobId: request.jobId, status: 'accepted', model: expectedBody.model });
		expect(typeof items[0].json.creditCost).toBe('number');
		expect(typeof items[0].json.estimatedSeconds).toBe('number');
		expect(logOf(sim, { method: 'GET' })).toHaveLength(0);
	});

	it('sends typed "Other" values, custom voice and language, and the callback URL', async () => {
		await runGeminiNode(sim, {
			resource: 'audio',
			operation: 'textToSpeech',
			script: 'Hej',
			language: 'other',
			customLanguage: 'sv-SE',
			voiceProfile: 'other',
			customVoiceProfile: 'warm-female',
			options: { callbackUrl: 'https://n8n.example.com/webhook/omni' },
			...noWait,
		});
		expect(submitted()[0].body).toEqual({
			model: 'gemini-omni-audio',
			script: 'Hej',
			language: 'sv-SE',
			voiceProfile: 'warm-female',
			callbackUrl: 'https://n8n.example.com/webhook/omni',
		});
	});

	it('evaluates expressions per item', async () => {
		const { items } = await runGeminiNode(
			sim,
			{ resource: 'video', operation: 'textToVideo', prompt: '={{ $json.idea }}', duration: '={{ $json.seconds }}', ...noWait },
			{ items: [{ idea: 'first', seconds: 4 }, { idea: 'second', seconds: 16 }] },
		);
		// Jobs of earlier tests may still hold the Pro plan's 5 slots: 429s are retried, so count accepted ones.
		const bodies = submitted()
			.filter((entry) => entry.status === 200)
			.map((entry) => entry.body as Record<string, unknown>);
		expect(bodies.map((body) => [body.prompt, body.duration]).sort()).toEqual([
			['first', 4],
			['second', 16],
		]);
		expect(items.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
	});
});

describe('values refused before any request', () => {
	it.each([['abc'], ['8.5'], [7.5]])('a Duration of %p (e.g. from an expression) names the field and sends nothing', async (duration) => {
		const { error } = await runGeminiNode(sim, { resource: 'video', operation: 'textToVideo', prompt: 'x', duration, ...noWait });
		expect(error?.message).toBe(`Duration must be a whole number of seconds from 4 to 16, not "${duration}" [item 0]`);
		expect(sim.log).toHaveLength(0);
	});

	it('a Duration given as a numeric string is sent as a number', async () => {
		await runGeminiNode(sim, { resource: 'video', operation: 'textToVideo', prompt: 'x', duration: ' 12 ', ...noWait });
		expect(submitted()[0].body).toMatchObject({ duration: 12 });
	});
});

describe('server errors reach the user with the server’s text', () => {
	it('400: an unsupported typed resolution', async () => {
		const { error } = await runGeminiNode(sim, {
			resource: 'video',
			operation: 'textToVideo',
			prompt: 'x',
			resolution: 'other',
			customResolution: '8k',
			...noWait,
		});
		const serverText = submitted()[0].error;
		expect(serverText).toMatch(/resolution/);
		expect(error?.message).toContain(`Invalid request: ${serverText}`);
		expect(submitted()).toHaveLength(1);
	});

	it('402: insufficient credits, with the action to take', async () => {
		const { error } = await runGeminiNode(
			sim,
			{ resource: 'video', operation: 'textToVideo', prompt: 'x', ...noWait },
			{ credential: { type: 'geminiOmniApi', id: 'broke', data: { apiKey: sim.keys.noCredits, baseUrl: sim.url, plan: 'pro' } } },
		);
		// The server's text already says "Insufficient credits": said once.
		expect(submitted()[0].error).toMatch(/^Insufficient credits/);
		expect(error?.message).toBe(`${submitted()[0].error} [item 0]`);
		expect((error as { description?: string }).description).toMatch(/Top up credits or upgrade the plan/);
		expect(submitted()).toHaveLength(1);
	});
});

describe('binary inputs', () => {
	it('uploads a binary byte-exact and uses its URL in the job (filesystem binary mode, streamed)', async () => {
		const photo = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(300_000), Buffer.from('\r\n--boundary\r\n')]);
		const { status, items } = await runGeminiNode(
			sim,
			{ resource: 'character', operation: 'generateVideo', prompt: 'Hello', referenceUrlSource: 'binary', referenceUrlBinaryProperty: 'face', ...noWait },
			{ binaries: [{ face: { data: photo, fileName: 'face.png', mimeType: 'image/png' } }], binaryMode: 'filesystem' },
		);
		expect(status).toBe('success');
		const [upload] = logOf(sim, { kind: 'upload' });
		expect(upload.status).toBe(200);
		expect(upload.upload).toMatchObject({ sha256: sha256(photo), size: photo.length, mimeType: 'image/png', filename: 'face.png' });
		const body = submitted()[0].body as Record<string, string>;
		expect(body.referenceUrl).toMatch(/\/r2\/uploads\//);
		// The URL in the job serves exactly the uploaded bytes.
		const served = Buffer.from(await (await fetch(body.referenceUrl)).arrayBuffer());
		expect(sha256(served)).toBe(sha256(photo));
		expect(items[0].json.jobId).toBe(submitted()[0].jobId);
	});

	it('uploads an MP4 clip for lip-sync from an in-memory binary', async () => {
		const clip = Buffer.concat([Buffer.from('0000001866747970', 'hex'), Buffer.from('mp42'), randomBytes(50_000)]);
		await runGeminiNode(
			sim,
			{ resource: 'audio', operation: 'lipSync', script: 'Hi', videoUrlSource: 'binary', videoUrlBinaryProperty: 'clip', ...noWait },
			{ binaries: [{ clip: { data: clip, fileName: 'clip.mp4', mimeType: 'video/mp4' } }] },
		);
		expect(logOf(sim, { kind: 'upload' })[0].upload?.sha256).toBe(sha256(clip));
		expect((submitted()[0].body as Record<string, string>).videoUrl).toMatch(/\/r2\/uploads\//);
	});

	it('names the item once when the input binary field is missing', async () => {
		const { error } = await runGeminiNode(sim, {
			resource: 'video',
			operation: 'imageToVideo',
			prompt: 'x',
			imageUrlSource: 'binary',
			imageUrlBinaryProperty: 'photo',
			...noWait,
		});
		expect(error?.message).toMatch(/photo/);
		expect(error?.message.match(/\[item 0\]/g)).toHaveLength(1);
		expect(sim.log).toHaveLength(0);
	});

	it('refuses a wrong file type before sending anything', async () => {
		const { error } = await runGeminiNode(
			sim,
			{ resource: 'video', operation: 'imageToVideo', prompt: 'x', imageUrlSource: 'binary', imageUrlBinaryProperty: 'data', ...noWait },
			{ binaries: [{ data: { data: Buffer.from('not an image'), fileName: 'notes.txt', mimeType: 'text/plain' } }] },
		);
		expect(error?.message).toMatch(/is text\/plain, but this field needs a JPEG, PNG or WebP image/);
		expect(sim.log).toHaveLength(0);
	});

	it.each([['default'], ['filesystem']] as const)('refuses a PDF labelled image/jpeg by its content, before uploading (%s binary mode)', async (binaryMode) => {
		const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(200_000)]);
		const { error } = await runGeminiNode(
			sim,
			{ resource: 'video', operation: 'imageToVideo', prompt: 'x', imageUrlSource: 'binary', imageUrlBinaryProperty: 'data', ...noWait },
			{ binaries: [{ data: { data: pdf, fileName: 'photo.jpg', mimeType: 'image/jpeg' } }], binaryMode },
		);
		expect(error?.message).toMatch(/\(photo\.jpg\) is labelled image\/jpeg, but its content is not a JPEG, PNG or WebP image/);
		expect(sim.log).toHaveLength(0);
	});

	it('uploads a PNG labelled image/jpeg with the type its content shows', async () => {
		const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(1000)]);
		await runGeminiNode(
			sim,
			{ resource: 'file', operation: 'upload', binaryPropertyName: 'data', fileKind: 'image' },
			{ binaries: [{ data: { data: png, fileName: 'a.jpg', mimeType: 'image/jpeg' } }] },
		);
		expect(logOf(sim, { kind: 'upload' })[0].upload?.mimeType).toBe('image/png');
	});

	it('File → Upload returns url, mimeType and size', async () => {
		const image = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), randomBytes(1000)]);
		const { items } = await runGeminiNode(
			sim,
			{ resource: 'file', operation: 'upload', binaryPropertyName: 'data', fileKind: 'image' },
			{ binaries: [{ data: { data: image, fileName: 'a.jpg', mimeType: 'image/jpeg' } }] },
		);
		expect(items[0].json).toMatchObject({ mimeType: 'image/jpeg', size: image.length });
		expect(sha256(Buffer.from(await (await fetch(String(items[0].json.url))).arrayBuffer()))).toBe(sha256(image));
	});
});

describe('waiting and the output file', () => {
	it('checks on a grid that passes through the estimate (the check at the estimate sees it done), then streams the output into a binary', async () => {
		await atTenthSpeed(async (slowSim) => {
			const result = await runGeminiNode(slowSim, { resource: 'video', operation: 'textToVideo', prompt: 'A calm sea' }, { binaryMode: 'filesystem' });
			expect(result.status).toBe('success');
			const [item] = result.items;
			const jobId = String(item.json.jobId);
			expect(item.json).toMatchObject({ status: 'done', model: 'gemini-omni-video' });
			expect(Date.parse(String(item.json.expiresAt)) - Date.parse(String(item.json.completedAt))).toBe(7 * 86400_000);
			// 60 s estimate, 8 s grid (× the 0.1 time scale): 36, 44, 52 s while the budget has room, then 60 s.
			const checks = polls(jobId, slowSim).map((entry) => entry.at);
			const completedAt = Date.parse(String(item.json.completedAt));
			expect(checks).toHaveLength(4);
			expect(checks.slice(0, 3).every((at) => at < completedAt)).toBe(true);
			expect(checks[3]).toBeGreaterThanOrEqual(completedAt);
			const binary = item.binary!.data;
			expect(binary).toMatchObject({ fileName: `${jobId}.mp4`, mimeType: 'video/mp4' });
			expect(binary.id).toBeDefined(); // in the filesystem store, not inline base64
			const [download] = logOf(slowSim, { kind: 'storage' });
			const bytes = await result.binaryBuffer(item, 'data');
			expect(bytes.length).toBe(download.bytesSent);
			expect(bytes.subarray(4, 8).toString()).toBe('ftyp');
			expect(download.key).toBeUndefined(); // outputs are fetched without the API key
		});
	});

	it('names the file .mp3 for text to speech and uses the chosen binary property', async () => {
		const { items } = await runGeminiNode(sim, {
			resource: 'audio',
			operation: 'textToSpeech',
			script: 'Hello',
			binaryPropertyName: 'voice',
		});
		expect(items[0].binary!.voice).toMatchObject({ fileName: `${items[0].json.jobId}.mp3`, mimeType: 'audio/mpeg' });
	});

	it('keeps checking every interval a job that runs past its estimate, and sees it done within one interval', async () => {
		await atTenthSpeed(async (slowSim) => {
			const { items } = await runGeminiNode(slowSim, { resource: 'video', operation: 'textToVideo', prompt: 'slow [sim:overrun=1.5]', downloadOutput: false });
			expect(items[0].json.status).toBe('done');
			const checks = polls(String(items[0].json.jobId), slowSim).map((entry) => entry.at);
			const completedAt = Date.parse(String(items[0].json.completedAt));
			// Done at 90 s (9 s here); the grid 36, 44, … 84, then 92 s sees it.
			expect(checks.slice(0, -1).every((at) => at < completedAt)).toBe(true);
			expect(checks.at(-1)! - completedAt).toBeGreaterThanOrEqual(0);
			expect(checks.at(-1)! - completedAt).toBeLessThan(2 * 800);
			expect(checks.length).toBeGreaterThanOrEqual(7);
			expect(checks.length).toBeLessThanOrEqual(9);
		});
	});

	it('stops at the maximum wait with an error naming the job, which is not lost', async () => {
		const { items } = await runGeminiNode(
			sim,
			{ resource: 'video', operation: 'textToVideo', prompt: 'very slow [sim:seconds=200]', options: { maxWaitMinutes: 0.01 } },
			{ continueOnFail: true },
		);
		const jobId = submitted()[0].jobId!;
		expect(items[0].json.error).toMatch(new RegExp(`Job ${jobId} was still "(accepted|generating)" after waiting`));
		expect(items[0].json).toMatchObject({ jobId, model: 'gemini-omni-video' });
		// One check at the deadline, none after it.
		expect(polls(jobId)).toHaveLength(1);
	});

	it('refuses an output over Max Output Size, naming the job, without downloading it', async () => {
		const { items } = await runGeminiNode(
			sim,
			{ resource: 'video', operation: 'textToVideo', prompt: 'big [sim:bytes=268435456]', options: { maxOutputSizeMb: 1 } },
			{ continueOnFail: true },
		);
		const jobId = submitted()[0].jobId!;
		expect(items[0].json).toMatchObject({ jobId, status: 'done' });
		expect(items[0].json.error).toMatch(new RegExp(`output of job ${jobId} is 256.0 MiB, over the "Max Output Size" of 1 MiB`));
		expect(items[0].binary).toBeUndefined();
		const [download] = logOf(sim, { kind: 'storage' });
		// The stream was dropped at its headers: far less than the file crossed the wire.
		expect(download.bytesSent ?? 0).toBeLessThan(268435456 / 4);
	});

	it.each([['default'], ['filesystem']] as const)('caps a chunked output (no Content-Length) at Max Output Size on its bytes (%s binary mode)', async (binaryMode) => {
		const { status, error } = await runGeminiNode(
			sim,
			{ resource: 'video', operation: 'textToVideo', prompt: 'big [sim:chunked] [sim:bytes=8388608]', options: { maxOutputSizeMb: 1 } },
			{ binaryMode },
		);
		const jobId = submitted()[0].jobId!;
		expect(status).toBe('error');
		expect(error?.message).toMatch(new RegExp(`The output of job ${jobId} is larger than the "Max Output Size" of 1 MiB`));
		// The download was stopped near the limit, not read to the end.
		const [download] = logOf(sim, { kind: 'storage' });
		await new Promise((resolve) => setTimeout(resolve, 200));
		expect(download.bytesSent ?? 0).toBeLessThan(8 * 1024 * 1024);
	});

	it('refuses, before downloading, an output too large for the in-memory binary mode, naming the setting', async () => {
		const { error } = await runGeminiNode(sim, { resource: 'video', operation: 'textToVideo', prompt: 'huge [sim:bytes=419430400]' }, { binaryMode: 'default' });
		const jobId = submitted()[0].jobId!;
		expect(error?.message).toMatch(new RegExp(`The output of job ${jobId} \\(400 MiB, over ~380 MiB\\) cannot be kept in n8n's in-memory binary mode`));
		expect((error as { description?: string }).description).toMatch(/N8N_DEFAULT_BINARY_DATA_MODE=filesystem/);
		await new Promise((resolve) => setTimeout(resolve, 200));
		expect(logOf(sim, { kind: 'storage' })[0].bytesSent ?? 0).toBeLessThan(64 * 1024 * 1024);
	});

	it('stores the same output in filesystem mode', async () => {
		const { items } = await runGeminiNode(sim, { resource: 'video', operation: 'textToVideo', prompt: 'huge [sim:bytes=419430400]' }, { binaryMode: 'filesystem', timeoutMs: 60_000 });
		expect(items[0].binary?.data).toMatchObject({ mimeType: 'video/mp4' });
		expect(logOf(sim, { kind: 'storage' })[0].bytesSent).toBe(419430400);
	}, 90_000);

	it('downloads a chunked output under Max Output Size whole', async () => {
		const { items } = await runGeminiNode(sim, { resource: 'video', operation: 'textToVideo', prompt: 'small [sim:chunked] [sim:bytes=300000]' });
		expect(items[0].binary?.data.mimeType).toBe('video/mp4');
		expect(logOf(sim, { kind: 'storage' })[0].bytesSent).toBe(300000);
	});

	it('fails a failed job clearly, saying no credits were used', async () => {
		const { error } = await runGeminiNode(sim, { resource: 'video', operation: 'textToVideo', prompt: 'x [sim:fail=Content policy: restricted subject]' });
		const jobId = submitted()[0].jobId!;
		expect(error?.message).toContain(`Job ${jobId} failed: Content policy: restricted subject. No credits were consumed`);
	});

	it('stops polling when the execution is cancelled', async () => {
		const controller = new AbortController();
		const running = runGeminiNode(sim, { resource: 'video', operation: 'textToVideo', prompt: 'long [sim:seconds=3000]' }, { abortSignal: controller.signal });
		await new Promise((resolve) => setTimeout(resolve, 300));
		controller.abort();
		const cancelledAt = Date.now();
		const { status } = await running;
		expect(status).toBe('canceled');
		await new Promise((resolve) => setTimeout(resolve, 1500));
		expect(logOf(sim, { method: 'GET' }).filter((entry) => entry.at > cancelledAt + 50)).toHaveLength(0);
	});

	it('Job → Wait waits for a job submitted elsewhere and downloads it', async () => {
		const accepted = await runGeminiNode(sim, { resource: 'video', operation: 'textToVideo', prompt: 'elsewhere', ...noWait });
		const jobId = String(accepted.items[0].json.jobId);
		const { items } = await runGeminiNode(sim, { resource: 'job', operation: 'wait', jobId });
		expect(items[0].json).toMatchObject({ jobId, status: 'done' });
		expect(items[0].binary!.data.fileName).toBe(`${jobId}.mp4`);
	});

	it('Job → Download Output downloads a done job, and refuses one that is not done', async () => {
		const done = await runGeminiNode(sim, { resource: 'video', operation: 'textToVideo', prompt: 'done', downloadOutput: false });
		const doneId = String(done.items[0].json.jobId);
		const pending = await runGeminiNode(sim, { resource: 'video', operation: 'textToVideo', prompt: 'later [sim:seconds=500]', ...noWait });
		const pendingId = String(pending.items[0].json.jobId);
		const { items } = await runGeminiNode(
			sim,
			{ resource: 'job', operation: 'downloadOutput', jobId: '={{ $json.id }}', binaryPropertyName: 'file' },
			{ items: [{ id: doneId }, { id: pendingId }], continueOnFail: true },
		);
		expect(items[0].binary!.file.fileName).toBe(`${doneId}.mp4`);
		expect(items[1].json).toMatchObject({ jobId: pendingId });
		expect(items[1].json.error).toMatch(/has no output to download yet/);
	});
});

describe('stopping at the first failure (Continue On Fail off)', () => {
	it('reports the item that failed, not the ones it stopped, and lists their accepted jobs', async () => {
		const { error } = await runGeminiNode(
			sim,
			{ resource: 'video', operation: 'textToVideo', prompt: '={{ $json.p }}' },
			{ items: [{ p: 'long one [sim:seconds=3000]' }, { p: 'long two [sim:seconds=3000]' }, { p: 'bad [sim:seconds=10] [sim:fail=Content policy]' }] },
		);
		const jobByPrompt = new Map(submitted().filter((e) => e.status === 200).map((e) => [(e.body as { prompt: string }).prompt, e.jobId]));
		const failedJob = jobByPrompt.get('bad [sim:seconds=10] [sim:fail=Content policy]');
		expect(error?.message).toContain(`Job ${failedJob} failed: Content policy`);
		expect(error?.message).toMatch(/\[item 2\]$/);
		const description = (error as { description?: string }).description ?? '';
		expect(description).toContain(`${jobByPrompt.get('long one [sim:seconds=3000]')} (item 0)`);
		expect(description).toContain(`${jobByPrompt.get('long two [sim:seconds=3000]')} (item 1)`);
	});
});

describe('after concurrent-limit 429s from elsewhere', () => {
	it('gives the held-back job slots back: the next batch runs at the plan’s full concurrency', async () => {
		const key = `gomni_${randomBytes(32).toString('hex')}`;
		sim.addKey({ key, plan: 'pro' });
		const credential = { type: 'geminiOmniApi', id: 'shrink', data: { apiKey: key, baseUrl: sim.url, plan: 'pro' } };
		sim.injectFault({ method: 'POST', path: '/api/v1/generate', status: 429, retryAfter: '0.05', times: 4, body: { error: 'Concurrent job limit reached: 5 jobs in progress on the Pro plan' } });
		const first = await runGeminiNode(sim, { resource: 'video', operation: 'textToVideo', prompt: 'one', downloadOutput: false }, { credential });
		expect(first.items[0].json.status).toBe('done');
		const batch = await runGeminiNode(
			sim,
			{ resource: 'video', operation: 'textToVideo', prompt: '={{ $json.p }}', downloadOutput: false },
			{ credential, items: Array.from({ length: 10 }, (_, i) => ({ p: `clip ${i}` })), timeoutMs: 30_000 },
		);
		expect(batch.items.every((item) => item.json.status === 'done')).toBe(true);
		expect(sim.maxInFlight(keyTail(key))).toBe(5);
	}, 30_000);
});

describe('a key whose job slots are busy elsewhere (another worker or machine)', () => {
	it('submits probe one at a time: about one 429 per slot the server frees, and checks go on meanwhile', async () => {
		const key = `gomni_${randomBytes(32).toString('hex')}`;
		sim.addKey({ key, plan: 'pro' });
		const credential = { type: 'geminiOmniApi', id: 'busy-elsewhere', data: { apiKey: key, baseUrl: sim.url, plan: 'pro' } };
		// The other machine's 5 jobs end one after another (0.5 s … 2.5 s at this time scale). Ours run 3 s,
		// so none of ours ends before the last of theirs: the server frees exactly 5 slots while items wait,
		// whatever the machine's load (with equal lengths, whether one of ours ended together with one of
		// theirs depended on request latency).
		for (let i = 1; i <= 5; i++) await createJob(sim, { model: 'gemini-omni-video', prompt: `elsewhere ${i} [sim:seconds=${50 * i}]` }, key);
		sim.clearLog();
		const batch = await runGeminiNode(
			sim,
			{ resource: 'video', operation: 'textToVideo', prompt: '={{ $json.p }}', downloadOutput: false },
			{ credential, items: Array.from({ length: 5 }, (_, i) => ({ p: `here ${i} [sim:seconds=300]` })), timeoutMs: 30_000 },
		);
		expect(batch.items.map((item) => item.json.status)).toEqual(Array(5).fill('done'));
		const refused = logOf(sim, { method: 'POST', path: '/api/v1/generate' }).filter((entry) => entry.status === 429);
		const accepted = logOf(sim, { method: 'POST', path: '/api/v1/generate' }).filter((entry) => entry.status === 200);
		expect(accepted).toHaveLength(5);
		// The 5 first submits go out before anything is known; after that, one probe per freed slot: the
		// accepted one, then one that finds the key full again, except after the last (nobody waits).
		expect(refused.length).toBeLessThanOrEqual(5 + 4);
	}, 30_000);
});

describe('a batch inside the Pro plan’s limits', () => {
	it('runs 50 items with at most 5 jobs in flight, no 429, outputs in input order', async () => {
		// A key of its own: jobs left running by earlier tests must not hold its slots.
		const key = `gomni_${randomBytes(32).toString('hex')}`;
		sim.addKey({ key, plan: 'pro' });
		const credential = { type: 'geminiOmniApi', id: 'batch', data: { apiKey: key, baseUrl: sim.url, plan: 'pro' } };
		const prompts = Array.from({ length: 50 }, (_, i) => ({ idea: `clip number ${i} [sim:seconds=8]` }));
		const { status, items } = await runGeminiNode(
			sim,
			{ resource: 'video', operation: 'textToVideo', prompt: '={{ $json.idea }}', downloadOutput: false },
			{ items: prompts, timeoutMs: 60_000, credential },
		);
		expect(status).toBe('success');
		expect(items).toHaveLength(50);
		const promptByJob = new Map(submitted().map((entry) => [entry.jobId, (entry.body as { prompt: string }).prompt]));
		items.forEach((item, i) => {
			expect(item.json.status).toBe('done');
			expect(promptByJob.get(String(item.json.jobId))).toBe(prompts[i].idea);
			expect(item.pairedItem).toEqual({ item: i });
		});
		expect(submitted()).toHaveLength(50);
		// Never more than the plan allows, and the plan's concurrency actually used.
		expect(sim.maxInFlight(keyTail(key))).toBe(5);
		expect(sim.log.filter((entry) => entry.status === 429)).toHaveLength(0);
	}, 60_000);
});
