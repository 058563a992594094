/**
 * The benchmark at small sizes (`npx tsx bench/run.ts --smoke`), so it cannot rot: every scenario runs
 * to its end (the plane, real n8n, the Trigger under load, poll, callback, batches, memory, overhead),
 * and the run fails on a crash or a clearly broken count (bench/run.ts), never on timing. A test file
 * of its own, so that `npm test` runs it beside the others.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { REPO_ROOT } from '../../scripts/lib/n8n-instance';

jest.setTimeout(900_000);

it('runs every scenario of the benchmark at small sizes, with no broken count', async () => {
	const child = spawn(process.execPath, [join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join('bench', 'run.ts'), '--smoke'], {
		cwd: REPO_ROOT,
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let output = '';
	child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
	child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
	const status = await new Promise<number | null>((done) => child.on('close', done));
	const runTime = /- Run time: (.*)/.exec(output)?.[1] ?? '';
	process.stdout.write(`[bench] smoke: exit ${status}; ${runTime}\n`);
	if (status !== 0) process.stdout.write(`${output.slice(-4000)}\n`);
	expect(status).toBe(0);
	expect(output).toContain('| figure | scenario | ours | baseline | physical limit | target | met? |');
	for (const scenario of ['plane', 'n8n', 'trigger', 'poll', 'callback', 'batch', 'memory', 'overhead']) expect(runTime).toMatch(new RegExp(`\\b${scenario} \\d+\\.\\d s`));
});
