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
import { cpSync, createWriteStream, mkdirSync, rmSync, type WriteStream } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

import { n8nClient, signInAsOwner, type N8nSession } from './n8n-client';
import { findFreePorts } from './n8n-http';
import { seedDatabase } from './n8n-database-template';
import { acquireStartSlot, PRIORITY_SLOTS, START_SLOTS } from './start-slots';
import { N8N_VERSION, REPO_ROOT, childEnvironment, findNode20, findNode24, n8nEntryPoint, n8nHome, prepareNodesFolder, scratchFolder, whenInstalled } from './n8n-install';
import { N8nStartError } from './n8n-types';
import type { N8nInstance, StartN8nOptions } from './n8n-types';

// One module for the callers: where n8n is installed, how to talk to it, what it answers.
export * from './n8n-install';
export * from './n8n-types';
export { findFreePort, isPortFree } from './n8n-http';
export { n8nClient, signInAsOwner, type N8nClient, type N8nSession } from './n8n-client';

/** The owner n8n creates from the environment; dev prints these so a person can sign in. */
export const DEFAULT_OWNER = {
	email: 'owner@example.com',
	password: 'Gemini-Omni-e2e-1',
	firstName: 'Demo',
	lastName: 'Owner',
} as const;

/** Fixed so that a kept user folder can be started again (n8n refuses a key that differs from its config). */
export const ENCRYPTION_KEY = 'gemini-omni-e2e-encryption-key-not-secret';

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



/**
 * Starts n8n; a start that failed only because a port it was given by findFreePort was taken meanwhile
 * (another n8n of a concurrent suite picked the same free port between our check and its bind: seen
 * once for the task broker's port) is tried again with new ports, at most twice.
 */
export async function startN8n(options: StartN8nOptions = {}): Promise<N8nInstance> {
	await whenInstalled(options.n8nVersion ?? N8N_VERSION);
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

	// A new SQLite folder starts from the version's migrated database instead of migrating (n8n-database-template.ts).
	const seededDatabase = n8nEnvironment.DB_TYPE === undefined && (await seedDatabase(version, node, userFolder, n8nEnvironment).catch(() => false));

	const logFile = createWriteStream(join(userFolder, 'n8n.log'), { flags: 'a' });
	const logBuffer = new LogBuffer(2000, logFile, options.onLogLine);
	// One or two n8n start at a time on this machine (start-slots.ts); the wait is not part of the start time.
	const releaseStartSlot = await acquireStartSlot(options.startPriority ? { slots: START_SLOTS + PRIORITY_SLOTS } : {});
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
	if (options.unref) {
		child.unref();
		for (const stream of [child.stdout, child.stderr]) (stream as { unref?: () => void } | null)?.unref?.();
	}
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
	try {
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
	} finally {
		releaseStartSlot();
	}
	const startSeconds = elapsedSeconds(startStarted);

	// 4. A session for the owner, then a public API key (workers and webhook processes serve no API).
	const loginStarted = Date.now();
	let session: N8nSession = { cookie: '', apiKey: '' };
	if (role === 'main') {
		try {
			session = await signInAsOwner(baseUrl, owner, isV1);
		} catch (error) {
			await failStart(`n8n started but signing in or creating an API key failed: ${(error as Error).message}`);
		}
	}
	const loginSeconds = elapsedSeconds(loginStarted);

	const instance: N8nInstance = {
		...n8nClient(baseUrl, session, isV1),
		port,
		pid: child.pid,
		runnersBrokerPort,
		userFolder,
		owner: { email: owner.email, password: owner.password },
		timings: { installSeconds, startSeconds, loginSeconds, seededDatabase },
		logs(lines = 200) {
			return logBuffer.tail(lines);
		},

		stop: () => stop('SIGTERM'),
		kill: () => stop('SIGKILL'),
		role,
	};
	return instance;
}
