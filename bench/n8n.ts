/**
 * Issue #13, the parts that need a real n8n (the e2e suite's n8n 2.x with the package installed as a
 * community package, scripts/lib/stack.ts): the n8n way without our node (HTTP Request → Wait 10 s →
 * HTTP Request → IF, the loop of the n8n templates for async media APIs), makespan of a batch on Pro
 * and Premium (the Trigger under load is bench/trigger.ts). The simulator runs at time
 * scale 1 here (n8n's and our node's clocks are real); jobs are shortened with [sim:seconds=N].
 */
import { randomUUID } from 'node:crypto';

import type { Simulator } from '../simulator';
import { startStack, type Stack } from '../scripts/lib/stack';
import type { N8nExecution, WorkflowInput } from '../scripts/lib/n8n-instance';
import {
	GEMINI_OMNI_CREDENTIAL_TYPE,
	geminiOmniStep,
	webhookNode,
	webhookWorkflow,
	type CredentialReference,
} from '../scripts/lib/workflows';
import { apiRequests, fmt, submits } from './lib/measure';
import { addKey } from './lib/ours';
import { CASES, measureKey, ourLognormalPoints } from './plane';
import type { Row, ScenarioResult, Sizes } from './scenarios';

const sleep = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms));
const yesNo = (ok: boolean): string => (ok ? 'yes' : '**NO**');

/** A credential in n8n for `key` on the simulator. */
export async function credentialFor(stack: Stack, key: string, plan: 'pro' | 'premium'): Promise<CredentialReference> {
	const name = `bench ${plan} ${key.slice(-6)}`;
	const id = await stack.n8n.createCredential(name, GEMINI_OMNI_CREDENTIAL_TYPE, {
		apiKey: key,
		baseUrl: stack.sim.url,
		plan,
		webhookSecret: stack.sim.webhookSecret,
	});
	return { id, name };
}

export async function callWebhook(stack: Stack, path: string, body: unknown): Promise<number> {
	const deadline = Date.now() + 30_000;
	for (;;) {
		const response = await fetch(stack.n8n.webhookUrl(path), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
		await response.arrayBuffer();
		// A production webhook can answer 404 for a moment after activation.
		if (response.status !== 404 || Date.now() > deadline) return response.status;
		await sleep(250);
	}
}

export async function finishedExecutions(stack: Stack, workflowId: string, count: number, timeoutMs: number): Promise<N8nExecution[]> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const all = await stack.n8n.listExecutions(workflowId);
		const finished = all.filter((execution) => ['success', 'error', 'crashed', 'canceled'].includes(execution.status));
		if (finished.length >= count || Date.now() > deadline) return finished;
		await sleep(500);
	}
}

// ---------------------------------------------------------------------------------------------
// The n8n way without our node.

