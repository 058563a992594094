import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Simulator } from '../../simulator';

export interface ApiResponse<T = any> {
	status: number;
	headers: Headers;
	body: T;
}

/** One API call with Node's fetch; the body is parsed as JSON when it is JSON. */
export async function call<T = any>(
	sim: Simulator,
	method: string,
	path: string,
	options: { key?: string | null; json?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
	const headers: Record<string, string> = { ...(options.headers ?? {}) };
	if (options.key) headers.Authorization = `Bearer ${options.key}`;
	let body: string | undefined;
	if (options.json !== undefined) {
		headers['Content-Type'] = 'application/json';
		body = JSON.stringify(options.json);
	} else if (options.rawBody !== undefined) {
		body = options.rawBody;
	}
	const response = await fetch(sim.url + path, { method, headers, body });
	const text = await response.text();
	let parsed: unknown = text;
	try {
		parsed = JSON.parse(text);
	} catch {
		// not JSON: keep the text
	}
	return { status: response.status, headers: response.headers, body: parsed as T };
}

export function generate(sim: Simulator, key: string, json: unknown): Promise<ApiResponse> {
	return call(sim, 'POST', '/api/v1/generate', { key, json });
}

export function getJob(sim: Simulator, key: string, jobId: string): Promise<ApiResponse> {
	return call(sim, 'GET', `/api/v1/jobs/${jobId}`, { key });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function sha256(data: Buffer): string {
	return createHash('sha256').update(data).digest('hex');
}

/** A fresh random key in the contract's format. */
export function randomKey(): string {
	return 'gomni_' + createHash('sha256').update(String(Math.random()) + Date.now()).digest('hex');
}

export async function waitFor<T>(probe: () => T | undefined | false, timeoutMs = 5000, stepMs = 10): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = probe();
		if (value) return value;
		if (Date.now() > deadline) throw new Error('waitFor timed out');
		await sleep(stepMs);
	}
}

export interface ReceivedHook {
	at: number;
	raw: Buffer;
	headers: http.IncomingHttpHeaders;
}

/** A webhook receiver whose answer per request is chosen by `answer` (status, or 'hang' to never answer). */
export async function startReceiver(answer: (index: number) => number | 'hang' = () => 200) {
	const received: ReceivedHook[] = [];
	const hanging: http.ServerResponse[] = [];
	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (chunk: Buffer) => chunks.push(chunk));
		req.on('end', () => {
			const index = received.length;
			received.push({ at: Date.now(), raw: Buffer.concat(chunks), headers: req.headers });
			const decision = answer(index);
			if (decision === 'hang') {
				hanging.push(res);
				return;
			}
			res.writeHead(decision, { 'Content-Type': 'application/json' });
			res.end(JSON.stringify({ received: true }));
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
	const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
	return {
		url,
		received,
		close: () =>
			new Promise<void>((resolve) => {
				for (const res of hanging) res.destroy();
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}
