/**
 * Gemini Omni as an AI Agent's tool, in the REAL n8n (2.41.1): Webhook → AI Agent, whose chat model is
 * n8n's "OpenAI Chat Model" pointed at a scripted stand-in (test/e2e/scripted-chat-model.ts, no network)
 * and whose tool is "Gemini Omni Tool" (Text to Video, prompt from $fromAI). What the model was shown is
 * read from the stand-in's requests: the tool offered (name, description) and each tool result.
 */
import { randomUUID } from 'node:crypto';

import { startSimulator, type Simulator } from '../../simulator';
import type { N8nExecution, N8nInstance, WorkflowInput } from '../../scripts/lib/n8n-instance';
import { GEMINI_OMNI_CREDENTIAL_TYPE, GEMINI_OMNI_NODE_TYPE, nodeRuns, webhookNode, type CredentialReference } from '../../scripts/lib/workflows';
import { createSimulatorCredential, generateRequests, sharedN8n } from './support';
import { startScriptedChatModel, toolResults, type ChatRequest, type ScriptedChatModel, type ScriptedTurn } from './scripted-chat-model';

jest.setTimeout(180_000);

const TOOL_NODE = 'Text to Video';
/** n8n's tool name for a node: its name with anything but letters, digits, _ and - made _. */
const TOOL_NAME = 'Text_to_Video';

let sim: Simulator;
let n8n: N8nInstance;
let credential: CredentialReference;
let model: ScriptedChatModel;
let openAiCredential: CredentialReference;
/** The script the stand-in follows for the test that runs now. */
let script: (request: ChatRequest) => ScriptedTurn = () => ({ text: 'no script' });

beforeAll(async () => {
	sim = await startSimulator({ timeScale: 0.02, ownKeys: true });
	model = await startScriptedChatModel((request) => script(request));
	n8n = await sharedN8n();
	credential = await createSimulatorCredential(n8n, sim);
	const name = 'Scripted chat model';
	openAiCredential = { name, id: await n8n.createCredential(name, 'openAiApi', { apiKey: 'sk-scripted-stand-in', url: model.url, header: false }) };
}, 240_000);

afterAll(async () => {
	await n8n?.stop();
	await model?.close();
	await sim?.close();
});

beforeEach(() => {
	sim.clearLog();
	model.requests.length = 0;
});

/** Webhook → AI Agent (its prompt is the body's `message`), with the chat model and one Gemini Omni tool. */
function agentWorkflow(path: string, toolParameters: Record<string, unknown>): WorkflowInput {
	const webhook = webhookNode({ path, response: { mode: 'lastNode' } });
	return {
		name: `e2e agent ${path}`,
		nodes: [
			webhook,
			{
				id: randomUUID(),
				name: 'AI Agent',
				type: '@n8n/n8n-nodes-langchain.agent',
				typeVersion: 3.1,
				position: [240, 0],
				parameters: { promptType: 'define', text: '={{ $json.body.message }}', options: { maxIterations: 20 } },
			},
			{
				id: randomUUID(),
				name: 'OpenAI Chat Model',
				type: '@n8n/n8n-nodes-langchain.lmChatOpenAi',
				typeVersion: 1.2,
				position: [240, 200],
				parameters: { model: { __rl: true, mode: 'id', value: 'scripted' }, options: { maxRetries: 0 } },
				credentials: { openAiApi: openAiCredential },
			},
			{
				id: randomUUID(),
				name: TOOL_NODE,
				type: `${GEMINI_OMNI_NODE_TYPE}Tool`,
				typeVersion: 1,
				position: [480, 200],
				parameters: {
					resource: 'video',
					operation: 'textToVideo',
					prompt: "={{ $fromAI('prompt', 'What the video shows: subject, action, setting, camera and style', 'string') }}",
					resolution: '1080p',
					duration: 8,
					...toolParameters,
				},
				credentials: { [GEMINI_OMNI_CREDENTIAL_TYPE]: credential },
			},
		],
		connections: {
			[webhook.name]: { main: [[{ node: 'AI Agent', type: 'main', index: 0 }]] },
			'OpenAI Chat Model': { ai_languageModel: [[{ node: 'AI Agent', type: 'ai_languageModel', index: 0 }]] },
			[TOOL_NODE]: { ai_tool: [[{ node: 'AI Agent', type: 'ai_tool', index: 0 }]] },
		},
		settings: { executionOrder: 'v1' },
	};
}

/** Creates and activates the workflow, runs it once with `message`, and returns its execution. */
async function runAgent(path: string, toolParameters: Record<string, unknown>, message: string): Promise<{ execution: N8nExecution; answer: unknown }> {
	const workflowId = await n8n.createWorkflow(agentWorkflow(path, toolParameters));
	await n8n.activateWorkflow(workflowId);
	const response = await n8n.callWebhook(path, { message });
	const execution = await n8n.waitForExecution(workflowId);
	return { execution, answer: response.body };
}

/** Calls the tool with each prompt in turn, one call per model turn, then answers with the results. */
function callToolFor(prompts: string[], stopWhen: (result: Record<string, unknown>) => boolean = () => false): (request: ChatRequest) => ScriptedTurn {
	return (request) => {
		const results = toolResults(request).map((text) => (JSON.parse(text) as Array<Record<string, unknown>>)[0]);
		const done = results.length >= prompts.length || results.some(stopWhen);
		if (done) return { text: `Finished after ${results.length} tool calls.` };
		return { tool: TOOL_NAME, args: { prompt: prompts[results.length] } };
	};
}

/** The tool results the model was shown, as parsed JSON (the last request holds them all). */
function resultsShownToModel(): Array<{ text: string; items: Array<Record<string, unknown>> }> {
	const last = model.requests[model.requests.length - 1];
	return toolResults(last).map((text) => ({ text, items: JSON.parse(text) as Array<Record<string, unknown>> }));
}

