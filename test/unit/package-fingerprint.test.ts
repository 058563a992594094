/**
 * `packageFingerprint`: an n8n start reuses the package's installed template without running `npm pack`
 * when the files npm would pack are the same (scripts/lib/n8n-install.ts). A change to any of them must
 * give a new fingerprint; a change elsewhere must not.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { packageFingerprint } from '../../scripts/lib/n8n-install';

let dir: string;

beforeEach(() => {
	dir = mkdtempSync(join(tmpdir(), 'gemini-omni-fingerprint-'));
	mkdirSync(join(dir, 'dist', 'nodes'), { recursive: true });
	mkdirSync(join(dir, 'nodes'), { recursive: true });
	writeFileSync(join(dir, 'package.json'), '{"name":"p","version":"1.0.0","files":["dist"]}');
	writeFileSync(join(dir, 'README.md'), '# p');
	writeFileSync(join(dir, 'dist', 'nodes', 'A.node.js'), 'module.exports = 1;');
	writeFileSync(join(dir, 'nodes', 'A.node.ts'), 'export = 1;');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const later = (path: string) => utimesSync(path, new Date(Date.now() + 5_000), new Date(Date.now() + 5_000));

it('changes when a packed file changes: dist/, package.json, the README', () => {
	const before = packageFingerprint(dir);
	expect(packageFingerprint(dir)).toBe(before);

	writeFileSync(join(dir, 'dist', 'nodes', 'A.node.js'), 'module.exports = 2;');
	later(join(dir, 'dist', 'nodes', 'A.node.js'));
	const afterBuild = packageFingerprint(dir);
	expect(afterBuild).not.toBe(before);

	writeFileSync(join(dir, 'dist', 'nodes', 'B.node.js'), '');
	const afterNewFile = packageFingerprint(dir);
	expect(afterNewFile).not.toBe(afterBuild);

	writeFileSync(join(dir, 'package.json'), '{"name":"p","version":"1.0.1","files":["dist"]}');
	later(join(dir, 'package.json'));
	const afterManifest = packageFingerprint(dir);
	expect(afterManifest).not.toBe(afterNewFile);

	writeFileSync(join(dir, 'README.md'), '# p, now documented');
	expect(packageFingerprint(dir)).not.toBe(afterManifest);
});

it('stays the same when only files npm does not pack change (sources, tests)', () => {
	const before = packageFingerprint(dir);
	writeFileSync(join(dir, 'nodes', 'A.node.ts'), 'export = 2;');
	later(join(dir, 'nodes', 'A.node.ts'));
	writeFileSync(join(dir, 'notes.txt'), 'x');
	expect(packageFingerprint(dir)).toBe(before);
});