/** Webhook → Generate (HTTP Request) → Wait → Get Job (HTTP Request) → IF done → Done, else back to Wait. */
function httpWaitLoopWorkflow(path: string, sim: Simulator, key: string, waitSeconds: number): WorkflowInput {
	const webhook = webhookNode({ path, response: { mode: 'onReceived' } });
	const auth = { sendHeaders: true, headerParameters: { parameters: [{ name: 'Authorization', value: `Bearer ${key}` }] } };
	const at = (x: number) => [x, 0] as [number, number];
	const nodes = [
		webhook,
		{
			id: randomUUID(),
			name: 'Generate',
			type: 'n8n-nodes-base.httpRequest',
			typeVersion: 4.2,
			position: at(220),
			parameters: {
				method: 'POST',
				url: `${sim.url}/api/v1/generate`,
				...auth,
				sendBody: true,
				specifyBody: 'json',
				jsonBody: "={{ JSON.stringify({ model: 'gemini-omni-video', prompt: $json.body.prompt, resolution: '1080p', duration: 8 }) }}",
				options: {},
			},
		},
		{
			id: randomUUID(),
			name: 'Wait',
			type: 'n8n-nodes-base.wait',
			typeVersion: 1.1,
			position: at(440),
			webhookId: randomUUID(),
			parameters: { resume: 'timeInterval', amount: waitSeconds, unit: 'seconds' },
		},
		{
			id: randomUUID(),
			name: 'Get Job',
			type: 'n8n-nodes-base.httpRequest',
			typeVersion: 4.2,
			position: at(660),
			parameters: { method: 'GET', url: `=${sim.url}/api/v1/jobs/{{ $('Generate').item.json.jobId }}`, ...auth, options: {} },
		},
		{
			id: randomUUID(),
			name: 'Is Done',
			type: 'n8n-nodes-base.if',
			typeVersion: 2,
			position: at(880),
			parameters: {
				conditions: {
					options: { caseSensitive: true, leftValue: '', typeValidation: 'strict' },
					conditions: [{ id: randomUUID(), leftValue: '={{ $json.status }}', rightValue: 'done', operator: { type: 'string', operation: 'equals' } }],
					combinator: 'and',
				},
				options: {},
			},
		},
		{ id: randomUUID(), name: 'Done', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: at(1100), parameters: {} },
	];
	const to = (node: string) => ({ main: [[{ node, type: 'main', index: 0 }]] });
	return {
		name: `bench: HTTP Request + Wait loop (${path})`,
		nodes,
		connections: {
			[webhook.name]: to('Generate'),
			Generate: to('Wait'),
			Wait: to('Get Job'),
			'Get Job': to('Is Done'),
			'Is Done': { main: [[{ node: 'Done', type: 'main', index: 0 }], [{ node: 'Wait', type: 'main', index: 0 }]] },
		},
		settings: { executionOrder: 'v1' },
	};
}

export interface HttpWaitPoint {
	caseLabel: string;
	jobs: number;
	done: number;
	lost: number;
	requestsPerDone: number;
	rateLimited: number;
	meanLatency: number;
	p95Latency: number;
}

/** One execution per prompt (a template is triggered per request), all at once, on a key with no limits. */
async function httpWaitLoop(stack: Stack, sizes: Sizes): Promise<HttpWaitPoint[]> {
	const { sim, n8n } = stack;
	// Jobs of 60 s shortened by the plane's time scale, and the 10 s Wait with them: the same shape.
	const jobSeconds = 60 * sizes.n8nScale;
	const points: HttpWaitPoint[] = [];
	for (const testCase of CASES) {
		const key = addKey(sim, { plan: 'premium', limits: { perMinute: 1_000_000, perHour: 1_000_000, concurrent: 1000 } });
		const path = `bench-http-wait-${randomUUID().slice(0, 8)}`;
		const workflowId = await n8n.createWorkflow(httpWaitLoopWorkflow(path, sim, key, 10 * sizes.n8nScale));
		await n8n.activateWorkflow(workflowId);
		const prompts = Array.from({ length: sizes.n8nJobs }, (_, i) => `clip ${i} of the batch [sim:seconds=${jobSeconds}] ${testCase.directives}`.trim());
		await Promise.all(prompts.map(async (prompt) => await callWebhook(stack, path, { prompt })));
		const executions = await finishedExecutions(stack, workflowId, prompts.length, 20 * jobSeconds * 1000 + 60_000);
		await n8n.deactivateWorkflow(workflowId);
		const handedOn = executions.filter((execution) => execution.status === 'success').length;
		const { notSubmitted: _notSubmitted, ...figures } = measureKey(sim, key, prompts.length, handedOn, 0, sizes.n8nScale);
		points.push({ caseLabel: testCase.label, jobs: prompts.length, ...figures });
	}
	return points;
}

// ---------------------------------------------------------------------------------------------
// Makespan of a batch in real n8n.

