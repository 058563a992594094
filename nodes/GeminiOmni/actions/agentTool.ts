/**
 * The node as an AI agent's tool ("Gemini Omni Tool", which n8n makes of every `usableAsTool` node).
 * A model reads text only, and n8n hands it the JSON of the tool's output items (n8n 2.41: the AI Agent's
 * buildSteps, and the MCP Server Trigger's tool call, both keep `json` and drop `binary`). So a tool call
 * returns one small JSON object per call: the job, where its file is, a one-line summary, never an
 * error thrown at the agent (a refusal is a result the model can read and act on).
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { ItemOutcome, JobRequest } from '../scheduler';
import { creditCapRefusalOf } from '../scheduler';
import { redactSecrets } from '../transport/apiKey';

/** n8n names the tool variant of a node type `<type>Tool` and runs the same execute(). */
export function isAgentToolCall(ctx: IExecuteFunctions): boolean {
	return ctx.getNode().type.endsWith('Tool');
}

/** What n8n lets an AI Agent pass to a model as a file (N8N_AI_AGENT_MAX_PASSTHROUGH_BINARY_SIZE_BYTES's default). */
export const AGENT_FILE_LIMIT_MB = 50;

const COMMON =
	' Returns JSON: jobId, status, creditCost, outputUrl (a signed link to the file, valid 7 days), expiresAt and a one-line summary.' +
	' A job still running can be checked later with its jobId (the Gemini Omni Job → Get tool).' +
	' A result with "error" cost nothing more; "budgetReached": true means the spending cap of this run is used up: tell the user instead of calling again.';
const VIDEO_COST = ' Its credit cost grows with resolution (720p, 1080p, 4K) and duration (4 to 16 seconds); a job takes about a minute, longer at 4K.';

/** What the model is told each operation does (n8n's "Description" of the tool, editable per node). */
const TOOL_DESCRIPTIONS: Record<string, Record<string, string>> = {
	video: {
		textToVideo: `Generates a video clip from a text prompt (what it shows: subject, action, setting, camera, style).${VIDEO_COST}${COMMON}`,
		imageToVideo: `Animates a first-frame image (given by URL) into a video clip guided by a text prompt.${VIDEO_COST}${COMMON}`,
	},
	character: {
		generateVideo: `Generates a video of one consistent character, from a reference photo (URL) and a text prompt of what the character does.${VIDEO_COST}${COMMON}`,
	},
	audio: {
		textToSpeech: `Turns a script into spoken audio (MP3) in a chosen voice. Its cost grows with the script's length; it takes seconds to a minute.${COMMON}`,
		lipSync: `Makes a character clip (video URL) speak a script, lips in sync. Its cost grows with the script's length; it takes about a minute.${COMMON}`,
	},
	job: {
		get: 'Gets the current state of a Gemini Omni job by its jobId (no waiting, costs nothing): status (accepted, generating, done, failed), creditCost, and when done its outputUrl and expiresAt.',
		wait: 'Waits until a Gemini Omni job (by jobId) is done or failed and returns it, with its outputUrl when done. Costs nothing.',
		downloadOutput: 'Returns a done Gemini Omni job (by jobId) with its outputUrl and expiresAt. Costs nothing.',
	},
	file: {
		upload: 'Uploads the file of the input item to Gemini Omni and returns its URL for use in a job.',
	},
};

/**
 * The tool's "Description", first as n8n places its own. n8n adds that field to a tool unless the node
 * has one: ours says, per operation, what a model needs to know (cost drivers, time, checking back later).
 */
export function toolDescriptionProperties(): INodeProperties[] {
	return Object.entries(TOOL_DESCRIPTIONS).flatMap(([resource, operations]) =>
		Object.entries(operations).map(([operation, text]) => ({
			displayName: 'Description',
			name: 'toolDescription',
			type: 'string',
			typeOptions: { rows: 4 },
			required: true,
			default: text,
			displayOptions: { show: { '@tool': [true], resource: [resource], operation: [operation] } },
			description: 'What the model is told this tool does, costs and returns',
		})),
	);
}

/** Tool-only: whether (and up to what size) the finished file is attached to the tool's output. */
export function agentFileProperties(): INodeProperties[] {
	return [
		{
			displayName: 'Return Output File',
			name: 'agentOutputFile',
			type: 'boolean',
			default: false,
			displayOptions: { show: { '@tool': [true] }, hide: { resource: ['file'], operation: ['get'] } },
			description:
				'Whether to attach the finished file to the tool’s output (kept with the run; the model itself reads only the JSON). Off: the model gets the outputUrl.',
		},
		{
			displayName: 'Max File Size (MiB)',
			name: 'agentMaxFileSizeMb',
			type: 'number',
			default: AGENT_FILE_LIMIT_MB,
			typeOptions: { minValue: 1, numberPrecision: 0 },
			displayOptions: { show: { '@tool': [true], agentOutputFile: [true] }, hide: { resource: ['file'], operation: ['get'] } },
			hint: 'n8n passes files to a model up to 50 MiB by default (N8N_AI_AGENT_MAX_PASSTHROUGH_BINARY_SIZE_BYTES)',
			description: 'A larger output is not downloaded: the result says so and gives its outputUrl',
		},
	];
}

