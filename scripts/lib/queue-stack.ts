/**
 * n8n in queue mode on loopback, as a scaled-out install runs it: Redis and PostgreSQL (Debian's
 * servers, installed by the toolchain: scripts/apt-install.sh), then n8n as main, one webhook process
 * and workers, each with its own user folder (as containers would have) and the package installed
 * in every one. Used by the queue-mode suite (test/queue).
 *
 * Measured facts it relies on (../shared/N8N-NOTES.md): PostgreSQL's initdb refuses to run as root
 * (runuser -u postgres); every process needs the same encryption key and its own task-broker port; a
 * worker's readiness is its health server; busy execution slots across all workers are Redis's
 * `bull:jobs:active` list.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

import { ensureTemplate, runN8nCommand } from './n8n-database-template';
import { ENCRYPTION_KEY, findFreePort, findNode24, N8N_VERSION, scratchFolder, startN8n, type N8nInstance, type StartN8nOptions } from './n8n-instance';

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** Debian's PostgreSQL server binaries (the newest installed major), or undefined. */
export function postgresBinDir(): string | undefined {
	const root = '/usr/lib/postgresql';
	if (!existsSync(root)) return undefined;
	const majors = readdirSync(root)
		.filter((name) => existsSync(join(root, name, 'bin', 'initdb')))
		.sort((a, b) => Number(b) - Number(a));
	return majors.length > 0 ? join(root, majors[0], 'bin') : undefined;
}

function runChecked(command: string, args: string[]): void {
	const result = spawnSync(command, args, { encoding: 'utf8' });
	if (result.error) throw result.error;
	if (result.status !== 0) throw new Error(`\`${command} ${args.join(' ')}\` failed (${result.status}): ${result.stdout}${result.stderr}`);
}

