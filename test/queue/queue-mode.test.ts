/**
 * n8n's queue mode, for real (issue 12): Redis, PostgreSQL, n8n 2.41.1 as main, one webhook process
 * and two workers of concurrency 5, each with its own user folder and the package installed as a
 * community package (scripts/lib/queue-stack.ts); the simulator is the API. One set of processes for
 * the whole file, so the parts run in order; each prints its figures (`[queue] …`). The batch in passes
 * (batch-in-passes.test.ts) and the trigger (queue-trigger.test.ts) have stacks of their own, so the
 * three files run side by side.
 */
import { randomBytes } from 'node:crypto';

import {
	geminiOmniStep,
	nodeOutput,
	webhookWorkflow,
} from '../../scripts/lib/workflows';
import {
	apiRequestsForJob,
	callbackTextToVideoWorkflow,
	executionsWithData,
	storageRequestsForJob,
	generateRequests,
	promptBatchWorkflow,
	sleep,
} from '../e2e/support';
import { finished, PRO, queueSuiteForThisFile, report, type QueueSuite } from './support';

jest.setTimeout(600_000);

const suite = queueSuiteForThisFile();
let sim: QueueSuite['sim'];
let stack: QueueSuite['stack'];
let credential: QueueSuite['credential'];
const callWebhook: QueueSuite['callWebhook'] = async (...args) => await suite().callWebhook(...args);
const waitForExecutions: QueueSuite['waitForExecutions'] = async (...args) => await suite().waitForExecutions(...args);
const credentialForNewKey: QueueSuite['credentialForNewKey'] = async (...args) => await suite().credentialForNewKey(...args);
const workerRunning: QueueSuite['workerRunning'] = (...args) => suite().workerRunning(...args);
beforeAll(() => {
	({ sim, stack, credential } = suite());
});

describe('Poll mode on a worker', () => {
	it('a 20-item batch: every output is its own prompt\'s finished job, in order, 2 requests per job', async () => {
		sim.clearLog();
		const path = 'queue-poll-batch';
		const workflowId = await stack.main.createWorkflow(promptBatchWorkflow({ name: 'queue: 20-item poll batch', path, credential }));
		await stack.main.activateWorkflow(workflowId);
		const prompts = Array.from({ length: 20 }, (_, i) => `[sim:seconds=8] queue clip ${i}`);
		expect(await callWebhook(path, { prompts })).toBe(200);
		const [execution] = await waitForExecutions(workflowId, 1, finished);
		expect(execution.status).toBe('success');
		const outputs = nodeOutput(execution, 'Batch');
		expect(outputs).toHaveLength(20);
		const accepted = generateRequests(sim).filter((entry) => entry.status === 200);
		expect(accepted).toHaveLength(20);
		outputs.forEach((item, i) => {
			const jobId = String(item.json.jobId);
			const generate = accepted.filter((entry) => entry.jobId === jobId);
			expect(generate).toHaveLength(1);
			expect((generate[0].body as { prompt: string }).prompt).toBe(prompts[i]);
			expect(item.json.status).toBe('done');
			expect(item.pairedItem).toEqual({ item: i });
		});
		const requests = outputs.reduce((sum, item) => sum + apiRequestsForJob(sim, String(item.json.jobId)).length, 0);
		report(`poll batch of 20 on a worker: ${requests} API requests for 20 jobs (${(requests / 20).toFixed(2)} per job), peak ${sim.maxInFlight()} concurrent jobs`);
	});
});

