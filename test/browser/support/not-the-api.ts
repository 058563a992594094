/**
 * A server that is reachable but is not the Gemini Omni API: it answers every request with an
 * nginx-style HTML 404, as a web server would at a mistyped Base URL (an extra path, another host).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const NGINX_404 =
	'<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n' +
	'<hr><center>nginx/1.24.0</center>\r\n</body>\r\n</html>\r\n';

export interface NotTheApi {
	url: string;
	/** Requests received (method and path), oldest first. */
	requests: string[];
	close(): Promise<void>;
}

export async function startNotTheApi(): Promise<NotTheApi> {
	const requests: string[] = [];
	const server: Server = createServer((request, response) => {
		requests.push(`${request.method} ${request.url}`);
		request.resume();
		response.writeHead(404, { 'content-type': 'text/html', server: 'nginx/1.24.0' });
		response.end(NGINX_404);
	});
	await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		requests,
		close: () =>
			new Promise<void>((closed) => {
				server.closeAllConnections();
				server.close(() => closed());
			}),
	};
}
