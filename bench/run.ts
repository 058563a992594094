/**
 * `npm run bench` (build, then `npx tsx bench/run.ts`): every scenario of issue #7 against the local
 * simulator, our node (engine harness) beside the vendor guide's baseline, one table.
 *
 *   npx tsx bench/run.ts            full sizes; prints the table and writes BENCHMARKS.md
 *   npx tsx bench/run.ts --smoke    small sizes for CI; prints only, never writes BENCHMARKS.md;
 *                                   exits non-zero only on a crash or a clearly broken count
 *   --only=plane,n8n,trigger,poll,callback,batch,memory,overhead   a subset (never writes BENCHMARKS.md)
 */
import { execSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { realN8n } from './n8n';
import { triggerUnderLoad } from './trigger';
import { plane } from './plane';
import { FULL, SMOKE, batches, callbackMode, memory, overhead, pollMode } from './scenarios';
import type { Row, ScenarioResult, Sizes } from './scenarios';

const ROOT = path.resolve(__dirname, '..');

const SCENARIOS: Record<string, (sizes: Sizes) => Promise<ScenarioResult>> = {
	plane,
	n8n: realN8n,
	trigger: triggerUnderLoad,
	poll: pollMode,
	callback: callbackMode,
	batch: batches,
	memory,
	overhead,
};

function versionOf(pkg: string): string {
	try {
		return (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
	} catch {
		return 'unknown';
	}
}

function gitRevision(): string {
	try {
		const rev = execSync('git rev-parse --short HEAD', { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
		const dirty = execSync('git status --porcelain -- nodes credentials', { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
		return dirty ? `${rev} (+ uncommitted changes in nodes/ or credentials/)` : rev;
	} catch {
		return 'unknown';
	}
}

const COLUMNS: Array<[keyof Row, string]> = [
	['figure', 'figure'],
	['scenario', 'scenario'],
	['ours', 'ours'],
	['baseline', 'baseline'],
	['limit', 'physical limit'],
	['target', 'target'],
	['met', 'met?'],
];

function markdownTable(rows: Row[]): string {
	const escape = (text: string) => text.replace(/\|/g, '\\|');
	return [
		`| ${COLUMNS.map(([, title]) => title).join(' | ')} |`,
		`|${COLUMNS.map(() => '---').join('|')}|`,
		...rows.map((row) => `| ${COLUMNS.map(([key]) => escape(row[key])).join(' | ')} |`),
	].join('\n');
}

async function main(): Promise<void> {
	const args = process.argv.slice(2);
	const smoke = args.includes('--smoke');
	const only = args.find((arg) => arg.startsWith('--only='))?.slice('--only='.length).split(',');
	const sizes = smoke ? SMOKE : FULL;
	const names = only ?? Object.keys(SCENARIOS);
	for (const name of names) if (!SCENARIOS[name]) throw new Error(`unknown scenario "${name}" (known: ${Object.keys(SCENARIOS).join(', ')})`);

	const started = Date.now();
	const rows: Row[] = [];
	const notes: string[] = [];
	const broken: string[] = [];
	const sections: string[] = [];
	const files: Record<string, string> = {};
	const timings: string[] = [];
	for (const name of names) {
		const t0 = Date.now();
		process.stderr.write(`[bench] ${name}…\n`);
		const result = await SCENARIOS[name](sizes);
		rows.push(...result.rows);
		notes.push(...result.notes);
		broken.push(...result.broken);
		sections.push(...(result.sections ?? []));
		Object.assign(files, result.files ?? {});
		timings.push(`${name} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
	}
	const totalSeconds = (Date.now() - started) / 1000;

	const cpus = os.cpus();
	const machine = `${cpus.length} × ${cpus[0]?.model?.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, ${os.type()} ${os.release()} ${os.arch()}`;
	const command = smoke ? 'npx tsx bench/run.ts --smoke' : 'npm run bench';
	const table = markdownTable(rows);
	const notesText = notes.map((note) => `- ${note}`).join('\n');
	const missed = rows.filter((row) => row.met.includes('NO'));
	const header = [
		`- Command: \`${command}\` (build, then \`npx tsx bench/run.ts${smoke ? ' --smoke' : ''}\`)`,
		`- Date: ${new Date(started).toISOString()}`,
		`- n8n: n8n-core ${versionOf('n8n-core')}, n8n-workflow ${versionOf('n8n-workflow')} (the engine harness, test/harness/engine.ts: WorkflowExecute)`,
		`- Machine: ${machine}; Node ${process.version}`,
		`- Code: ${gitRevision()}`,
		`- Simulator time scale ${sizes.timeScale} (a 60 s job takes ${60_000 * sizes.timeScale} ms; rate windows, Retry-After and estimates scale with it; the node's client budget runs at the same scale via setRateWindowScale)`,
		`- Run time: ${totalSeconds.toFixed(1)} s (${timings.join(', ')})`,
	].join('\n');

	process.stdout.write(`\n${table}\n\nNotes:\n${notesText}\n\n${sections.join('\n')}\n\n${header}\n`);
	if (missed.length) process.stdout.write(`\nTargets missed: ${missed.map((row) => `${row.figure} (${row.scenario})`).join('; ')}\n`);

	if (!smoke && !only) {
		const document = [
			'# Benchmarks',
			'',
			'Issue #7: is the Gemini Omni node the most request-efficient, fastest and leanest way to run Gemini Omni jobs from n8n? ' +
				'Issue #13: is it better than what a user would build or install instead, on jobs that do not end exactly at their estimate, in real n8n? ' +
				'The plane, the real-n8n rows (makespan, the HTTP Request + Wait loop, the Trigger) and their sources are described in the sections after the notes.',
			'Each scenario runs our node (through n8n-core\'s WorkflowExecute, via the engine harness in `test/harness/engine.ts`, ' +
				'filesystem binary mode) and a baseline side by side against the local simulator (`simulator/`) in one run. ' +
				'The baseline is the vendor guide\'s naive pattern written with Node\'s fetch (`bench/lib/baseline.ts`): ' +
				'submit with `submitWithRetry` (1 s, 2 s, 4 s; retries 429/5xx, ignores Retry-After), poll every 3 s for up to 60 tries, ' +
				'a queue of 5 concurrent jobs (10 on Premium), outputs fetched whole with `arrayBuffer()`. ' +
				'Every figure is a count or a ratio measured within the same run; a target that is missed says **NO**.',
			'',
			header,
			'',
			table,
			'',
			'## Notes',
			'',
			notesText,
			'',
			missed.length ? `Targets missed: ${missed.map((row) => `${row.figure} (${row.scenario})`).join('; ')}.` : 'Every target met.',
			'',
			...sections,
		].join('\n');
		for (const [file, content] of Object.entries(files)) writeFileSync(path.join(ROOT, file), content);
		writeFileSync(path.join(ROOT, 'BENCHMARKS.md'), document);
		process.stderr.write('[bench] wrote BENCHMARKS.md\n');
	}

	if (broken.length) {
		process.stderr.write(`[bench] clearly broken:\n${broken.map((line) => `  - ${line}`).join('\n')}\n`);
		process.exit(1);
	}
	process.exit(0);
}

main().catch((error: Error) => {
	process.stderr.write(`[bench] crashed: ${error.stack ?? error.message}\n`);
	process.exit(2);
});
