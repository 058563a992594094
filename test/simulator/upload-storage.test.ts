import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { startSimulator, DEMO_KEYS, type Simulator } from '../../simulator';
import { MultipartParser, type PartHeaders } from '../../simulator/multipart';
import { call, generate, getJob, sha256, sleep } from './helpers';

const BOUNDARY = '----simTestBoundary7MA4YWxkTrZu0gW';

/** File bytes that are random but also full of CRLFs and near-miss boundaries, to trip a naive parser. */
function trickyBytes(size: number): Buffer {
	const nearMisses = Buffer.concat([
		Buffer.from('\r\n'),
		Buffer.from(`\r\n--${BOUNDARY.slice(0, -1)}X`),
		Buffer.from(`--${BOUNDARY}`), // without the leading CRLF it is not a delimiter
		Buffer.from('\r\n\r\n'),
		Buffer.from(`\r\n-${BOUNDARY}`),
	]);
	return Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(size), nearMisses, randomBytes(size), nearMisses]);
}

function multipartBody(file: Buffer, partHeaders: string, extraField = true): Buffer {
	return Buffer.concat([
		Buffer.from('preamble to ignore\r\n'),
		extraField ? Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nreference\r\n`) : Buffer.alloc(0),
		Buffer.from(`--${BOUNDARY}\r\n${partHeaders}\r\n\r\n`),
		file,
		Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
	]);
}

/** Sends the body in small, separately flushed pieces so boundaries land across chunk edges. */
function postInPieces(sim: Simulator, body: Buffer, pieceSizes: number[]): Promise<{ status: number; json: any }> {
	return new Promise((resolve, reject) => {
		const request = http.request(`${sim.url}/api/v1/upload`, {
			method: 'POST',
			headers: {
				Authorization: `Bearer ${DEMO_KEYS.pro}`,
				'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`,
				'Content-Length': body.length,
			},
		});
		request.on('response', (response) => {
			const chunks: Buffer[] = [];
			response.on('data', (chunk: Buffer) => chunks.push(chunk));
			response.on('end', () => resolve({ status: response.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) }));
		});
		request.on('error', reject);
		void (async () => {
			let offset = 0;
			let index = 0;
			while (offset < body.length) {
				const size = pieceSizes[index++ % pieceSizes.length];
				request.write(body.subarray(offset, offset + size));
				offset += size;
				await sleep(1);
			}
			request.end();
		})();
	});
}

async function download(url: string): Promise<{ status: number; type: string | null; length: string | null; bytes: Buffer }> {
	const response = await fetch(url);
	return {
		status: response.status,
		type: response.headers.get('content-type'),
		length: response.headers.get('content-length'),
		bytes: Buffer.from(await response.arrayBuffer()),
	};
}

