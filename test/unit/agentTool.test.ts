/**
 * What a tool call returns to a model (actions/agentTool.ts): the small JSON of a job, of a failure and
 * of a cap refusal, and how a request is changed for a tool call. The e2e tests (ai-agent, mcp) show
 * the same through the real AI Agent and MCP Server Trigger (the cap refusal among them); these cover
 * the cases they do not reach.
 */
import type { IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { agentResult, requestForAgent } from '../../nodes/GeminiOmni/actions/agentTool';
import { ItemJobError, type JobRequest } from '../../nodes/GeminiOmni/scheduler';

const node = { id: 'n1', name: 'Text to Video', type: 'n8n-nodes-gemini-omni.geminiOmniTool', typeVersion: 1, position: [0, 0] as [number, number], parameters: {} };

/** Only what requestForAgent reads: the node and its tool parameters. */
function toolContext(parameters: Record<string, unknown>): IExecuteFunctions {
	return {
		getNode: () => node,
		getNodeParameter: (name: string, _itemIndex: number, fallback?: unknown) => (name in parameters ? parameters[name] : fallback),
	} as unknown as IExecuteFunctions;
}

const download = { binaryPropertyName: 'data', maxBytes: 2048 * 1048576, databaseLimitBytes: 512 * 1048576 };

describe('agentResult', () => {
	it('keeps what a model uses of a done job, drops the rest, and sums it up in a line', () => {
		const job = {
			jobId: 'job_1',
			status: 'done',
			model: 'gemini-omni-video',
			creditCost: 150,
			outputUrl: 'https://storage.example/job_1.mp4?sig=abc',
			expiresAt: '2026-12-11T10:00:00.000Z',
			completedAt: '2026-12-04T10:00:00.000Z',
			createdAt: '2026-12-04T09:59:00.000Z',
			prompt: 'x'.repeat(5000),
		};
		const { json, binary, pairedItem } = agentResult({ ok: true, result: { json: job } }, 2);
		expect(Object.keys(json)).toEqual(['jobId', 'status', 'model', 'creditCost', 'outputUrl', 'expiresAt', 'summary']);
		expect(json.summary).toBe('Video job job_1 is done (150 credits); its file is at outputUrl until 2026-12-11T10:00:00.000Z.');
		expect(binary).toBeUndefined();
		expect(pairedItem).toEqual({ item: 2 });
	});

	it('tells how long a running job should take and that it can be checked later', () => {
		const { json } = agentResult({ ok: true, result: { json: { jobId: 'job_2', status: 'accepted', model: 'gemini-omni-audio', creditCost: 12, estimatedSeconds: 15 } } }, 0);
		expect(json.summary).toBe('Audio job job_2 is accepted (12 credits); it should take about 15 s. Check it later with its jobId.');
	});

	it('describes an attached file by name, type and size, not by its bytes', () => {
		const file = { data: 'AAAA', fileName: 'job_3.mp4', mimeType: 'video/mp4', fileSize: '256 kB', id: 'filesystem-v2:x' };
		const { json, binary } = agentResult({ ok: true, result: { json: { jobId: 'job_3', status: 'done', model: 'gemini-omni-video' }, binary: { data: file } } }, 0);
		expect(json.file).toEqual({ fileName: 'job_3.mp4', mimeType: 'video/mp4', fileSize: '256 kB' });
		expect(JSON.stringify(json)).not.toContain('AAAA');
		expect(binary?.data).toBe(file);
		expect(String(json.summary)).toContain('attached');
	});

	it('turns a failure after acceptance into a result naming the job, without the API key', () => {
		const key = 'gomni_' + 'a'.repeat(64);
		const error = new ItemJobError(new NodeOperationError(node, `Job job_4 failed: upstream said ${key}`), { jobId: 'job_4', status: 'failed', model: 'gemini-omni-video' });
		const { json } = agentResult({ ok: false, error }, 0);
		expect(json).toMatchObject({ jobId: 'job_4', status: 'failed' });
		expect(String(json.error)).toContain('Job job_4 failed');
		expect(JSON.stringify(json)).not.toContain(key);
		expect(String(json.summary)).toContain('check it with its jobId before submitting again');
	});

	it('says nothing was spent when the call failed before any job', () => {
		const { json } = agentResult({ ok: false, error: new ItemJobError(new NodeOperationError(node, 'Prompt is empty'), {}) }, 0);
		expect(json).toEqual({ error: 'Prompt is empty', summary: 'The call failed before any job was accepted: nothing was spent.' });
	});
});

describe('requestForAgent', () => {
	const request: JobRequest = {
		body: { model: 'gemini-omni-video', prompt: 'p' },
		maxWaitMs: 60_000,
		callback: true,
		loop: true,
		fingerprint: 'f',
		download,
	};

	it('waits by polling, never reuses an earlier job, and downloads nothing by default', () => {
		const adapted = requestForAgent(toolContext({}), request, 0);
		expect(adapted).toMatchObject({ body: request.body, maxWaitMs: 60_000 });
		expect(adapted.callback).toBeUndefined();
		expect(adapted.loop).toBeUndefined();
		expect(adapted.fingerprint).toBeUndefined();
		expect(adapted.download).toBeUndefined();
	});

	it('with Return Output File, downloads up to Max File Size (MiB), and a larger output is a note', () => {
		const adapted = requestForAgent(toolContext({ agentOutputFile: true, agentMaxFileSizeMb: 5 }), request, 0);
		expect(adapted.download).toEqual({ ...download, maxBytes: 5 * 1048576, overLimit: 'note' });
	});

	it('falls back to 50 MiB for a size that is not a positive number, and never above Max Output Size', () => {
		expect(requestForAgent(toolContext({ agentOutputFile: true, agentMaxFileSizeMb: 'lots' }), request, 0).download?.maxBytes).toBe(50 * 1048576);
		const small = { ...request, download: { ...download, maxBytes: 10 * 1048576 } };
		expect(requestForAgent(toolContext({ agentOutputFile: true, agentMaxFileSizeMb: 40 }), small, 0).download?.maxBytes).toBe(10 * 1048576);
	});

	it('leaves a request without a download (Wait off, Job → Get) without one', () => {
		const { download: _omit, ...noDownload } = request;
		expect(requestForAgent(toolContext({ agentOutputFile: true }), noDownload, 0).download).toBeUndefined();
	});
});
