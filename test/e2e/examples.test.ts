/**
 * Every importable example in examples/ runs in the REAL n8n application (2.41.1, the package installed
 * from its npm-pack tarball) against the simulator, and what it produced is checked against what the
 * simulator saw and served.
 *
 * How the examples are run: they start with a Manual Trigger, as users import them. Here that node is
 * swapped for a Webhook node of the same name and position (scripts/lib/examples.ts, withWebhookStart),
 * so connections and expressions are untouched and one POST to its production URL runs the example;
 * the credential reference (name "Gemini Omni account", placeholder id) is pointed at this n8n's
 * credential. Nothing else changes, except the submitter's Callback URL, whose placeholder host is
 * replaced by this n8n's address, as the example's note asks users to do.
 */
import { startSimulator, type LogEntry, type Simulator } from '../../simulator';
import type { N8nExecution, N8nInstance } from '../../scripts/lib/n8n-instance';
import {
	exampleNode,
	exampleNodesOfType,
	readExample,
	withCredential,
	withNodeParameters,
	withWebhookStart,
	type ExampleWorkflow,
} from '../../scripts/lib/examples';
import {
	GEMINI_OMNI_TRIGGER_NODE_TYPE,
	nodeOutput,
	nodeRuns,
	triggerWebhookPath,
	type CredentialReference,
	type WebhookResponse,
} from '../../scripts/lib/workflows';
import {
	apiRequestsForJob,
	bytesSentForJob,
	createSimulatorCredential,
	expectedOutputSha256,
	generateRequestFor,
	generateRequests,
	sha256,
	sharedN8n,
	sleep,
	storageRequestsForJob,
} from './support';

jest.setTimeout(120_000);

let sim: Simulator;
let n8n: N8nInstance;
let credential: CredentialReference;

beforeAll(async () => {
	// 0.02: a 1080p 8 s clip (60 s nominal) takes 1.2 s, a 4k one 3 s, speech 0.3 s, lip-sync 0.6 s.
	// The trigger's answer gets real-world time (2 s), not 10 s × 0.02: see webhookAnswerTimeoutMs.
	sim = await startSimulator({ timeScale: 0.02, webhookAnswerTimeoutMs: 2_000, ownKeys: true });
	n8n = await sharedN8n();
	credential = await createSimulatorCredential(n8n, sim, { name: 'Gemini Omni account' });
}, 240_000);

afterAll(async () => {
	await n8n?.stop();
	await sim?.close();
});

beforeEach(() => sim.clearLog());

/** Imports an example (credential and start rewritten), activates it, returns its id and start node. */
async function importRunnable(
	example: ExampleWorkflow,
	path: string,
	response: WebhookResponse,
): Promise<{ workflowId: string; startNode: string }> {
	const { workflow, startNode } = withWebhookStart(withCredential(example, credential), { path, response });
	const workflowId = await n8n.createWorkflow(workflow);
	await n8n.activateWorkflow(workflowId);
	return { workflowId, startNode };
}

function expectSuccess(execution: N8nExecution) {
	if (execution.status !== 'success') {
		throw new Error(`Execution ${execution.id} ended ${execution.status}: ${JSON.stringify(execution.data?.resultData?.error)}`);
	}
}

