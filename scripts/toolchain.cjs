#!/usr/bin/env node
'use strict';
/**
 * One entry point for every npm script, in plain Node (no bash, no npx), so a fresh clone works with
 * nothing installed by hand, on Linux, macOS and Windows:
 *  - Node >= 24 (n8n 2.x, n8n-workflow@2 and n8n-core need it): the running Node when it is new enough,
 *    otherwise a project-local copy from the npm registry in .cache/node24 (the platform's package:
 *    scripts/lib/node-platform.cjs);
 *  - dev dependencies (npm ci) when node_modules is missing or older than package-lock.json;
 *  - for the end-to-end suite, the demo and dev (Linux, bash): the pinned n8n applications, n8n's
 *    verification tools, and Debian's Chromium, Redis and PostgreSQL (scripts/install-*.sh,
 *    scripts/apt-install.sh).
 * Installs are quiet: their output goes to a log under .cache/, one line per step says what and how
 * long, and a failing step prints the end of its log and the log's path.
 */
const { spawn, spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, openSync, closeSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { setPriority } = require('node:os');
const { delimiter, dirname, join, relative } = require('node:path');

const { nodePackageFor } = require('./lib/node-platform.cjs');

const ROOT = join(__dirname, '..');
const CACHE = join(ROOT, '.cache');
const N8N_VERSION = '2.41.1';
const N8N_1X_VERSION = '1.123.81';
const SCANNER_DIRS = ['scan-community-package-0.32.0', 'node-cli-0.48.3'];

function log(message) {
	process.stderr.write(`[toolchain] ${message}\n`);
}

function fail(message, code = 1) {
	log(message);
	process.exit(code);
}

/** The PATH variable's name (Windows spells it "Path"). */
function pathKey(env) {
	return Object.keys(env).find((key) => key.toUpperCase() === 'PATH') ?? 'PATH';
}

function withPathFirst(env, dir) {
	const key = pathKey(env);
	return { ...env, [key]: `${dir}${delimiter}${env[key] ?? ''}` };
}

/** How to run npm with a given node: npm's own script when npm started us, else the npm command. */
function npmCommand(node) {
	const npmCli = process.env.npm_execpath;
	if (npmCli && /npm-cli\.js$/.test(npmCli)) return { command: node, args: [npmCli] };
	return { command: process.platform === 'win32' ? 'npm.cmd' : 'npm', args: [], shell: process.platform === 'win32' };
}

/** Opens an install step's log, .cache/<logName>.log, and says the step has begun. */
function beginStep(title, logName) {
	mkdirSync(CACHE, { recursive: true });
	const logFile = join(CACHE, `${logName}.log`);
	log(`${title} (log: ${relative(ROOT, logFile)})`);
	return { started: Date.now(), logFile, fd: openSync(logFile, 'w') };
}

/**
 * One line when the step is done, with its time; on failure the log's last lines and its path, and the
 * run stops (or, with `fatal: false`, the step's result is false and the run goes on). `showLog` prints
 * the log of a step that passed too (a check's figures).
 */
function endStep(title, step, command, status, startError, { fatal = true, showLog = false, tailLines = 30 } = {}) {
	closeSync(step.fd);
	const logText = () => readFileSync(step.logFile, 'utf8').trimEnd();
	if (status !== 0) {
		const tail = logText().split('\n').slice(-tailLines).join('\n');
		process.stderr.write(`${tail}\n`);
		// The command could not even start (e.g. no bash on Windows): say so, the log is empty.
		if (startError) log(`${command}: ${startError.message}`);
		if (fatal) fail(`${title} failed; the whole log is ${step.logFile}`, status ?? 1);
		log(`${title} FAILED; the whole log is ${step.logFile}`);
		return false;
	}
	if (showLog && logText()) process.stderr.write(`${logText()}\n`);
	log(`${title}: done in ${Math.round((Date.now() - step.started) / 1000)} s`);
	return true;
}

/** Runs an install step with its output in its log (beginStep, endStep). */
function quietStep(title, logName, command, args, env, shell = false) {
	const step = beginStep(title, logName);
	const result = spawnSync(command, args, { cwd: ROOT, env, stdio: ['ignore', step.fd, step.fd], shell });
	endStep(title, step, command, result.status, result.error);
}

/**
 * The same as quietStep, without blocking: several installs at once (n8n 2.x and 1.x, the verification
 * tools, apt) overlap their downloads and native builds, and checks run beside the tests. Resolves with
 * whether it passed; a failure stops the run unless `endOptions.fatal` is false.
 */
function quietStepAsync(title, logName, command, args, env, shell = false, endOptions = {}) {
	const step = beginStep(title, logName);
	return new Promise((resolve) => {
		const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', step.fd, step.fd], shell });
		// A background install yields the CPU to the tests beside it (its children inherit the priority).
		if (endOptions.lowPriority && child.pid) {
			try {
				setPriority(child.pid, 5);
			} catch {
				// not allowed here: it runs at the usual priority
			}
		}
		let startError;
		child.on('error', (error) => (startError = error));
		child.on('close', (status) => resolve(endStep(title, step, command, status, startError, endOptions)));
	});
}

/**
 * Runs a tool in the foreground without blocking (Jest beside the installs); resolves with its exit status.
 * With `onLine`, its standard error is passed on line by line through `onLine` too (Jest prints there the
 * PASS or FAIL line of each test file as it ends).
 */
function runAsync(command, args, env, onLine) {
	return new Promise((resolve) => {
		const child = spawn(command, args, { cwd: ROOT, env, stdio: ['inherit', 'inherit', onLine ? 'pipe' : 'inherit'] });
		if (onLine) {
			let rest = '';
			child.stderr.on('data', (chunk) => {
				process.stderr.write(chunk);
				const lines = (rest + chunk.toString()).split('\n');
				rest = lines.pop();
				for (const line of lines) onLine(line);
			});
		}
		child.on('error', (error) => {
			log(`${command}: ${error.message}`);
			resolve(1);
		});
		child.on('close', (status) => resolve(status ?? 1));
	});
}

/** Runs a tool in the foreground (its output is what the user asked for). */
function run(command, args, env, options = {}) {
	const result = spawnSync(command, args, { cwd: ROOT, env, stdio: 'inherit', ...options });
	if (result.error) fail(`${command}: ${result.error.message}`);
	if (result.status !== 0) process.exit(result.status ?? 1);
}

/**
 * A project-local Node of one major version (the platform's npm package, scripts/lib/node-platform.cjs),
 * installed once into .cache/node<major>; `why` says what needs it, in the progress line and errors.
 */
function localNode(major, why) {
	const pkg = nodePackageFor(process.platform, process.arch);
	if (!pkg) fail(`${why} needs Node ${major}, and the npm registry has no Node package for ${process.platform}-${process.arch}: install Node ${major}`);
	const dir = join(CACHE, `node${major}`);
	const home = join(dir, 'node_modules', pkg.name);
	const node = join(home, pkg.bin);
	if (!existsSync(node)) {
		const npm = npmCommand(process.execPath);
		quietStep(`${why}: installing ${pkg.name}@${major} into .cache/node${major}`, `install-node${major}`, npm.command,
			[...npm.args, 'install', '--prefix', dir, '--no-save', '--no-package-lock', `${pkg.name}@${major}`], process.env, npm.shell);
	}
	return { node, home };
}

/** Node >= 24 for everything below; returns its binary and the environment that puts it first. */
function ensureNode24() {
	if (Number(process.versions.node.split('.')[0]) >= 24) {
		return { node: process.execPath, env: { ...process.env, NODE24_HOME: dirname(dirname(process.execPath)) } };
	}
	const { node, home } = localNode(24, `Node ${process.version} is older than 24`);
	// ~/.npmrc may say nodedir=/usr (Node 20 headers); native modules must build against this Node.
	const env = { ...withPathFirst(process.env, dirname(node)), npm_config_nodedir: home, NODE24_HOME: home };
	return { node, env };
}

function ensureDeps({ node, env }) {
	const stamp = join(ROOT, 'node_modules', '.package-lock.json');
	if (existsSync(stamp) && statSync(stamp).mtimeMs >= statSync(join(ROOT, 'package-lock.json')).mtimeMs) return;
	const npm = npmCommand(node);
	quietStep('installing dev dependencies (npm ci)', 'npm-ci', npm.command, [...npm.args, 'ci'], env, npm.shell);
}

/**
 * The pinned applications and tools the e2e suite, the demo and dev run against (Linux, bash), installed
 * at once (apt's among themselves one after the other: apt holds a lock). Each is a promise of whether it
 * installed, or undefined when there is nothing to install. With `background`, n8n 1.x and the
 * verification tools install at a low priority and do not stop the run when they fail: `npm test` starts
 * the tests before they are done (n8n 1.x leaves `.install-failed` for the test waiting for it).
 */
function applicationInstalls({ env }, { all, background = false }) {
	const bash = (script, extraEnv = {}) => ['bash', [join('scripts', script)], { ...env, ...extraEnv }];
	const installed = (dir) => existsSync(join(CACHE, dir, '.installed'));
	const later = background ? { fatal: false, lowPriority: true } : {};
	const installs = {};
	if (!installed(`n8n-${N8N_VERSION}`)) installs.n8n = quietStepAsync(`installing n8n ${N8N_VERSION} into .cache (several minutes, once)`, 'install-n8n', ...bash('install-n8n.sh'));
	if (all && !installed(`n8n-${N8N_1X_VERSION}`)) {
		// n8n 1.x is tested on Node 20, as its users run it: a project-local Node 20 as for Node 24.
		const { node, home } = localNode(20, `n8n ${N8N_1X_VERSION}`);
		const node20Env = { ...withPathFirst(env, dirname(node)), npm_config_nodedir: home, N8N_VERSION: N8N_1X_VERSION };
		const failedMark = join(CACHE, `n8n-${N8N_1X_VERSION}`, '.install-failed');
		rmSync(failedMark, { force: true });
		installs.n8n1x = quietStepAsync(`installing n8n ${N8N_1X_VERSION} into .cache, for Node 20 (several minutes, once)`, 'install-n8n-1x', 'bash', [join('scripts', 'install-n8n.sh')], node20Env, false, later).then((passed) => {
			if (!passed) writeFileSync(failedMark, '');
			return passed;
		});
	}
	if (all && !SCANNER_DIRS.every(installed)) installs.scanner = quietStepAsync("installing n8n's verification tools into .cache", 'install-scanner', ...bash('install-scanner.sh'), false, later);
	const apt = all && ensureDebianPackages(env);
	if (apt) installs.debian = apt;
	return installs;
}

async function ensureApplications(ctx, options) {
	await Promise.all(Object.values(applicationInstalls(ctx, options)));
}

/** Chromium for the browser test, Redis and PostgreSQL for the queue-mode suite, when the machine lacks them. */
/** Resolves at once when the machine has them all (so `applicationInstalls` can tell there is nothing to wait for). */
function ensureDebianPackages(env) {
	const needed = debianInstalls();
	if (needed.length === 0) return undefined;
	return (async () => {
		for (const [title, logName, packages] of needed) await quietStepAsync(title, logName, 'bash', [join('scripts', 'apt-install.sh'), ...packages], env);
	})();
}

function debianInstalls() {
	const needed = [];
	if (!existsSync(process.env.CHROMIUM_PATH || '/usr/bin/chromium')) needed.push(["installing Debian's Chromium (apt-get) for the browser test", 'install-browser', ['chromium', 'fonts-liberation']]);
	// The machine image may already have PostgreSQL's server.
	const missing = [];
	if (!onPath('redis-server')) missing.push('redis-server');
	if (!hasPostgresServer()) missing.push('postgresql');
	if (missing.length > 0) needed.push([`installing Debian's ${missing.join(' and ')} (apt-get) for the queue-mode suite`, 'install-queue-services', missing]);
	return needed;
}

function onPath(command) {
	return (process.env[pathKey(process.env)] ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, command)));
}