describe('Callback mode', () => {
	it('executions wait with no worker slot busy; each signed callback resumes its execution exactly once', async () => {
		sim.clearLog();
		const path = 'queue-callback';
		const workflowId = await stack.main.createWorkflow(
			callbackTextToVideoWorkflow({ name: 'queue: callback', path, credential, nodeName: 'Callback Clip', afterName: 'After Callback', downloadOutput: false }),
		);
		await stack.main.activateWorkflow(workflowId);
		const runs = 5;
		for (let i = 0; i < runs; i++) expect(await callWebhook(path, { prompt: `[sim:seconds=40] queue callback ${i}` })).toBe(200);
		// All five paused: n8n frees the worker for a wait longer than 65 s (the node waits up to Max Wait).
		await waitForExecutions(workflowId, runs, (execution) => execution.status === 'waiting', 120_000);
		const busySamples: number[] = [];
		for (let i = 0; i < 10; i++) {
			busySamples.push(await stack.busyWorkerSlots());
			await sleep(300);
		}
		report(`callback: ${runs} executions waiting; busy worker slots while they wait: max ${Math.max(...busySamples)} of 10 (${busySamples.length} samples)`);
		expect(Math.max(...busySamples)).toBe(0);
		const done = await waitForExecutions(workflowId, runs, finished, 240_000);
		for (const execution of done) {
			expect(execution.status).toBe('success');
			const [item] = nodeOutput(execution, 'After Callback');
			expect(item.json.status).toBe('done');
		}
		// Each job's one event was delivered once and answered 200; no execution ran twice.
		const jobIds = done.map((execution) => String(nodeOutput(execution, 'After Callback')[0].json.jobId));
		expect(new Set(jobIds).size).toBe(runs);
		for (const jobId of jobIds) {
			const deliveries = sim.webhookDeliveries.filter((delivery) => delivery.jobId === jobId);
			expect(deliveries.map((delivery) => delivery.status)).toEqual([200]);
			// Callback mode never polls: the generate is the job's only API request.
			expect(apiRequestsForJob(sim, jobId)).toHaveLength(1);
		}
		expect(await executionsWithData(stack.main, workflowId)).toHaveLength(runs);
	});
});

