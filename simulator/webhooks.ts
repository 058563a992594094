import { createHmac } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import type { WebhookDelivery } from './types';

/** The contract: retried 3 times, after 30 s, 5 min and 30 min (each × timeScale). */
export const RETRY_DELAYS_MS = [30_000, 300_000, 1_800_000];
/** Decided by the contract: no answer within 10 s counts as a failure. */
export const ANSWER_TIMEOUT_MS = 10_000;

export function signBody(secret: string, body: string): string {
	return createHmac('sha256', secret).update(Buffer.from(body, 'utf8')).digest('hex');
}

export interface PostResult {
	status?: number;
	text: string;
	error?: string;
}

/** Sends webhook POSTs with Node's http client, keeps the retry schedule, and cancels it all on close. */
export class WebhookDispatcher {
	private readonly timers = new Set<NodeJS.Timeout>();
	private readonly requests = new Set<http.ClientRequest>();
	private closed = false;

	constructor(
		private readonly timeScale: number,
		private readonly deliveries: WebhookDelivery[],
		private readonly answerTimeoutMs = ANSWER_TIMEOUT_MS * timeScale,
	) {}

	/** First attempt now; on a non-2xx or no answer, the retries follow the scaled schedule. */
	deliver(jobId: string, event: string, url: string, body: string, signature: string): void {
		const attempt = async (number: number): Promise<void> => {
			const delivery = await this.attempt(jobId, event, url, body, signature, number);
			const ok = delivery.status !== undefined && delivery.status >= 200 && delivery.status < 300;
			if (ok || this.closed || number > RETRY_DELAYS_MS.length) return;
			this.later(RETRY_DELAYS_MS[number - 1] * this.timeScale, () => void attempt(number + 1));
		};
		void attempt(1);
	}

	/** One recorded attempt, no retries (used by deliver and by redeliverWebhook). */
	async attempt(
		jobId: string,
		event: string,
		url: string,
		body: string,
		signature: string,
		number: number,
	): Promise<WebhookDelivery> {
		const at = Date.now();
		const result = await this.post(url, body, signature);
		const delivery: WebhookDelivery = { jobId, event, url, attempt: number, at, body, signature };
		if (result.status !== undefined) delivery.status = result.status;
		if (result.text) delivery.answer = result.text.slice(0, 300);
		if (result.error !== undefined) delivery.error = result.error;
		if (!this.closed) this.deliveries.push(delivery);
		return delivery;
	}

	/** POSTs the exact body bytes; signature null sends no X-Gemini-Signature header. */
	post(url: string, body: string, signature: string | null): Promise<PostResult> {
		return new Promise((resolve) => {
			let target: URL;
			try {
				target = new URL(url);
			} catch {
				resolve({ text: '', error: `Invalid callback URL ${url}` });
				return;
			}
			const payload = Buffer.from(body, 'utf8');
			const headers: Record<string, string | number> = {
				'Content-Type': 'application/json',
				'Content-Length': payload.length,
				'User-Agent': 'GeminiOmni-Webhooks/1.0 (simulator)',
			};
			if (signature !== null) headers['X-Gemini-Signature'] = signature;
			const client = target.protocol === 'https:' ? https : http;
			const timeoutMs = this.answerTimeoutMs;
			let settled = false;
			const finish = (result: PostResult): void => {
				if (settled) return;
				settled = true;
				clearTimeout(timer);
				this.timers.delete(timer);
				this.requests.delete(request);
				resolve(result);
			};
			// agent: false so a receiver's keep-alive socket never outlives the simulator.
			const request = client.request(target, { method: 'POST', headers, agent: false }, (response) => {
				const chunks: Buffer[] = [];
				response.on('data', (chunk: Buffer) => chunks.push(chunk));
				response.on('end', () =>
					finish({ status: response.statusCode, text: Buffer.concat(chunks).toString('utf8') }),
				);
				response.on('error', (error) => finish({ status: response.statusCode, text: '', error: error.message }));
			});
			const timer = setTimeout(() => {
				finish({ text: '', error: `No answer within ${timeoutMs / 1000} s` });
				request.destroy();
			}, timeoutMs);
			timer.unref();
			this.timers.add(timer);
			this.requests.add(request);
			request.on('error', (error) => finish({ text: '', error: error.message }));
			request.end(payload);
		});
	}

	close(): void {
		this.closed = true;
		for (const timer of this.timers) clearTimeout(timer);
		this.timers.clear();
		for (const request of this.requests) request.destroy();
		this.requests.clear();
	}

	private later(ms: number, action: () => void): void {
		const timer = setTimeout(() => {
			this.timers.delete(timer);
			if (!this.closed) action();
		}, ms);
		timer.unref();
		this.timers.add(timer);
	}
}
