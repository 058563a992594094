/**
 * The README is for the user first (issue 23): its first screen gets a newcomer to a working clip, the
 * operations and the wait modes come before the reference, and every link in it leads somewhere.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const lines = readme.split('\n');

/** Headings outside code blocks, with GitHub's anchor for each. */
function headings(): Array<{ level: number; text: string; anchor: string; line: number }> {
	const found: Array<{ level: number; text: string; anchor: string; line: number }> = [];
	let inCode = false;
	lines.forEach((line, index) => {
		if (line.startsWith('```')) inCode = !inCode;
		const match = !inCode && /^(#{1,6}) (.+)$/.exec(line);
		if (!match) return;
		const text = match[2].trim();
		// GitHub: lower case, punctuation dropped (hyphens and underscores kept), spaces to hyphens.
		const anchor = text
			.toLowerCase()
			.replace(/[^\p{L}\p{N}\s_-]/gu, '')
			.replace(/\s/g, '-');
		found.push({ level: match[1].length, text, anchor, line: index + 1 });
	});
	return found;
}

const lineOf = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line)) + 1;

describe('README', () => {
	it('its first 40 lines say what the package does and take a new user from install to a clip in five steps', () => {
		const firstScreen = lines.slice(0, 40).join('\n');
		expect(firstScreen).toMatch(/text to\s+video/i);
		expect(firstScreen).toMatch(/^## Quick start/m);
		const steps = firstScreen.match(/^\d\. .+$/gm) ?? [];
		expect(steps).toHaveLength(5);
		expect(steps[0]).toMatch(/Community Nodes → Install/);
		expect(steps.join('\n')).toMatch(/API key/);
		expect(steps.join('\n')).toMatch(/Execute step/);
	});

	it('puts the operations table and the wait-mode table before the reference part', () => {
		const operations = lineOf(/^\| resource → operation \|/);
		const waitModes = lineOf(/^\| Wait Mode \|/);
		const reference = lineOf(/^## Reference$/);
		expect(operations).toBeGreaterThan(0);
		expect(waitModes).toBeGreaterThan(operations);
		expect(reference).toBeGreaterThan(waitModes);
		// Every operation the table lists is one of the node's (one row each, nine in all).
		const rows = lines.slice(operations + 1).filter((line, i, all) => all.slice(0, i + 1).every((row) => row.startsWith('|')));
		expect(rows).toHaveLength(9);
		// The limits, errors and retries are under the reference, not before it.
		for (const detail of [/^### Errors$/, /^### Batches and plan limits$/, /^#### Paid once/]) expect(lineOf(detail)).toBeGreaterThan(reference);
	});

	it('every #anchor link leads to a heading, and every relative link to a file or folder of the repository', () => {
		const anchors = new Set(headings().map((heading) => heading.anchor));
		const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]);
		expect(links.length).toBeGreaterThan(20);
		const broken = links.filter((link) => {
			if (/^https?:|^mailto:/.test(link)) return false;
			if (link.startsWith('#')) return !anchors.has(link.slice(1));
			return !existsSync(join(ROOT, link.split('#')[0]));
		});
		expect(broken).toEqual([]);
	});
});
