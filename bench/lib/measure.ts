/** Counting from the simulator's request log, HTTP timing on the client, and formatting. */
import { createHmac, timingSafeEqual } from 'node:crypto';
import diagnosticsChannel from 'node:diagnostics_channel';
import { createServer, type ClientRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { LogEntry, Simulator } from '../../simulator';
import { keyTail } from './ours';

/** Every API request (generate, poll, upload) a key sent, 429s included: what the plan counts and more. */
export function apiRequests(sim: Simulator, key: string): LogEntry[] {
	const tail = keyTail(key);
	return sim.log.filter((entry) => entry.key === tail && (entry.kind === 'api' || entry.kind === 'upload'));
}

export function submits(sim: Simulator, key: string): LogEntry[] {
	return apiRequests(sim, key).filter((entry) => entry.method === 'POST' && entry.path === '/api/v1/generate');
}

export interface TrafficSummary {
	requests: number;
	rateLimited: number;
	firstSubmitAt: number;
	/** Latest completedAt among the jobs the key got accepted (server clock = this process's clock). */
	lastCompletionAt: number;
	accepted: number;
}

export function traffic(sim: Simulator, key: string): TrafficSummary {
	const requests = apiRequests(sim, key);
	const posted = submits(sim, key);
	const acceptedIds = posted.filter((entry) => entry.status === 200 && entry.jobId).map((entry) => entry.jobId!);
	const completions = acceptedIds
		.map((id) => Date.parse(sim.getJob(id)?.completedAt ?? ''))
		.filter((time) => Number.isFinite(time));
	return {
		requests: requests.length,
		rateLimited: requests.filter((entry) => entry.status === 429).length,
		firstSubmitAt: posted.length ? Math.min(...posted.map((entry) => entry.at)) : NaN,
		lastCompletionAt: completions.length ? Math.max(...completions) : NaN,
		accepted: acceptedIds.length,
	};
}

/** A webhook receiver like the guide's: verifies X-Gemini-Signature over the raw bytes, answers 200. */
export interface Receiver {
	url: string;
	deliveries: Array<{ path: string; jobId?: string; event?: string; valid: boolean; at: number }>;
	close(): Promise<void>;
}

export async function startReceiver(secret: string): Promise<Receiver> {
	const deliveries: Receiver['deliveries'] = [];
	const server: Server = createServer((req: IncomingMessage, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (chunk: Buffer) => chunks.push(chunk));
		req.on('end', () => {
			const raw = Buffer.concat(chunks);
			const expected = Buffer.from(createHmac('sha256', secret).update(raw).digest('hex'));
			const given = Buffer.from(String(req.headers['x-gemini-signature'] ?? ''));
			const valid = given.length === expected.length && timingSafeEqual(given, expected);
			let body: { jobId?: string; event?: string } = {};
			try {
				body = JSON.parse(raw.toString('utf8')) as typeof body;
			} catch {}
			deliveries.push({ path: req.url ?? '', jobId: body.jobId, event: body.event, valid, at: Date.now() });
			res.writeHead(200, { 'Content-Type': 'application/json' });
			res.end('{"received":true}');
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		deliveries,
		close: async () => await new Promise<void>((resolve) => server.close(() => resolve())),
	};
}

export const now = (): number => performance.timeOrigin + performance.now();

/**
 * Client-side HTTP intervals of Node's http module (what n8n's request helpers use), from the
 * request's start to its response's last byte, through diagnostics_channel: nothing is patched.
 */
export class HttpIntervals {
	readonly intervals: Array<[number, number]> = [];
	private readonly started = new WeakMap<ClientRequest, number>();
	private readonly onStart = (message: unknown) => {
		this.started.set((message as { request: ClientRequest }).request, now());
	};
	private readonly onResponse = (message: unknown) => {
		const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
		const start = this.started.get(request);
		if (start === undefined) return;
		response.once('end', () => this.intervals.push([start, now()]));
	};
	private readonly onError = (message: unknown) => {
		const request = (message as { request: ClientRequest }).request;
		const start = this.started.get(request);
		if (start !== undefined) this.intervals.push([start, now()]);
	};

	start(): this {
		diagnosticsChannel.subscribe('http.client.request.start', this.onStart);
		diagnosticsChannel.subscribe('http.client.response.finish', this.onResponse);
		diagnosticsChannel.subscribe('http.client.request.error', this.onError);
		return this;
	}

	stop(): void {
		diagnosticsChannel.unsubscribe('http.client.request.start', this.onStart);
		diagnosticsChannel.unsubscribe('http.client.response.finish', this.onResponse);
		diagnosticsChannel.unsubscribe('http.client.request.error', this.onError);
	}

	/** Time inside [from, to] with at least one request in flight. */
	coveredMs(from: number, to: number): number {
		const sorted = this.intervals
			.map(([a, b]): [number, number] => [Math.max(a, from), Math.min(b, to)])
			.filter(([a, b]) => b > a)
			.sort((x, y) => x[0] - y[0]);
		let total = 0;
		let [curStart, curEnd] = [NaN, NaN];
		for (const [a, b] of sorted) {
			if (Number.isNaN(curStart) || a > curEnd) {
				if (!Number.isNaN(curStart)) total += curEnd - curStart;
				[curStart, curEnd] = [a, b];
			} else curEnd = Math.max(curEnd, b);
		}
		if (!Number.isNaN(curStart)) total += curEnd - curStart;
		return total;
	}

	/** Most requests in flight at once. */
	peakConcurrency(): number {
		const events = this.intervals.flatMap(([a, b]): Array<[number, number]> => [
			[a, 1],
			[b, -1],
		]);
		events.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
		let current = 0;
		let peak = 0;
		for (const [, delta] of events) {
			current += delta;
			peak = Math.max(peak, current);
		}
		return peak;
	}
}

export const fmt = (value: number, digits = 2): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
export const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;
export const pct = (share: number, digits = 1): string => (Number.isFinite(share) ? `${(share * 100).toFixed(digits)} %` : 'n/a');
