// Copies what tsc does not emit into dist: the icons and the node codex (.node.json) files.
import { cpSync, readdirSync, statSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';

const root = join(dirname(new URL(import.meta.url).pathname), '..');
cpSync(join(root, 'icons'), join(root, 'dist', 'icons'), { recursive: true });

function copyJson(dir) {
	for (const name of readdirSync(join(root, dir))) {
		const rel = join(dir, name);
		if (statSync(join(root, rel)).isDirectory()) copyJson(rel);
		else if (name.endsWith('.node.json')) {
			mkdirSync(dirname(join(root, 'dist', rel)), { recursive: true });
			cpSync(join(root, rel), join(root, 'dist', rel));
		}
	}
}
copyJson('nodes');