describe('simulator: multipart parser', () => {
	test('finds every part at every possible chunk split, byte-exact', () => {
		const file = trickyBytes(40);
		const body = multipartBody(file, 'Content-Disposition: form-data; name="file"; filename="face.jpg"\r\nContent-Type: image/jpeg');
		for (let split = 1; split < body.length; split++) {
			const parts: Array<{ head: PartHeaders; data: Buffer[] }> = [];
			const parser = new MultipartParser(BOUNDARY, {
				onPartStart: (head) => parts.push({ head, data: [] }),
				onPartData: (chunk) => parts[parts.length - 1].data.push(Buffer.from(chunk)),
				onPartEnd: () => undefined,
			});
			parser.write(body.subarray(0, split));
			parser.write(body.subarray(split));
			parser.end();
			expect(parts.map((part) => part.head.name)).toEqual(['purpose', 'file']);
			expect(parts[1].head).toMatchObject({ filename: 'face.jpg', contentType: 'image/jpeg' });
			expect(Buffer.concat(parts[1].data).equals(file)).toBe(true);
		}
	});

	test('a body without its closing boundary is an error', () => {
		const parser = new MultipartParser(BOUNDARY, { onPartStart: () => undefined, onPartData: () => undefined, onPartEnd: () => undefined });
		parser.write(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc`));
		expect(() => parser.end()).toThrow(/closing boundary/);
	});
});

describe('simulator: uploads and signed storage', () => {
	let sim: Simulator;
	beforeAll(async () => {
		sim = await startSimulator({ timeScale: 0.01, maxUploadBytes: 1024 * 1024 });
	});
	afterAll(() => sim.close());

	test('an upload sent in odd-sized pieces is stored byte-exact and served from its signed URL', async () => {
		const file = trickyBytes(200_000);
		const body = multipartBody(file, 'Content-Disposition: form-data; name="file"; filename="my face.jpg"\r\nContent-Type: image/jpeg');
		const { status, json } = await postInPieces(sim, body, [7, 1, 4093, 61, 65536, 3]);
		expect(status).toBe(200);
		expect(json).toEqual({ url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/r2\/uploads\/upl_[0-9a-f]+\/my_face\.jpg\?expires=/), mimeType: 'image/jpeg', size: file.length });
		const entry = sim.log.find((logged) => logged.kind === 'upload' && logged.status === 200);
		expect(entry?.upload).toEqual({ sha256: sha256(file), size: file.length, mimeType: 'image/jpeg', filename: 'my face.jpg' });
		expect(entry?.key).toBe(DEMO_KEYS.pro.slice(-6));

		const fetched = await download(json.url);
		expect(fetched.status).toBe(200);
		expect(fetched.type).toBe('image/jpeg');
		expect(fetched.length).toBe(String(file.length));
		expect(sha256(fetched.bytes)).toBe(sha256(file));
		// The uploaded URL is what the generate fields take.
		expect((await generate(sim, DEMO_KEYS.pro, { model: 'gemini-omni-character', prompt: 'x', referenceUrl: json.url })).status).toBe(200);
	});

	test('upload type comes from the part Content-Type, else from magic bytes; others are refused', async () => {
		const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(100)]);
		const sniffed = await postInPieces(sim, multipartBody(png, 'Content-Disposition: form-data; name="file"; filename="a.bin"\r\nContent-Type: application/octet-stream', false), [1 << 16]);
		expect(sniffed.json.mimeType).toBe('image/png');

		const mp4 = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom'), randomBytes(100)]);
		const clip = await postInPieces(sim, multipartBody(mp4, 'Content-Disposition: form-data; name="file"; filename="c.mp4"', false), [1 << 16]);
		expect(clip.json.mimeType).toBe('video/mp4');

		const text = await postInPieces(sim, multipartBody(Buffer.from('hello'), 'Content-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain', false), [1 << 16]);
		expect(text.status).toBe(400);
		expect(text.json.error).toMatch(/Unsupported file type "text\/plain"/);
	});

	test('missing file part, non-multipart and oversize uploads are refused', async () => {
		const noFile = await postInPieces(sim, multipartBody(Buffer.from('x'), 'Content-Disposition: form-data; name="image"; filename="a.jpg"'), [1 << 16]);
		expect(noFile.status).toBe(400);
		expect(noFile.json.error).toMatch(/Missing file part/);

		const json = await call(sim, 'POST', '/api/v1/upload', { key: DEMO_KEYS.pro, json: { file: 'x' } });
		expect(json.status).toBe(400);
		expect(json.body.error).toMatch(/multipart\/form-data/);

		const huge = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), randomBytes(1024 * 1024)]);
		const tooLarge = await postInPieces(sim, multipartBody(huge, 'Content-Disposition: form-data; name="file"; filename="a.jpg"'), [1 << 16]);
		expect(tooLarge.status).toBe(413);

		const unauthenticated = await call(sim, 'POST', '/api/v1/upload', { rawBody: 'x' });
		expect(unauthenticated.status).toBe(401);
	});

	test('job outputs stream deterministic bytes with the right type and length; tampering answers 403', async () => {
		const video = await generate(sim, DEMO_KEYS.pro, { model: 'gemini-omni-video', prompt: 'x [sim:seconds=0]' });
		const audio = await generate(sim, DEMO_KEYS.pro, { model: 'gemini-omni-audio', script: 'Hi [sim:seconds=0]', language: 'en-US', voiceProfile: 'warm-male' });
		const videoUrl = (await getJob(sim, DEMO_KEYS.pro, video.body.jobId)).body.outputUrl;
		const audioUrl = (await getJob(sim, DEMO_KEYS.pro, audio.body.jobId)).body.outputUrl;

		const mp4 = await download(videoUrl);
		expect(mp4).toMatchObject({ status: 200, type: 'video/mp4', length: String(256 * 1024) });
		expect(mp4.bytes.length).toBe(256 * 1024);
		expect(mp4.bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
		// The playable clip's ftyp box (32 bytes) is followed by its moov box (test/simulator/playable-output.test.ts).
		expect(mp4.bytes.subarray(36, 40).toString('latin1')).toBe('moov');
		expect(sha256((await download(videoUrl)).bytes)).toBe(sha256(mp4.bytes));

		const mp3 = await download(audioUrl);
		expect(mp3).toMatchObject({ status: 200, type: 'audio/mpeg', length: String(64 * 1024) });
		expect(mp3.bytes.subarray(0, 3).toString('latin1')).toBe('ID3');

		// A key on a download is ignored, not required.
		const withKey = await fetch(videoUrl, { headers: { Authorization: `Bearer ${DEMO_KEYS.pro}` } });
		expect(withKey.status).toBe(200);
		await withKey.arrayBuffer();

		const tamperedSig = videoUrl.replace(/sig=([0-9a-f])/, (_: string, c: string) => `sig=${c === '0' ? '1' : '0'}`);
		expect((await download(tamperedSig)).status).toBe(403);
		const tamperedExpiry = videoUrl.replace(/expires=(\d)/, 'expires=9');
		expect((await download(tamperedExpiry)).status).toBe(403);
		const otherPath = videoUrl.replace('output.mp4', 'output.mp3');
		expect((await download(otherPath)).status).toBe(403);
		const storageEntries = sim.log.filter((entry) => entry.kind === 'storage');
		expect(storageEntries.some((entry) => entry.status === 403)).toBe(true);
		await sleep(20);
		expect(storageEntries.find((entry) => entry.status === 200 && entry.path.endsWith('.mp4'))?.bytesSent).toBe(256 * 1024);
	});

	test('a 64 MiB output streams with backpressure and without growing memory', async () => {
		const size = 64 * 1024 * 1024;
		const submitted = await generate(sim, DEMO_KEYS.pro, { model: 'gemini-omni-video', prompt: `big [sim:seconds=0] [sim:bytes=${size}]` });
		const url = (await getJob(sim, DEMO_KEYS.pro, submitted.body.jobId)).body.outputUrl;
		const before = process.memoryUsage();
		const result = await new Promise<{ length: string | undefined; received: number; pausedGrowth: number }>((resolve, reject) => {
			http.get(url, (response) => {
				let received = 0;
				let paused = false;
				let pausedGrowth = 0;
				response.on('data', (chunk: Buffer) => {
					received += chunk.length;
					if (!paused) {
						// Stop reading for a while: a server that ignored backpressure would buffer the rest now.
						paused = true;
						response.pause();
						setTimeout(() => {
							const now = process.memoryUsage();
							pausedGrowth = now.heapUsed + now.arrayBuffers - (before.heapUsed + before.arrayBuffers);
							response.resume();
						}, 300);
					}
				});
				response.on('end', () => resolve({ length: response.headers['content-length'], received, pausedGrowth }));
				response.on('error', reject);
			}).on('error', reject);
		});
		expect(result.length).toBe(String(size));
		expect(result.received).toBe(size);
		expect(result.pausedGrowth).toBeLessThan(32 * 1024 * 1024);
		// (RSS is not checked: the receiving side of this same process allocates every chunk it reads.)
	});

	test('signed URLs expire after 7 days × timeScale', async () => {
		const fast = await startSimulator({ timeScale: 0.000001 }); // 7 days → about 0.6 s
		try {
			const submitted = await generate(fast, DEMO_KEYS.pro, { model: 'gemini-omni-video', prompt: 'x' });
			await sleep(5);
			const url = (await getJob(fast, DEMO_KEYS.pro, submitted.body.jobId)).body.outputUrl;
			expect((await download(url)).status).toBe(200);
			await sleep(800);
			const expired = await download(url);
			expect(expired.status).toBe(403);
			expect(JSON.parse(expired.bytes.toString()).error).toMatch(/expired/);
		} finally {
			await fast.close();
		}
	});
});
