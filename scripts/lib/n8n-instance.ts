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
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, createWriteStream, mkdirSync, rmSync, type WriteStream } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

import { ensureOk, findFreePorts, request } from './n8n-http';
import { N8N_VERSION, REPO_ROOT, childEnvironment, findNode20, findNode24, n8nEntryPoint, n8nHome, prepareNodesFolder, scratchFolder } from './n8n-install';
import { N8nHttpError, N8nStartError } from './n8n-types';
import type { HttpResult, N8nExecution, N8nInstance, N8nNodeTypeDescription, StartN8nOptions } from './n8n-types';

// One module for the callers: where n8n is installed, how to talk to it, what it answers.
export * from './n8n-install';
export * from './n8n-types';
export { findFreePort, isPortFree } from './n8n-http';

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
