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
	const init: RequestInit = { method, headers: { ...headers }, signal: AbortSignal.timeout(timeoutMs) };
	if (body !== undefined) {
		init.body = typeof body === 'string' ? body : JSON.stringify(body);
		(init.headers as Record<string, string>)['content-type'] ??= 'application/json';
	}
	const response = await fetch(url, init);
	const responseBody = responseType === 'buffer' ? Buffer.from(await response.arrayBuffer()) : await readBody(response);
	return { status: response.status, headers: response.headers, body: responseBody };
}

export function ensureOk(method: string, url: string, result: HttpResult): void {
	if (result.status < 200 || result.status >= 300) {
		const text = typeof result.body === 'string' ? result.body : JSON.stringify(result.body);
		throw new N8nHttpError(method, url, result.status, text);
	}
}