describe('Binary data in the default "database" mode', () => {
	it('a 600 MiB output is refused before its download, naming the limit and the settings that work', async () => {
		sim.clearLog();
		const path = 'queue-big-output';
		const workflowId = await stack.main.createWorkflow(
			webhookWorkflow({
				name: 'queue: 600 MiB output',
				path,
				response: { mode: 'onReceived' },
				steps: [
					geminiOmniStep({
						name: 'Big Clip',
						credential,
						onError: 'continueRegularOutput',
						parameters: { resource: 'video', operation: 'textToVideo', prompt: `[sim:seconds=2] [sim:bytes=${600 * 1024 * 1024}] a long 4K take`, resolution: '4k', downloadOutput: true },
					}),
				],
			}),
		);
		await stack.main.activateWorkflow(workflowId);
		expect(await callWebhook(path, {})).toBe(200);
		const [execution] = await waitForExecutions(workflowId, 1, finished);
		const [item] = nodeOutput(execution, 'Big Clip');
		expect(String(item.json.error)).toMatch(/is 600 MiB, over the 512 MiB per file that n8n's "database" binary mode stores/);
		expect(String(item.json.errorDescription)).toMatch(/N8N_DEFAULT_BINARY_DATA_MODE=filesystem/);
		expect(String(item.json.errorDescription)).toMatch(/Download Output/);
		expect(item.json.outputUrl).toEqual(expect.stringContaining('http'));
		expect(item.binary).toBeUndefined();
		// The download was opened (its size is in the headers) and closed: far less than the file was sent.
		const jobId = String(item.json.jobId);
		await sleep(500);
		const sent = storageRequestsForJob(sim, jobId).reduce((sum, entry) => sum + (entry.bytesSent ?? 0), 0);
		report(`database mode: a 600 MiB output refused before download; storage sent ${(sent / 1048576).toFixed(1)} MiB of it`);
		expect(sent).toBeLessThan(64 * 1024 * 1024);
	});
});

describe('A worker killed mid-poll', () => {
	it('every accepted job ID is in the killed worker\'s log; Job → Wait collects them all without submitting anything again', async () => {
		sim.clearLog();
		const { credential: killCredential } = await credentialForNewKey('Gemini Omni (kill test)', PRO);
		const path = 'queue-kill-mid-poll';
		const workflowId = await stack.main.createWorkflow(promptBatchWorkflow({ name: 'queue: killed mid-poll', path, credential: killCredential }));
		await stack.main.activateWorkflow(workflowId);
		const prompts = Array.from({ length: 8 }, (_, i) => `[sim:seconds=40] doomed clip ${i}`);
		expect(await callWebhook(path, { prompts })).toBe(200);
		// Five accepted (the plan's limit), the rest queued behind them: now the worker dies.
		const deadline = Date.now() + 60_000;
		while (generateRequests(sim).filter((entry) => entry.status === 200).length < 5 && Date.now() < deadline) await sleep(100);
		const [running] = await stack.main.listExecutions(workflowId);
		const index = workerRunning(running.id);
		expect(index).toBeDefined();
		await stack.killWorker(index!);
		const accepted = generateRequests(sim).filter((entry) => entry.status === 200).map((entry) => String(entry.jobId));
		const paidPrompts = generateRequests(sim).filter((entry) => entry.status === 200).map((entry) => (entry.body as { prompt: string }).prompt);
		expect(accepted.length).toBeGreaterThanOrEqual(5);
		const log = stack.workers[index!].logs(5000);
		const logged = accepted.filter((jobId) => log.includes(`accepted as job ${jobId}`));
		report(`worker ${index} killed mid-poll with ${accepted.length} accepted jobs: ${logged.length} of them are in its log`);
		expect(logged).toEqual(accepted);
		await stack.startWorker(index!);

		// The operator's recovery: the logged IDs into Job → Wait. Nothing is submitted again.
		sim.clearLog();
		const recover = 'queue-recover-jobs';
		const recoverId = await stack.main.createWorkflow(
			webhookWorkflow({
				name: 'queue: recover logged jobs',
				path: recover,
				response: { mode: 'onReceived' },
				steps: [
					{ name: 'IDs', type: 'n8n-nodes-base.code', typeVersion: 2, parameters: { jsCode: 'return $input.first().json.body.ids.map((id) => ({ json: { id } }));' } },
					geminiOmniStep({ name: 'Collect', credential: killCredential, parameters: { resource: 'job', operation: 'wait', jobId: '={{ $json.id }}', downloadOutput: false } }),
				],
			}),
		);
		await stack.main.activateWorkflow(recoverId);
		expect(await callWebhook(recover, { ids: logged })).toBe(200);
		const [collected] = await waitForExecutions(recoverId, 1, finished);
		expect(collected.status).toBe('success');
		expect(nodeOutput(collected, 'Collect').map((item) => [item.json.jobId, item.json.status])).toEqual(logged.map((jobId) => [jobId, 'done']));
		expect(generateRequests(sim)).toHaveLength(0);

		// The next run of the batch (the same rows): the killed run's record of paid jobs died with it, but
		// its marks in n8n's deduplication store did not, so none of the paid requests is paid for again.
		sim.clearLog();
		expect(await callWebhook(path, { prompts })).toBe(200);
		const [rerun] = await waitForExecutions(workflowId, 1, (execution) => execution.id !== running.id && finished(execution));
		const paidAgain = generateRequests(sim).filter((entry) => paidPrompts.includes((entry.body as { prompt: string }).prompt));
		report(`next run after the kill: ${paidAgain.length} of ${paidPrompts.length} paid requests submitted again (${generateRequests(sim).length} generates in all), status ${rerun.status}`);
		expect(paidAgain).toHaveLength(0);
		expect(rerun.status).toBe('error');
		expect(String(rerun.data?.resultData?.error?.message)).toContain('Not submitted again: another run of this node submitted this request');
	});
});

describe('Paid once across executions (issue 20)', () => {
	it('a Retry of a failed batch, on workers restarted since (no memory of it), submits only the failed item: original and saved workflow', async () => {
		const { credential: retryCredential } = await credentialForNewKey('Gemini Omni (retry)', PRO);
		const runs: Array<{ workflowId: string; failedId: string; prompts: string[]; earlier: Map<string, string>; loadWorkflow: boolean }> = [];
		for (const loadWorkflow of [false, true]) {
			sim.clearLog();
			const path = `queue-retry-${loadWorkflow ? 'saved' : 'original'}`;
			const workflowId = await stack.main.createWorkflow(promptBatchWorkflow({ name: `queue: retry (${path})`, path, credential: retryCredential }));
			await stack.main.activateWorkflow(workflowId);
			const tag = randomBytes(4).toString('hex');
			const prompts = Array.from({ length: 5 }, (_, i) => (i === 2 ? `${tag} ${i} [sim:seconds=20] [sim:failonce=Late failure]` : `${tag} ${i} [sim:seconds=4]`));
			expect(await callWebhook(path, { prompts })).toBe(200);
			const [failed] = await waitForExecutions(workflowId, 1, finished);
			expect(failed.status).toBe('error');
			const accepted = generateRequests(sim).filter((entry) => entry.status === 200);
			expect(accepted).toHaveLength(5);
			runs.push({ workflowId, failedId: failed.id, prompts, loadWorkflow, earlier: new Map(accepted.map((entry) => [(entry.body as { prompt: string }).prompt, String(entry.jobId)])) });
		}
		// Both workers crash and come back: no process remembers the batches; only what n8n saved does.
		await Promise.all(stack.workers.map(async (_, index) => await stack.killWorker(index)));
		await Promise.all(stack.workers.map(async (_, index) => await stack.startWorker(index)));
		for (const run of runs) {
			sim.clearLog();
			await stack.main.rest('POST', `/executions/${run.failedId}/retry`, { loadWorkflow: run.loadWorkflow });
			const [retried] = await waitForExecutions(run.workflowId, 1, (execution) => Number(execution.id) > Number(run.failedId) && finished(execution));
			expect(retried.status).toBe('success');
			const resubmitted = generateRequests(sim).filter((entry) => entry.status === 200);
			expect(resubmitted.map((entry) => (entry.body as { prompt: string }).prompt)).toEqual([run.prompts[2]]);
			const items = nodeOutput(retried, 'Batch');
			expect(items.map((item) => item.json.jobId)).toEqual(run.prompts.map((prompt, i) => (i === 2 ? resubmitted[0].jobId : run.earlier.get(prompt))));
			expect(items.every((item) => item.json.status === 'done' && item.binary?.data !== undefined)).toBe(true);
			report(`retry (${run.loadWorkflow ? 'saved' : 'original'} workflow) on worker ${workerRunning(retried.id)} after both workers restarted: ${resubmitted.length} new generate for 5 items`);
		}
	});
});

describe('Two workers, one Pro key', () => {
	it('two 10-item batches at once: no item fails by 429, none is submitted twice; 429 share and idle stretches reported', async () => {
		sim.clearLog();
		const { key, credential: shared } = await credentialForNewKey('Gemini Omni (shared Pro key)', PRO);
		const paths = ['queue-shared-a', 'queue-shared-b'];
		const workflowIds: string[] = [];
		for (const path of paths) {
			const id = await stack.main.createWorkflow(promptBatchWorkflow({ name: `queue: shared key ${path}`, path, credential: shared }));
			await stack.main.activateWorkflow(id);
			workflowIds.push(id);
		}
		const started = Date.now();
		const answers = await Promise.all(paths.map(async (path, b) => await callWebhook(path, { prompts: Array.from({ length: 10 }, (_, i) => `[sim:seconds=40] shared ${b}-${i}`) })));
		expect(answers).toEqual([200, 200]);
		const executions = await Promise.all(workflowIds.map(async (id) => (await waitForExecutions(id, 1, finished))[0]));
		const seconds = (Date.now() - started) / 1000;
		const workers = executions.map((execution) => workerRunning(execution.id));
		const mine = sim.log.filter((entry) => entry.kind === 'api' && entry.key === key.slice(-6));
		const refused = mine.filter((entry) => entry.status === 429);
		const jobs = mine.filter((entry) => entry.method === 'POST' && entry.status === 200).map((entry) => String(entry.jobId));
		// Stretches in which the key had no job running although items were still waiting to be submitted:
		// every worker only waiting.
		const spans = jobs.map((jobId) => sim.getJob(jobId)!).map((job) => [Date.parse(job.createdAt), Date.parse(job.completedAt ?? job.createdAt)]).sort((a, b) => a[0] - b[0]);
		let idle = 0;
		let longestIdle = 0;
		let reach = spans[0][1];
		for (const [from, to] of spans.slice(1)) {
			if (from > reach) {
				idle += from - reach;
				longestIdle = Math.max(longestIdle, from - reach);
			}
			reach = Math.max(reach, to);
		}
		report(
			`two batches of 10 on one Pro key, on workers ${workers.join(' and ')}: ${seconds.toFixed(0)} s, ${mine.length} requests (${(mine.length / 20).toFixed(2)} per item), ` +
				`${refused.length} answered 429 (${((100 * refused.length) / mine.length).toFixed(0)} %), no job running for ${(idle / 1000).toFixed(1)} s in all (longest ${(longestIdle / 1000).toFixed(1)} s)`,
		);
		for (const execution of executions) {
			expect(execution.status).toBe('success');
			expect(nodeOutput(execution, 'Batch').map((item) => item.json.status)).toEqual(Array(10).fill('done'));
		}
		expect(new Set(jobs).size).toBe(20);
		expect(jobs).toHaveLength(20);
		expect(longestIdle).toBeLessThan(5_000);
	});
});
