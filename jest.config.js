/** Six layers, one runner. `npm test` runs them all; `npm run test:fast` skips e2e, queue and browser. */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];
const base = {
	testEnvironment: 'node',
	transform: { '^.+\\.ts$': tsJest },
	// n8n's install cache and temp user folders hold package.json files Jest must not index.
	modulePathIgnorePatterns: ['<rootDir>/.tmp/', '<rootDir>/.cache/', '<rootDir>/dist/', '<rootDir>/scripts/host-locks/'],
};
module.exports = {
	// e2e tests start real n8n; each sets its own longer timeouts where needed.
	testTimeout: 30000,
	// Longest files first (measured seconds), so that parallel workers start the queue-mode files at once.
	testSequencer: '<rootDir>/test/sequencer.js',
	projects: [
		{ ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
		{ ...base, displayName: 'simulator', testMatch: ['<rootDir>/test/simulator/**/*.test.ts'] },
		{ ...base, displayName: 'engine', testMatch: ['<rootDir>/test/engine/**/*.test.ts'] },
		// One n8n per worker, shared by the files that ask for it (test/e2e/shared-environment.js, sharedN8n).
		{ ...base, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'], testEnvironment: '<rootDir>/test/e2e/shared-environment.js' },
		// n8n in queue mode: Redis, PostgreSQL, main, a webhook process and two workers (scripts/lib/queue-stack.ts).
		{ ...base, displayName: 'queue', testMatch: ['<rootDir>/test/queue/**/*.test.ts'] },
		// The real n8n editor in headless Chromium (playwright-core + Debian's /usr/bin/chromium).
		{ ...base, displayName: 'browser', testMatch: ['<rootDir>/test/browser/**/*.test.ts'] },
	],
};
