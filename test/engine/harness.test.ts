/**
 * The engine harness itself: real WorkflowExecute, real n8n-core helpers, real sockets to a
 * local server. Uses the probe node from test/harness/test-types.ts, not the package's nodes.
 */
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import {
	binaryStoragePath,
	chain,
	credentialsFor,
	manualTrigger,
	node,
	runWorkflow,
	type HarnessCredential,
	type RunOptions,
} from '../harness/engine';
import { HarnessCredentialTypes, HarnessNodeTypes, PACKAGE_NAME, packageNodeTypes } from '../harness/node-types';
import {
	HarnessFunctionAuthApi,
	HarnessProbe,
	HarnessTestApi,
	PROBE_CREDENTIAL_TYPE,
	PROBE_NODE_TYPE,
} from '../harness/test-types';

const credential: HarnessCredential = { type: PROBE_CREDENTIAL_TYPE, id: 'cred-1', data: { apiKey: 'sk-test-123' } };
const probeTypes: Pick<RunOptions, 'nodeTypes' | 'credentialTypes' | 'credentials'> = {
	nodeTypes: { [PROBE_NODE_TYPE]: new HarnessProbe() },
	credentialTypes: [new HarnessTestApi()],
	credentials: [credential],
};
const probe = (name: string, parameters: Record<string, string>, extra = {}) =>
	node(PROBE_NODE_TYPE, name, parameters, { credentials: credentialsFor(credential), ...extra });

/** Deterministic, incompressible-looking payload so a corrupted copy cannot pass by chance. */
const downloadPayload = Buffer.alloc(3 * 1024 * 1024);
for (let offset = 0; offset < downloadPayload.length; offset += 32) {
	createHash('sha256').update(String(offset)).digest().copy(downloadPayload, offset);
}
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let server: Server;
let baseUrl: string;
const seen: Array<{ url: string; headers: IncomingMessage['headers'] }> = [];
let hangingRequest: { arrived: Promise<void>; closed: Promise<void> };

function trackHangingRequest() {
	let arrive = () => {};
	let close = () => {};
	hangingRequest = {
		arrived: new Promise((resolve) => (arrive = resolve)),
		closed: new Promise((resolve) => (close = resolve)),
	};
	return { arrive: () => arrive(), close: () => close() };
}
let hangSignals = trackHangingRequest();

