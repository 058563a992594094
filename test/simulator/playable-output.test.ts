/**
 * The simulator's MP4 outputs are real, playable files: the committed clip (ftyp, moov with its video
 * track, mdat) and then a `free` box that makes up the job's size, which players skip. Checked by
 * reading the boxes (CI has no ffprobe; the README says what ffprobe reports of the demo's file).
 */
import { outputStream } from '../../simulator/storage';

async function bytesOf(stream: NodeJS.ReadableStream): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

/** Top-level boxes of an MP4: type, offset and size (64-bit sizes included). */
function boxes(file: Buffer, start = 0, end = file.length): Array<{ type: string; offset: number; size: number }> {
	const found: Array<{ type: string; offset: number; size: number }> = [];
	for (let offset = start; offset < end; ) {
		let size = file.readUInt32BE(offset);
		const type = file.toString('latin1', offset + 4, offset + 8);
		if (size === 1) size = Number(file.readBigUInt64BE(offset + 8));
		if (size < 8 || offset + size > end) throw new Error(`box ${type} at ${offset} has size ${size}, past ${end}`);
		found.push({ type, offset, size });
		offset += size;
	}
	return found;
}

test('a default 1080p 8 s output is a playable MP4 of exactly its size: ftyp, moov with an H.264 track, mdat, then free', async () => {
	const total = 256 * 1024;
	const file = await bytesOf(outputStream('job_playable', 'mp4', total));
	expect(file.length).toBe(total);
	const top = boxes(file);
	expect(top.map((box) => box.type)).toEqual(['ftyp', 'moov', 'free', 'mdat', 'free']);
	const moov = top.find((box) => box.type === 'moov')!;
	const inMoov = boxes(file, moov.offset + 8, moov.offset + moov.size).map((box) => box.type);
	expect(inMoov).toContain('mvhd');
	expect(inMoov).toContain('trak');
	expect(file.subarray(moov.offset, moov.offset + moov.size).includes(Buffer.from('avc1'))).toBe(true);
	// The job's own bytes fill the last box: two jobs' files differ there, not in the clip.
	const other = await bytesOf(outputStream('job_other', 'mp4', total));
	const last = top[top.length - 1];
	expect(other.subarray(0, last.offset + 8).equals(file.subarray(0, last.offset + 8))).toBe(true);
	expect(other.equals(file)).toBe(false);
});

test('an output above 4 GiB still parses: the free box takes a 64-bit size', async () => {
	const total = 5 * 1024 ** 3;
	const stream = outputStream('job_huge', 'mp4', total);
	// Only the start is read: the clip and the free box's header.
	const head: Buffer[] = [];
	let read = 0;
	for await (const chunk of stream) {
		head.push(chunk as Buffer);
		read += (chunk as Buffer).length;
		if (read > 64 * 1024) break;
	}
	const start = Buffer.concat(head);
	const free = start.indexOf(Buffer.from('free'), 21_000) - 4;
	expect(start.readUInt32BE(free)).toBe(1);
	expect(Number(start.readBigUInt64BE(free + 8)) + free).toBe(total);
});
