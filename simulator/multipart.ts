/**
 * A streaming multipart/form-data parser that works on bytes only: part bodies are never decoded to
 * strings, and a boundary split across two network chunks is still found because the last
 * (delimiter length - 1) bytes are held back until the next chunk arrives.
 */

export interface PartHeaders {
	/** Header names lower-cased. */
	headers: Record<string, string>;
	name?: string;
	filename?: string;
	contentType?: string;
}

export interface MultipartHandlers {
	onPartStart(part: PartHeaders): void;
	onPartData(chunk: Buffer): void;
	onPartEnd(): void;
}

export class MultipartError extends Error {}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
const MAX_HEADER_BYTES = 16 * 1024;

type State = 'preamble' | 'afterDelimiter' | 'headers' | 'body' | 'done';

export function boundaryFrom(contentType: string | undefined): string | undefined {
	if (!contentType || !/^multipart\/form-data\b/i.test(contentType.trim())) return undefined;
	const match = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
	const boundary = match?.[1] ?? match?.[2];
	return boundary && boundary.length <= 200 ? boundary : undefined;
}

export function parsePartHeaders(text: string): PartHeaders {
	const headers: Record<string, string> = {};
	for (const line of text.split('\r\n')) {
		const colon = line.indexOf(':');
		if (colon <= 0) continue;
		headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
	}
	const disposition = headers['content-disposition'] ?? '';
	const param = (key: string): string | undefined => {
		const match = new RegExp(`;\\s*${key}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;]*))`, 'i').exec(disposition);
		const raw = match?.[1] ?? match?.[2]?.trim();
		return raw?.replace(/\\(.)/g, '$1');
	};
	let filename = param('filename');
	const extended = param('filename\\*');
	if (extended) {
		// RFC 5987: charset'lang'percent-encoded
		const encoded = extended.replace(/^[^']*'[^']*'/, '');
		try {
			filename = decodeURIComponent(encoded);
		} catch {
			filename = encoded;
		}
	}
	return {
		headers,
		name: param('name'),
		filename,
		contentType: headers['content-type']?.split(';')[0].trim().toLowerCase(),
	};
}

export class MultipartParser {
	/** "\r\n--boundary": the stream is primed with a CRLF so the first delimiter has the same shape. */
	private readonly delimiter: Buffer;
	private pending: Buffer = Buffer.from(CRLF);
	private state: State = 'preamble';

	constructor(
		boundary: string,
		private readonly handlers: MultipartHandlers,
	) {
		this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
	}

	get finished(): boolean {
		return this.state === 'done';
	}

	write(chunk: Buffer): void {
		if (this.state === 'done') return; // epilogue: ignored
		this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
		while (this.step()) {
			// each step consumed something; go on until it needs more bytes
		}
	}

	end(): void {
		if (this.state !== 'done') throw new MultipartError('Multipart body ended before its closing boundary');
	}

	/** Returns true when it made progress and another step may too. */
	private step(): boolean {
		const buffer = this.pending;
		switch (this.state) {
			case 'preamble': {
				const index = buffer.indexOf(this.delimiter);
				if (index === -1) {
					this.pending = buffer.subarray(Math.max(0, buffer.length - (this.delimiter.length - 1)));
					return false;
				}
				this.pending = buffer.subarray(index + this.delimiter.length);
				this.state = 'afterDelimiter';
				return true;
			}
			case 'afterDelimiter': {
				if (buffer.length < 2) return false;
				if (buffer[0] === 0x2d && buffer[1] === 0x2d) {
					this.state = 'done';
					this.pending = Buffer.alloc(0);
					return false;
				}
				// Transport padding (spaces, tabs) may sit between the boundary and its CRLF.
				const lineEnd = buffer.indexOf(CRLF);
				if (lineEnd === -1) {
					if (buffer.length > 256) throw new MultipartError('Malformed multipart boundary line');
					return false;
				}
				if (!/^[ \t]*$/.test(buffer.subarray(0, lineEnd).toString('latin1'))) {
					throw new MultipartError('Malformed multipart boundary line');
				}
				this.pending = buffer.subarray(lineEnd + 2);
				this.state = 'headers';
				return true;
			}
			case 'headers': {
				let headerText: string;
				if (buffer.length >= 2 && buffer[0] === 0x0d && buffer[1] === 0x0a) {
					headerText = ''; // a part without headers
					this.pending = buffer.subarray(2);
				} else {
					const index = buffer.indexOf(HEADER_END);
					if (index === -1) {
						if (buffer.length > MAX_HEADER_BYTES) throw new MultipartError('Multipart part headers too large');
						return false;
					}
					headerText = buffer.subarray(0, index).toString('utf8');
					this.pending = buffer.subarray(index + HEADER_END.length);
				}
				this.handlers.onPartStart(parsePartHeaders(headerText));
				this.state = 'body';
				return true;
			}
			case 'body': {
				const index = buffer.indexOf(this.delimiter);
				if (index === -1) {
					// Hold back what could be the start of a delimiter cut by the chunk edge.
					const safe = buffer.length - (this.delimiter.length - 1);
					if (safe > 0) {
						this.handlers.onPartData(buffer.subarray(0, safe));
						this.pending = buffer.subarray(safe);
					}
					return false;
				}
				if (index > 0) this.handlers.onPartData(buffer.subarray(0, index));
				this.handlers.onPartEnd();
				this.pending = buffer.subarray(index + this.delimiter.length);
				this.state = 'afterDelimiter';
				return true;
			}
			case 'done':
				return false;
		}
	}
}

/** Magic-byte sniffing for the accepted upload types, used when the part's Content-Type is missing or generic. */
export function sniffMimeType(head: Buffer): string | undefined {
	if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
	if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
		return 'image/png';
	}
	if (
		head.length >= 12 &&
		head.subarray(0, 4).toString('latin1') === 'RIFF' &&
		head.subarray(8, 12).toString('latin1') === 'WEBP'
	) {
		return 'image/webp';
	}
	if (head.length >= 8 && head.subarray(4, 8).toString('latin1') === 'ftyp') return 'video/mp4';
	return undefined;
}
