// n8n's verification scan, offline: @n8n/scan-community-package's own analyzePackage, run the way its
// CLI runs it on a published package (the attested source with SOURCE_FILE_PATTERNS, then the unpacked
// tarball's .js and package.json), with inline eslint-disable comments ignored. The CLI's other checks
// (npm provenance, fetching the source from GitHub) need the network and a published version.
// Then `n8n-node lint` (@n8n/node-cli) in strict mode on a copy of the package with the CLI's default
// eslint.config.mjs, as a package scaffolded by n8n's CLI is linted; warnings count as findings.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const scannerDir = join(root, '.cache/scan-community-package-0.32.0/node_modules/@n8n/scan-community-package');
const nodeCliModules = join(root, '.cache/node-cli-0.48.3/node_modules');
const { analyzePackage, SOURCE_FILE_PATTERNS } = await import(pathToFileURL(join(scannerDir, 'scanner/scanner.mjs')).href);

const work = mkdtempSync(join(tmpdir(), 'gemini-omni-scan-'));
try {
	execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', work], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
	const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
	const unpacked = join(work, 'package');
	execFileSync('tar', ['-xzf', join(work, tarball), '-C', work]);

	let failed = false;
	for (const [label, dir, patterns] of [
		['source', root, SOURCE_FILE_PATTERNS],
		[`tarball ${tarball}`, unpacked, ['**/*.js', 'package.json']],
	]) {
		const result = await analyzePackage(dir, patterns);
		const findings = result.passed ? 0 : (result.details?.match(/^\s+\d+:\d+\s+error/gm) ?? ['?']).length;
		console.log(`[scan] ${label}: ${findings} findings${result.passed ? '' : ` (${result.message})`}`);
		if (!result.passed) {
			failed = true;
			if (result.details) console.log(result.details);
		}
	}

	// n8n-node lint, strict: its own default config on a copy (ours also lints tests and scripts).
	const copy = join(work, 'n8n-node-lint');
	for (const entry of ['nodes', 'credentials', 'icons', 'package.json', 'tsconfig.json']) cpSync(join(root, entry), join(copy, entry), { recursive: true });
	cpSync(join(nodeCliModules, '@n8n/node-cli/dist/template/templates/shared/default/eslint.config.mjs'), join(copy, 'eslint.config.mjs'));
	symlinkSync(nodeCliModules, join(copy, 'node_modules'));
	let lintOutput = '';
	try {
		lintOutput = execFileSync(join(nodeCliModules, '.bin/n8n-node'), ['lint'], { cwd: copy, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
	} catch (error) {
		lintOutput = `${error.stdout ?? ''}${error.stderr ?? ''}`;
		failed = true;
	}
	const problems = /(\d+) problems? \((\d+) errors?, (\d+) warnings?\)/.exec(lintOutput);
	const lintFindings = problems ? Number(problems[1]) : 0;
	console.log(`[scan] n8n-node lint (strict, default config): ${lintFindings} findings`);
	if (lintFindings > 0) {
		failed = true;
		console.log(lintOutput);
	}
	process.exitCode = failed ? 1 : 0;
} finally {
	rmSync(work, { recursive: true, force: true });
}
