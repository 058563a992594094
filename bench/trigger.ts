/**
 * Issue #21: the Gemini Omni Trigger under a burst of signed deliveries, against a bare Webhook node,
 * in real n8n 2.x (the package installed as a community package, regular mode).
 *
 * Speed is end to end: deliveries per second from the first sent until the last run they started has
 * stopped, and memory is sampled over the same span (an answered delivery's run may still be to come).
 * Each variant gets a fresh n8n (and simulator), so one variant's heap is never another's baseline
 * (the smoke run, which checks only counts, runs its two variants in one n8n: `Sizes.triggerOneN8n`).
 * The variants take one thing away at a time, to find where the Trigger's cost comes from:
 * - the bare Webhook node (static parameters, v2): n8n 2.41 skips its expression isolate in the
 *   webhook phase (`live-webhooks.js`, `webhookPhaseNeedsIsolate`);
 * - the same Webhook node with one expression in its parameters: n8n acquires the isolate, as it does
 *   for every start node that is not a static Webhook node, the Trigger included;
 * - diagnostic copies of the Trigger: reading the credential on every delivery, no static-data write,
 *   no run;
 * - both again with `N8N_EXPRESSION_ENGINE=legacy` (no isolates at all);
 * - the Trigger with 1k / 10k / 20k deliveries already remembered in its static data.
 */
import { randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { REPO_ROOT, SCRATCH_DIR } from '../scripts/lib/n8n-instance';
import { startStack, type Stack } from '../scripts/lib/stack';
import { GEMINI_OMNI_CREDENTIAL_TYPE, GEMINI_OMNI_NODE_TYPE, geminiOmniTriggerWorkflow, triggerWebhookPath, webhookWorkflow } from '../scripts/lib/workflows';
import { credentialFor, finishedExecutions } from './n8n';
import { fmt } from './lib/measure';
import { addKey } from './lib/ours';
import type { Row, ScenarioResult, Sizes } from './scenarios';

const sleep = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms));
const yesNo = (ok: boolean): string => (ok ? 'yes' : '**NO**');

type Receiver = 'trigger' | 'webhook' | 'webhookWithExpression' | 'webhookWithCredential';

export interface Variant {
	receiver: Receiver;
	/** n8n's expression engine: its default ('vm', isolates) or 'legacy'. */
	engine: 'default' | 'legacy';
	/** Deliveries already remembered by the Trigger (seeded into its static data). */
	remembered?: number;
	/** Also send every event a second time and count the runs it starts (must be none). */
	duplicates?: boolean;
	/** More environment for n8n. */
	env?: Record<string, string>;
	/** A diagnostic copy of the package with one thing taken out of the Trigger (see DIAGNOSTIC_EDITS). */
	without?: keyof typeof DIAGNOSTIC_EDITS;
}

const TRIGGER_JS = join('dist', 'nodes', 'GeminiOmniTrigger', 'GeminiOmniTrigger.node.js');
/** Edits of the built Trigger for the diagnostic variants: [text in the built file, what replaces it]. */
const DIAGNOSTIC_EDITS = {
	/** Dedup in this process only: the delivery is not written to static data. */
	staticDataWrite: [["(0, deliveries_1.rememberDelivery)(this.getWorkflowStaticData('node'),", '(0, deliveries_1.rememberDelivery)({},']],
	/** The delivery is answered and remembered, but starts no run. */
	run: [['return { noWebhookResponse: true, workflowData: [[item]] };', 'return { noWebhookResponse: true };']],
	/** The credential is read on every delivery (the Trigger before it kept the secret). */
	keptSecret: [['(this.getNode().credentials?.[transport_1.CREDENTIAL_TYPE]?.id ?? undefined,', '(undefined,']],
} satisfies Record<string, Array<[string, string]>>;

