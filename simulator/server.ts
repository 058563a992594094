import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp, type WriteStream } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { FaultQueue } from './faults';
import {
	creditCost,
	jobStatus,
	jobView,
	newJobId,
	nominalSeconds,
	outputBytes,
	outputKind,
	parseDirectives,
	runFactor,
	type Job,
} from './jobs';
import {
	authenticate,
	DEMO_KEYS,
	DEMO_WEBHOOK_SECRET,
	keySuffix,
	KeyRegistry,
	PLAN_LABELS,
	ownKeys,
	type KeyAccount,
} from './keys';
import { admitRequest, formatRetryAfter } from './limits';
import { boundaryFrom, MultipartParser, sniffMimeType } from './multipart';
import { outputStream, safeFileName, STORAGE_PREFIX, UrlSigner } from './storage';
import type {
	Fault,
	KeySpec,
	LogEntry,
	LogKind,
	SimJobView,
	Simulator,
	SimulatorOptions,
	WebhookDelivery,
} from './types';
import { validateGenerate } from './validation';
import { signBody, WebhookDispatcher } from './webhooks';

const MAX_JSON_BYTES = 1024 * 1024;
const DEFAULT_MAX_UPLOAD_BYTES = 512 * 1024 * 1024;
/** setTimeout overflows beyond this; longer waits are re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const UPLOAD_TYPES: Record<string, string> = {
	'image/jpeg': 'jpg',
	'image/jpg': 'jpg',
	'image/pjpeg': 'jpg',
	'image/png': 'png',
	'image/webp': 'webp',
	'video/mp4': 'mp4',
};
const CANONICAL_UPLOAD_TYPE: Record<string, string> = { 'image/jpg': 'image/jpeg', 'image/pjpeg': 'image/jpeg' };

interface StoredUpload {
	id: string;
	filePath: string;
	size: number;
	mimeType: string;
}

/** One request in flight: its log entry, and the key's account once authenticated. */
interface Exchange {
	req: http.IncomingMessage;
	res: http.ServerResponse;
	entry: LogEntry;
	account?: KeyAccount;
}

export class SimulatorServer implements Simulator {
	url = '';
	port = 0;
	readonly timeScale: number;
	readonly webhookSecret: string;
	readonly keys: typeof DEMO_KEYS;
	readonly log: LogEntry[] = [];
	readonly webhookDeliveries: WebhookDelivery[] = [];

	private readonly registry = new KeyRegistry();
	private readonly faults = new FaultQueue();
	private readonly signer: UrlSigner;
	private readonly dispatcher: WebhookDispatcher;
	private readonly maxUploadBytes: number;
	private readonly jobs = new Map<string, Job>();
	private readonly runningJobs = new Map<KeyAccount, Set<Job>>();
	private readonly uploads = new Map<string, StoredUpload>();
	private readonly timers = new Set<NodeJS.Timeout>();
	private readonly peakInFlight = new Map<KeyAccount, number>();
	private peakInFlightOverall = 0;
	private seq = 0;
	private closed = false;
	private tmpDir = '';
	private readonly server: http.Server;

	constructor(private readonly options: SimulatorOptions = {}) {
		this.timeScale = options.timeScale ?? 1;
		if (!(this.timeScale > 0)) throw new Error('timeScale must be a positive number');
		this.webhookSecret = options.webhookSecret ?? DEMO_WEBHOOK_SECRET;
		this.maxUploadBytes = options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
		this.signer = new UrlSigner(this.timeScale);
		this.dispatcher = new WebhookDispatcher(this.timeScale, this.webhookDeliveries, options.webhookAnswerTimeoutMs);
		this.keys = options.ownKeys ? ownKeys() : DEMO_KEYS;
		this.registry.add({ key: this.keys.pro, plan: 'pro' });
		this.registry.add({ key: this.keys.premium, plan: 'premium' });
		this.registry.add({ key: this.keys.starter, plan: 'starter' });
		this.registry.add({ key: this.keys.noCredits, plan: 'pro', credits: 0 });
		for (const spec of options.keys ?? []) this.registry.add(spec);
		this.server = http.createServer((req, res) => {
			this.handle(req, res).catch((error: Error) => {
				if (!res.headersSent) {
					res.writeHead(500, { 'Content-Type': 'application/json' });
					res.end(JSON.stringify({ error: `Simulator internal error: ${error.message}` }));
				} else {
					res.destroy();
				}
			});
		});
	}

