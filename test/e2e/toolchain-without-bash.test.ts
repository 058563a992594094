/**
 * Contributors on macOS and Windows have no bash: `npm run build`, `npm run lint` and
 * `npm run test:fast` must work with plain npm. The closest honest proxy on this Linux machine: a copy
 * of the repository (its dependencies linked, not reinstalled) run with a PATH that holds only node,
 * npm and a POSIX sh (npm runs scripts with sh; dash here, cmd.exe on Windows) — no bash.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { REPO_ROOT, scratchFolder } from '../../scripts/lib/n8n-instance';

jest.setTimeout(300_000);

let copy: string;
let bin: string;

beforeAll(() => {
	const scratch = scratchFolder('no-bash-');
	copy = join(scratch, 'repo');
	bin = join(scratch, 'bin');
	const tracked = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: REPO_ROOT, encoding: 'utf8' });
	for (const file of tracked.stdout.split('\0').filter(Boolean)) {
		if (!existsSync(join(REPO_ROOT, file))) continue;
		mkdirSync(dirname(join(copy, file)), { recursive: true });
		// Timestamps kept: the toolchain compares package-lock.json with node_modules to decide on npm ci.
		cpSync(join(REPO_ROOT, file), join(copy, file), { preserveTimestamps: true });
	}
	symlinkSync(join(REPO_ROOT, 'node_modules'), join(copy, 'node_modules'));
	mkdirSync(bin);
	// Node >= 24 (this test's own) and the npm on this machine's PATH (its npm-cli.js, run by that node).
	symlinkSync(process.execPath, join(bin, 'node'));
	symlinkSync(realpathSync(spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim()), join(bin, 'npm'));
	symlinkSync(realpathSync('/bin/sh') === realpathSync('/bin/bash') ? '/bin/dash' : realpathSync('/bin/sh'), join(bin, 'sh'));
});
afterAll(() => rmSync(dirname(copy), { recursive: true, force: true }));

function npmRun(...args: string[]) {
	const env: NodeJS.ProcessEnv = { HOME: process.env.HOME, PATH: bin, CI: 'true' };
	return spawnSync(join(bin, 'npm'), ['run', ...args], { cwd: copy, env, encoding: 'utf8', timeout: 240_000 });
}

it('has no bash on the PATH it runs with', () => {
	const probe = spawnSync(join(bin, 'sh'), ['-c', 'command -v bash || echo none'], { env: { PATH: bin }, encoding: 'utf8' });
	expect(probe.stdout.trim()).toBe('none');
});

it.each([['build'], ['lint'], ['test:fast', '--', 'test/unit']])('npm run %s succeeds without bash', (...args) => {
	const result = npmRun(...args);
	expect({ status: result.status, output: result.status === 0 ? '' : `${result.stdout}\n${result.stderr}`.slice(-3000) }).toEqual({ status: 0, output: '' });
	if (args[0] === 'build') expect(existsSync(join(copy, 'dist', 'nodes', 'GeminiOmni', 'GeminiOmni.node.js'))).toBe(true);
	// The tests really ran (in the copy, with its own jest).
	if (args[0] === 'test:fast') expect(result.stderr).toMatch(/Tests:\s+\d+ passed, \d+ total/);
});
