/**
 * The Gemini Omni Trigger in the REAL n8n application, with the simulator delivering the signed job
 * events (issue #6). Executions are counted through n8n's public API; "no execution" is checked after
 * a settling pause, since n8n answers a webhook before it saves the execution it starts.
 */
import { createHmac } from 'node:crypto';

import { startSimulator, type Simulator, type WebhookDelivery } from '../../simulator';
import { N8nHttpError, startN8n, type N8nExecution, type N8nInstance } from '../../scripts/lib/n8n-instance';
import {
	geminiOmniTriggerWorkflow,
	nodeOutput,
	triggerWebhookPath,
	type CredentialReference,
} from '../../scripts/lib/workflows';
import { createSimulatorCredential, executionsWithData, sleep, submitJobToSimulator, waitForSimulatorJob, waitUntilTriggerListens, sharedN8n } from './support';

jest.setTimeout(120_000);

/** Long enough for any execution a delivery started to be saved and listed. */
const SETTLE_MS = 2_000;

let sim: Simulator;
let n8n: N8nInstance;
let credential: CredentialReference;

interface ActiveTrigger {
	workflowId: string;
	url: string;
	triggerName: string;
	afterName: string;
}
/** Both events selected. */
let both: ActiveTrigger;
/** Only job.completed selected. */
let completedOnly: ActiveTrigger;

async function activeTrigger(name: string, events: Array<'job.completed' | 'job.failed'>, typeVersion?: 1 | 2): Promise<ActiveTrigger> {
	const { workflow, webhookId, triggerName, afterName } = geminiOmniTriggerWorkflow({ name, credential, events, typeVersion });
	const workflowId = await n8n.createWorkflow(workflow);
	await n8n.activateWorkflow(workflowId);
	const url = n8n.webhookUrl(triggerWebhookPath(webhookId));
	await waitUntilTriggerListens(sim, url);
	return { workflowId, url, triggerName, afterName };
}

/** A trigger workflow whose credential has no webhook secret, and what its activate call answered. */
interface NoSecretActivation {
	workflowId: string;
	url: string;
	/** The error the activate call threw, or undefined when it was accepted. */
	refusal: unknown;
}

async function activateWithoutSecret(instance: N8nInstance): Promise<NoSecretActivation> {
	const noSecret = await createSimulatorCredential(instance, sim, { name: 'Gemini Omni (no webhook secret)', webhookSecret: '' });
	const { workflow, webhookId } = geminiOmniTriggerWorkflow({ name: 'e2e trigger: no secret', credential: noSecret });
	const workflowId = await instance.createWorkflow(workflow);
	const refusal = await instance.activateWorkflow(workflowId).then(
		() => undefined,
		(error: unknown) => error,
	);
	return { workflowId, url: instance.webhookUrl(triggerWebhookPath(webhookId)), refusal };
}
let noSecretActivation: NoSecretActivation;

/** The executions of a trigger workflow that a delivery of `jobId` started. */
async function executionsForJob(trigger: ActiveTrigger, jobId: string): Promise<N8nExecution[]> {
	const executions = await executionsWithData(n8n, trigger.workflowId);
	return executions.filter((execution) => nodeOutput(execution, trigger.triggerName)[0]?.json.jobId === jobId);
}

/** A short job, finished; with `callbackUrl` the simulator delivers its event there by itself. */
async function finishedJob(prompt: string, callbackUrl?: string): Promise<string> {
	const { jobId } = await submitJobToSimulator(sim, {
		model: 'gemini-omni-video',
		prompt: `[sim:seconds=1] ${prompt}`,
		...(callbackUrl ? { callbackUrl } : {}),
	});
	await waitForSimulatorJob(sim, jobId);
	return jobId;
}

/**
 * The exact body and signature the simulator sends for a finished job, obtained by delivering it once
 * to a port where nothing listens (so no n8n saw it).
 */
async function genuineEvent(jobId: string): Promise<{ body: string; signature: string }> {
	const [delivery] = await sim.redeliverWebhook(jobId, { url: 'http://127.0.0.1:9/nothing-listens-here' });
	expect(delivery.status).toBeUndefined();
	return { body: delivery.body, signature: delivery.signature };
}