	async listen(): Promise<void> {
		this.tmpDir = await fsp.mkdtemp(nodePath.join(os.tmpdir(), 'gemini-omni-sim-'));
		const host = this.options.host ?? '127.0.0.1';
		await new Promise<void>((resolve, reject) => {
			this.server.once('error', reject);
			this.server.listen(this.options.port ?? 0, host, () => {
				this.server.off('error', reject);
				resolve();
			});
		});
		this.port = (this.server.address() as AddressInfo).port;
		// A wildcard bind is reachable on loopback; the URL must be one a client can actually call.
		const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
		this.url = `http://${urlHost}:${this.port}`;
	}

	// ---- programmatic API ----

	clearLog(): void {
		this.log.length = 0;
	}

	addKey(spec: KeySpec): void {
		this.registry.add(spec);
	}

	injectFault(fault: Fault): void {
		this.faults.add(fault);
	}

	clearFaults(): void {
		this.faults.clear();
	}

	getJob(jobId: string): SimJobView | undefined {
		const job = this.jobs.get(jobId);
		if (!job) return undefined;
		this.settle(job);
		return jobView(job, Date.now());
	}

	maxInFlight(keyOrSuffix?: string): number {
		if (keyOrSuffix === undefined) return this.peakInFlightOverall;
		const account = this.registry.find(keyOrSuffix);
		return account ? (this.peakInFlight.get(account) ?? 0) : 0;
	}

	async redeliverWebhook(
		jobId: string,
		opts: { times?: number; concurrent?: boolean; url?: string } = {},
	): Promise<WebhookDelivery[]> {
		const job = this.jobs.get(jobId);
		if (!job) throw new Error(`Unknown job ${jobId}`);
		this.settle(job);
		const finalEvent = job.finalEvent;
		if (!finalEvent) throw new Error(`Job ${jobId} has not finished yet`);
		const url = opts.url ?? job.callbackUrl;
		if (!url) throw new Error(`Job ${jobId} has no callbackUrl; pass opts.url`);
		const times = opts.times ?? 1;
		const previous = this.webhookDeliveries.filter((delivery) => delivery.jobId === jobId).length;
		const send = (index: number) =>
			this.dispatcher.attempt(jobId, finalEvent.event, url, finalEvent.body, finalEvent.signature, previous + index + 1);
		if (opts.concurrent) return Promise.all(Array.from({ length: times }, (_, index) => send(index)));
		const deliveries: WebhookDelivery[] = [];
		for (let index = 0; index < times; index++) deliveries.push(await send(index));
		return deliveries;
	}

	async sendSignedWebhook(
		url: string,
		body: string,
		opts: { signature?: string | null } = {},
	): Promise<{ status: number; text: string }> {
		const signature = opts.signature === undefined ? this.signWebhookBody(body) : opts.signature;
		const result = await this.dispatcher.post(url, body, signature);
		if (result.status === undefined) throw new Error(`Webhook POST to ${url} failed: ${result.error}`);
		return { status: result.status, text: result.text };
	}

	signWebhookBody(body: string): string {
		return signBody(this.webhookSecret, body);
	}

