/**
 * Between n8n's binary store and the API: input files are uploaded (streamed from the store when it
 * keeps files on disk or in object storage), outputs are streamed from their signed URL into the store.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IBinaryData, IDataObject, IExecuteFunctions, IWebhookFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { apiRequest, openDownload } from '../transport';
import type { ApiRequestOptions, DownloadedFile, GeminiOmniCredentials } from '../transport';
import type { Job } from './job';

export type MediaKind = 'image' | 'video';

const ACCEPTED: Record<MediaKind, { mimeTypes: string[]; maxBytes: number; label: string }> = {
	image: { mimeTypes: ['image/jpeg', 'image/png', 'image/webp'], maxBytes: 20 * 1024 * 1024, label: 'JPEG, PNG or WebP image' },
	video: { mimeTypes: ['video/mp4'], maxBytes: 512 * 1024 * 1024, label: 'MP4 video' },
};

/** The type a file's first bytes show, among those the API takes; undefined for anything else. */
export function sniffMediaType(head: Buffer): string | undefined {
	if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
	if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
	if (head.length >= 12 && head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
	if (head.length >= 8 && head.toString('latin1', 4, 8) === 'ftyp') return 'video/mp4';
	return undefined;
}

const SNIFF_BYTES = 16;

/** The first bytes of a binary, without reading a stored file whole. */
async function firstBytes(this: IExecuteFunctions, binary: IBinaryData): Promise<Buffer> {
	// 24 base64 characters are 18 bytes: enough, without decoding a large in-memory file whole.
	if (!binary.id) return Buffer.from((binary.data ?? '').slice(0, 24), 'base64').subarray(0, SNIFF_BYTES);
	const stream = await this.helpers.getBinaryStream(binary.id, 64 * 1024);
	let head = Buffer.alloc(0);
	// Leaving the loop early ends (destroys) the stream: only the first chunk is read.
	for await (const chunk of stream as AsyncIterable<Buffer>) {
		head = Buffer.concat([head, Buffer.from(chunk)]);
		if (head.length >= SNIFF_BYTES) break;
	}
	return head.subarray(0, SNIFF_BYTES);
}

export interface UploadedFile extends IDataObject {
	url: string;
	mimeType: string;
	size: number;
}

function binarySize(binary: IBinaryData): number | undefined {
	if (typeof binary.bytes === 'number') return binary.bytes;
	if (!binary.id && binary.data) return Buffer.byteLength(binary.data, 'base64');
	return undefined;
}

/** Checks the binary's type and size against what the API accepts, before anything is sent. */
export async function assertUploadable(
	this: IExecuteFunctions,
	itemIndex: number,
	propertyName: string,
	kind: MediaKind,
): Promise<{ binary: IBinaryData; size: number | undefined; mimeType: string }> {
	const binary = this.helpers.assertBinaryData(itemIndex, propertyName);
	const accepted = ACCEPTED[kind];
	const mimeType = (binary.mimeType ?? '').toLowerCase().split(';')[0].trim();
	if (!accepted.mimeTypes.includes(mimeType)) {
		throw new NodeOperationError(
			this.getNode(),
			`The file in input binary field "${propertyName}" is ${mimeType || 'of unknown type'}, but this field needs a ${accepted.label}`,
			{ itemIndex, description: `Accepted types: ${accepted.mimeTypes.join(', ')}` },
		);
	}
	let size = binarySize(binary);
	if (size === undefined && binary.id) size = (await this.helpers.getBinaryMetadata(binary.id)).fileSize;
	if (size !== undefined && size > accepted.maxBytes) {
		throw new NodeOperationError(
			this.getNode(),
			`The file in input binary field "${propertyName}" is ${(size / 1048576).toFixed(1)} MiB; the limit for a ${accepted.label} is ${accepted.maxBytes / 1048576} MiB`,
			{ itemIndex },
		);
	}
	if (size === 0) {
		throw new NodeOperationError(this.getNode(), `The file in input binary field "${propertyName}" is empty`, { itemIndex });
	}
	// The declared type is only a label (a PDF renamed photo.jpg says image/jpeg): the content decides.
	const sniffed = sniffMediaType(await firstBytes.call(this, binary));
	if (!sniffed || !accepted.mimeTypes.includes(sniffed)) {
		throw new NodeOperationError(
			this.getNode(),
			`The file in input binary field "${propertyName}"${binary.fileName ? ` (${binary.fileName})` : ''} is labelled ${mimeType}, but its content is not a ${accepted.label}`,
			{ itemIndex, description: `Its first bytes are ${sniffed ? `those of ${sniffed}` : 'not those of any accepted type'}. Nothing was uploaded.` },
		);
	}
	return { binary, size, mimeType: sniffed };
}

type StreamWithCompose = NodeJS.ReadableStream & {
	compose?: (fn: (source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer>) => NodeJS.ReadableStream;
};

/**
 * POST /api/v1/upload with the binary as the multipart part `file`. A file in n8n's filesystem or
 * object store is streamed (the multipart envelope wraps the store's stream, so a large clip is never
 * copied into memory); an in-memory binary is sent from its buffer.
 */
/**
 * The content's SHA-256 of an item's binary (streamed from n8n's store, so a large clip is never held
 * whole): what Reuse Paid Jobs on Retry knows an input file by, whichever run or store it came from.
 */
export async function binaryContentHash(this: IExecuteFunctions, itemIndex: number, propertyName: string): Promise<string> {
	const binary = this.helpers.assertBinaryData(itemIndex, propertyName);
	const hash = createHash('sha256');
	if (binary.id) {
		for await (const chunk of (await this.helpers.getBinaryStream(binary.id)) as AsyncIterable<Buffer>) hash.update(chunk);
	} else {
		hash.update(await this.helpers.getBinaryDataBuffer(itemIndex, propertyName));
	}
	return hash.digest('hex');
}

export async function uploadBinary(
	this: IExecuteFunctions,
	itemIndex: number,
	propertyName: string,
	kind: MediaKind,
	requestOptions: Partial<ApiRequestOptions> & { credentials?: GeminiOmniCredentials } = {},
): Promise<UploadedFile> {
	const { binary, size, mimeType } = await assertUploadable.call(this, itemIndex, propertyName, kind);
	const fileName = (binary.fileName ?? `upload.${kind === 'image' ? 'jpg' : 'mp4'}`).replace(/["\r\n]/g, '_');

	const rawBody = async () => {
		const boundary = `----GeminiOmniBoundary${randomBytes(12).toString('hex')}`;
		const head = Buffer.from(
			`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${fileName}"\r\nContent-Type: ${mimeType}\r\n\r\n`,
		);
		const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
		const headers: Record<string, string> = { 'Content-Type': `multipart/form-data; boundary=${boundary}` };
		if (binary.id) {
			const source = (await this.helpers.getBinaryStream(binary.id)) as StreamWithCompose;
			if (typeof source.compose === 'function') {
				if (size !== undefined) headers['Content-Length'] = String(head.length + size + tail.length);
				const body = source.compose(async function* (chunks: AsyncIterable<Buffer>) {
					yield head;
					for await (const chunk of chunks) yield chunk;
					yield tail;
				});
				return { body, headers };
			}
		}
		const content = await this.helpers.getBinaryDataBuffer(itemIndex, propertyName);
		return { body: Buffer.concat([head, content, tail]), headers };
	};

	const uploaded = await apiRequest.call(this, {
		...requestOptions,
		method: 'POST',
		path: '/api/v1/upload',
		rawBody,
		itemIndex,
	});
	return uploaded as UploadedFile;
}

export interface DownloadSettings {
	binaryPropertyName: string;
	maxBytes: number;
	/** What n8n's `database` binary mode stores per file (N8N_BINARY_DATA_DATABASE_MAX_FILE_SIZE, n8n's default 512 MiB). */
	databaseLimitBytes: number;
	/** 'note': an output over maxBytes is not downloaded and the result says so (an agent's tool call); default: the item fails. */
	overLimit?: 'fail' | 'note';
}

/** The output is larger than the download's limit (Max Output Size, or an agent tool's file size): not downloaded. */
export class OutputTooLargeError extends NodeOperationError {}

/** n8n's own default for N8N_BINARY_DATA_DATABASE_MAX_FILE_SIZE (MiB); node code cannot read n8n's settings. */
export const DATABASE_BINARY_LIMIT_MB = 512;

function mebibytes(value: unknown, fallback: number): number {
	const megabytes = Number(value ?? fallback);
	return (Number.isFinite(megabytes) && megabytes > 0 ? megabytes : fallback) * 1024 * 1024;
}

/** Download settings from "Put Output File in Field", "Max Output Size (MiB)" and "Database Binary Limit (MiB)". */
export function downloadSettings(binaryPropertyName: unknown, maxOutputSizeMb: unknown, databaseLimitMb?: unknown): DownloadSettings {
	return {
		binaryPropertyName: String(binaryPropertyName || 'data'),
		maxBytes: mebibytes(maxOutputSizeMb, 2048),
		databaseLimitBytes: mebibytes(databaseLimitMb, DATABASE_BINARY_LIMIT_MB),
	};
}

const MIME_BY_MODEL: Record<string, { mimeType: string; extension: string }> = {
	'gemini-omni-audio': { mimeType: 'audio/mpeg', extension: 'mp3' },
};
const DEFAULT_OUTPUT = { mimeType: 'video/mp4', extension: 'mp4' };

/**
 * Streams a done job's output from its signed URL into n8n's binary store: `<jobId>.mp4` or `.mp3`.
 * The whole file is never held in memory (except in n8n's in-memory binary mode, which buffers by design).
 */
export async function downloadJobOutput(
	this: IExecuteFunctions | IWebhookFunctions,
	job: Job,
	itemIndex: number,
	settings: DownloadSettings,
	signal?: AbortSignal,
): Promise<IBinaryData> {
	if (!job.outputUrl) {
		throw new NodeOperationError(this.getNode(), `Job ${job.jobId} has no outputUrl (status "${job.status}")`, { itemIndex });
	}
	// Asked before the download opens, so no response sits waiting on it (once per execution).
	const storeKind = await binaryStoreKind.call(this).catch((error: Error) => {
		throw new NodeOperationError(this.getNode(), error, { itemIndex });
	});
	const download = await openDownload.call(this, job.outputUrl, { itemIndex, jobId: job.jobId, signal });
	if (download.contentLength !== undefined && download.contentLength > settings.maxBytes) {
		download.stream.destroy?.();
		throw new OutputTooLargeError(
			this.getNode(),
			`The output of job ${job.jobId} is ${(download.contentLength / 1048576).toFixed(1)} MiB, over the "Max Output Size" of ${(settings.maxBytes / 1048576).toFixed(0)} MiB. Not downloaded; its outputUrl stays valid for 7 days.`,
			{ itemIndex },
		);
	}
	// The store may hold less than Max Output Size: in memory ~380 MiB, n8n's database mode its file limit.
	// Known before a byte is downloaded when the server sends the size; otherwise the stream is capped there.
	const store = storeKind === 'memory' ? STORE_LIMITS.memory() : storeKind === 'database' ? STORE_LIMITS.database(settings) : undefined;
	if (store && download.contentLength !== undefined && download.contentLength > store.limitBytes) {
		download.stream.destroy?.();
		throw new NodeOperationError(this.getNode(), store.message(job.jobId, download.contentLength), { itemIndex, description: store.description });
	}
	const cap = capAtMaxBytes(download.stream, Math.min(settings.maxBytes, store?.limitBytes ?? Infinity));
	const known = MIME_BY_MODEL[String(job.model)] ?? DEFAULT_OUTPUT;
	const serverType = download.contentType?.split(';')[0].trim();
	const mimeType = serverType && serverType !== 'application/octet-stream' ? serverType : known.mimeType;
	const extension = mimeType === 'audio/mpeg' ? 'mp3' : mimeType === 'video/mp4' ? 'mp4' : known.extension;
	let binary: IBinaryData | undefined;
	let failure: unknown;
	try {
		binary = await this.helpers.prepareBinaryData(cap.stream as never, `${job.jobId}.${extension}`, mimeType);
	} catch (error) {
		failure = error;
	}
	if (cap.exceeded() && store && store.limitBytes < settings.maxBytes) {
		throw new NodeOperationError(this.getNode(), store.message(job.jobId, undefined), { itemIndex, description: store.description });
	}
	if (cap.exceeded()) {
		throw new OutputTooLargeError(
			this.getNode(),
			`The output of job ${job.jobId} is larger than the "Max Output Size" of ${(settings.maxBytes / 1048576).toFixed(0)} MiB (the server sent no size, so it was counted while downloading). Download stopped; its outputUrl stays valid for 7 days.`,
			{ itemIndex },
		);
	}
	if (failure !== undefined && /Cannot create a string longer than/i.test(String((failure as Error).message))) {
		const memory = STORE_LIMITS.memory();
		throw new NodeOperationError(this.getNode(), memory.message(job.jobId, download.contentLength), { itemIndex, description: memory.description });
	}
	if (failure !== undefined || !binary) throw new NodeOperationError(this.getNode(), failure as Error, { itemIndex });
	return binary;
}

interface StoreLimit {
	limitBytes: number;
	message(jobId: string, bytes: number | undefined): string;
	description: string;
}

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MiB`;
const STILL_VALID = 'Not downloaded; its outputUrl stays valid for 7 days.';
const OR_USE_THE_URL = 'Or turn "Download Output" off and pass the outputUrl on (it is a signed link, valid for 7 days); Job → Download Output can fetch it later.';

/**
 * What n8n's binary stores can hold per file:
 * - in memory (1.x's default): one base64 string, and V8 cannot make one longer than about 512 MiB of
 *   text, so ~380 MiB of file (measured on n8n 1.x);
 * - `database` (2.x's default in queue mode): N8N_BINARY_DATA_DATABASE_MAX_FILE_SIZE, and n8n checks
 *   it only after holding the whole file in memory.
 */
const STORE_LIMITS = {
	memory: (): StoreLimit => ({
		limitBytes: 380 * 1024 * 1024,
		message: (jobId, bytes) =>
			`The output of job ${jobId} (${bytes !== undefined ? `${mib(bytes)}, ` : ''}over ~380 MiB) cannot be kept in n8n's in-memory binary mode. Not stored.`,
		description: `Set N8N_DEFAULT_BINARY_DATA_MODE=filesystem (or an object store) for this n8n and restart it; the outputUrl stays valid for 7 days, so the file can be downloaded then with Job → Download Output. ${OR_USE_THE_URL}`,
	}),
	database: (settings: DownloadSettings): StoreLimit => ({
		limitBytes: settings.databaseLimitBytes,
		message: (jobId, bytes) =>
			`The output of job ${jobId} is ${bytes !== undefined ? mib(bytes) : 'larger than that (counted while downloading)'}, over the ${mib(settings.databaseLimitBytes)} per file that n8n's "database" binary mode stores (queue mode's default). ${STILL_VALID}`,
		description: `Store binaries elsewhere: N8N_DEFAULT_BINARY_DATA_MODE=filesystem on a volume every n8n process shares, or s3. Or raise N8N_BINARY_DATA_DATABASE_MAX_FILE_SIZE (at most 1024) and this node's "Database Binary Limit (MiB)" option with it. ${OR_USE_THE_URL}`,
	}),
};

type StoreKind = 'memory' | 'database' | 'other';

/** Per execution: the store cannot change while it runs. Bounded, oldest forgotten first. */
const storeKindByExecution = new Map<string, Promise<StoreKind>>();

/**
 * Where this n8n puts binaries. Node code cannot read n8n's settings, so it asks the store itself:
 * an empty file stored in memory comes back without an id, one stored in the database with a
 * `database:` id. Once per execution (a webhook call, which has no execution id yet, asks each time).
 */
async function binaryStoreKind(this: IExecuteFunctions | IWebhookFunctions): Promise<StoreKind> {
	const executionId = 'getExecutionId' in this ? String(this.getExecutionId()) : undefined;
	const known = executionId ? storeKindByExecution.get(executionId) : undefined;
	if (known) return await known;
	const asked = (async (): Promise<StoreKind> => {
		const probe = await this.helpers.prepareBinaryData(Buffer.alloc(0), 'probe.bin', 'application/octet-stream');
		if (!probe.id) return 'memory';
		return probe.id.startsWith('database:') ? 'database' : 'other';
	})();
	if (executionId) {
		storeKindByExecution.set(executionId, asked);
		asked.catch(() => storeKindByExecution.delete(executionId));
		if (storeKindByExecution.size > 200) storeKindByExecution.delete(storeKindByExecution.keys().next().value as string);
	}
	return await asked;
}

/**
 * Counts the bytes as they stream into n8n's binary store and ends the stream at the limit, so a
 * response sent without Content-Length (chunked) is capped too. It ends rather than errors: n8n's
 * binary store pipes the stream without an error handler. Built with the stream's own `compose`,
 * since node code may not import node:stream.
 */
function capAtMaxBytes(source: DownloadedFile['stream'], maxBytes: number): { stream: DownloadedFile['stream']; exceeded: () => boolean } {
	let exceeded = false;
	const composable = source as StreamWithCompose;
	if (typeof composable.compose !== 'function') return { stream: source, exceeded: () => false };
	const stream = composable.compose(async function* (chunks: AsyncIterable<Buffer>) {
		let received = 0;
		for await (const chunk of chunks) {
			received += chunk.length;
			if (received > maxBytes) {
				exceeded = true;
				// Leaving the loop ends the download itself: nothing more is fetched.
				return;
			}
			yield chunk;
		}
	}) as DownloadedFile['stream'];
	// Ending early makes both streams report a premature close: that is the cap working, and the caller
	// reports it from `exceeded`. Without these listeners it would be an unhandled 'error' event.
	const ignoreErrors = (target: unknown) => (target as { on?: (event: string, listener: () => void) => void }).on?.('error', () => undefined);
	ignoreErrors(stream);
	ignoreErrors(source);
	return { stream, exceeded: () => exceeded };
}