function hasPostgresServer() {
	const root = '/usr/lib/postgresql';
	return existsSync(root) && readdirSync(root).some((major) => existsSync(join(root, major, 'bin', 'initdb')));
}

const tool = {
	tsc: join('node_modules', 'typescript', 'bin', 'tsc'),
	eslint: join('node_modules', 'eslint', 'bin', 'eslint.js'),
	jest: join('node_modules', 'jest', 'bin', 'jest.js'),
	tsx: join('node_modules', 'tsx', 'dist', 'cli.mjs'),
};

function build({ node, env }) {
	rmSync(join(ROOT, 'dist'), { recursive: true, force: true });
	run(node, [tool.tsc, '-p', 'tsconfig.build.json'], env);
	run(node, [join('scripts', 'copy-assets.mjs')], env);
}

const NEEDS_NO_N8N = ['unit', 'simulator', 'engine'];
const NEEDS_N8N = ['e2e', 'queue'];
// Jest workers for `npm test`. Most of the time a test file that drives n8n waits: on the node's request
// budget (real minutes, whatever the simulator's time scale), on a Wait between passes, on a restart. So
// four files at a time fit 2 cores, with at most two n8n processes starting at once
// (scripts/lib/start-slots.ts); the longest start first (test/sequencer.js). Five at a time, with the
// browser among them, the queue trigger file's burst and the bench smoke's callback count failed; both
// were later traced to timeouts and fixed (queue-stack.ts, bench/scenarios.ts), and five at a time was
// not measured again.
const TEST_WORKERS = '4';
// The browser suite runs beside the others' end, started once these files have ended: those with bursts
// of deliveries, which failed beside it when it started earlier (see above). Before, it waited for every
// file, while the CPU was idle a third of the time in the run's last 200 s.
const BROWSER_AFTER = ['queue/queue-trigger.test.ts', 'queue/queue-mode.test.ts', 'e2e/bench-smoke.test.ts'];

