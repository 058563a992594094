/**
 * The order in which `npm test` starts its test files: the longest first, so that with several Jest
 * workers the long queue-mode files start at once and the short files fill the gaps beside them (a fresh
 * clone has no timing cache for Jest's own sequencer to go by). Seconds measured on a 2-core machine
 * in one `npm test` (three files at a time); a file not listed counts by its size.
 */
const Sequencer = require('@jest/test-sequencer').default;
const { basename, dirname } = require('node:path');
const { statSync } = require('node:fs');

const MEASURED_SECONDS = {
	'queue/batch-in-passes': 540,
	'queue/queue-mode': 365,
	'queue/queue-trigger': 277,
	'e2e/n8n-1x': 254,
	'e2e/bench-smoke': 208,
	'browser/editor': 127,
	'e2e/batch-failure': 116,
	'e2e/paid-once': 108,
	'e2e/trigger-restart': 72,
	'e2e/hostile-webhooks': 62,
	'engine/generate': 49,
	'e2e/trigger': 44,
	'e2e/toolchain-without-bash': 35,
	'engine/paid-jobs': 34,
	'engine/failure-paths': 22,
	'e2e/ai-agent': 12,
	'e2e/examples': 11,
	'e2e/callback': 9,
	'e2e/job-get': 6,
	'e2e/mcp': 5,
	'e2e/credential-test': 5,
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
