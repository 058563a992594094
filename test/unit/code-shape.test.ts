/**
 * No function in the node code is longer than a screen (80 lines). Counted with TypeScript's own parser:
 * every function declaration, method, constructor, function expression and arrow function in nodes/
 * and credentials/, from the line it starts on to the line it ends on, both included (comments and
 * blank lines inside count too).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const ROOT = join(__dirname, '..', '..');
const MAX_LINES = 80;

function sourceFiles(directory: string): string[] {
	return readdirSync(directory).flatMap((name) => {
		const path = join(directory, name);
		if (statSync(path).isDirectory()) return sourceFiles(path);
		return path.endsWith('.ts') ? [path] : [];
	});
}

/** Every function of a file: where it starts, its name (or what holds it), and its length in lines. */
export function functionLengths(path: string): Array<{ where: string; lines: number }> {
	const file = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
	const found: Array<{ where: string; lines: number }> = [];
	const visit = (node: ts.Node) => {
		if (ts.isFunctionLike(node) && 'body' in node && node.body) {
			const start = file.getLineAndCharacterOfPosition(node.getStart()).line;
			const end = file.getLineAndCharacterOfPosition(node.getEnd()).line;
			const named = (node as { name?: ts.Node }).name ?? (ts.isVariableDeclaration(node.parent) ? node.parent.name : undefined);
			found.push({ where: `${relative(ROOT, path)}:${start + 1} ${named ? named.getText(file) : '(anonymous)'}`, lines: end - start + 1 });
		}
		ts.forEachChild(node, visit);
	};
	visit(file);
	return found;
}

test(`no function in nodes/ or credentials/ is longer than ${MAX_LINES} lines`, () => {
	const all = ['nodes', 'credentials'].flatMap((directory) => sourceFiles(join(ROOT, directory))).flatMap(functionLengths);
	// The counter sees the code: a file of functions gives a count for each.
	expect(all.length).toBeGreaterThan(100);
	expect(all.filter((fn) => fn.lines > MAX_LINES)).toEqual([]);
});

test('the counter counts a function from its first to its last line', () => {
	const path = join(ROOT, 'nodes', 'GeminiOmni', 'helpers', 'job.ts');
	const lengths = functionLengths(path);
	const lines = readFileSync(path, 'utf8').split('\n');
	const start = lines.findIndex((line) => line.startsWith('export function isFinished('));
	const end = lines.findIndex((line, index) => index > start && line === '}');
	expect(lengths.find((fn) => fn.where.endsWith(' isFinished'))?.lines).toBe(end - start + 1);
});
