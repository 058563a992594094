import { startSimulator, DEMO_KEYS, type Simulator } from '../../simulator';
import { call, generate } from './helpers';

const video = { model: 'gemini-omni-video', prompt: 'A lighthouse in a storm' };

describe('simulator: auth, validation and credits', () => {
	let sim: Simulator;
	beforeAll(async () => {
		sim = await startSimulator({ timeScale: 0.01 });
	});
	afterAll(() => sim.close());

	test('demo keys have the contract format and are deterministic', () => {
		for (const key of Object.values(DEMO_KEYS)) expect(key).toMatch(/^gomni_[0-9a-f]{64}$/);
		expect(sim.keys).toEqual(DEMO_KEYS);
	});

	test('missing, malformed and unknown keys answer 401 with an error', async () => {
		const missing = await generate(sim, '', video);
		expect(missing.status).toBe(401);
		expect(missing.body.error).toMatch(/Missing API key/);

		const basic = await call(sim, 'POST', '/api/v1/generate', { json: video, headers: { Authorization: 'Basic abc' } });
		expect(basic.status).toBe(401);

		const malformed = await generate(sim, 'gomni_123', video);
		expect(malformed.status).toBe(401);
		expect(malformed.body.error).toMatch(/format/);

		const unknown = await generate(sim, 'gomni_' + 'a'.repeat(64), video);
		expect(unknown.status).toBe(401);
		expect(unknown.body.error).toBe('Invalid API key');

		const poll = await call(sim, 'GET', '/api/v1/jobs/job_x');
		expect(poll.status).toBe(401);
	});

	test('hex is case-insensitive in keys', async () => {
		const upper = 'gomni_' + DEMO_KEYS.pro.slice(6).toUpperCase();
		expect((await generate(sim, upper, video)).status).toBe(200);
	});

	test('a Starter key answers 403', async () => {
		const response = await generate(sim, DEMO_KEYS.starter, video);
		expect(response.status).toBe(403);
		expect(response.body.error).toMatch(/API is available on Pro and Premium plans only/);
	});

	test.each([
		[{ prompt: 'x' }, /Missing required field "model"/],
		[{ model: 'gemini-omni-4d', prompt: 'x' }, /Unknown model "gemini-omni-4d"/],
		[{ model: 'gemini-omni-video' }, /Missing required field "prompt" for model gemini-omni-video/],
		[{ model: 'gemini-omni-video', prompt: '   ' }, /"prompt" must be a non-empty string/],
		[{ model: 'gemini-omni-video', prompt: 'x'.repeat(4001) }, /"prompt" is too long: 4001/],
		[{ ...video, resolution: '8k' }, /Invalid resolution "8k": expected one of 720p, 1080p, 4k/],
		[{ ...video, duration: 20 }, /Invalid duration 20/],
		[{ ...video, duration: 8.5 }, /Invalid duration 8.5/],
		[{ ...video, duration: '8' }, /Invalid duration "8"/],
		[{ ...video, imageUrl: 'ftp://x/y.jpg' }, /"imageUrl" must be an http\(s\) URL/],
		[{ ...video, callbackUrl: 'not a url' }, /"callbackUrl" must be an http\(s\) URL/],
		[{ ...video, seed: 42 }, /Unexpected field "seed" for model gemini-omni-video/],
		[{ ...video, referenceUrl: 'https://x/y.jpg' }, /Unexpected field "referenceUrl" for model gemini-omni-video/],
		[{ model: 'gemini-omni-character', prompt: 'x' }, /Missing required field "referenceUrl" for model gemini-omni-character/],
		[{ model: 'gemini-omni-character', prompt: 'x', referenceUrl: 'https://x/a.jpg', imageUrl: 'https://x/b.jpg' }, /Unexpected field "imageUrl"/],
		[{ model: 'gemini-omni-audio', script: 'Hi', language: 'en-US' }, /Missing required field "voiceProfile" for model gemini-omni-audio/],
		[{ model: 'gemini-omni-audio', script: 'Hi', language: 'english', voiceProfile: 'narrator' }, /Invalid language "english"/],
		[{ model: 'gemini-omni-audio', script: 'Hi', language: 'en-US', voiceProfile: 'robot' }, /Invalid voiceProfile "robot"/],
		[{ model: 'gemini-omni-audio', prompt: 'Hi', script: 'Hi', language: 'en-US', voiceProfile: 'narrator' }, /Unexpected field "prompt" for model gemini-omni-audio/],
		[{ model: 'gemini-omni-audio', script: 'Hi', language: 'en-US', voiceProfile: 'narrator', imageUrl: 'https://x/a.jpg' }, /Unexpected field "imageUrl" for model gemini-omni-audio/],
		[{ model: 'gemini-omni-audio', script: 'Hi', language: 'en-US', voiceProfile: 'narrator', resolution: '1080p' }, /Unexpected field "resolution"/],
	])('400 with a message naming the problem (case %#)', async (body, message) => {
		const response = await generate(sim, DEMO_KEYS.pro, body);
		expect(response.status).toBe(400);
		expect(response.body.error).toMatch(message);
	});

	test('non-JSON bodies answer 400', async () => {
		const response = await call(sim, 'POST', '/api/v1/generate', { key: DEMO_KEYS.pro, rawBody: 'model=video' });
		expect(response.status).toBe(400);
		expect(response.body.error).toMatch(/valid JSON/);
		const array = await generate(sim, DEMO_KEYS.pro, [video]);
		expect(array.status).toBe(400);
		expect(array.body.error).toMatch(/JSON object/);
	});

	test('every documented shape is accepted, with the documented cost and scaled estimate', async () => {
		const accepted = await generate(sim, DEMO_KEYS.pro, { ...video, resolution: '1080p', duration: 8 });
		expect(accepted.status).toBe(200);
		expect(accepted.body).toEqual({
			jobId: expect.stringMatching(/^job_[0-9a-f]+$/),
			status: 'accepted',
			creditCost: 150,
			estimatedSeconds: 0.6, // 60 s × 0.01
		});
		const shapes = [
			{ ...video, imageUrl: 'https://cdn.example/first.jpg', resolution: '4k', duration: 16 },
			{ model: 'gemini-omni-character', prompt: 'x', referenceUrl: 'http://cdn.example/face.png', resolution: '720p', duration: 4 },
			{ model: 'gemini-omni-audio', script: 'Welcome.', language: 'fr', voiceProfile: 'professional-male' },
			{ model: 'gemini-omni-audio', script: 'Welcome.', language: 'pt-BR', voiceProfile: 'warm-female', videoUrl: 'https://x/c.mp4', callbackUrl: 'https://example.com/hook' },
		];
		const costs = [];
		for (const shape of shapes) {
			const response = await generate(sim, DEMO_KEYS.premium, shape);
			expect(response.status).toBe(200);
			costs.push(response.body.creditCost);
		}
		// 150×2×2.5, 150×0.5×0.6×1.2, 10+ceil(8/50), that +50
		expect(costs).toEqual([750, 54, 11, 61]);
	});

	test('insufficient credits answer 402', async () => {
		const response = await generate(sim, DEMO_KEYS.noCredits, video);
		expect(response.status).toBe(402);
		expect(response.body.error).toMatch(/^Insufficient credits: this job costs 150 credits and 0 remain/);
	});

	test('the log never holds a full key, only its last 6 characters', async () => {
		await generate(sim, DEMO_KEYS.pro, video);
		const serialized = JSON.stringify(sim.log);
		for (const key of Object.values(DEMO_KEYS)) {
			expect(serialized).not.toContain(key);
			expect(serialized).not.toContain(key.slice(6));
		}
		const last = sim.log[sim.log.length - 1];
		expect(last).toMatchObject({ kind: 'api', method: 'POST', path: '/api/v1/generate', status: 200, key: DEMO_KEYS.pro.slice(-6), plan: 'pro', body: video, inFlight: expect.any(Number) });
		expect(sim.log.map((entry) => entry.seq)).toEqual([...sim.log.map((entry) => entry.seq)].sort((a, b) => a - b));
	});
});