async function waitForDeliveries(jobId: string, count: number, timeoutMs = 15_000): Promise<WebhookDelivery[]> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const deliveries = sim.webhookDeliveries.filter((delivery) => delivery.jobId === jobId);
		if (deliveries.length >= count) return deliveries;
		if (Date.now() > deadline) throw new Error(`${deliveries.length} of ${count} deliveries for ${jobId} after ${timeoutMs} ms`);
		await sleep(50);
	}
}

beforeAll(async () => {
	// 0.5: jobs of "[sim:seconds=1]" take 0.5 s, while the simulator still gives n8n 5 s to answer a
	// delivery (its 10 s answer timeout, scaled) and retries a failed one only after 15 s.
	sim = await startSimulator({ timeScale: 0.5, ownKeys: true });
	n8n = await sharedN8n();
	credential = await createSimulatorCredential(n8n, sim);
	both = await activeTrigger('e2e trigger: completed and failed', ['job.completed', 'job.failed']);
	completedOnly = await activeTrigger('e2e trigger: completed only', ['job.completed']);
	// Started now and checked last: n8n takes ~15 s of retries to give up on this activation.
	noSecretActivation = await activateWithoutSecret(n8n);
}, 240_000);

afterAll(async () => {
	await n8n?.stop();
	await sim?.close();
});

describe('duplicate deliveries of one (jobId, event)', () => {
	it('the simulator’s own delivery, then 2 at once, then 1 more: four 200s and exactly one execution', async () => {
		const jobId = await finishedJob('A lighthouse at dusk', both.url);
		const [first] = await waitForDeliveries(jobId, 1);
		expect(first).toMatchObject({ url: both.url, event: 'job.completed', status: 200 });
		await n8n.waitForExecution(both.workflowId, {
			accept: (execution) => nodeOutput(execution, both.triggerName)[0]?.json.jobId === jobId,
		});

		const concurrent = await sim.redeliverWebhook(jobId, { times: 2, concurrent: true });
		const last = await sim.redeliverWebhook(jobId, { times: 1 });
		await sleep(SETTLE_MS);

		const deliveries = sim.webhookDeliveries.filter((delivery) => delivery.jobId === jobId);
		expect([...concurrent, ...last].map((delivery) => delivery.status)).toEqual([200, 200, 200]);
		expect(deliveries).toHaveLength(4);
		expect(new Set(deliveries.map((delivery) => `${delivery.body}|${delivery.signature}`)).size).toBe(1);
		const executions = await executionsForJob(both, jobId);
		expect(executions.map((execution) => execution.status)).toEqual(['success']);
		const [execution] = executions;
		expect(nodeOutput(execution, both.triggerName).map((item) => item.json)).toEqual([
			expect.objectContaining({ event: 'job.completed', jobId, status: 'done', outputUrl: sim.getJob(jobId)?.outputUrl }),
		]);
		expect(nodeOutput(execution, both.afterName).map((item) => item.json.jobId)).toEqual([jobId]);
	});

	it('2 deliveries at once as the very first ones, then 2 more: four 200s and exactly one execution', async () => {
		const jobId = await finishedJob('A red fox in the snow');
		const racing = await sim.redeliverWebhook(jobId, { times: 2, concurrent: true, url: both.url });
		const later = await sim.redeliverWebhook(jobId, { times: 2, url: both.url });
		await sleep(SETTLE_MS);

		expect([...racing, ...later].map((delivery) => delivery.status)).toEqual([200, 200, 200, 200]);
		const executions = await executionsForJob(both, jobId);
		expect(executions.map((execution) => execution.status)).toEqual(['success']);
		expect(nodeOutput(executions[0], both.afterName).map((item) => item.json.jobId)).toEqual([jobId]);
	});
});

