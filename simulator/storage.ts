import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';

/** Signed storage URLs live on the simulator itself under this prefix, standing in for the R2 host. */
export const STORAGE_PREFIX = '/r2/';

const WEEK_MS = 7 * 24 * 3600 * 1000;

/**
 * Signs storage paths: sig = hex HMAC-SHA256(per-instance secret, path + "\n" + expires).
 * Expires is unix seconds; when the scaled lifetime is under a minute it keeps milliseconds as
 * decimals, otherwise a tiny timeScale could not produce a URL that expires within a test.
 */
export class UrlSigner {
	private readonly secret = randomBytes(32);

	constructor(private readonly timeScale: number) {}

	lifetimeMs(): number {
		return WEEK_MS * this.timeScale;
	}

	sign(path: string, issuedAt: number): string {
		const lifetime = this.lifetimeMs();
		const expiresMs = issuedAt + lifetime;
		const expires = lifetime < 60_000 ? (expiresMs / 1000).toFixed(3) : String(Math.ceil(expiresMs / 1000));
		return `${path}?expires=${expires}&sig=${this.signature(path, expires)}`;
	}

	/** 'ok', or why the URL is refused (both answer 403, the reason goes to the log). */
	verify(path: string, query: Record<string, string>, now: number): 'ok' | 'expired' | 'bad signature' {
		const { expires, sig } = query;
		if (!expires || !sig || !/^[0-9a-f]{64}$/.test(sig)) return 'bad signature';
		const expected = Buffer.from(this.signature(path, expires), 'hex');
		if (!timingSafeEqual(expected, Buffer.from(sig, 'hex'))) return 'bad signature';
		if (!(Number(expires) * 1000 > now)) return 'expired';
		return 'ok';
	}

	private signature(path: string, expires: string): string {
		return createHmac('sha256', this.secret).update(`${path}\n${expires}`).digest('hex');
	}
}

const PATTERN_SIZE = 64 * 1024;
/** An MPEG-1 Layer III frame at 128 kbit/s, 44.1 kHz is 417 bytes; the mp3 pattern is whole frames. */
const MP3_FRAME = 417;

/** Deterministic filler derived from the job id: the same URL always yields the same bytes. */
function patternFor(seed: string, kind: 'mp3' | 'mp4'): Buffer {
	const pattern = Buffer.alloc(kind === 'mp3' ? Math.floor(PATTERN_SIZE / MP3_FRAME) * MP3_FRAME : PATTERN_SIZE);
	let block = createHash('sha256').update(seed).digest();
	for (let offset = 0; offset < pattern.length; offset += block.length) {
		block.copy(pattern, offset);
		block = createHash('sha256').update(block).digest();
	}
	if (kind === 'mp3') {
		for (let frame = 0; frame < pattern.length; frame += MP3_FRAME) {
			pattern[frame] = 0xff;
			pattern[frame + 1] = 0xfb;
			pattern[frame + 2] = 0x90;
			pattern[frame + 3] = 0x64;
		}
	}
	return pattern;
}

/**
 * A real 3-second H.264 clip (192×108, 21 KB), made once with ffmpeg's test pattern and committed:
 * every MP4 output starts with it, so a saved output plays in any player.
 */
const PLAYABLE_CLIP = readFileSync(join(__dirname, 'assets', 'clip.mp4'));

/** An MP4 `free` box header for a box of `size` bytes (64-bit size when needed): players skip it. */
function freeBoxHeader(size: number): Buffer {
	if (size <= 0xffffffff) {
		const box = Buffer.alloc(8);
		box.writeUInt32BE(size, 0);
		box.write('free', 4, 'latin1');
		return box;
	}
	const box = Buffer.alloc(16);
	box.writeUInt32BE(1, 0);
	box.write('free', 4, 'latin1');
	box.writeBigUInt64BE(BigInt(size), 8);
	return box;
}

/**
 * What a real player expects first: for MP4 the playable clip, then a `free` box holding the rest of
 * the output's size (the job's own bytes); an output too small for the clip is an ftyp box then an
 * mdat box. For MP3 an ID3v2 tag.
 */
function headerFor(kind: 'mp3' | 'mp4', totalBytes: number): Buffer {
	if (kind === 'mp3') return Buffer.from([0x49, 0x44, 0x33, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
	if (totalBytes >= PLAYABLE_CLIP.length + 16) {
		const freeSize = totalBytes - PLAYABLE_CLIP.length;
		return Buffer.concat([PLAYABLE_CLIP, freeBoxHeader(freeSize)]);
	}
	const ftyp = Buffer.from([
		0x00, 0x00, 0x00, 0x18, ...Buffer.from('ftypisom'), 0x00, 0x00, 0x02, 0x00, ...Buffer.from('isommp41'),
	]);
	const mdatSize = totalBytes - ftyp.length;
	let mdat: Buffer;
	if (mdatSize <= 0xffffffff) {
		mdat = Buffer.alloc(8);
		mdat.writeUInt32BE(Math.max(0, mdatSize), 0);
		mdat.write('mdat', 4, 'latin1');
	} else {
		// Box size 1 means "a 64-bit size follows", needed beyond 4 GiB.
		mdat = Buffer.alloc(16);
		mdat.writeUInt32BE(1, 0);
		mdat.write('mdat', 4, 'latin1');
		mdat.writeBigUInt64BE(BigInt(mdatSize), 8);
	}
	return Buffer.concat([ftyp, mdat]);
}

/**
 * Streams `totalBytes` of generated output chunk by chunk. Nothing is held beyond one 64 KiB pattern
 * buffer, and chunks are produced only when the consumer asks (read()), so piping into a slow
 * response respects backpressure and a 1 GiB output never grows memory.
 */
export function outputStream(seed: string, kind: 'mp3' | 'mp4', totalBytes: number): Readable {
	const header = headerFor(kind, totalBytes);
	const pattern = patternFor(seed, kind);
	let sent = 0;
	return new Readable({
		highWaterMark: PATTERN_SIZE,
		read() {
			if (sent >= totalBytes) {
				this.push(null);
				return;
			}
			let chunk: Buffer;
			if (sent < header.length) {
				chunk = header.subarray(sent, Math.min(header.length, totalBytes));
			} else {
				// The pattern is never mutated, so pushing views of it is safe.
				const offset = (sent - header.length) % pattern.length;
				chunk = pattern.subarray(offset, offset + Math.min(pattern.length - offset, totalBytes - sent));
			}
			sent += chunk.length;
			this.push(chunk);
		},
	});
}

/** Upload file names become one safe URL path segment. */
export function safeFileName(name: string | undefined, fallbackExtension: string): string {
	const base = (name ?? '').split(/[\\/]/).pop() ?? '';
	const cleaned = base.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '').slice(-100);
	return cleaned !== '' ? cleaned : `upload.${fallbackExtension}`;
}