beforeAll(async () => {
	server = createServer((req, res) => {
		seen.push({ url: req.url ?? '', headers: req.headers });
		const pathname = new URL(req.url ?? '/', 'http://x').pathname;
		if (pathname.startsWith('/echo/')) {
			res.setHeader('content-type', 'application/json');
			res.end(JSON.stringify({ path: req.url, authorization: req.headers.authorization, region: req.headers['x-region'] }));
		} else if (pathname === '/file') {
			res.writeHead(200, { 'content-type': 'video/mp4' });
			// Chunked on purpose: the client cannot know the size up front, as with real media.
			for (let offset = 0; offset < downloadPayload.length; offset += 256 * 1024) {
				res.write(downloadPayload.subarray(offset, offset + 256 * 1024));
			}
			res.end();
		} else if (pathname === '/upload') {
			const chunks: Buffer[] = [];
			req.on('data', (chunk: Buffer) => chunks.push(chunk));
			req.on('end', () => {
				const body = Buffer.concat(chunks);
				res.setHeader('content-type', 'application/json');
				res.end(JSON.stringify({ bytes: body.length, sha256: sha256(body), authorization: req.headers.authorization }));
			});
		} else if (pathname === '/hang') {
			hangSignals.arrive();
			res.on('close', () => hangSignals.close());
		} else {
			res.writeHead(404).end();
		}
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
	server.closeAllConnections();
	await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
	seen.length = 0;
});

test('Authorization comes from the credential type; parameter expressions are evaluated', async () => {
	const result = await runWorkflow({
		...probeTypes,
		nodes: [
			manualTrigger([{ x: 'alpha' }, { x: 'beta' }]),
			probe('Call', { operation: 'request', url: `={{ "${baseUrl}/echo/" + $json.x }}` }),
		],
		connections: chain('Start', 'Call'),
	});

	expect(result.error).toBeUndefined();
	expect(result.status).toBe('success');
	expect(result.output('Call').map((item) => item.json)).toEqual([
		{ path: '/echo/alpha?client=harness', authorization: 'Bearer sk-test-123', region: 'eu-west' },
		{ path: '/echo/beta?client=harness', authorization: 'Bearer sk-test-123', region: 'eu-west' },
	]);
	expect(seen.map((request) => request.headers.authorization)).toEqual(['Bearer sk-test-123', 'Bearer sk-test-123']);
});

test('expressions inside credential data are resolved, as n8n does for stored credentials', async () => {
	const fromExpression: HarnessCredential = {
		type: PROBE_CREDENTIAL_TYPE,
		id: 'cred-expr',
		data: { apiKey: '={{ "sk-" + "joined" }}', region: 'us-east' },
	};
	const result = await runWorkflow({
		...probeTypes,
		credentials: [credential, fromExpression],
		nodes: [
			manualTrigger([{}]),
			probe('Call', { operation: 'request', url: `${baseUrl}/echo/x` }, { credentials: credentialsFor(fromExpression) }),
		],
		connections: chain('Start', 'Call'),
	});

	expect(result.output('Call')[0].json).toMatchObject({ authorization: 'Bearer sk-joined', region: 'us-east' });
});

test('a credential type that authenticates with a function is called as a method', async () => {
	const tokenCredential: HarnessCredential = { type: 'harnessFunctionAuthApi', data: { token: 't-42' } };
	const result = await runWorkflow({
		nodeTypes: { [PROBE_NODE_TYPE]: new HarnessProbe(tokenCredential.type) },
		credentialTypes: [new HarnessFunctionAuthApi()],
		credentials: [tokenCredential],
		nodes: [
			manualTrigger([{}]),
			probe('Call', { operation: 'request', url: `${baseUrl}/echo/fn` }, { credentials: credentialsFor(tokenCredential) }),
		],
		connections: chain('Start', 'Call'),
	});

	expect(result.output('Call')[0].json).toMatchObject({ authorization: 'Token t-42' });
});

test('a node error fails the run and surfaces the error', async () => {
	const result = await runWorkflow({
		...probeTypes,
		nodes: [manualTrigger([{ id: 1 }]), probe('Broken', { operation: 'fail', message: '={{ "bad item " + $json.id }}' })],
		connections: chain('Start', 'Broken'),
	});

	expect(result.status).toBe('error');
	expect(result.error).toBeInstanceOf(Error);
	expect(result.error?.message).toBe('bad item 1');
	expect(result.run.data.resultData.lastNodeExecuted).toBe('Broken');
});

test('continueOnFail turns the error into an output item', async () => {
	const result = await runWorkflow({
		...probeTypes,
		nodes: [
			manualTrigger([{ id: 1 }, { id: 2 }]),
			probe('Broken', { operation: 'fail', message: '={{ "bad item " + $json.id }}' }, { onError: 'continueRegularOutput' }),
		],
		connections: chain('Start', 'Broken'),
	});

	expect(result.status).toBe('success');
	expect(result.output('Broken').map((item) => item.json)).toEqual([{ error: 'bad item 1' }, { error: 'bad item 2' }]);
});

/** Every file under a directory, recursively. */
function filesUnder(directory: string): string[] {
	return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
		const entryPath = path.join(directory, entry.name);
		return entry.isDirectory() ? filesUnder(entryPath) : [entryPath];
	});
}