describe('version 1 of the Trigger (workflows saved before 0.5.1)', () => {
	it('a forged delivery gets 401; the genuine one starts one run, its redelivery none', async () => {
		const v1 = await activeTrigger('e2e trigger: version 1', ['job.completed', 'job.failed'], 1);
		const saved = await n8n.api<{ nodes: Array<{ name: string; typeVersion: number }> }>('GET', `/workflows/${v1.workflowId}`);
		expect(saved.nodes.find((node) => node.name === v1.triggerName)?.typeVersion).toBe(1);
		const jobId = await finishedJob('An old workflow still listens');
		const { body } = await genuineEvent(jobId);
		const forged = await sim.sendSignedWebhook(v1.url, body, { signature: createHmac('sha256', 'not-the-account-secret').update(body).digest('hex') });
		const genuine = await sim.sendSignedWebhook(v1.url, body);
		const again = await sim.sendSignedWebhook(v1.url, body);
		await sleep(SETTLE_MS);

		expect([forged.status, genuine.status, again.status]).toEqual([401, 200, 200]);
		const executions = await executionsForJob(v1, jobId);
		expect(executions.map((execution) => execution.status)).toEqual(['success']);
		expect(nodeOutput(executions[0], v1.afterName).map((item) => item.json.jobId)).toEqual([jobId]);
	});
});

describe('signatures', () => {
	it('forged, unsigned and re-serialised deliveries get 401 and start nothing; the genuine one then starts one run', async () => {
		const jobId = await finishedJob('Neon street in the rain');
		const { body, signature } = await genuineEvent(jobId);
		const before = (await n8n.listExecutions(both.workflowId)).length;

		// Well-formed (64 lowercase hex) but made with another secret.
		const forged = createHmac('sha256', 'not-the-account-secret').update(body).digest('hex');
		expect(forged).toMatch(/^[0-9a-f]{64}$/);
		expect(forged).not.toBe(signature);
		const reserialised = JSON.stringify(JSON.parse(body), null, 2);
		expect(reserialised).not.toBe(body);
		expect(JSON.parse(reserialised)).toEqual(JSON.parse(body));

		const answers = {
			forged: await sim.sendSignedWebhook(both.url, body, { signature: forged }),
			unsigned: await sim.sendSignedWebhook(both.url, body, { signature: null }),
			reserialised: await sim.sendSignedWebhook(both.url, reserialised, { signature }),
		};
		await sleep(SETTLE_MS);

		for (const answer of Object.values(answers)) {
			expect(answer.status).toBe(401);
			expect(answer.text).toMatch(/X-Gemini-Signature/);
		}
		expect(await n8n.listExecutions(both.workflowId)).toHaveLength(before);

		// The same URL and body, correctly signed: accepted once (the rejected ones took no dedup slot).
		const genuine = await sim.sendSignedWebhook(both.url, body);
		expect(genuine.status).toBe(200);
		const started = await n8n.waitForExecution(both.workflowId, {
			accept: (execution) => nodeOutput(execution, both.triggerName)[0]?.json.jobId === jobId,
		});
		expect(started.status).toBe('success');
		await sleep(500);
		expect(await n8n.listExecutions(both.workflowId)).toHaveLength(before + 1);
	});

	it('a webhook secret changed in n8n is accepted at once, and so is the old one put back (the Trigger keeps a secret only to save reads)', async () => {
		const setSecret = async (webhookSecret: string) =>
			await n8n.api('PATCH', `/credentials/${credential.id}`, { data: { apiKey: sim.keys.pro, baseUrl: sim.url, plan: 'pro', webhookSecret } });
		const before = (await n8n.listExecutions(both.workflowId)).length;
		// A delivery signed with the current secret first, so the Trigger holds it.
		const first = await genuineEvent(await finishedJob('Secret kept'));
		expect((await sim.sendSignedWebhook(both.url, first.body)).status).toBe(200);
		const rotated = 'rotated-webhook-secret-0123456789';
		try {
			await setSecret(rotated);
			const { body } = await genuineEvent(await finishedJob('Secret rotated'));
			const signedWithRotated = createHmac('sha256', rotated).update(body).digest('hex');
			expect((await sim.sendSignedWebhook(both.url, body, { signature: signedWithRotated })).status).toBe(200);
		} finally {
			await setSecret(sim.webhookSecret);
		}
		const back = await genuineEvent(await finishedJob('Secret put back'));
		expect((await sim.sendSignedWebhook(both.url, back.body)).status).toBe(200);
		await sleep(SETTLE_MS);
		expect(await n8n.listExecutions(both.workflowId)).toHaveLength(before + 3);
	});
});

