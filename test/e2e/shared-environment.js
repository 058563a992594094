/**
 * Jest's node environment for the e2e files, with one thing that outlives a test file:
 * `globalThis.geminiOmniShared`, a Map held by this module, which Jest loads once per worker process.
 * Through it the e2e files a worker runs share one n8n (sharedN8n in support.ts): one start per worker
 * instead of one per file. When the worker exits, the n8n processes it holds end with it.
 */
const { rmSync } = require('node:fs');
const { TestEnvironment } = require('jest-environment-node');

const shared = new Map();

process.once('exit', () => {
	for (const { pid, userFolder } of shared.get('processes') ?? []) {
		try {
			process.kill(-pid, 'SIGKILL');
		} catch {
			// already gone
		}
		try {
			rmSync(userFolder, { recursive: true, force: true });
		} catch {
			// n8n was still writing into it
		}
	}
});

class SharedN8nEnvironment extends TestEnvironment {
	constructor(config, context) {
		super(config, context);
		this.global.geminiOmniShared = shared;
	}
}

module.exports = SharedN8nEnvironment;