test('filesystem mode: a streamed download lands in the binary store and streams back out', async () => {
	const result = await runWorkflow({
		...probeTypes,
		binaryMode: 'filesystem',
		nodes: [
			manualTrigger([{}]),
			probe('Download', { operation: 'download', url: `${baseUrl}/file` }),
			probe('Upload', { operation: 'upload', url: `${baseUrl}/upload` }),
		],
		connections: chain('Start', 'Download', 'Upload'),
	});

	expect(result.error).toBeUndefined();
	const [downloaded] = result.output('Download');
	const binary = downloaded.binary?.data;
	// In the store, not in the item: the id names the filesystem manager and no base64 is kept.
	expect(binary?.id).toMatch(/^filesystem-v2:/);
	expect(binary?.data).toBe('filesystem-v2');
	expect(binary?.mimeType).toBe('video/mp4');
	expect(binary?.bytes).toBe(downloadPayload.length);
	expect(sha256(await result.binaryBuffer(downloaded))).toBe(sha256(downloadPayload));
	const storedSizes = filesUnder(binaryStoragePath()).map((file) => statSync(file).size);
	expect(storedSizes).toContain(downloadPayload.length);

	// getBinaryStream fed the upload; the server got every byte, authenticated.
	expect(result.output('Upload')[0].json).toEqual({
		bytes: downloadPayload.length,
		sha256: sha256(downloadPayload),
		authorization: 'Bearer sk-test-123',
	});
});

test('default mode: start-node binaries are inline and readable', async () => {
	const payload = Buffer.from('small inline file');
	const result = await runWorkflow({
		...probeTypes,
		nodes: [
			manualTrigger([{}], 'Start', [{ data: { data: payload, fileName: 'a.txt', mimeType: 'text/plain' } }]),
			probe('Upload', { operation: 'upload', url: `${baseUrl}/upload` }),
		],
		connections: chain('Start', 'Upload'),
	});

	const [started] = result.output('Start');
	expect(started.binary?.data.id).toBeUndefined();
	expect(started.binary?.data.fileName).toBe('a.txt');
	expect(await result.binaryBuffer(started)).toEqual(payload);
	expect(result.output('Upload')[0].json).toMatchObject({ bytes: payload.length, sha256: sha256(payload) });
});

test('the abort signal reaches the node as its execution cancel signal', async () => {
	hangSignals = trackHangingRequest();
	const controller = new AbortController();
	const running = runWorkflow({
		...probeTypes,
		abortSignal: controller.signal,
		nodes: [manualTrigger([{}]), probe('Hang', { operation: 'hang', url: `${baseUrl}/hang` })],
		connections: chain('Start', 'Hang'),
	});

	await hangingRequest.arrived;
	controller.abort();
	const result = await running;

	expect(result.status).toBe('canceled');
	// The node passed getExecutionCancelSignal() to its request: the socket was torn down.
	await hangingRequest.closed;
});

test('a run that outlives timeoutMs is cancelled and rejects', async () => {
	hangSignals = trackHangingRequest();
	await expect(
		runWorkflow({
			...probeTypes,
			timeoutMs: 300,
			nodes: [manualTrigger([{}]), probe('Hang', { operation: 'hang', url: `${baseUrl}/hang` })],
			connections: chain('Start', 'Hang'),
		}),
	).rejects.toThrow('timeoutMs=300');
	await hangingRequest.closed;
});

test('putExecutionToWait ends the run as waiting, with a resume URL', async () => {
	const result = await runWorkflow({
		...probeTypes,
		instanceBaseUrl: 'http://127.0.0.1:5999',
		nodes: [manualTrigger([{ job: 'j1' }]), probe('Wait', { operation: 'wait' })],
		connections: chain('Start', 'Wait'),
	});

	expect(result.status).toBe('waiting');
	expect(result.waitTill?.getTime()).toBeGreaterThan(Date.now());
	expect(result.resumeUrl).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:5999/webhook-waiting/${result.executionId}`));
});

test("the package's own nodes answer to their installed and bare names", () => {
	const nodeTypes = new HarnessNodeTypes();
	// Empty until the node sources exist; then every one must resolve both ways.
	for (const { description } of packageNodeTypes()) {
		expect(nodeTypes.getByName(`${PACKAGE_NAME}.${description.name}`)).toBe(nodeTypes.getByName(description.name));
	}
	expect(() => nodeTypes.getByName('noSuchNode')).toThrow('unknown node type "noSuchNode"');
	expect(new HarnessCredentialTypes().getParentTypes(PROBE_CREDENTIAL_TYPE)).toEqual([]);
});
