/**
 * Release-readiness that n8n checks or that the release depends on: the GitHub Actions workflows are
 * valid YAML and do what they say (CI runs the README's test command; publishing carries provenance),
 * package.json has the fields n8n's verification reads, and CHANGELOG.md matches the version.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const root = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');
const pkg = JSON.parse(read('package.json')) as Record<string, any>;

interface Step {
	run?: string;
	uses?: string;
	with?: Record<string, unknown>;
	env?: Record<string, string>;
}
interface Job {
	steps: Step[];
	permissions?: Record<string, string>;
	strategy?: { matrix?: { os?: string[] } };
}
const workflow = (name: string) => parse(read(`.github/workflows/${name}`)) as { on: any; jobs: Record<string, Job> };
const runs = (job: Job) => job.steps.map((step) => step.run ?? '');

describe('ci.yml', () => {
	const ci = workflow('ci.yml');

	it('runs on pushes to main and on pull requests', () => {
		expect(ci.on.push.branches).toEqual(['main']);
		expect(ci.on).toHaveProperty('pull_request');
	});

	it('runs exactly the README test command (.ci/run, which is npm test)', () => {
		expect(runs(ci.jobs.test)).toContain('bash .ci/run');
		expect(read('.ci/run')).toMatch(/^npm test$/m);
		expect(read('README.md')).toMatch(/^npm test\s+#/m);
	});

	it('builds, lints and runs the unit and engine tests with plain npm on macOS and Windows', () => {
		expect(ci.jobs.portable.strategy?.matrix?.os).toEqual(expect.arrayContaining(['macos-latest', 'windows-latest']));
		expect(runs(ci.jobs.portable)).toEqual(expect.arrayContaining(['npm ci', 'npm run build', 'npm run lint', 'npm run test:fast']));
	});
});

describe('publish.yml', () => {
	const publish = workflow('publish.yml');
	const job = publish.jobs.publish;

	it('publishes on a version tag, only after the tests, with an npm provenance statement', () => {
		expect(publish.on.push.tags).toEqual(['*.*.*']);
		expect(job.permissions).toEqual({ 'id-token': 'write', contents: 'read' });
		const commands = runs(job);
		const testAt = commands.indexOf('bash .ci/run');
		const publishAt = commands.findIndex((command) => /^npm publish --provenance\b/.test(command));
		expect(testAt).toBeGreaterThanOrEqual(0);
		expect(publishAt).toBeGreaterThan(testAt);
		expect(commands.some((command) => command.includes('require(\'./package.json\').version'))).toBe(true);
	});
});

describe('package.json, as n8n verifies it', () => {
	it('has the version the CHANGELOG and the README describe last, MIT, an author email, a homepage and a public GitHub repository matching it', () => {
		const changelog = read('CHANGELOG.md');
		const readme = read('README.md');
		expect(/^## (\d+\.\d+\.\d+)$/m.exec(changelog)?.[1]).toBe(pkg.version);
		expect(/^- \*\*(\d+\.\d+\.\d+)\*\* —/m.exec(readme)?.[1]).toBe(pkg.version);
		expect(pkg.license).toBe('MIT');
		expect(pkg.author.email).toMatch(/^[^@\s]+@[^@\s]+\.[a-z]+$/);
		expect(pkg.repository.type).toBe('git');
		const repo = /^https:\/\/github\.com\/([\w.-]+\/[\w.-]+?)(\.git)?$/.exec(pkg.repository.url)?.[1];
		expect(repo).toBeDefined();
		expect(pkg.homepage.startsWith(`https://github.com/${repo}`)).toBe(true);
		expect(pkg.keywords).toContain('n8n-community-node-package');
	});

	it('has no runtime dependencies, n8n-workflow as a * peer, and a prepublish step that only builds', () => {
		expect(pkg.dependencies).toBeUndefined();
		expect(pkg.peerDependencies).toEqual({ 'n8n-workflow': '*' });
		expect(pkg.scripts.prepublishOnly).toBe('node scripts/toolchain.cjs prepublish');
	});

	it('CHANGELOG.md starts with this version, and the README history names it', () => {
		const firstVersion = /^## (\S+)/m.exec(read('CHANGELOG.md'))?.[1];
		expect(firstVersion).toBe(pkg.version);
		expect(read('README.md')).toContain(`**${pkg.version}**`);
	});
});