/** One Redis command over RESP; answers an integer, a string or null. */
export async function redisCommand(port: number, ...args: string[]): Promise<number | string | null> {
	const request = `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
	return await new Promise((resolveAnswer, reject) => {
		const socket = connect(port, '127.0.0.1');
		let text = '';
		socket.setTimeout(5_000, () => socket.destroy(new Error('Redis did not answer within 5 s')));
		socket.on('error', reject);
		socket.on('data', (chunk) => {
			text += chunk.toString();
			const end = text.indexOf('\r\n');
			if (end < 0) return;
			const [kind, rest] = [text[0], text.slice(1, end)];
			if (kind === ':') return finish(Number(rest));
			if (kind === '+') return finish(rest);
			if (kind === '-') return fail(new Error(`Redis: ${rest}`));
			if (kind === '$') {
				if (rest === '-1') return finish(null);
				const body = text.slice(end + 2);
				if (Buffer.byteLength(body) >= Number(rest) + 2) return finish(body.slice(0, Number(rest)));
			}
			if (kind !== '$') fail(new Error(`Redis answered an unexpected ${JSON.stringify(text.slice(0, 40))}`));
		});
		function finish(answer: number | string | null) {
			socket.end();
			resolveAnswer(answer);
		}
		function fail(error: Error) {
			socket.destroy();
			reject(error);
		}
		socket.write(request);
	});
}

export interface QueueServices {
	redisPort: number;
	postgresPort: number;
	database: string;
	/** Environment every n8n process of the set needs for Redis and PostgreSQL. */
	n8nEnvironment: Record<string, string>;
	stop(): Promise<void>;
}

/** Redis and PostgreSQL on free loopback ports, with throw-away data (nothing is saved to disk by Redis). */
export async function startQueueServices(): Promise<QueueServices> {
	const bin = postgresBinDir();
	if (!bin) throw new Error('No PostgreSQL server in /usr/lib/postgresql: run `npm run setup` (it installs Debian\'s postgresql)');
	const redisPort = await findFreePort();
	let postgresPort = await findFreePort();
	while (postgresPort === redisPort) postgresPort = await findFreePort();
	const children: ChildProcess[] = [];
	const dataDir = mkdtempSync(join(tmpdir(), 'gemini-omni-pg-'));
	const asRoot = process.getuid?.() === 0;
	// initdb refuses root: the server runs as Debian's postgres user, which must own its folder.
	const asPostgres = (command: string, args: string[]): [string, string[]] => (asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args]);
	if (asRoot) {
		const { uid, gid } = postgresIds();
		chownSync(dataDir, uid, gid);
	}
	const stop = async () => {
		for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
		if (existsSync(join(dataDir, 'postmaster.pid'))) spawnSync(...asPostgres(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', 'stop']));
		rmSync(dataDir, { recursive: true, force: true });
	};
	try {
		const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
		children.push(redis);
		// A copy of the migrated template when there is one; otherwise an empty database n8n migrates.
		const template = await postgresTemplate(bin, asPostgres);
		if (template) runChecked('cp', ['-a', `${template}/.`, dataDir]);
		else initDatabase(bin, dataDir, postgresPort, asPostgres);
		if (template) startPostgres(bin, dataDir, postgresPort, asPostgres);
		for (let attempt = 0; ; attempt++) {
			try {
				if ((await redisCommand(redisPort, 'PING')) === 'PONG') break;
			} catch (error) {
				if (attempt > 50) throw error;
			}
			await sleep(100);
		}
	} catch (error) {
		await stop();
		throw error;
	}
	return {
		redisPort,
		postgresPort,
		database: 'n8n',
		n8nEnvironment: {
			EXECUTIONS_MODE: 'queue',
			QUEUE_BULL_REDIS_HOST: '127.0.0.1',
			QUEUE_BULL_REDIS_PORT: String(redisPort),
			...postgresEnvironment(postgresPort),
		},
		stop,
	};
}

type AsPostgres = (command: string, args: string[]) => [string, string[]];

function startPostgres(bin: string, dataDir: string, port: number, asPostgres: AsPostgres): void {
	runChecked(...asPostgres(join(bin, 'pg_ctl'), ['-D', dataDir, '-l', join(dataDir, 'server.log'), '-o', `-p ${port} -k ${dataDir} -c listen_addresses=127.0.0.1 -c fsync=off`, '-w', 'start']));
}

/** initdb, start, and an empty database "n8n". */
function initDatabase(bin: string, dataDir: string, port: number, asPostgres: AsPostgres): void {
	runChecked(...asPostgres(join(bin, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync']));
	startPostgres(bin, dataDir, port, asPostgres);
	runChecked('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-q', '-c', 'CREATE DATABASE n8n']);
}

/**
 * A PostgreSQL data folder whose database n8n has already migrated, made once per n8n version and
 * PostgreSQL major in the system's temp folder: initdb, then `n8n list:workflow` against it (it
 * migrates, lists nothing and exits). A stack copies it instead of running initdb and n8n's ~150
 * migrations at its main's first start (scripts/lib/n8n-database-template.ts does the same for SQLite).
 */
async function postgresTemplate(bin: string, asPostgres: AsPostgres): Promise<string | undefined> {
	const template = join(tmpdir(), `gemini-omni-pg-template-n8n-${N8N_VERSION}-pg${basename(dirname(bin))}`);
	const made = await ensureTemplate(template, async (building) => {
		if (process.getuid?.() === 0) {
			const { uid, gid } = postgresIds();
			chownSync(building, uid, gid);
		}
		const port = await findFreePort();
		initDatabase(bin, building, port, asPostgres);
		const folder = scratchFolder('n8n-pg-template-');
		try {
			return (await runN8nCommand(N8N_VERSION, findNode24(), ['list:workflow'], folder, { ...postgresEnvironment(port), N8N_ENCRYPTION_KEY: ENCRYPTION_KEY })) === 0;
		} finally {
			rmSync(folder, { recursive: true, force: true });
			// A clean stop: the copy then starts without recovery.
			spawnSync(...asPostgres(join(bin, 'pg_ctl'), ['-D', building, '-m', 'fast', '-w', 'stop']));
		}
	});
	return made ? template : undefined;
}

function postgresEnvironment(port: number): Record<string, string> {
	return {
		DB_TYPE: 'postgresdb',
		DB_POSTGRESDB_HOST: '127.0.0.1',
		DB_POSTGRESDB_PORT: String(port),
		DB_POSTGRESDB_DATABASE: 'n8n',
		DB_POSTGRESDB_USER: 'postgres',
		DB_POSTGRESDB_PASSWORD: 'trust-auth-ignores-it',
		// n8n's default pool is 2 connections, and a query waits at most 20 s for one. With 50 deliveries at
		// once on a loaded 2-core machine, a webhook process answered 500 "Workflow could not be started!"
		// (pg-pool: "timeout exceeded when trying to connect") and runs of a burst ended without output.
		// A deployment that takes bursts sizes its pool; so does this one. 60 s to get one was still
		// exceeded once, with four test files at a time (25 of a burst's 50 runs).
		DB_POSTGRESDB_POOL_SIZE: '10',
		DB_POSTGRESDB_CONNECTION_TIMEOUT: '120000',
		// n8n 2.x pings its database every 2 s through the same pool, giving up after 5 s; after 3 failed
		// pings it tears the pool down and makes a new one (@n8n/db's DbConnectionMonitor). In a burst that
		// holds every connection the ping only waits its turn, yet the teardown left 10 of 50 deliveries
		// unanswered for 120 s (a webhook process's log: "Database ping failed (3/3): Database connection
		// timed out", then "Triggering database connection recovery"). The ping waits as long as a query.
		DB_PING_TIMEOUT_MS: '120000',
	};
}

function postgresIds(): { uid: number; gid: number } {
	const read = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
	const ids = { uid: read('-u'), gid: read('-g') };
	if (!Number.isInteger(ids.uid) || ids.uid <= 0) throw new Error("Debian's postgres user is missing: run `npm run setup`");
	return ids;
}

export interface QueueStackOptions {
	workers?: number;
	/** Each worker's concurrency (default 5). */
	workerConcurrency?: number;
	/** Extra environment for every n8n process. */
	env?: Record<string, string>;
	/** Every start and restart of the stack's processes may take the priority start slot (StartN8nOptions.startPriority). */
	startPriority?: boolean;
}

export interface QueueStack {
	services: QueueServices;
	/** `n8n start`: the editor and the APIs; it takes no production webhooks (the webhook process does). */
	main: N8nInstance;
	/** `n8n webhook`: production webhooks, resume URLs and the trigger. */
	webhook: N8nInstance;
	/** Every webhook process: the first is `webhook`; `addWebhookProcess` starts more, as behind a load balancer. */
	webhooks: N8nInstance[];
	workers: N8nInstance[];
	/** Production webhook URL at webhook process `index` (default the first). */
	webhookUrl(path: string, index?: number): string;
	/** Starts one more `n8n webhook` on a port of its own (kept by `restartAll`); resolves with its index. */
	addWebhookProcess(): Promise<number>;
	/** Stops webhook process `index` (SIGTERM) and starts it again with its folder and port. */
	restartWebhook(index: number): Promise<void>;
	/** Executions running on any worker right now (Redis `LLEN bull:jobs:active`). */
	busyWorkerSlots(): Promise<number>;
	/**
	 * Stops every n8n process (SIGTERM) and starts them again with their folders, as a redeploy does.
	 * `newWorkerFolders`: the workers come back with empty folders instead, as when a redeploy replaces
	 * worker containers that keep no volume (a worker's folder holds its event log, see docs/scaling.md).
	 */
	restartAll(options?: { newWorkerFolders?: boolean }): Promise<void>;
	/** Kills worker `index` with SIGKILL (a crashed container); `startWorker` brings one back. */
	killWorker(index: number): Promise<void>;
	startWorker(index: number): Promise<void>;
	/** Every process's last log lines, for a failing test's message. */
	logs(lines?: number): string;
	stop(): Promise<void>;
}

/** Redis, PostgreSQL, main, one webhook process and `workers` workers (default 2). */
export async function startQueueStack(options: QueueStackOptions = {}): Promise<QueueStack> {
	const services = await startQueueServices();
	const root = scratchFolder('queue-');
	const webhookPort = await findFreePort();
	const webhookBase = `http://127.0.0.1:${webhookPort}/`;
	/** One port per webhook process; the first one's is the URL every process builds resume and trigger URLs for. */
	const webhookPorts = [webhookPort];
	const shared: Record<string, string> = {
		...services.n8nEnvironment,
		// Every process builds resume URLs and trigger URLs for the webhook process.
		N8N_WEBHOOK_URL: webhookBase,
		WEBHOOK_URL: webhookBase,
		...(options.env ?? {}),
	};
	const folder = (name: string) => join(root, name);
	const start = async (role: 'main' | 'webhook' | 'worker', name: string, extra: Partial<StartN8nOptions> = {}) =>
		await startN8n({
			role,
			userFolder: folder(name),
			keepFolder: true,
			workerConcurrency: options.workerConcurrency ?? 5,
			startPriority: options.startPriority,
			env: shared,
			...extra,
		});
	const workerCount = options.workers ?? 2;
	let main: N8nInstance | undefined;
	const webhooks: N8nInstance[] = [];
	const workers: N8nInstance[] = [];
	const startWebhook = async (index: number) => await start('webhook', index === 0 ? 'webhook' : `webhook-${index}`, { port: webhookPorts[index] });
	const stopProcesses = async () => {
		await Promise.all([...workers, ...webhooks, main].map(async (instance) => await instance?.stop()));
	};
	const startProcesses = async () => {
		// Main first: it runs the migrations the others expect.
		main = await start('main', 'main', { env: { ...shared, N8N_DISABLE_PRODUCTION_MAIN_PROCESS: 'true' } });
		const [startedWebhooks, startedWorkers] = await Promise.all([
			Promise.all(webhookPorts.map(async (_, i) => await startWebhook(i))),
			Promise.all(Array.from({ length: workerCount }, async (_, i) => await start('worker', `worker-${i}`))),
		]);
		webhooks.splice(0, webhooks.length, ...startedWebhooks);
		workers.splice(0, workers.length, ...startedWorkers);
	};
	try {
		await startProcesses();
	} catch (error) {
		await stopProcesses();
		await services.stop();
		rmSync(root, { recursive: true, force: true });
		throw error;
	}
	const stack: QueueStack = {
		services,
		get main() {
			return main!;
		},
		get webhook() {
			return webhooks[0];
		},
		webhooks,
		workers,
		webhookUrl: (path, index = 0) => `http://127.0.0.1:${webhookPorts[index]}/webhook/${path.replace(/^\/+/, '')}`,
		async addWebhookProcess() {
			webhookPorts.push(await findFreePort());
			const index = webhookPorts.length - 1;
			webhooks[index] = await startWebhook(index);
			return index;
		},
		async restartWebhook(index) {
			await webhooks[index].stop();
			webhooks[index] = await startWebhook(index);
		},
		busyWorkerSlots: async () => Number(await redisCommand(services.redisPort, 'LLEN', 'bull:jobs:active')),
		async restartAll({ newWorkerFolders = false } = {}) {
			await stopProcesses();
			if (newWorkerFolders) for (let i = 0; i < workerCount; i++) rmSync(folder(`worker-${i}`), { recursive: true, force: true });
			await startProcesses();
		},
		async killWorker(index) {
			await workers[index].kill();
		},
		async startWorker(index) {
			workers[index] = await start('worker', `worker-${index}`);
		},
		logs(lines = 60) {
			const all = [['main', main], ...webhooks.map((webhook, i) => [`webhook-${i}`, webhook] as const), ...workers.map((worker, i) => [`worker-${i}`, worker] as const)] as const;
			return all.map(([name, instance]) => `--- ${name} ---\n${instance?.logs(lines) ?? ''}`).join('\n');
		},
		async stop() {
			await stopProcesses();
			await services.stop();
			rmSync(root, { recursive: true, force: true });
		},
	};
	return stack;
}
