/**
 * The order in which `npm test` starts its test files: the longest first, so that with several Jest
 * workers the long queue-mode files start at once and the short files fill the gaps beside them (a fresh
 * clone has no timing cache for Jest's own sequencer to go by). Seconds measured on a 2-core machine,
 * one file at a time; a file not listed counts by its size.
 */
const Sequencer = require('@jest/test-sequencer').default;
const { basename, dirname } = require('node:path');
const { statSync } = require('node:fs');

const MEASURED_SECONDS = {
	'queue/batch-in-passes': 560,
	'queue/queue-mode': 260,
	'queue/queue-trigger': 240,
	'e2e/n8n-1x': 215,
	'e2e/batch-failure': 105,
	'e2e/paid-once': 100,
	// `npm test` runs the browser suite alone, after the others (scripts/toolchain.cjs).
	'browser/editor': 140,
	'e2e/bench-smoke': 130,
	'e2e/trigger': 51,
	'e2e/hostile-webhooks': 42,
	'e2e/trigger-restart': 46,
	'e2e/examples': 25,
	'e2e/callback': 24,
	'e2e/ai-agent': 24,
	'e2e/job-get': 18,
	'e2e/mcp': 18,
	'e2e/toolchain-without-bash': 17,
	'e2e/credential-test': 16,
	'engine/paid-jobs': 29,
	'engine/generate': 28,
	'engine/failure-paths': 21,
};

function expectedSeconds(test) {
	const key = `${basename(dirname(test.path))}/${basename(test.path, '.test.ts')}`;
	// ~1 s per 2 KB for files not measured: small unit files sort last.
	return MEASURED_SECONDS[key] ?? statSync(test.path).size / 2048;
}

class LongestFirst extends Sequencer {
	sort(tests) {
		return [...tests].sort((a, b) => expectedSeconds(b) - expectedSeconds(a));
	}
}

module.exports = LongestFirst;
