/**
 * A migrated SQLite database for new n8n user folders. A fresh n8n 2.41.1 runs about 150 migrations
 * before it answers; measured on a 2-core machine: 18 CPU-s and 19 s to readiness with an empty folder,
 * 14 CPU-s and 12 s with a migrated one (the same n8n restarted). The suites start n8n on a new folder
 * about fifteen times per run, so each version's migrations run once, into
 * .cache/n8n-<version>/database-template, and a new folder starts from a copy: what n8n finds there
 * is what it finds after a restart, an up-to-date database with nothing in it yet (the owner comes
 * from the environment at every start).
 *
 * The template is made by `n8n list:workflow`, a command that opens the database (migrating it), lists
 * nothing and exits. One process makes it while the others wait; if making it fails, or the maker
 * died, a start goes on without it and n8n migrates as it always did.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { childEnvironment, n8nEntryPoint, n8nHome, scratchFolder } from './n8n-install';
import { acquireStartSlot, holderGone } from './start-slots';

const FILES = ['database.sqlite', 'database.sqlite-wal', 'database.sqlite-shm'];
/** Longer than making the template ever took (35 s on a loaded machine): a lock older than that is abandoned. */
const STALE_LOCK_MS = 180_000;

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/**
 * The folder `template`, made once by `make` (into a folder it is given, renamed into place when `make`
 * resolves true, so that the folder exists only complete). One process makes it while the others wait;
 * resolves with whether it exists, false when making it failed or took too long.
 */
export async function ensureTemplate(template: string, make: (building: string) => Promise<boolean>): Promise<boolean> {
	const lock = `${template}.lock`;
	for (let waited = 0; !existsSync(template); waited++) {
		try {
			writeFileSync(lock, String(process.pid), { flag: 'wx' });
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return false;
			// Another process is making it: wait, unless it died or is stuck.
			if (holderGone(lock, STALE_LOCK_MS, Date.now())) rmSync(lock, { force: true });
			else await sleep(500);
			if (waited > STALE_LOCK_MS / 500) return false;
			continue;
		}
		const building = `${template}.${process.pid}`;
		try {
			if (!existsSync(template)) {
				rmSync(building, { recursive: true, force: true });
				mkdirSync(building, { recursive: true });
				if (await make(building).catch(() => false)) renameSync(building, template);
			}
		} finally {
			rmSync(building, { recursive: true, force: true });
			rmSync(lock, { force: true });
		}
		if (!existsSync(template)) return false;
	}
	return true;
}

/** Runs an n8n CLI command to its end (in a start slot: it loads n8n as a start does); resolves with its exit status. */
export async function runN8nCommand(version: string, node: string, args: string[], folder: string, environment: Record<string, string>): Promise<number | null> {
	const release = await acquireStartSlot();
	try {
		return await new Promise<number | null>((done) => {
			const child = spawn(node, [n8nEntryPoint(version), ...args], {
				cwd: folder,
				env: childEnvironment(node, { ...environment, N8N_USER_FOLDER: folder }),
				stdio: 'ignore',
			});
			child.on('error', () => done(null));
			child.on('close', done);
		});
	} finally {
		release();
	}
}

/** `n8n list:workflow` on an empty folder migrates its database, lists nothing and exits: its database is the template. */
async function makeSqliteTemplate(version: string, node: string, environment: Record<string, string>, building: string): Promise<boolean> {
	const folder = scratchFolder('n8n-database-template-');
	try {
		const made = join(folder, '.n8n');
		if ((await runN8nCommand(version, node, ['list:workflow'], folder, environment)) !== 0 || !existsSync(join(made, FILES[0]))) return false;
		for (const file of FILES) if (existsSync(join(made, file))) copyFileSync(join(made, file), join(building, file));
		return true;
	} finally {
		rmSync(folder, { recursive: true, force: true });
	}
}

/**
 * Puts a copy of the version's migrated database into `userFolder` when it has none yet, making the
 * template first if needed. Resolves with whether it did; n8n's own environment for the template run
 * (`environment`: the encryption key, quiet and offline settings) is the one the start uses.
 */
export async function seedDatabase(version: string, node: string, userFolder: string, environment: Record<string, string>): Promise<boolean> {
	const target = join(userFolder, '.n8n');
	if (existsSync(join(target, FILES[0]))) return false;
	const template = join(n8nHome(version), 'database-template');
	if (!(await ensureTemplate(template, async (building) => await makeSqliteTemplate(version, node, environment, building)))) return false;
	mkdirSync(target, { recursive: true });
	for (const file of FILES) if (existsSync(join(template, file))) copyFileSync(join(template, file), join(target, file));
	return true;
}