describe('examples/single-video.json', () => {
	it('generates one clip, waits, and returns the MP4 the simulator served, byte for byte', async () => {
		const example = readExample('single-video.json');
		const { workflowId } = await importRunnable(example, 'e2e-example-single-video', {
			mode: 'lastNode',
			data: 'firstEntryBinary',
			binaryPropertyName: 'data',
		});

		const response = await n8n.callWebhook<Buffer>('e2e-example-single-video', {}, { responseType: 'buffer' });
		const execution = await n8n.waitForExecution(workflowId);

		expectSuccess(execution);
		const [item, ...more] = nodeOutput(execution, 'Text to Video');
		expect(more).toEqual([]);
		expect(item.json).toMatchObject({ status: 'done', model: 'gemini-omni-video' });
		const jobId = String(item.json.jobId);
		expect(item.json.outputUrl).toBe(sim.getJob(jobId)?.outputUrl);

		// The request carried the example's settings.
		const exampleParameters = exampleNode(example, 'Text to Video').parameters;
		expect(generateRequests(sim)).toHaveLength(1);
		expect(generateRequestFor(sim, jobId).body).toEqual({
			model: 'gemini-omni-video',
			prompt: exampleParameters.prompt,
			resolution: '1080p',
			duration: 8,
		});

		// The file: what storage sent = what n8n stored = what the webhook answered.
		const bytesSent = await bytesSentForJob(sim, jobId);
		expect(bytesSent).toBeGreaterThan(0);
		expect(item.binary?.data).toMatchObject({ mimeType: 'video/mp4', fileName: `${jobId}.mp4`, bytes: bytesSent });
		expect(response.status).toBe(200);
		expect(response.headers.get('content-type')).toMatch(/^video\/mp4/);
		expect(response.body.length).toBe(bytesSent);
		expect(sha256(response.body)).toBe(await expectedOutputSha256(jobId, 'mp4', bytesSent));

		// Waiting took the generate and a few polls, not a busy loop.
		const polls = apiRequestsForJob(sim, jobId).filter((entry) => entry.method === 'GET');
		expect(polls.length).toBeGreaterThanOrEqual(1);
		expect(polls.length).toBeLessThanOrEqual(3);
	});
});

describe('examples/batch-from-list.json', () => {
	it('turns six rows into six clips, one output item per row in row order, each with its own file', async () => {
		const example = readExample('batch-from-list.json');
		const { workflowId } = await importRunnable(example, 'e2e-example-batch', { mode: 'lastNode', data: 'allEntries' });

		const response = await n8n.callWebhook<Array<Record<string, unknown>>>('e2e-example-batch', {});
		const execution = await n8n.waitForExecution(workflowId, { timeoutMs: 60_000 });

		expectSuccess(execution);
		const rows = nodeOutput(execution, 'Prompt List').map((item) => item.json);
		expect(rows).toHaveLength(6);
		const outputs = nodeOutput(execution, 'Text to Video (Batch)');
		expect(outputs).toHaveLength(rows.length);
		expect(response.status).toBe(200);
		expect(response.body).toEqual(outputs.map((output) => output.json));

		const jobIds = outputs.map((output) => String(output.json.jobId));
		expect(new Set(jobIds).size).toBe(rows.length);
		for (const [index, output] of outputs.entries()) {
			const jobId = jobIds[index];
			expect(output.json).toMatchObject({ status: 'done', model: 'gemini-omni-video' });
			expect(output.pairedItem).toEqual({ item: index });
			// Output i is row i's job: the request that created it carried row i's prompt and resolution.
			expect(generateRequestFor(sim, jobId).body).toMatchObject({ prompt: rows[index].prompt, resolution: rows[index].resolution });
			const bytesSent = await bytesSentForJob(sim, jobId);
			expect(output.binary?.data).toMatchObject({ mimeType: 'video/mp4', fileName: `${jobId}.mp4`, bytes: bytesSent });
		}

		// The order held although the jobs finished in another order (4k takes longer than 720p).
		const completedAt = jobIds.map((jobId) => Date.parse(String(sim.getJob(jobId)?.completedAt)));
		const finishOrder = [...completedAt.keys()].sort((a, b) => completedAt[a] - completedAt[b]);
		expect(finishOrder).not.toEqual([...completedAt.keys()]);

		// Run together, inside the Pro plan's 5 concurrent jobs, with no 429 from the server.
		const inFlight = sim.log.filter((entry) => entry.kind === 'api').map((entry) => entry.inFlight ?? 0);
		expect(Math.max(...inFlight)).toBeGreaterThan(1);
		expect(Math.max(...inFlight)).toBeLessThanOrEqual(5);
		expect(sim.log.filter((entry) => entry.status === 429)).toEqual([]);
		expect(generateRequests(sim)).toHaveLength(rows.length);
	});
});