test('the model is offered the tool with a description of what it does, costs and returns', async () => {
	script = () => ({ text: 'nothing to do' });
	const { execution } = await runAgent('e2e-agent-offer', {}, 'Hello');
	expect(execution.status).toBe('success');
	const offered = model.requests[0]?.tools?.map((tool) => tool.function) ?? [];
	const tool = offered.find((candidate) => candidate.name === TOOL_NAME);
	expect(tool).toBeDefined();
	// The parameter the node's prompt asks the model for, with its description.
	expect(JSON.stringify(tool?.parameters)).toContain('What the video shows');
	for (const words of ['resolution', 'duration', 'jobId', 'outputUrl', 'budgetReached', 'Job → Get']) expect(tool?.description).toContain(words);
	expect(generateRequests(sim)).toHaveLength(0);
});

test('a tool call returns under 2 KB of JSON with the job ID and its URL, and no file', async () => {
	script = callToolFor(['A lighthouse in a storm, cinematic wide shot']);
	const { execution } = await runAgent('e2e-agent-small', {}, 'Make me a lighthouse video');
	expect(execution.status).toBe('success');
	const [shown] = resultsShownToModel();
	expect(Buffer.byteLength(shown.text)).toBeLessThan(2048);
	const [result] = shown.items;
	const [generate] = generateRequests(sim);
	expect(generateRequests(sim)).toHaveLength(1);
	expect(generate.body).toMatchObject({ prompt: 'A lighthouse in a storm, cinematic wide shot', resolution: '1080p', duration: 8 });
	const job = sim.getJob(String(result.jobId));
	expect(job?.status).toBe('done');
	expect(result).toMatchObject({ jobId: generate.jobId, status: 'done', creditCost: job?.creditCost });
	expect(String(result.outputUrl)).toMatch(/^http/);
	expect(Date.parse(String(result.expiresAt))).toBeGreaterThan(Date.now());
	expect(String(result.summary)).toContain(String(result.jobId));
	expect(result.file).toBeUndefined();
	// Nothing was downloaded, and the tool's run in the execution holds no file either.
	expect(sim.log.filter((entry) => entry.kind === 'storage')).toHaveLength(0);
	const toolRuns = nodeRuns(execution, TOOL_NODE);
	expect(toolRuns.length).toBe(1);
	expect(JSON.stringify(toolRuns[0].data)).not.toContain('"binary"');
});

test('with Return Output File on, a small output is attached and one over the size limit is a note, not an error', async () => {
	// Large enough that loopback buffers cannot take it whole before the download is dropped.
	const big = 200 * 1024 * 1024;
	script = callToolFor(['A small clip of a cat', `A long clip of a dog [sim:bytes=${big}]`]);
	const { execution } = await runAgent('e2e-agent-file', { agentOutputFile: true, agentMaxFileSizeMb: 1 }, 'Two clips please');
	expect(execution.status).toBe('success');
	const [small, large] = resultsShownToModel();
	for (const shown of [small, large]) expect(Buffer.byteLength(shown.text)).toBeLessThan(2048);
	const smallResult = small.items[0];
	const largeResult = large.items[0];
	expect(smallResult.status).toBe('done');
	expect(smallResult.error).toBeUndefined();
	expect(smallResult.file).toMatchObject({ mimeType: 'video/mp4', fileName: `${String(smallResult.jobId)}.mp4` });
	// The file is in the tool's run (n8n keeps binary out of what the model reads).
	const runs = nodeRuns(execution, TOOL_NODE);
	const smallRun = runs.find((run) => JSON.stringify(run.data).includes(String(smallResult.jobId)));
	expect(JSON.stringify(smallRun?.data)).toContain('"binary"');
	expect(largeResult.status).toBe('done');
	expect(largeResult.error).toBeUndefined();
	expect(largeResult.file).toBeUndefined();
	expect(String(largeResult.outputNote)).toContain('200.0 MiB');
	expect(String(largeResult.outputUrl)).toMatch(/^http/);
	// Refused on its announced size: the download was dropped at its start.
	const largeDownloads = sim.log.filter((entry) => entry.kind === 'storage' && entry.jobId === largeResult.jobId);
	expect(largeDownloads.length).toBeGreaterThan(0);
	expect(largeDownloads.every((entry) => (entry.bytesSent ?? 0) < big / 4)).toBe(true);
});

test('a 300-credit cap over 5 requested clips: 2 jobs submitted, the 3rd call is told the budget is reached, the run succeeds', async () => {
	const prompts = [1, 2, 3, 4, 5].map((n) => `Variation ${n} of a sunrise over the sea`);
	script = callToolFor(prompts, (result) => result.budgetReached === true);
	const { execution } = await runAgent('e2e-agent-cap', { options: { maxCreditsPerExecution: 300 } }, 'Make five variations of a sunrise');
	expect(execution.status).toBe('success');
	const generates = generateRequests(sim);
	expect(generates).toHaveLength(2);
	const shown = resultsShownToModel().map((result) => result.items[0]);
	expect(shown).toHaveLength(3);
	expect(shown[0]).toMatchObject({ status: 'done', creditCost: 150 });
	expect(shown[1]).toMatchObject({ status: 'done', creditCost: 150 });
	expect(shown[2]).toMatchObject({ budgetReached: true, creditsUsed: 300, creditsCap: 300 });
	expect(String(shown[2].error)).toContain('Budget of 300 credits reached: 300 used');
	expect(shown[2].jobId).toBeUndefined();
	// The model ended the run with its answer after reading the refusal.
	expect(model.requests).toHaveLength(4);
});
