/**
 * `request` (scripts/lib/n8n-http.ts) sends a request again when n8n answered 503 "Database is not ready!"
 * (its own database ping failed; nothing ran), and a read when the connection closed without an answer;
 * nothing else. A local server plays n8n.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { request } from '../../scripts/lib/n8n-http';

let server: Server;
let url: string;
let answers: Array<[number, string]>;
let received: number;

beforeEach(async () => {
	received = 0;
	server = createServer((_req, res) => {
		const [status, message] = answers[Math.min(received++, answers.length - 1)];
		// 0: the connection is closed without an answer.
		if (status === 0) {
			res.socket?.destroy();
			return;
		}
		res.writeHead(status, { 'content-type': 'application/json' });
		res.end(JSON.stringify({ code: status, message }));
	});
	await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
	url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rest/workflows`;
});
afterEach(async () => {
	await new Promise((done) => server.close(done));
});

it('sends the request again while n8n says its database is not ready, and returns the answer after', async () => {
	answers = [
		[503, 'Database is not ready!'],
		[503, 'Database is not ready!'],
		[200, 'ok'],
	];
	const result = await request('POST', url, {}, { name: 'x' });
	expect(result.status).toBe(200);
	expect(received).toBe(3);
});

it('returns any other 503 at once', async () => {
	answers = [[503, 'Service Unavailable']];
	const result = await request('GET', url, {});
	expect(result.status).toBe(503);
	expect(received).toBe(1);
});

it('sends a read again when n8n closed the connection without an answer, but never a write', async () => {
	answers = [
		[0, ''],
		[200, 'ok'],
	];
	expect((await request('GET', url, {})).status).toBe(200);
	expect(received).toBe(2);
	received = 0;
	await expect(request('POST', url, {}, { name: 'x' })).rejects.toThrow('fetch failed');
	expect(received).toBe(1);
});