/**
 * `npm test`: everything, overlapped where it can be. The type check, lint and n8n's verification scan
 * run beside the tests (they only read the sources and dist/); on a fresh clone the tests that need no n8n
 * run while n8n 2.x and Debian's packages install, and the tests that need n8n start as soon as those are
 * in, while n8n 1.x and the verification tools are still installing at a low priority (the 1.x test waits
 * for its n8n: GEMINI_OMNI_INSTALLING, scripts/lib/n8n-install.ts). The benchmark at small sizes is one of
 * the e2e test files (test/e2e/bench-smoke.test.ts). Every part runs to its end; the run fails if any
 * part failed.
 */
async function testEverything(ctx, args) {
	const { node, env } = ctx;
	const failed = [];
	const note = (title) => (passed) => {
		if (!passed) failed.push(title);
	};
	const check = (title, logName, checkArgs, showLog = false) =>
		quietStepAsync(title, logName, node, checkArgs, env, false, { fatal: false, showLog, tailLines: 200 }).then(note(title));
	const jestRun = (projects, extra = [], extraEnv = {}, onLine = undefined) =>
		runAsync(node, [tool.jest, '--maxWorkers', TEST_WORKERS, ...extra, ...args, '--selectProjects', ...projects], { ...env, ...extraEnv }, onLine).then((status) =>
			note(`jest ${projects.join(', ')} ${extra.join(' ')}`.trim())(status === 0),
		);
	// The tests that need n8n, and the browser suite once the files of BROWSER_AFTER have ended (or all of them).
	const jestWithBrowser = async (projects, extraEnv) => {
		const waitingFor = new Set(BROWSER_AFTER);
		let browser;
		const startBrowser = () => (browser ??= jestRun(['browser']));
		await jestRun(projects, [], extraEnv, (line) => {
			const ended = /^\s*(?:PASS|FAIL)\s+(?:\S+\s+)?test\/(\S+)/.exec(line.replace(/\x1b\[[0-9;]*m/g, ''));
			if (ended && waitingFor.delete(ended[1]) && waitingFor.size === 0) startBrowser();
		});
		await startBrowser();
	};
	const scan = () => check("n8n's verification scan (source, tarball, n8n-node lint)", 'scan', [join('scripts', 'scan.mjs')], true);
	build(ctx);
	// Both keep what they learned in .cache: a run after a small change checks only what it touched.
	const checks = [
		check('type check (tsc --noEmit)', 'typecheck', [tool.tsc, '-p', 'tsconfig.json', '--noEmit', '--incremental', '--tsBuildInfoFile', join('.cache', 'typecheck.tsbuildinfo')]),
		check('lint (eslint)', 'lint', [tool.eslint, '--cache', '--cache-location', join('.cache', 'eslint-cache'), '.']),
	];
	const { n8n, debian, n8n1x, scanner } = applicationInstalls(ctx, { all: true, background: true });
	checks.push(scanner ? scanner.then((installed) => (installed ? scan() : note("installing n8n's verification tools")(false))) : scan());
	if (n8n1x) checks.push(n8n1x.then(note(`installing n8n ${N8N_1X_VERSION}`)));
	if (n8n || debian) {
		await Promise.all([jestRun(NEEDS_NO_N8N), n8n, debian]);
		await jestWithBrowser(NEEDS_N8N, n8n1x ? { GEMINI_OMNI_INSTALLING: N8N_1X_VERSION } : {});
	} else {
		await jestWithBrowser([...NEEDS_NO_N8N, ...NEEDS_N8N], n8n1x ? { GEMINI_OMNI_INSTALLING: N8N_1X_VERSION } : {});
	}
	await Promise.all(checks);
	if (failed.length > 0) fail(`failed: ${failed.join('; ')}`);
}

const COMMANDS = ['setup', 'build', 'prepublish', 'lint', 'scan', 'test', 'test:fast', 'test:e2e', 'test:queue', 'simulator', 'demo', 'dev', 'bench'];
const USAGE = `usage: node scripts/toolchain.cjs ${COMMANDS.join('|')} [args]`;

async function main() {
	const [command, ...args] = process.argv.slice(2);
	if (command === 'prepublish') {
		// npm publish: build with what is there; never install anything.
		if (!existsSync(join(ROOT, 'node_modules', 'typescript'))) fail('prepublish: run npm ci first (nothing is installed during publish)');
		return build({ node: process.execPath, env: process.env });
	}
	if (!COMMANDS.includes(command)) fail(USAGE, 2);
	const ctx = ensureNode24();
	ensureDeps(ctx);
	const { node, env } = ctx;
	// Arguments first: after --selectProjects, jest would read a test path as one more project name.
	const jest = (projects) => run(node, [tool.jest, ...args, '--selectProjects', ...projects], env);
	switch (command) {
		case 'setup':
			await ensureApplications(ctx, { all: true });
			return build(ctx);
		case 'build':
			return build(ctx);
		case 'lint':
			return run(node, [tool.eslint, '.'], env);
		case 'scan':
			build(ctx);
			await ensureApplications(ctx, { all: true });
			return run(node, [join('scripts', 'scan.mjs')], env);
		case 'test':
			return await testEverything(ctx, args);
		case 'test:fast':
			return jest(['unit', 'simulator', 'engine']);
		case 'test:e2e':
		case 'test:queue':
			build(ctx);
			await ensureApplications(ctx, { all: true });
			return jest([command.slice('test:'.length)]);
		case 'simulator':
			return run(node, [tool.tsx, join('simulator', 'cli.ts'), ...args], env);
		case 'demo':
		case 'dev':
			build(ctx);
			await ensureApplications(ctx, { all: false });
			return run(node, [tool.tsx, join('scripts', `${command}.ts`), ...args], env);
		case 'bench':
			build(ctx);
			return run(node, [tool.tsx, join('bench', 'run.ts'), ...args], env);
		default:
			fail(USAGE, 2);
	}
}

main().catch((error) => fail(error instanceof Error ? error.stack ?? error.message : String(error)));