describe('event selection', () => {
	it('a failed job’s event starts the workflow that selects job.failed, and not the one that does not', async () => {
		const jobId = await finishedJob('[sim:fail=Content policy: restricted subject] A crowd', both.url);
		const [delivered] = await waitForDeliveries(jobId, 1);
		expect(delivered).toMatchObject({ event: 'job.failed', status: 200 });
		const [toCompletedOnly] = await sim.redeliverWebhook(jobId, { url: completedOnly.url });
		await sleep(SETTLE_MS);

		const failedRuns = await executionsForJob(both, jobId);
		expect(failedRuns).toHaveLength(1);
		expect(nodeOutput(failedRuns[0], both.triggerName)[0].json).toMatchObject({
			event: 'job.failed',
			jobId,
			status: 'failed',
			error: 'Content policy: restricted subject',
			creditCost: 0,
		});
		// Acknowledged (so the platform does not retry it) but not run.
		expect(toCompletedOnly.status).toBe(200);
		expect(await executionsForJob(completedOnly, jobId)).toEqual([]);

		// The same workflow does start for a completed job: its silence above was the event filter.
		const doneJobId = await finishedJob('A paper boat', completedOnly.url);
		await waitForDeliveries(doneJobId, 1);
		const run = await n8n.waitForExecution(completedOnly.workflowId, {
			accept: (execution) => nodeOutput(execution, completedOnly.triggerName)[0]?.json.jobId === doneJobId,
		});
		expect(nodeOutput(run, completedOnly.triggerName)[0].json).toMatchObject({ event: 'job.completed', status: 'done' });
		expect((await n8n.listExecutions(completedOnly.workflowId)).length).toBe(1);
	});
});

describe('activation without a webhook secret', () => {
	it('n8n 2.41.1 as configured by default: accepted, then the publication fails with the node’s message and nothing listens', async () => {
		const { workflowId, url, refusal } = noSecretActivation;
		// The default publication service activates in the background, so the activate call itself succeeds.
		expect(refusal).toBeUndefined();
		const deadline = Date.now() + 60_000;
		let status: { status: string; triggers: Array<{ status: string; errorMessage: string | null }> };
		for (;;) {
			status = await n8n.rest('GET', `/workflows/${workflowId}/publication-status`);
			if (status.status !== 'in_progress' || Date.now() > deadline) break;
			await sleep(500);
		}
		expect(status.status).toBe('failed');
		expect(status.triggers).toEqual([
			expect.objectContaining({ status: 'failed', errorMessage: expect.stringMatching(/no Webhook Signing Secret/) }),
		]);
		// Nothing listens at its URL: even a correctly signed delivery is not taken, and nothing runs.
		const answer = await sim.sendSignedWebhook(url, '{"event":"job.completed","jobId":"job_no_secret","status":"done"}');
		expect(answer.status).toBe(404);
		expect(await n8n.listExecutions(workflowId)).toEqual([]);
	});

	it('n8n with synchronous activation (N8N_USE_WORKFLOW_PUBLICATION_SERVICE=false): the activate call fails with the node’s message', async () => {
		const synchronous = await startN8n({ env: { N8N_USE_WORKFLOW_PUBLICATION_SERVICE: 'false' } });
		try {
			const { workflowId, url, refusal } = await activateWithoutSecret(synchronous);

			expect(refusal).toBeInstanceOf(N8nHttpError);
			expect((refusal as N8nHttpError).status).toBe(400);
			expect(JSON.parse((refusal as N8nHttpError).responseText)).toEqual({
				message: expect.stringMatching(/^The Gemini Omni API credential has no Webhook Signing Secret/),
			});
			const stored = await synchronous.api<{ active: boolean }>('GET', `/workflows/${workflowId}`);
			expect(stored.active).toBe(false);
			const answer = await sim.sendSignedWebhook(url, '{"event":"job.completed","jobId":"job_no_secret","status":"done"}');
			expect(answer.status).toBe(404);
		} finally {
			await synchronous.stop();
		}
	});
});