/**
 * A tool call waits by polling (a callback or loop wait would pause or split the agent's run), never
 * reuses an earlier call's job (an agent calling again wants a new clip), and downloads only when
 * Return Output File is on, up to its size, where a larger file is a note rather than a failure.
 */
export function requestForAgent(ctx: IExecuteFunctions, request: JobRequest, itemIndex: number): JobRequest {
	const adapted: JobRequest = { ...request, callback: undefined, loop: undefined, fingerprint: undefined };
	if (!request.download) return adapted;
	const attach = ctx.getNodeParameter('agentOutputFile', itemIndex, false) === true;
	if (!attach) return { ...adapted, download: undefined };
	const megabytes = Number(ctx.getNodeParameter('agentMaxFileSizeMb', itemIndex, AGENT_FILE_LIMIT_MB));
	const maxBytes = (Number.isFinite(megabytes) && megabytes > 0 ? megabytes : AGENT_FILE_LIMIT_MB) * 1024 * 1024;
	return { ...adapted, download: { ...request.download, maxBytes: Math.min(maxBytes, request.download.maxBytes), overLimit: 'note' } };
}

const KIND_BY_MODEL: Record<string, string> = {
	'gemini-omni-video': 'Video',
	'gemini-omni-character': 'Character video',
	'gemini-omni-audio': 'Audio',
};

/** The fields a model can use, in a fixed order; everything else of the job stays out. */
const AGENT_FIELDS = ['jobId', 'status', 'model', 'creditCost', 'estimatedSeconds', 'outputUrl', 'expiresAt', 'reused', 'error', 'outputNote'];

/** One tool call's result: small JSON (and the file, when asked and small enough). */
export function agentResult(outcome: ItemOutcome, itemIndex: number): INodeExecutionData {
	if (!outcome.ok) return { json: agentError(outcome.error.cause, outcome.error.context), pairedItem: { item: itemIndex } };
	const job = outcome.result.json;
	const json: IDataObject = {};
	for (const field of AGENT_FIELDS) if (job[field] !== undefined && job[field] !== null) json[field] = job[field];
	const binary = outcome.result.binary;
	const file = binary ? Object.values(binary)[0] : undefined;
	if (file) json.file = { fileName: file.fileName, mimeType: file.mimeType, fileSize: file.fileSize };
	json.summary = summaryOf(json);
	return { json, ...(binary ? { binary } : {}), pairedItem: { item: itemIndex } };
}

function summaryOf(job: IDataObject): string {
	const kind = KIND_BY_MODEL[String(job.model)] ?? 'Job';
	const credits = job.creditCost !== undefined ? ` (${String(job.creditCost)} credits)` : '';
	const id = String(job.jobId ?? '');
	if (job.status === 'done') {
		const until = job.expiresAt ? ` until ${String(job.expiresAt)}` : ' for 7 days';
		const attached = job.file ? ' The file is attached to this tool’s output.' : job.outputNote ? ` ${String(job.outputNote)}` : '';
		return `${kind} job ${id} is done${credits}; its file is at outputUrl${until}.${attached}`;
	}
	if (job.status === 'failed') return `${kind} job ${id} failed: ${String(job.error ?? 'no reason given')}. It cost nothing.`;
	const eta = job.estimatedSeconds !== undefined ? `; it should take about ${String(job.estimatedSeconds)} s` : '';
	return `${kind} job ${id} is ${String(job.status)}${credits}${eta}. Check it later with its jobId.`;
}

/** A failed call as a result: what went wrong, the job if there is one, and for the cap the figures. */
function agentError(error: Error, context: IDataObject): IDataObject {
	const refusal = creditCapRefusalOf(error);
	if (refusal) {
		const { cap, accepted, cost, kind } = refusal;
		return {
			error: `Budget of ${cap} credits reached: ${accepted} used in this run, so this job was not submitted${cost !== undefined ? ` (a ${kind} job costs ${cost})` : ''}.`,
			budgetReached: true,
			creditsUsed: accepted,
			creditsCap: cap,
			summary: 'Nothing was submitted and nothing was spent. Do not call paid Gemini Omni tools again in this run; tell the user the budget is used up.',
		};
	}
	const json: IDataObject = { error: redactSecrets(error.message) };
	for (const field of ['jobId', 'status', 'model', 'creditCost', 'outputUrl']) if (context[field] !== undefined) json[field] = context[field];
	json.summary = context.jobId
		? `The call failed after job ${String(context.jobId)} was accepted; check it with its jobId before submitting again.`
		: 'The call failed before any job was accepted: nothing was spent.';
	return json;
}
