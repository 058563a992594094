/**
 * examples/mcp-video-tools.json in the REAL n8n (2.41.1): its MCP Server Trigger serves the Gemini Omni
 * tools to an MCP client (the official TypeScript SDK, over streamable HTTP), against the simulator.
 * The example runs as imported, but for its credential reference, pointed at this n8n's credential.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { startSimulator, type Simulator } from '../../simulator';
import type { N8nInstance } from '../../scripts/lib/n8n-instance';
import { exampleNode, readExample, withCredential } from '../../scripts/lib/examples';
import { createSimulatorCredential, generateRequests, sharedN8n, sleep } from './support';

jest.setTimeout(180_000);

let sim: Simulator;
let n8n: N8nInstance;
let client: Client;

/** The text of a tools/call result (n8n answers with one text part: the JSON of the tool's output). */
function resultText(result: unknown): string {
	const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
	return content.map((part) => part.text ?? '').join('');
}

/** n8n answers a tool call with the tool's output items; ours is one item. */
function firstItem(text: string): Record<string, unknown> {
	const parsed = JSON.parse(text) as unknown;
	return (Array.isArray(parsed) ? parsed[0] : parsed) as Record<string, unknown>;
}

beforeAll(async () => {
	sim = await startSimulator({ timeScale: 0.02, ownKeys: true });
	n8n = await sharedN8n();
	const credential = await createSimulatorCredential(n8n, sim, { name: 'Gemini Omni account' });
	const example = withCredential(readExample('mcp-video-tools.json'), credential);
	const workflowId = await n8n.createWorkflow(example);
	await n8n.activateWorkflow(workflowId);
	const path = String(exampleNode(example, 'MCP Server Trigger').parameters.path);
	const url = new URL(`${n8n.baseUrl}/mcp/${path}`);
	// n8n registers an activated workflow's webhooks in the background: try until the endpoint answers.
	const deadline = Date.now() + 30_000;
	for (;;) {
		client = new Client({ name: 'gemini-omni-e2e', version: '1.0.0' });
		try {
			await client.connect(new StreamableHTTPClientTransport(url));
			break;
		} catch (error) {
			if (Date.now() > deadline) throw error;
			await sleep(500);
		}
	}
}, 240_000);

afterAll(async () => {
	await client?.close();
	await n8n?.stop();
	await sim?.close();
});

test('tools/list shows the Gemini Omni tools with their descriptions and parameters', async () => {
	const { tools } = await client.listTools();
	const byName = new Map(tools.map((tool) => [tool.name, tool]));
	expect([...byName.keys()].sort()).toEqual(['Get_Job', 'Text_to_Video']);
	const textToVideo = byName.get('Text_to_Video')!;
	for (const words of ['text prompt', 'resolution', 'duration', 'jobId', 'outputUrl']) expect(textToVideo.description).toContain(words);
	expect(Object.keys(textToVideo.inputSchema.properties ?? {}).sort()).toEqual(['duration', 'prompt', 'resolution']);
	expect(byName.get('Get_Job')!.description).toContain('jobId');
	expect(Object.keys(byName.get('Get_Job')!.inputSchema.properties ?? {})).toEqual(['jobId']);
});

test('tools/call Text_to_Video submits one job and returns its JSON; Get_Job then finds it done with its URL', async () => {
	sim.clearLog();
	const called = await client.callTool({ name: 'Text_to_Video', arguments: { prompt: 'A paper boat on a rainy street', resolution: '720p', duration: 8 } });
	expect(called.isError).toBeFalsy();
	const text = resultText(called);
	expect(Buffer.byteLength(text)).toBeLessThan(2048);
	const submitted = firstItem(text);
	const generates = generateRequests(sim);
	expect(generates).toHaveLength(1);
	expect(generates[0].body).toMatchObject({ model: 'gemini-omni-video', prompt: 'A paper boat on a rainy street', resolution: '720p', duration: 8 });
	expect(submitted).toMatchObject({ jobId: generates[0].jobId, status: 'accepted', creditCost: sim.getJob(String(generates[0].jobId))?.creditCost });
	expect(String(submitted.summary)).toContain('Check it later with its jobId');

	// The client checks back, as the tool's description tells a model to.
	const deadline = Date.now() + 30_000;
	let job: Record<string, unknown>;
	for (;;) {
		job = firstItem(resultText(await client.callTool({ name: 'Get_Job', arguments: { jobId: submitted.jobId } })));
		if (job.status === 'done' || Date.now() > deadline) break;
		await sleep(500);
	}
	expect(job).toMatchObject({ jobId: submitted.jobId, status: 'done' });
	expect(String(job.outputUrl)).toMatch(/^http/);
	expect(generateRequests(sim)).toHaveLength(1);
});

test('each MCP tool call is a run of its own for Max Credits per Execution (600 in the example): two 375-credit 4K calls both go through', async () => {
	sim.clearLog();
	for (const prompt of ['A glacier at dawn', 'A glacier at dusk']) {
		const result = firstItem(resultText(await client.callTool({ name: 'Text_to_Video', arguments: { prompt, resolution: '4k', duration: 8 } })));
		expect(result).toMatchObject({ status: 'accepted', creditCost: 375 });
		expect(result.budgetReached).toBeUndefined();
	}
	expect(generateRequests(sim)).toHaveLength(2);
});