/** A copy of the built package with one diagnostic edit, for n8n to install instead of the real one. */
function diagnosticPackage(without: keyof typeof DIAGNOSTIC_EDITS): string {
	const dir = join(SCRATCH_DIR, `bench-trigger-without-${without}`);
	rmSync(dir, { recursive: true, force: true });
	mkdirSync(dir, { recursive: true });
	cpSync(join(REPO_ROOT, 'package.json'), join(dir, 'package.json'));
	cpSync(join(REPO_ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
	let code = readFileSync(join(dir, TRIGGER_JS), 'utf8');
	for (const [from, to] of DIAGNOSTIC_EDITS[without]) {
		if (!code.includes(from)) throw new Error(`bench: the built Trigger no longer contains ${JSON.stringify(from)}: update DIAGNOSTIC_EDITS`);
		code = code.replace(from, to);
	}
	writeFileSync(join(dir, TRIGGER_JS), code);
	return dir;
}

interface Measured {
	/** Deliveries per second, from the first sent until the last run they started has stopped. */
	perSecond: number;
	/** Deliveries answered per second (the sender's view). */
	answeredPerSecond: number;
	ok: number;
	runs: number;
	beforeMiB: number;
	peakMiB: number;
	/** `settleSeconds` after the last run finished. */
	settledMiB: number;
	settleSeconds: number;
	duplicateOk?: number;
	duplicateRuns?: number;
	/** Bytes of the workflow's static data as n8n saved it after the load (the Trigger only). */
	staticDataBytes?: number;
}

/** n8n's resident memory now (the main process, /proc), in MiB. */
function rssMiB(pid: number | undefined): number {
	try {
		const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
		return match ? Number(match[1]) / 1024 : NaN;
	} catch {
		return NaN;
	}
}

/** n8n's resident memory, sampled every 100 ms while `body` runs. */
async function sampleRss<T>(pid: number | undefined, body: () => Promise<T>): Promise<{ result: T; peakMiB: number; beforeMiB: number }> {
	const read = () => rssMiB(pid);
	const beforeMiB = read();
	let peakMiB = beforeMiB;
	const timer = setInterval(() => {
		const now = read();
		if (now > peakMiB) peakMiB = now;
	}, 100);
	try {
		const result = await body();
		return { result, peakMiB: Math.max(peakMiB, read()), beforeMiB };
	} finally {
		clearInterval(timer);
	}
}

/** `count` POSTs, `parallel` at a time; resolves with the wall time and the statuses. */
async function fire(count: number, parallel: number, send: (i: number) => Promise<number>): Promise<{ ms: number; statuses: number[] }> {
	const statuses: number[] = [];
	let next = 0;
	const started = performance.now();
	await Promise.all(
		Array.from({ length: parallel }, async () => {
			while (next < count) {
				const i = next++;
				statuses.push(await send(i));
			}
		}),
	);
	return { ms: performance.now() - started, statuses };
}

const PARALLEL = 10;

function completedEvent(stack: Stack, jobId: string): string {
	return JSON.stringify({
		event: 'job.completed',
		jobId,
		status: 'done',
		outputUrl: `${stack.sim.url}/storage/${jobId}.mp4`,
		creditCost: 150,
		model: 'gemini-omni-video',
		timestamp: new Date().toISOString(),
	});
}

/** The workflow receiving the load, active, and the URL it listens on. */
async function activeReceiver(stack: Stack, variant: Variant): Promise<{ workflowId: string; url: string }> {
	const { sim, n8n } = stack;
	if (variant.receiver === 'trigger') {
		const credential = await credentialFor(stack, addKey(sim, { plan: 'pro' }), 'pro');
		const trigger = geminiOmniTriggerWorkflow({ name: 'bench: trigger under load', credential, downloadOutput: false });
		if (variant.remembered) {
			// As the Trigger stores them: `<jobId>:<event>` → when it was seen (recently, so none has expired).
			const now = Date.now();
			const seen: Record<string, number> = {};
			for (let i = 0; i < variant.remembered; i++) seen[`job_seen${String(i).padStart(6, '0')}:job.completed`] = now - i;
			trigger.workflow.staticData = { [`node:${trigger.triggerName}`]: { deliveriesSeen: seen } };
		}
		const workflowId = await n8n.createWorkflow(trigger.workflow);
		await n8n.activateWorkflow(workflowId);
		return { workflowId, url: n8n.webhookUrl(triggerWebhookPath(trigger.webhookId)) };
	}
	const path = `bench-plain-${randomUUID().slice(0, 8)}`;
	const workflow = webhookWorkflow({
		name: `bench: ${variant.receiver}`,
		path,
		response: { mode: 'onReceived' },
		steps: [{ name: 'After Webhook', type: 'n8n-nodes-base.noOp', typeVersion: 1, parameters: {} }],
	});
	// One expression anywhere in the node's parameters is enough for n8n to take an isolate per call
	// (`nodeParametersAreStatic`). It must be a parameter n8n keeps when it saves the node: a top-level
	// `responseCode` was dropped, and that variant took no isolate.
	if (variant.receiver === 'webhookWithExpression') {
		const webhook = workflow.nodes[0] as { parameters: Record<string, unknown> };
		webhook.parameters.options = { ...(webhook.parameters.options as object | undefined), ignoreBots: '={{ false }}' };
	}
	// A node holding a credential, connected to nothing: n8n checks every enabled node's credentials
	// before each run (credentials-permission-checker.js), whether the node runs or not.
	if (variant.receiver === 'webhookWithCredential') {
		const credential = await credentialFor(stack, addKey(sim, { plan: 'pro' }), 'pro');
		workflow.nodes.push({
			id: randomUUID(),
			name: 'Holds a Credential',
			type: GEMINI_OMNI_NODE_TYPE,
			typeVersion: 1,
			position: [0, 300],
			parameters: { resource: 'job', operation: 'get', jobId: 'job_never_run' },
			credentials: { [GEMINI_OMNI_CREDENTIAL_TYPE]: credential },
		});
	}
	const workflowId = await n8n.createWorkflow(workflow);
	await n8n.activateWorkflow(workflowId);
	return { workflowId, url: n8n.webhookUrl(path) };
}

/** An n8n (and simulator) for a variant: its environment, and the diagnostic package it runs. */
async function stackFor(variant: Variant): Promise<Stack> {
	return await startStack({
		simulator: { timeScale: 1 },
		n8n: {
			env: { ...(variant.engine === 'legacy' ? { N8N_EXPRESSION_ENGINE: 'legacy' } : {}), ...variant.env },
			...(variant.without ? { packageDir: diagnosticPackage(variant.without) } : {}),
		},
		onProgress: (message) => process.stderr.write(`[bench] trigger: ${message}\n`),
	});
}

/**
 * One variant under the load, in a fresh n8n, or in `shared` (left running) when given. `settleSeconds`:
 * how long after the load the settled RSS is read.
 */
export async function measureVariant(variant: Variant, n: number, settleSeconds: number, shared?: Stack): Promise<Measured> {
	const expectRuns = variant.without !== 'run';
	const stack = shared ?? (await stackFor(variant));
	try {
		const { sim, n8n } = stack;
		const { workflowId, url } = await activeReceiver(stack, variant);
		// Live once a delivery is answered (a production webhook can 404 for a moment after activation).
		for (;;) {
			const warm = await sim.sendSignedWebhook(url, completedEvent(stack, `job_warm${randomUUID().slice(0, 8)}`));
			if (warm.status !== 404) break;
			await sleep(250);
		}
		if (expectRuns) await finishedExecutions(stack, workflowId, 1, 30_000);
		await sleep(2_000);
		const bodies = Array.from({ length: n }, (_, i) => completedEvent(stack, `job_load${String(i).padStart(5, '0')}${randomUUID().slice(0, 6)}`));
		// The load is the deliveries and the runs they start: n8n answers a delivery before its run ends, so
		// sampling only while requests are answered would leave out whatever runs lag behind.
		const startedAt = Date.now();
		const load = await sampleRss(n8n.pid, async () => {
			const sent = await fire(n, PARALLEL, async (i) => (await sim.sendSignedWebhook(url, bodies[i])).status);
			const finished = expectRuns ? (await finishedExecutions(stack, workflowId, n + 1, 120_000)) : [];
			return { ...sent, finished };
		});
		// The load's runs (the warm-up delivery's run started before it), and when the last one stopped.
		const loadRuns = load.result.finished.filter((execution) => Date.parse(execution.startedAt) >= startedAt);
		const runs = loadRuns.length;
		const lastStopped = Math.max(startedAt + load.result.ms, ...loadRuns.map((execution) => Date.parse(execution.stoppedAt ?? '') || 0));
		await sleep(settleSeconds * 1000);
		const measured: Measured = {
			settledMiB: rssMiB(n8n.pid),
			settleSeconds,
			perSecond: n / ((lastStopped - startedAt) / 1000),
			answeredPerSecond: n / (load.result.ms / 1000),
			ok: load.result.statuses.filter((status) => status === 200).length,
			runs,
			beforeMiB: load.beforeMiB,
			peakMiB: load.peakMiB,
		};
		if (variant.duplicates) {
			const again = await fire(n, PARALLEL, async (i) => (await sim.sendSignedWebhook(url, bodies[i])).status);
			await sleep(2_000);
			measured.duplicateOk = again.statuses.filter((status) => status === 200).length;
			measured.duplicateRuns = (await n8n.listExecutions(workflowId)).length - (runs + 1);
		}
		if (variant.receiver === 'trigger') {
			const saved = await n8n.api<{ staticData?: unknown }>('GET', `/workflows/${workflowId}`);
			measured.staticDataBytes = Buffer.byteLength(JSON.stringify(saved.staticData ?? {}));
		}
		await n8n.deactivateWorkflow(workflowId);
		return measured;
	} finally {
		if (!shared) await stack.stop();
	}
}

const growth = (m: Measured) => m.peakMiB - m.beforeMiB;
const describe = (m: Measured) =>
	`${fmt(m.perSecond, 1)}/s (answered ${fmt(m.answeredPerSecond, 1)}/s), RSS +${fmt(growth(m), 0)} MiB (${fmt(m.beforeMiB, 0)} → peak ${fmt(m.peakMiB, 0)}, ${fmt(m.settledMiB, 0)} ${m.settleSeconds} s after), ${m.ok} answered 200, ${m.runs} runs`;

/** Where the Trigger's time and memory go: diagnostic copies with one thing taken out, and n8n without isolates. */
async function diagnostics(webhook: Measured, trigger: Measured, n: number, scenario: string, measure: (variant: Variant) => Promise<Measured>): Promise<Row[]> {
	const rows: Row[] = [];
	const withIsolate = await measure({ receiver: 'webhookWithExpression', engine: 'default' });
	const withCredential = await measure({ receiver: 'webhookWithCredential', engine: 'default' });
	const readEachTime = await measure({ receiver: 'trigger', engine: 'default', without: 'keptSecret' });
	const noWrite = await measure({ receiver: 'trigger', engine: 'default', without: 'staticDataWrite' });
	const noRun = await measure({ receiver: 'trigger', engine: 'default', without: 'run' });
	const webhookLegacy = await measure({ receiver: 'webhook', engine: 'legacy' });
	const triggerLegacy = await measure({ receiver: 'trigger', engine: 'legacy' });
	const memory = growth(trigger) / growth(webhook);
	rows.push({
		figure: "Where the time went: n8n's Webhook node with one expression parameter, for which n8n takes an expression isolate for each webhook call as it does for every start node but a static Webhook node (the Trigger included), as a ratio to the bare Webhook node; the Trigger as a ratio to it",
		scenario,
		ours: `Webhook node with an isolate: speed ${fmt(withIsolate.perSecond / webhook.perSecond)}×, RSS growth ${fmt(growth(withIsolate) / growth(webhook))}× (${describe(withIsolate)}); the Trigger against it: speed ${fmt(trigger.perSecond / withIsolate.perSecond)}×, RSS growth ${fmt(growth(trigger) / growth(withIsolate))}×. Not the cause: a credential in the workflow (n8n checks it before each run): speed ${fmt(withCredential.perSecond / webhook.perSecond)}×, RSS growth ${fmt(growth(withCredential) / growth(webhook))}× (${describe(withCredential)})`,
		baseline: `bare Webhook node: ${describe(webhook)}`,
		limit: '—',
		target: 'report',
		met: 'reported',
	});
	rows.push({
		figure: 'Where the time went: the Trigger reading its credential on every delivery, as a ratio to the Trigger keeping the secret',
		scenario: `${scenario}; a diagnostic copy of the Trigger`,
		ours: `speed ${fmt(readEachTime.perSecond / trigger.perSecond)}× (${describe(readEachTime)})`,
		baseline: `the Trigger: ${describe(trigger)}`,
		limit: '—',
		target: 'report',
		met: 'reported',
	});
	rows.push({
		figure: 'RSS growth of the Trigger with one more thing taken out, as a ratio to the bare Webhook node',
		scenario: `${scenario}; diagnostic copies of the Trigger`,
		ours: `no static-data write (dedup in process only): ${fmt(growth(noWrite) / growth(webhook))}× (${describe(noWrite)}); no run started: ${fmt(growth(noRun) / growth(webhook))}× (${describe(noRun)}); as shipped: ${fmt(memory)}×`,
		baseline: `bare Webhook node: ${describe(webhook)}`,
		limit: '—',
		target: 'report',
		met: 'reported',
	});
	const legacySpeed = triggerLegacy.perSecond / webhookLegacy.perSecond;
	const legacyMemory = growth(triggerLegacy) / growth(webhookLegacy);
	rows.push({
		figure: 'Trigger against a bare Webhook node with N8N_EXPRESSION_ENGINE=legacy (n8n without expression isolates): speed, RSS growth',
		scenario,
		ours: `speed ${fmt(legacySpeed)}×, RSS growth ${fmt(legacyMemory)}× (${describe(triggerLegacy)})`,
		baseline: `bare Webhook node: ${describe(webhookLegacy)}`,
		limit: '0.80, 1.20',
		target: '≥ 0.8×, ≤ 1.2×',
		met: yesNo(legacySpeed >= 0.8 && legacyMemory <= 1.2),
	});
	return rows;
}

export async function triggerUnderLoad(sizes: Sizes): Promise<ScenarioResult> {
	const n = sizes.triggerDeliveries;
	const rows: Row[] = [];
	const broken: string[] = [];
	const scenario = `${n} distinct signed job.completed events, ${PARALLEL} at a time, real n8n, ${sizes.triggerOneN8n ? 'one n8n for both variants' : 'a fresh n8n per variant'}`;
	const measure = async (variant: Variant, shared?: Stack) => {
		const measured = await measureVariant(variant, n, sizes.triggerSettleSeconds, shared);
		const runs = variant.without === 'run' ? 0 : n;
		if (measured.runs !== runs || measured.ok !== n) broken.push(`trigger load (${JSON.stringify(variant)}): ${measured.ok}/${n} answered 200, ${measured.runs} runs`);
		if (measured.duplicateRuns) broken.push(`trigger load: ${measured.duplicateRuns} runs from duplicates`);
		return measured;
	};

	// The smoke run checks counts, not memory: its two variants share one n8n.
	const shared = sizes.triggerOneN8n ? await stackFor({ receiver: 'webhook', engine: 'default' }) : undefined;
	let webhook: Measured;
	let trigger: Measured;
	try {
		webhook = await measure({ receiver: 'webhook', engine: 'default' }, shared);
		trigger = await measure({ receiver: 'trigger', engine: 'default', duplicates: true }, shared);
	} finally {
		await shared?.stop();
	}
	const speed = trigger.perSecond / webhook.perSecond;
	const memory = growth(trigger) / growth(webhook);
	rows.push({
		figure: 'Trigger: signed deliveries verified, deduplicated and run per second (first delivery sent → last run stopped), as a ratio to a bare Webhook node',
		scenario: `${scenario}; n8n's default expression engine`,
		ours: `${fmt(speed)}× (${describe(trigger)}; the same ${n} again: ${trigger.duplicateOk} answered 200, ${trigger.duplicateRuns} runs)`,
		baseline: `bare Webhook node: ${describe(webhook)}`,
		limit: '0.80',
		target: '≥ 0.8×; every event one run, every duplicate none',
		met: yesNo(speed >= 0.8 && trigger.duplicateRuns === 0),
	});
	rows.push({
		figure: 'n8n RSS growth during the Trigger load, as a ratio to a bare Webhook node',
		scenario: 'the same, main n8n process (/proc VmRSS, sampled every 100 ms from the first delivery until the last run has finished)',
		ours: `${fmt(memory)}× (+${fmt(growth(trigger), 0)} MiB)`,
		baseline: `bare Webhook node: +${fmt(growth(webhook), 0)} MiB`,
		limit: '1.20',
		target: '≤ 1.2×',
		met: yesNo(memory <= 1.2),
	});
	if (sizes.triggerDiagnostics) rows.push(...(await diagnostics(webhook, trigger, n, scenario, measure)));
	for (const remembered of sizes.triggerRemembered) {
		const measured = await measure({ receiver: 'trigger', engine: 'default', remembered });
		rows.push({
			figure: `Trigger with ${remembered.toLocaleString('en')} deliveries already remembered: speed and RSS growth, as ratios to the Trigger remembering none`,
			scenario: `${scenario}; static data saved after the load: ${fmt((measured.staticDataBytes ?? 0) / 1024, 0)} KiB`,
			ours: `speed ${fmt(measured.perSecond / trigger.perSecond)}×, RSS growth ${fmt(growth(measured) / growth(trigger))}× (${describe(measured)})`,
			baseline: `Trigger remembering none: ${describe(trigger)}, static data ${fmt((trigger.staticDataBytes ?? 0) / 1024, 0)} KiB`,
			limit: '—',
			target: 'report; bounded',
			met: 'reported',
		});
	}
	return { rows, notes: [], broken, sections: [] };
}
