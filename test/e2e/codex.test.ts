/**
 * The codex files decide where the editor's nodes panel lists our nodes. n8n hides a node whose codex
 * says "AI" without an AI subcategory (n8n-io/n8n#24630), and a category n8n does not know puts the node
 * in no panel section. The categories n8n knows are read from n8n's own nodes in the installed n8n, so
 * this fails if ours is not one of them. The browser test shows the effect in the editor.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { N8N_HOME, REPO_ROOT } from '../../scripts/lib/n8n-instance';

interface Codex {
	node: string;
	categories?: string[];
	subcategories?: Record<string, string[]>;
	alias?: string[];
}

function codexFilesUnder(dir: string, found: string[] = []): string[] {
	for (const name of readdirSync(dir)) {
		const path = join(dir, name);
		if (statSync(path).isDirectory()) codexFilesUnder(path, found);
		else if (name.endsWith('.node.json')) found.push(path);
	}
	return found;
}

const readCodex = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Codex;

const n8nOwnCodex = ['n8n-nodes-base', '@n8n/n8n-nodes-langchain'].flatMap((pkg) =>
	codexFilesUnder(join(N8N_HOME, 'node_modules', pkg, 'dist', 'nodes')).map(readCodex),
);
const ours = [
	readCodex(join(REPO_ROOT, 'nodes/GeminiOmni/GeminiOmni.node.json')),
	readCodex(join(REPO_ROOT, 'nodes/GeminiOmniTrigger/GeminiOmniTrigger.node.json')),
];

describe('codex categories and search words', () => {
	const known = new Set(n8nOwnCodex.flatMap((codex) => codex.categories ?? []));

	it('reads n8n’s own categories from the installed n8n', () => {
		expect(n8nOwnCodex.length).toBeGreaterThan(300);
		expect(known.has('Marketing')).toBe(true);
	});

	it.each(ours.map((codex) => [codex.node, codex] as const))('%s uses only categories n8n knows, never "AI"', (_name, codex) => {
		expect(codex.categories?.length).toBeGreaterThan(0);
		for (const category of codex.categories ?? []) {
			expect(known).toContain(category);
			// The editor shows an "AI" node only under an AI subcategory, which needs @n8n/ai-node-sdk.
			expect(category).not.toBe('AI');
		}
	});

	it.each(ours.map((codex) => [codex.node, codex] as const))('%s can be found by what it does', (_name, codex) => {
		const words = (codex.alias ?? []).map((word) => word.toLowerCase());
		for (const word of ['gemini', 'omni', 'video', 'speech', 'lip sync']) expect(words).toContain(word);
	});
});