describe('examples/voice-and-lip-sync.json', () => {
	it('speaks the script, makes the presenter clip, uploads that clip and lip-syncs it', async () => {
		const example = readExample('voice-and-lip-sync.json');
		// v1 order runs the top branch (speech) first, then character → lip-sync: Lip-Sync is the last node.
		const { workflowId } = await importRunnable(example, 'e2e-example-lip-sync', {
			mode: 'lastNode',
			data: 'firstEntryBinary',
			binaryPropertyName: 'data',
		});

		const response = await n8n.callWebhook<Buffer>('e2e-example-lip-sync', {}, { responseType: 'buffer' });
		const execution = await n8n.waitForExecution(workflowId, { timeoutMs: 60_000 });

		expectSuccess(execution);
		const [script] = nodeOutput(execution, 'Script').map((item) => item.json);
		expect(script).toEqual({
			script: expect.stringMatching(/\w/),
			language: expect.stringMatching(/^[a-z]{2}-[A-Z]{2}$/),
			voiceProfile: expect.stringMatching(/\w/),
		});

		// Text to Speech: the script in, an MP3 out.
		const [speech] = nodeOutput(execution, 'Voice-over (Text to Speech)');
		const speechJobId = String(speech.json.jobId);
		expect(speech.json).toMatchObject({ status: 'done', model: 'gemini-omni-audio' });
		expect(generateRequestFor(sim, speechJobId).body).toEqual({ model: 'gemini-omni-audio', ...script });
		const speechBytes = await bytesSentForJob(sim, speechJobId);
		expect(speech.binary?.voiceover).toMatchObject({ mimeType: 'audio/mpeg', fileName: `${speechJobId}.mp3`, bytes: speechBytes });

		// Character → Generate Video: the presenter clip, downloaded into "clip".
		const [character] = nodeOutput(execution, 'Presenter Clip (Character)');
		const characterJobId = String(character.json.jobId);
		expect(character.json).toMatchObject({ status: 'done', model: 'gemini-omni-character' });
		expect(generateRequestFor(sim, characterJobId).body).toMatchObject({
			model: 'gemini-omni-character',
			referenceUrl: exampleNode(example, 'Presenter Clip (Character)').parameters.referenceUrl,
		});
		const clipBytes = await bytesSentForJob(sim, characterJobId);
		expect(character.binary?.clip).toMatchObject({ mimeType: 'video/mp4', bytes: clipBytes });

		// Lip-Sync: that very clip uploaded (same size, same SHA-256 as the file storage served)...
		const uploads = sim.log.filter((entry) => entry.kind === 'upload');
		expect(uploads.map((entry) => entry.status)).toEqual([200]);
		const [upload] = uploads as Array<LogEntry & { upload: NonNullable<LogEntry['upload']> }>;
		expect(upload.upload).toMatchObject({ size: clipBytes, mimeType: 'video/mp4' });
		expect(upload.upload.sha256).toBe(await expectedOutputSha256(characterJobId, 'mp4', clipBytes));

		// ...and the lip-sync request carries the uploaded clip's URL and the script.
		const [lipSync] = nodeOutput(execution, 'Lip-Sync');
		const lipSyncJobId = String(lipSync.json.jobId);
		expect(lipSync.json).toMatchObject({ status: 'done', model: 'gemini-omni-audio' });
		const lipSyncRequest = generateRequestFor(sim, lipSyncJobId);
		expect(lipSyncRequest.seq).toBeGreaterThan(upload.seq);
		expect(lipSyncRequest.body).toEqual({ model: 'gemini-omni-audio', ...script, videoUrl: expect.any(String) });
		const videoUrl = new URL(String(lipSyncRequest.body.videoUrl));
		expect(videoUrl.origin).toBe(sim.url);
		expect(videoUrl.pathname).toMatch(/^\/r2\/uploads\//);

		// The synced clip: an MP4 in "data", the same bytes storage sent, answered by the webhook.
		const lipSyncBytes = await bytesSentForJob(sim, lipSyncJobId);
		expect(lipSync.binary?.data).toMatchObject({ mimeType: 'video/mp4', fileName: `${lipSyncJobId}.mp4`, bytes: lipSyncBytes });
		expect(response.status).toBe(200);
		expect(response.body.length).toBe(lipSyncBytes);
		expect(sha256(response.body)).toBe(await expectedOutputSha256(lipSyncJobId, 'mp4', lipSyncBytes));

		// Last, as it adds to the log: the URL the lip-sync job got serves the uploaded clip.
		const fetched = await fetch(videoUrl);
		expect(fetched.status).toBe(200);
		expect(sha256(Buffer.from(await fetched.arrayBuffer()))).toBe(upload.upload.sha256);
	});
});

describe('examples/submit-with-callback.json + examples/trigger-on-completion.json', () => {
	it('the submitter returns the accepted job at once; the completion callback starts the trigger workflow with the file', async () => {
		const triggerExample = readExample('trigger-on-completion.json');
		const [trigger] = exampleNodesOfType(triggerExample, GEMINI_OMNI_TRIGGER_NODE_TYPE);
		const triggerUrl = n8n.webhookUrl(triggerWebhookPath(String(trigger.webhookId)));

		// The submitter's placeholder URL is this trigger's production path: only the host is the user's.
		const submitter = readExample('submit-with-callback.json');
		const placeholder = new URL(String(exampleNode(submitter, 'Submit Text to Video').parameters.options.callbackUrl));
		expect(placeholder.pathname).toBe(new URL(triggerUrl).pathname);

		const triggerWorkflowId = await n8n.createWorkflow(withCredential(triggerExample, credential));
		await n8n.activateWorkflow(triggerWorkflowId);
		const runnableSubmitter = withNodeParameters(submitter, 'Submit Text to Video', (parameters) => ({
			...parameters,
			options: { ...parameters.options, callbackUrl: triggerUrl },
		}));
		const { workflowId: submitterWorkflowId } = await importRunnable(runnableSubmitter, 'e2e-example-submitter', {
			mode: 'lastNode',
			data: 'firstEntryJson',
		});

		const response = await n8n.callWebhook<Record<string, unknown>>('e2e-example-submitter', {});
		const submitted = await n8n.waitForExecution(submitterWorkflowId);

		// Workflow 1: one request, the accepted job, no waiting.
		expectSuccess(submitted);
		expect(response.status).toBe(200);
		const jobId = String(response.body.jobId);
		expect(response.body).toMatchObject({ jobId, status: 'accepted', estimatedSeconds: expect.any(Number) });
		expect(nodeOutput(submitted, 'Submit Text to Video').map((item) => item.json)).toEqual([response.body]);
		expect(generateRequestFor(sim, jobId).body).toMatchObject({ callbackUrl: triggerUrl });
		expect(apiRequestsForJob(sim, jobId)).toHaveLength(1);

		// Workflow 2: started by the simulator's signed callback when the job ended.
		const triggered = await n8n.waitForExecution(triggerWorkflowId, { timeoutMs: 30_000 });
		expectSuccess(triggered);
		const [event, ...moreEvents] = nodeOutput(triggered, 'Gemini Omni Trigger');
		expect(moreEvents).toEqual([]);
		expect(event.json).toMatchObject({
			event: 'job.completed',
			jobId,
			status: 'done',
			model: 'gemini-omni-video',
			outputUrl: sim.getJob(jobId)?.outputUrl,
		});
		const bytesSent = await bytesSentForJob(sim, jobId);
		expect(event.binary?.data).toMatchObject({ mimeType: 'video/mp4', fileName: `${jobId}.mp4`, bytes: bytesSent });
		expect(nodeOutput(triggered, 'Use the Video').map((item) => item.json.jobId)).toEqual([jobId]);
		expect(nodeRuns(triggered, 'Handle the Failure')).toEqual([]);

		// The simulator records the answer when it has read it, which can come after the run it started
		// was saved on a busy machine: wait for the record to settle (an answer or an error) first.
		const settleBy = Date.now() + 15_000;
		while (sim.webhookDeliveries.some((delivery) => delivery.jobId === jobId && delivery.status === undefined && !delivery.error) && Date.now() < settleBy) {
			await sleep(100);
		}
		const deliveries = sim.webhookDeliveries.filter((delivery) => delivery.jobId === jobId);
		expect(deliveries.map(({ url, status, event: name, error }) => ({ url, status, name, error }))).toEqual([
			{ url: triggerUrl, status: 200, name: 'job.completed', error: undefined },
		]);
		// Nobody polled: the generate was the job's only API request; one download.
		expect(apiRequestsForJob(sim, jobId)).toHaveLength(1);
		expect(storageRequestsForJob(sim, jobId)).toHaveLength(1);
		expect(await n8n.listExecutions(triggerWorkflowId)).toHaveLength(1);
	});
});
