/**
 * What the queue-mode suites share: each file starts its own stack (Redis, PostgreSQL, main, a webhook
 * process, two workers; scripts/lib/queue-stack.ts) so the files can run side by side, and reports its
 * figures as `[queue] …` lines.
 */
import { randomBytes } from 'node:crypto';

import { startSimulator, type Simulator, type SimulatorOptions } from '../../simulator';
import { startQueueStack, type QueueStack } from '../../scripts/lib/queue-stack';
import type { N8nExecution } from '../../scripts/lib/n8n-instance';
import type { CredentialReference } from '../../scripts/lib/workflows';
import { createSimulatorCredential, executionsWithData, sleep } from '../e2e/support';

export function report(line: string): void {
	process.stdout.write(`[queue] ${line}\n`);
}

export const finished = (execution: N8nExecution) => ['success', 'error', 'crashed', 'canceled'].includes(execution.status);

/** A Pro key's limits at the simulator. */
export const PRO = { concurrent: 5, perMinute: 30, perHour: 200 };

export interface QueueSuite {
	sim: Simulator;
	stack: QueueStack;
	credential: CredentialReference;
	/** Calls a production webhook at the webhook process, retrying the 404 of the moment after activation. */
	callWebhook(path: string, body: unknown): Promise<number>;
	/** Waits until `count` executions of the workflow pass `accept`; the stack's logs in the error otherwise. */
	waitForExecutions(workflowId: string, count: number, accept: (execution: N8nExecution) => boolean, timeoutMs?: number): Promise<N8nExecution[]>;
	/** A credential for a key of its own (its own limits and counts), on the Pro plan. */
	credentialForNewKey(name: string, limits: { concurrent: number; perMinute: number; perHour: number }): Promise<{ key: string; credential: CredentialReference }>;
	/** Which worker's log says it started the execution (undefined while none has). */
	workerRunning(executionId: string): number | undefined;
	stop(): Promise<void>;
}

export async function startQueueSuite(simulatorOptions: SimulatorOptions, stackOptions: { startPriority?: boolean } = {}): Promise<QueueSuite> {
	const sim = await startSimulator(simulatorOptions);
	const started = Date.now();
	let stack: QueueStack;
	try {
		stack = await startQueueStack({ workers: 2, workerConcurrency: 5, ...stackOptions });
	} catch (error) {
		await sim.close();
		throw error;
	}
	report(`main, webhook process and 2 workers ready in ${Math.round((Date.now() - started) / 1000)} s`);
	const credential = await createSimulatorCredential(stack.main, sim);

	const callWebhook = async (path: string, body: unknown): Promise<number> => {
		const deadline = Date.now() + 30_000;
		for (;;) {
			const response = await fetch(stack.webhookUrl(path), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
			await response.arrayBuffer();
			if (response.status !== 404 || Date.now() > deadline) return response.status;
			await sleep(250);
		}
	};
	const waitForExecutions = async (workflowId: string, count: number, accept: (execution: N8nExecution) => boolean, timeoutMs = 240_000) => {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const all = await executionsWithData(stack.main, workflowId);
			const matching = all.filter(accept);
			if (matching.length >= count) return matching;
			if (Date.now() > deadline) {
				throw new Error(`${matching.length}/${count} executions of ${workflowId} as expected (saw ${all.map((e) => `${e.id}:${e.status}`).join(', ')})\n${stack.logs(30)}`);
			}
			await sleep(500);
		}
	};
	const credentialForNewKey = async (name: string, limits: { concurrent: number; perMinute: number; perHour: number }) => {
		const key = `gomni_${randomBytes(32).toString('hex')}`;
		sim.addKey({ key, plan: 'pro', limits });
		const id = await stack.main.createCredential(name, 'geminiOmniApi', { apiKey: key, baseUrl: sim.url, plan: 'pro', webhookSecret: sim.webhookSecret });
		return { key, credential: { id, name } };
	};
	const workerRunning = (executionId: string) => {
		const index = stack.workers.findIndex((worker) => worker.logs(2000).includes(`Worker started execution ${executionId} `));
		return index >= 0 ? index : undefined;
	};
	const stop = async () => {
		await stack.stop();
		await sim.close();
	};
	return { sim, stack, credential, callWebhook, waitForExecutions, credentialForNewKey, workerRunning, stop };
}

/**
 * This file's stack: started before its tests, stopped after them (`startPriority`: the file on the
 * suite's longest path). Returns the started suite. Time scale
 * 0.5 (an 8 s clip runs 4 s, a 60 s one 30 s: under the 70 s between passes); the simulator gives n8n up
 * to two minutes to answer a delivery or a callback (2 cores, four test files at a time), as long as n8n
 * may wait for a database connection (scripts/lib/queue-stack.ts).
 */
export function queueSuiteForThisFile(stackOptions: { startPriority?: boolean } = {}): () => QueueSuite {
	let suite: QueueSuite | undefined;
	beforeAll(async () => {
		suite = await startQueueSuite({ timeScale: 0.5, webhookAnswerTimeoutMs: 120_000 }, stackOptions);
	}, 600_000);
	afterAll(async () => {
		await suite?.stop();
	});
	return () => {
		if (!suite) throw new Error('The queue stack has not started');
		return suite;
	};
}
