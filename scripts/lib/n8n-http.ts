/** HTTP to n8n for the tests, the demo and dev: requests, their results and errors, free ports. */
import { createServer } from 'node:net';

import { N8nHttpError, type HttpResult } from './n8n-types';

/** A port nobody listens on right now. Two are asked for at once, so they are distinct. */
export async function findFreePort(): Promise<number> {
	return await new Promise((resolvePort, reject) => {
		const server = createServer();
		server.unref();
		server.on('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			const port = typeof address === 'object' && address ? address.port : 0;
			server.close(() => resolvePort(port));
		});
	});
}

/** True when nothing listens on `port` on the loopback interface. */
export async function isPortFree(port: number): Promise<boolean> {
	return await new Promise((resolveFree) => {
		const server = createServer();
		server.unref();
		server.once('error', () => resolveFree(false));
		server.listen(port, '127.0.0.1', () => server.close(() => resolveFree(true)));
	});
}

export async function findFreePorts(count: number, avoid: number[] = []): Promise<number[]> {
	const ports: number[] = [];
	while (ports.length < count) {
		const port = await findFreePort();
		if (!ports.includes(port) && !avoid.includes(port)) ports.push(port);
	}
	return ports;
}

// ---------------------------------------------------------------------------------------------------------
// HTTP

export async function readBody(response: Response): Promise<unknown> {
	const text = await response.text();
	if ((response.headers.get('content-type') ?? '').includes('json') && text !== '') {
		try {
			return JSON.parse(text);
		} catch {
			return text;
		}
	}
	return text;
}

export async function request(
	method: string,
	url: string,
	headers: Record<string, string>,
	body?: unknown,
	timeoutMs = 30_000,
	responseType: 'auto' | 'buffer' = 'auto',
): Promise<HttpResult> {
	const init: RequestInit = { method, headers: { ...headers } };
	if (body !== undefined) {
		init.body = typeof body === 'string' ? body : JSON.stringify(body);
		(init.headers as Record<string, string>)['content-type'] ??= 'application/json';
	}
	// n8n answers every request 503 "Database is not ready!", before any route runs, while a database ping
	// of its own has failed (5 s without an answer: seen with SQLite on a loaded machine); the next ping, 2 s
	// later, ends it. Nothing was done with such a request, so it is sent again, for up to 30 s.
	const deadline = Date.now() + 30_000;
	for (let attempt = 1; ; attempt++) {
		let response: Response;
		try {
			response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
		} catch (error) {
			// A kept-alive connection n8n closed just as a request went out on it ("other side closed"):
			// a read is sent again on a new one, at most twice; anything else may have been done, so it is not.
			if ((method === 'GET' || method === 'HEAD') && attempt < 3 && connectionClosed(error)) continue;
			throw error;
		}
		const responseBody = responseType === 'buffer' ? Buffer.from(await response.arrayBuffer()) : await readBody(response);
		if (response.status === 503 && databaseNotReady(responseBody) && Date.now() < deadline) {
			await new Promise((done) => setTimeout(done, 500));
			continue;
		}
		return { status: response.status, headers: response.headers, body: responseBody };
	}
}

function connectionClosed(error: unknown): boolean {
	const code = ((error as { cause?: { code?: string } }).cause ?? {}).code;
	return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET';
}

function databaseNotReady(body: unknown): boolean {
	const text = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : JSON.stringify(body);
	return text.includes('Database is not ready');
}

export function ensureOk(method: string, url: string, result: HttpResult): void {
	if (result.status < 200 || result.status >= 300) {
		const text = typeof result.body === 'string' ? result.body : JSON.stringify(result.body);
		throw new N8nHttpError(method, url, result.status, text);
	}
}
