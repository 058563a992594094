/**
 * No function in the node code is longer than a screen (80 lines). Counted with TypeScript's own parser:
 * every function declaration, method, constructor, function expression and arrow function in nodes/
 * and credentials/, from the line it starts on to the line it ends on, both included (comments and
 * blank lines inside count too).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { INodeProperties } from 'n8n-workflow';
import ts from 'typescript';

import { GeminiOmni } from '../../nodes/GeminiOmni/GeminiOmni.node';

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

/** Every parameter of a property list, with those inside collections and fixed collections. */
function allParameters(properties: INodeProperties[]): INodeProperties[] {
	return properties.flatMap((property) => {
		const nested = (property.options ?? []).flatMap((option) =>
			'displayName' in option ? allParameters([option as INodeProperties]) : 'values' in option ? allParameters(option.values as INodeProperties[]) : [],
		);
		return [property, ...nested];
	});
}

// n8n's lint rule (node-param-options-type-unsorted-items) wants a list of more than five options sorted
// by name, but it can only read a list written out; the speech lists are built from tables, so the rule
// is checked here on what the editor will show.
test('every options list of more than five entries is sorted by name ("Other (Type It Below)" last)', () => {
	const lists = allParameters(new GeminiOmni().description.properties)
		.filter((parameter) => (parameter.type === 'options' || parameter.type === 'multiOptions') && (parameter.options?.length ?? 0) > 5)
		.map((parameter) => {
			const names = (parameter.options as Array<{ name: string }>).map((option) => option.name);
			return { name: parameter.name, names: names.at(-1) === 'Other (Type It Below)' ? names.slice(0, -1) : names };
		});
	expect(lists.map((list) => list.name)).toEqual(expect.arrayContaining(['language', 'voiceProfile']));
	for (const list of lists) expect({ [list.name]: list.names }).toEqual({ [list.name]: [...list.names].sort((a, b) => a.localeCompare(b)) });
});