	async close(): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		for (const timer of this.timers) clearTimeout(timer);
		this.timers.clear();
		this.dispatcher.close();
		const closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
		this.server.closeAllConnections();
		await closing;
		if (this.tmpDir) await fsp.rm(this.tmpDir, { recursive: true, force: true });
	}

	// ---- request handling ----

	private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
		const parsed = new URL(req.url ?? '/', 'http://simulator');
		const path = parsed.pathname;
		const method = (req.method ?? 'GET').toUpperCase();
		if (path.startsWith('/__sim/')) return this.handleAdmin(req, res, method, path);

		const kind: LogKind = path.startsWith(STORAGE_PREFIX) ? 'storage' : path === '/api/v1/upload' ? 'upload' : 'api';
		const entry: LogEntry = {
			seq: 0,
			at: Date.now(),
			method,
			path,
			query: Object.fromEntries(parsed.searchParams),
			kind,
			status: 0,
		};
		const bearer = /^Bearer\s+(\S+)/i.exec(req.headers.authorization ?? '');
		if (bearer) entry.key = keySuffix(bearer[1]);
		const exchange: Exchange = { req, res, entry };

		const fault = this.faults.take(method, path);
		if (fault) {
			if (fault.delayMs) await this.sleep(fault.delayMs);
			if (this.closed) return;
			if (fault.drop) {
				entry.error = 'Injected fault: connection dropped';
				this.record(exchange);
				req.socket.destroy();
				return;
			}
			if (fault.status !== undefined) {
				req.resume();
				const headers: Record<string, string> = fault.retryAfter !== undefined ? { 'Retry-After': fault.retryAfter } : {};
				this.sendJson(exchange, fault.status, fault.body ?? { error: 'Injected fault' }, headers);
				return;
			}
		}

		if (kind === 'storage') return this.handleStorage(exchange);
		if (path === '/api/v1/generate') {
			return method === 'POST' ? this.handleGenerate(exchange) : this.methodNotAllowed(exchange, 'POST');
		}
		if (path === '/api/v1/upload') {
			return method === 'POST' ? this.handleUpload(exchange) : this.methodNotAllowed(exchange, 'POST');
		}
		if (/^\/api\/v1\/jobs\/[^/]+$/.test(path)) {
			return method === 'GET' ? this.handleGetJob(exchange) : this.methodNotAllowed(exchange, 'GET');
		}
		req.resume();
		this.sendJson(exchange, 404, { error: `Not found: ${method} ${path}` });
	}

	private methodNotAllowed(exchange: Exchange, allowed: string): void {
		exchange.req.resume();
		this.sendJson(exchange, 405, { error: `Method not allowed: use ${allowed}` }, { Allow: allowed });
	}

	/** Auth, then the per-key request windows. Answers and returns false when the request stops here. */
	private admit(exchange: Exchange): boolean {
		const auth = authenticate(this.registry, exchange.req.headers.authorization);
		if (!auth.ok) {
			if (auth.account) exchange.entry.plan = auth.account.plan;
			exchange.req.resume();
			this.sendJson(exchange, auth.status, { error: auth.error });
			return false;
		}
		exchange.account = auth.account;
		exchange.entry.plan = auth.account.plan;
		const rate = admitRequest(auth.account, Date.now(), this.timeScale);
		if (!rate.ok) {
			exchange.req.resume();
			this.sendJson(exchange, 429, { error: rate.error }, { 'Retry-After': formatRetryAfter(rate.retryAfterMs) });
			return false;
		}
		return true;
	}

	private async handleGenerate(exchange: Exchange): Promise<void> {
		// The body is read before auth only so the log can show what the client sent, even on a 401.
		const raw = await this.readBody(exchange.req, MAX_JSON_BYTES);
		let body: unknown;
		let bodyError: string | undefined;
		if (raw === undefined) {
			bodyError = `Request body too large (maximum ${MAX_JSON_BYTES} bytes)`;
		} else {
			try {
				body = JSON.parse(raw.toString('utf8'));
				exchange.entry.body = body;
			} catch {
				bodyError = 'Request body must be valid JSON';
			}
		}
		if (this.closed || !this.admit(exchange)) return;
		const account = exchange.account as KeyAccount;
		if (bodyError) return this.sendJson(exchange, 400, { error: bodyError });

		const validation = validateGenerate(body);
		if (!validation.ok) return this.sendJson(exchange, 400, { error: validation.error });
		const request = validation.request;

		const now = Date.now();
		const running = this.running(account, now); // also settles (and refunds) jobs that just finished
		const cost = creditCost(request);
		if (cost > account.credits) {
			return this.sendJson(exchange, 402, {
				error: `Insufficient credits: this job costs ${cost} credits and ${account.credits} remain`,
				creditCost: cost,
				creditsRemaining: account.credits,
			});
		}
		if (running.length >= account.limits.concurrent) {
			const earliestFinish = Math.min(...running.map((job) => job.finishAt));
			return this.sendJson(
				exchange,
				429,
				{
					error: `Concurrent job limit reached: ${account.limits.concurrent} jobs in progress on the ${PLAN_LABELS[account.plan]} plan`,
				},
				{ 'Retry-After': formatRetryAfter(Math.max(1, earliestFinish - now)) },
			);
		}

		const directives = parseDirectives(request.text);
		const nominal = nominalSeconds(request, directives);
		const durationMs = nominal * runFactor(directives, request.text) * this.timeScale * 1000;
		account.credits -= cost;
		const job: Job = {
			id: newJobId(),
			account,
			model: request.model,
			lipSync: request.lipSync,
			createdAt: now,
			durationMs,
			finishAt: now + durationMs,
			estimatedSeconds: Math.round(nominal * this.timeScale * 1000) / 1000,
			creditCost: cost,
			failure: directives.fail ?? this.firstFailure(account, request.text, directives.failOnce),
			outputBytes: outputBytes(request, directives),
			chunkedOutput: directives.chunked,
			callbackUrl: request.callbackUrl,
			settled: false,
		};
		this.jobs.set(job.id, job);
		this.runningSet(account).add(job);
		this.notePeaks(account, now);
		this.armSettle(job);
		exchange.entry.jobId = job.id;
		this.sendJson(exchange, 200, {
			jobId: job.id,
			status: 'accepted',
			creditCost: cost,
			estimatedSeconds: job.estimatedSeconds,
		});
	}

	private handleGetJob(exchange: Exchange): void {
		exchange.req.resume();
		if (!this.admit(exchange)) return;
		let jobId: string;
		try {
			jobId = decodeURIComponent(exchange.entry.path.slice('/api/v1/jobs/'.length));
		} catch {
			jobId = '';
		}
		exchange.entry.jobId = jobId;
		const job = this.jobs.get(jobId);
		// Another key's job is indistinguishable from a missing one: no leaking of job ids across accounts.
		if (!job || job.account !== exchange.account) return this.sendJson(exchange, 404, { error: 'Job not found' });
		this.settle(job);
		this.sendJson(exchange, 200, jobView(job, Date.now()));
	}

	private handleUpload(exchange: Exchange): void {
		const { req } = exchange;
		if (!this.admit(exchange)) return;
		const boundary = boundaryFrom(req.headers['content-type']);
		if (!boundary) {
			req.resume();
			return this.sendJson(exchange, 400, {
				error: 'Upload must be multipart/form-data (with a boundary) carrying one file part named "file"',
			});
		}

		const id = 'upl_' + randomBytes(10).toString('hex');
		const filePath = nodePath.join(this.tmpDir, id);
		interface Incoming {
			stream: WriteStream;
			hash: Hash;
			size: number;
			head: Buffer;
			declaredType?: string;
			filename?: string;
		}
		let file: Incoming | undefined;
		let inFilePart = false;
		let tooLarge = false;
		let failure: string | undefined;
		let waitingForDrain = false;
		let ended = false;

		const parser = new MultipartParser(boundary, {
			onPartStart: (part) => {
				inFilePart = file === undefined && part.name === 'file';
				if (!inFilePart) return;
				const stream = createWriteStream(filePath);
				stream.on('error', (error) => (failure = `Could not store the upload: ${error.message}`));
				file = {
					stream,
					hash: createHash('sha256'),
					size: 0,
					head: Buffer.alloc(0),
					declaredType: part.contentType,
					filename: part.filename,
				};
			},
			onPartData: (chunk) => {
				if (!inFilePart || !file || tooLarge) return;
				file.size += chunk.length;
				if (file.size > this.maxUploadBytes) {
					// Keep reading (and discarding) so the client can finish sending and read the 413.
					tooLarge = true;
					return;
				}
				if (file.head.length < 16) file.head = Buffer.concat([file.head, chunk.subarray(0, 16 - file.head.length)]);
				file.hash.update(chunk);
				if (!file.stream.write(chunk) && !waitingForDrain) {
					waitingForDrain = true;
					req.pause();
					file.stream.once('drain', () => {
						waitingForDrain = false;
						req.resume();
					});
				}
			},
			onPartEnd: () => {
				inFilePart = false;
			},
		});

		const discard = (): void => {
			file?.stream.destroy();
			void fsp.rm(filePath, { force: true });
		};
		req.on('data', (chunk: Buffer) => {
			if (failure) return;
			try {
				parser.write(chunk);
			} catch (error) {
				failure = (error as Error).message;
			}
		});
		req.on('close', () => {
			if (!ended) discard();
		});
		req.on('end', () => {
			ended = true;
			void (async () => {
				if (!failure) {
					try {
						parser.end();
					} catch (error) {
						failure = (error as Error).message;
					}
				}
				const refuse = (status: number, error: string): void => {
					discard();
					this.sendJson(exchange, status, { error });
				};
				if (failure) return refuse(400, `Malformed multipart body: ${failure}`);
				if (!file) return refuse(400, 'Missing file part: send the file in a multipart part named "file"');
				if (tooLarge) {
					return refuse(413, `File too large: the maximum upload size is ${this.maxUploadBytes} bytes`);
				}
				if (file.size === 0) return refuse(400, 'The uploaded file is empty');
				const declared = file.declaredType && UPLOAD_TYPES[file.declaredType] ? file.declaredType : undefined;
				const mimeType = declared ? (CANONICAL_UPLOAD_TYPE[declared] ?? declared) : sniffMimeType(file.head);
				if (!mimeType) {
					return refuse(
						400,
						`Unsupported file type ${JSON.stringify(file.declaredType ?? 'unknown')}: upload a JPEG, PNG or WebP image or an MP4 video`,
					);
				}
				const stream = file.stream;
				await new Promise<void>((resolve) => stream.end(() => resolve()));
				if (this.closed) return;
				const sha256 = file.hash.digest('hex');
				const name = safeFileName(file.filename, UPLOAD_TYPES[mimeType]);
				this.uploads.set(id, { id, filePath, size: file.size, mimeType });
				const url = this.url + this.signer.sign(`${STORAGE_PREFIX}uploads/${id}/${name}`, Date.now());
				exchange.entry.upload = { sha256, size: file.size, mimeType, filename: file.filename };
				this.sendJson(exchange, 200, { url, mimeType, size: file.size });
			})();
		});
	}

	private handleStorage(exchange: Exchange): void {
		const { req, res, entry } = exchange;
		req.resume();
		if (entry.method !== 'GET' && entry.method !== 'HEAD') return this.methodNotAllowed(exchange, 'GET');
		const verdict = this.signer.verify(entry.path, entry.query, Date.now());
		if (verdict !== 'ok') {
			const error = verdict === 'expired' ? 'Forbidden: this signed URL has expired' : 'Forbidden: invalid signature';
			return this.sendJson(exchange, 403, { error });
		}

		let source: { size: number; mimeType: string; chunked?: boolean; open: () => NodeJS.ReadableStream } | undefined;
		const output = /^\/r2\/omni\/([^/]+)\/output\.(mp4|mp3)$/.exec(entry.path);
		const uploaded = /^\/r2\/uploads\/([^/]+)\/[^/]+$/.exec(entry.path);
		if (output) {
			const job = this.jobs.get(output[1]);
			if (job) {
				this.settle(job);
				entry.jobId = job.id;
				const kind = outputKind(job);
				if (jobStatus(job, Date.now()) === 'done' && kind.extension === output[2]) {
					source = {
						size: job.outputBytes,
						mimeType: kind.mimeType,
						chunked: job.chunkedOutput,
						open: () => outputStream(job.id, kind.extension, job.outputBytes),
					};
				}
			}
		} else if (uploaded) {
			const upload = this.uploads.get(uploaded[1]);
			if (upload) {
				source = { size: upload.size, mimeType: upload.mimeType, open: () => createReadStream(upload.filePath) };
			}
		}
		if (!source) return this.sendJson(exchange, 404, { error: 'Not found' });

		res.writeHead(200, {
			'Content-Type': source.mimeType,
			...(source.chunked ? {} : { 'Content-Length': String(source.size) }),
			'Cache-Control': 'private, max-age=0',
		});
		entry.status = 200;
		this.record(exchange);
		if (entry.method === 'HEAD') {
			entry.bytesSent = 0;
			res.end();
			return;
		}
		let counted = 0;
		const stream = source.open();
		stream.on('data', (chunk: Buffer) => (counted += chunk.length));
		stream.on('error', () => res.destroy());
		res.on('finish', () => {
			entry.bytesSent = counted;
			entry.endedAt = Date.now();
		});
		res.on('close', () => {
			entry.endedAt ??= Date.now();
			if (!res.writableFinished) {
				entry.bytesSent = counted;
				entry.error = 'Download aborted before the end';
				(stream as unknown as { destroy?: () => void }).destroy?.();
			}
		});
		// pipe() pauses the generator whenever the socket's buffer is full: that is the backpressure.
		stream.pipe(res);
	}

	private handleAdmin(req: http.IncomingMessage, res: http.ServerResponse, method: string, path: string): void {
		// Decided: admin calls are not logged, so the log holds only what clients did.
		const send = (status: number, body: unknown): void => {
			res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
			res.end(JSON.stringify(body));
		};
		const withJsonBody = (action: (body: Record<string, unknown>) => void): void => {
			void this.readBody(req, MAX_JSON_BYTES).then((raw) => {
				try {
					const body = JSON.parse(raw?.toString('utf8') ?? '');
					if (typeof body !== 'object' || body === null) throw new Error('not an object');
					action(body as Record<string, unknown>);
				} catch (error) {
					send(400, { error: `Bad admin request: ${(error as Error).message}` });
				}
			});
		};
		const route = `${method} ${path}`;
		if (route === 'POST /__sim/faults') {
			return withJsonBody((body) => {
				this.injectFault(body as Fault);
				send(200, { ok: true, faults: this.faults.list().length });
			});
		}
		req.resume();
		if (route === 'GET /__sim/faults') return send(200, this.faults.list());
		if (route === 'DELETE /__sim/faults') {
			this.clearFaults();
			return send(200, { ok: true });
		}
		if (route === 'GET /__sim/log') return send(200, this.log);
		if (route === 'DELETE /__sim/log') {
			this.clearLog();
			return send(200, { ok: true });
		}
		if (route === 'GET /__sim/webhooks') return send(200, this.webhookDeliveries);
		if (route === 'GET /__sim/health') return send(200, { ok: true, url: this.url, timeScale: this.timeScale });
		const jobMatch = /^\/__sim\/jobs\/([^/]+)$/.exec(path);
		if (method === 'GET' && jobMatch) {
			const view = this.getJob(decodeURIComponent(jobMatch[1]));
			return view ? send(200, view) : send(404, { error: 'Job not found' });
		}
		send(404, { error: `Unknown admin route ${route}` });
	}

	// ---- jobs ----

	/** [sim:failonce]: the failure for the first job of this text on this key, none after. */
	private firstFailure(account: KeyAccount, text: string, failure: string | undefined): string | undefined {
		if (failure === undefined) return undefined;
		const seen = (this.failedOnce.get(account) ?? this.failedOnce.set(account, new Set()).get(account))!;
		if (seen.has(text)) return undefined;
		seen.add(text);
		return failure;
	}

	private readonly failedOnce = new Map<KeyAccount, Set<string>>();

	private runningSet(account: KeyAccount): Set<Job> {
		let set = this.runningJobs.get(account);
		if (!set) {
			set = new Set();
			this.runningJobs.set(account, set);
		}
		return set;
	}

	/** The key's jobs still running by the clock; finished ones are settled and dropped from the set. */
	private running(account: KeyAccount, now: number): Job[] {
		const set = this.runningSet(account);
		for (const job of set) {
			if (now >= job.finishAt) {
				this.settle(job);
				set.delete(job);
			}
		}
		return [...set];
	}

	private notePeaks(account: KeyAccount, now: number): void {
		const mine = this.running(account, now).length;
		this.peakInFlight.set(account, Math.max(this.peakInFlight.get(account) ?? 0, mine));
		let overall = 0;
		for (const other of this.runningJobs.keys()) overall += this.running(other, now).length;
		this.peakInFlightOverall = Math.max(this.peakInFlightOverall, overall);
	}

	private armSettle(job: Job): void {
		const wait = Math.min(MAX_TIMER_MS, Math.max(0, job.finishAt - Date.now()));
		const timer = setTimeout(() => {
			this.timers.delete(timer);
			if (this.closed) return;
			if (Date.now() < job.finishAt) return this.armSettle(job);
			this.settle(job);
			this.runningJobs.get(job.account)?.delete(job);
		}, wait);
		timer.unref();
		this.timers.add(timer);
	}

	/**
	 * The finish side effects, run once at createdAt + duration (by timer, or earlier by whoever looks first):
	 * refund a failed job, sign the output URL, build the final webhook body once and send it.
	 */
	private settle(job: Job): void {
		if (job.settled || Date.now() < job.finishAt) return;
		job.settled = true;
		const timestamp = new Date(job.finishAt).toISOString();
		let payload: Record<string, unknown>;
		if (job.failure !== undefined) {
			job.account.credits += job.creditCost;
			job.creditCost = 0;
			payload = { event: 'job.failed', jobId: job.id, status: 'failed', error: job.failure, creditCost: 0, timestamp };
		} else {
			const { extension } = outputKind(job);
			job.outputUrl = this.url + this.signer.sign(`${STORAGE_PREFIX}omni/${job.id}/output.${extension}`, job.finishAt);
			payload = {
				event: 'job.completed',
				jobId: job.id,
				status: 'done',
				outputUrl: job.outputUrl,
				creditCost: job.creditCost,
				model: job.model,
				timestamp,
			};
		}
		const body = JSON.stringify(payload);
		job.finalEvent = { event: payload.event as string, body, signature: this.signWebhookBody(body) };
		if (job.callbackUrl && !this.closed) {
			this.dispatcher.deliver(job.id, job.finalEvent.event, job.callbackUrl, body, job.finalEvent.signature);
		}
	}

	// ---- plumbing ----

	private sendJson(exchange: Exchange, status: number, body: unknown, headers: Record<string, string> = {}): void {
		const { res, entry } = exchange;
		const text = JSON.stringify(body);
		entry.status = status;
		if (body && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string') {
			entry.error = (body as { error: string }).error;
		}
		if (headers['Retry-After'] !== undefined) entry.retryAfter = headers['Retry-After'];
		this.record(exchange);
		if (res.destroyed) return;
		res.writeHead(status, {
			'Content-Type': 'application/json; charset=utf-8',
			'Content-Length': String(Buffer.byteLength(text)),
			...headers,
		});
		res.end(text);
	}

	private record(exchange: Exchange): void {
		const { entry, account } = exchange;
		if (account && entry.kind !== 'storage') entry.inFlight = this.running(account, Date.now()).length;
		entry.seq = ++this.seq;
		this.log.push(entry);
	}

	/** The whole body, or undefined when it exceeds the limit (the rest is drained, not kept). */
	private readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
		return new Promise((resolve) => {
			const chunks: Buffer[] = [];
			let size = 0;
			req.on('data', (chunk: Buffer) => {
				size += chunk.length;
				if (size <= limit) chunks.push(chunk);
			});
			req.on('end', () => resolve(size <= limit ? Buffer.concat(chunks) : undefined));
			req.on('error', () => resolve(undefined));
		});
	}

	private sleep(ms: number): Promise<void> {
		return new Promise((resolve) => {
			const timer = setTimeout(() => {
				this.timers.delete(timer);
				resolve();
			}, ms);
			timer.unref();
			this.timers.add(timer);
		});
	}
}