function batchWorkflow(path: string, credential: CredentialReference): WorkflowInput {
	return webhookWorkflow({
		name: `bench: batch (${path})`,
		path,
		response: { mode: 'onReceived' },
		steps: [
			{ name: 'Rows', type: 'n8n-nodes-base.code', typeVersion: 2, parameters: { jsCode: 'return $input.first().json.body.prompts.map((p) => ({ json: { p } }));' } },
			geminiOmniStep({
				name: 'Batch',
				credential,
				parameters: { resource: 'video', operation: 'textToVideo', prompt: '={{ $json.p }}', resolution: '1080p', duration: 8, downloadOutput: false },
				onError: 'continueRegularOutput',
			}),
		],
	});
}

async function makespan(stack: Stack, sizes: Sizes, plan: 'pro' | 'premium', jobs: number) {
	const { sim, n8n } = stack;
	const key = addKey(sim, { plan });
	const credential = await credentialFor(stack, key, plan);
	const path = `bench-batch-${plan}-${randomUUID().slice(0, 8)}`;
	const workflowId = await n8n.createWorkflow(batchWorkflow(path, credential));
	await n8n.activateWorkflow(workflowId);
	const T = sizes.n8nBatchSeconds;
	const concurrent = plan === 'pro' ? 5 : 10;
	const prompts = Array.from({ length: jobs }, (_, i) => `batch clip ${i} [sim:seconds=${T}]`);
	const calledAt = Date.now();
	const status = await callWebhook(stack, path, { prompts });
	const [execution] = await finishedExecutions(stack, workflowId, 1, (Math.ceil(jobs / concurrent) * T * 3 + 120) * 1000);
	await n8n.deactivateWorkflow(workflowId);
	const full = execution ? await n8n.getExecution(execution.id, true) : undefined;
	const run = full?.data?.resultData?.runData?.Batch?.[0];
	const items = (run?.data?.main?.[0] ?? []).map((item) => item.json as Record<string, unknown>);
	const done = items.filter((item) => item.status === 'done').length;
	const failed429 = items.filter((item) => item.error !== undefined && /429|rate limit|concurrent/i.test(`${String(item.error)} ${String(item.httpCode ?? '')}`)).length;
	const requests = apiRequests(sim, key);
	const firstSubmit = Math.min(...submits(sim, key).map((entry) => entry.at));
	const nodeEnd = run ? Number(run.startTime) + Number(run.executionTime) : NaN;
	const minimumMs = Math.ceil(jobs / concurrent) * T * 1000;
	return {
		plan,
		jobs,
		webhookStatus: status,
		executionStatus: execution?.status ?? 'none',
		done,
		failed429,
		requests: requests.length,
		rateLimited: requests.filter((entry) => entry.status === 429).length,
		ratio: (nodeEnd - firstSubmit) / minimumMs,
		minimumMs,
		callToFirstSubmitMs: firstSubmit - calledAt,
		peak: sim.maxInFlight(key.slice(-6)),
	};
}

// ---------------------------------------------------------------------------------------------

export async function realN8n(sizes: Sizes): Promise<ScenarioResult> {
	const rows: Row[] = [];
	const notes: string[] = [];
	const broken: string[] = [];
	const sections: string[] = [];
	const stack = await startStack({ simulator: { timeScale: 1 }, onProgress: (message) => process.stderr.write(`[bench] ${message}\n`) });
	try {
		// Makespan first and both plans at once (separate keys, separate budgets): the longest part.
		const [pro, premium] = await Promise.all([
			makespan(stack, sizes, 'pro', sizes.n8nProJobs),
			makespan(stack, sizes, 'premium', sizes.n8nPremiumJobs),
		]);
		for (const m of [pro, premium]) {
			const label = m.plan === 'pro' ? 'Pro (5 concurrent, 30 req/min, 200 req/h)' : 'Premium (10 concurrent, 60 req/min, 500 req/h)';
			const ok = m.ratio <= 1.1 && m.done === m.jobs && m.failed429 === 0;
			rows.push({
				figure: 'makespan / theoretical minimum, in real n8n',
				scenario: `${m.jobs} jobs of ${sizes.n8nBatchSeconds} s on ${label}, one execution`,
				ours: `${fmt(m.ratio)} (${m.done}/${m.jobs} done, ${m.failed429} failed by 429, ${m.rateLimited}× 429 of ${m.requests} requests, ${fmt(m.requests / Math.max(1, m.done))} per job, peak ${m.peak} running)`,
				baseline: '—',
				limit: `1.00 (= ceil(${m.jobs}/${m.plan === 'pro' ? 5 : 10})·T = ${m.minimumMs / 1000} s)`,
				target: '≤ 1.10, 0 items failed by 429',
				met: yesNo(ok),
			});
			if (m.done !== m.jobs) broken.push(`real n8n batch on ${m.plan}: ${m.done}/${m.jobs} done (webhook ${m.webhookStatus}, execution ${m.executionStatus})`);
		}
		notes.push(
			`Real n8n: ${stack.n8n.baseUrl} (n8n ${process.env.N8N_VERSION ?? '2.41.1'}, the package installed as a community package, regular mode), the simulator at time scale 1. ` +
				`Makespan = the simulator's first submit → the end of the Gemini Omni node's run (n8n's startTime + executionTime); Webhook → Code (the prompts as items) → Gemini Omni (Download Output off, Continue On Fail); both plans at once on their own keys.`,
		);

		const points = await httpWaitLoop(stack, sizes);
		sections.push(
			'## The n8n way without our node, in real n8n',
			'',
			`Webhook → HTTP Request (generate) → Wait ${fmt(10 * sizes.n8nScale, 2)} s → HTTP Request (get job) → IF status is done → Done, else back to the Wait: the loop of the n8n templates for async media APIs, ` +
				`with the 10 s Wait and 60 s jobs both × ${sizes.n8nScale} ([sim:seconds=${60 * sizes.n8nScale}]). One execution per prompt, all ${sizes.n8nJobs} at once, on a key the simulator does not limit (the schedule alone, as on the plane). ` +
				'Latency in API seconds (÷ the scale), measured as on the plane; n8n\'s own time per loop turn is in it, × 1/scale.',
			'',
			'| case | requests per done job | mean latency (s) | p95 latency (s) | done | jobs lost | 429s |',
			'|---|---|---|---|---|---|---|',
			...points.map((p) => `| ${p.caseLabel} | ${fmt(p.requestsPerDone)} | ${fmt(p.meanLatency)} | ${fmt(p.p95Latency)} | ${p.done}/${p.jobs} | ${p.lost} | ${p.rateLimited} |`),
			'',
		);
		for (const p of points) if (p.done !== p.jobs) notes.push(`HTTP Request + Wait loop, ${p.caseLabel}: ${p.done}/${p.jobs} handed on.`);
		const loop = points.find((p) => p.caseLabel === 'lognormal σ 0.3');
		const ours = ourLognormalPoints();
		if (loop && ours) {
			const beats = (o: { requestsPerDone: number; meanLatency: number; done: number; jobs: number }) =>
				o.done === o.jobs && o.requestsPerDone < loop.requestsPerDone && o.meanLatency <= loop.meanLatency;
			const byDefault = beats(ours.default);
			const byFast = beats(ours.fast);
			const pick = byDefault || !byFast ? ours.default : ours.fast;
			rows.push({
				figure: 'dominates on the requests / latency plane (fewer requests per job and no higher mean latency)',
				scenario: `lognormal σ 0.3, against the n8n HTTP Request + Wait 10 s loop in real n8n (our node: the plane's figures)`,
				ours: `${byDefault ? 'default' : byFast ? '2.5 s setting' : 'neither'}: ${fmt(pick.requestsPerDone)} requests, ${fmt(pick.meanLatency)} s`,
				baseline: `${fmt(loop.requestsPerDone)} requests, ${fmt(loop.meanLatency)} s`,
				limit: '—',
				target: 'default or the one documented setting dominates',
				met: yesNo(byDefault || byFast),
			});
		}

		return { rows, notes, broken, sections };
	} finally {
		await stack.stop();
	}
}
