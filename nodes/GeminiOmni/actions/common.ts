/**
 * Parameters shared by several operations, and the readers that turn them into a JobRequest.
 * Every value set has an "Other" entry so any value (or an expression) can be sent: the server is
 * the judge, and its 400 message reaches the user.
 */
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError, updateDisplayOptions } from 'n8n-workflow';

import { DATABASE_BINARY_LIMIT_MB, downloadSettings } from '../helpers/binary';
import { DEFAULT_CHECK_INTERVAL_SECONDS } from '../scheduler/poller';
import type { DownloadSettings, MediaKind } from '../helpers/binary';
import type { BinaryUpload, JobRequest } from '../scheduler';

export const OTHER = 'other';

export function promptProperty(): INodeProperties {
	return {
		displayName: 'Prompt',
		name: 'prompt',
		type: 'string',
		typeOptions: { rows: 4 },
		required: true,
		default: '',
		placeholder: 'e.g. A lone lighthouse on a rocky cliff, storm waves crashing below, cinematic wide shot',
		description: 'What the video should show: subject, action, setting, camera and style',
	};
}

export function videoSettingsProperties(): INodeProperties[] {
	return [
		{
			displayName: 'Resolution',
			name: 'resolution',
			type: 'options',
			options: [
				{ name: '720p', value: '720p' },
				{ name: '1080p', value: '1080p' },
				{ name: '4K', value: '4k', description: 'Largest files (hundreds of MB for a clip)' },
				{ name: 'Other (Type It Below)', value: OTHER, description: 'Send a value this list does not have yet' },
			],
			default: '1080p',
			description: 'Output resolution. The accepted job reports its credit cost (creditCost).',
		},
		{
			displayName: 'Custom Resolution',
			name: 'customResolution',
			type: 'string',
			default: '',
			placeholder: 'e.g. 1440p',
			displayOptions: { show: { resolution: [OTHER] } },
			description: 'Sent as is; the API answers with a clear error when it does not support it',
		},
		{
			displayName: 'Duration (Seconds)',
			name: 'duration',
			type: 'number',
			default: 8,
			typeOptions: { minValue: 4, maxValue: 16, numberPrecision: 0 },
			description: 'Length of the clip in whole seconds, from 4 to 16',
		},
	];
}

export function mediaInputProperties(
	field: string,
	label: string,
	kind: MediaKind,
	description: string,
): INodeProperties[] {
	const source = `${field}Source`;
	const types = kind === 'image' ? 'JPEG, PNG or WebP' : 'MP4';
	return [
		{
			displayName: `${label} Source`,
			name: source,
			type: 'options',
			options: [
				{ name: 'URL', value: 'url', description: 'A public URL the API can fetch' },
				{
					name: 'Binary File',
					value: 'binary',
					description: 'A file of the input item; it is uploaded to Gemini Omni first (one extra request)',
				},
			],
			default: 'url',
			description,
		},
		{
			displayName: `${label} URL`,
			name: field,
			type: 'string',
			required: true,
			default: '',
			placeholder: kind === 'image' ? 'https://example.com/frame.jpg' : 'https://example.com/character.mp4',
			displayOptions: { show: { [source]: ['url'] } },
			description: `URL of the ${types} file, for example the URL returned by File → Upload`,
		},
		{
			displayName: 'Input Binary Field',
			name: `${field}BinaryProperty`,
			type: 'string',
			required: true,
			default: 'data',
			displayOptions: { show: { [source]: ['binary'] } },
			hint: `The name of the input binary field containing the ${label.toLowerCase()} (${types})`,
		},
	];
}

export function waitProperties(): INodeProperties[] {
	return [
		{
			displayName: 'Wait for Completion',
			name: 'waitForCompletion',
			type: 'boolean',
			default: true,
			// Decides the node's outputs (the loop has two), which n8n reads from the raw value.
			noDataExpression: true,
			description:
				'Whether to wait until the job is done. Off: return the accepted job (jobId, status, creditCost, estimatedSeconds) at once. On: check it when its estimate says it is ready, then back off.',
		},
		{
			displayName: 'Wait Mode',
			name: 'waitMode',
			type: 'options',
			noDataExpression: true,
			options: [
				{
					name: 'Poll',
					value: 'poll',
					description: 'Check the job when its estimate says it is ready, then back off. Works for batches.',
				},
				{
					name: 'Callback (No Polling)',
					value: 'callback',
					description: 'Pause until the job’s signed callback resumes the run. One item per run.',
				},
				{
					name: 'Loop Through a Wait Node',
					value: 'loop',
					description:
						'Return at once: finished jobs leave by "Done", the rest by "Still Running" for a Wait node that feeds them back. Holds no worker while jobs run; survives restarts.',
				},
			],
			default: 'poll',
			displayOptions: { show: { waitForCompletion: [true] }, hide: { '@tool': [true] } },
			description: 'How to learn that the job has finished',
		},
		{
			displayName:
				'Callback needs: the Webhook Signing Secret in the credential (to verify the callback), and this n8n reachable from the internet with N8N_WEBHOOK_URL (or WEBHOOK_URL) set to its public URL. One item per run: for batches use Poll, or Loop Over Items.',
			name: 'callbackNotice',
			type: 'notice',
			default: '',
			displayOptions: { show: { waitForCompletion: [true], waitMode: ['callback'] }, hide: { '@tool': [true] } },
		},
		{
			displayName:
				'Connect "Still Running" to a Wait node (Resume: At Specified Time, Date and Time: {{ $json.checkAt }}) and the Wait node back into this node. Each pass checks the jobs that are due and submits what the plan’s job slots allow; passes are at least 70 s apart, so n8n frees the worker between them.',
			name: 'loopNotice',
			type: 'notice',
			default: '',
			displayOptions: { show: { waitForCompletion: [true], waitMode: ['loop'] }, hide: { '@tool': [true] } },
		},
		{
			displayName: 'Download Output',
			name: 'downloadOutput',
			type: 'boolean',
			default: true,
			displayOptions: { show: { waitForCompletion: [true] }, hide: { '@tool': [true] } },
			description: 'Whether to stream the finished file into a binary field of the output item',
		},
		{
			displayName: 'Put Output File in Field',
			name: 'binaryPropertyName',
			type: 'string',
			default: 'data',
			displayOptions: { show: { waitForCompletion: [true], downloadOutput: [true] }, hide: { '@tool': [true] } },
			hint: 'The name of the output binary field to put the file in',
			description: 'The file is named after the job ID, e.g. job_abc123.mp4 or job_abc123.mp3',
		},
	];
}

/** The node cannot read n8n's settings: where n8n keeps binaries in its database, it takes the limit from here. */
export const DATABASE_LIMIT_OPTION: INodeProperties = {
	displayName: 'Database Binary Limit (MiB)',
	name: 'databaseBinaryLimitMb',
	type: 'number',
	default: DATABASE_BINARY_LIMIT_MB,
	typeOptions: { minValue: 1, maxValue: 1024, numberPrecision: 0 },
	hint: "Only used when n8n stores binaries in its database (queue mode's default); keep it equal to N8N_BINARY_DATA_DATABASE_MAX_FILE_SIZE",
	description: 'A larger output is refused before its download starts, with the settings that would store it',
};

export function optionsCollection(extra: INodeProperties[] = []): INodeProperties {
	return {
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Callback URL',
				name: 'callbackUrl',
				type: 'string',
				default: '',
				placeholder: 'https://n8n.example.com/webhook/…',
				description:
					'Gemini Omni POSTs a signed job.completed or job.failed event here when the job ends, e.g. the production URL of a Gemini Omni Trigger',
			},
			{
				displayName: 'Check Interval Near Estimate (Seconds)',
				name: 'checkIntervalSeconds',
				type: 'number',
				default: DEFAULT_CHECK_INTERVAL_SECONDS,
				typeOptions: { minValue: 0.2, numberPrecision: 1 },
				hint: 'Lower finds finished jobs sooner and spends more of the plan’s requests: 2.5 is seen done within about 1.4 s on average',
				description:
					'Wait Mode "Poll" and Job → Wait (taken from the first item): how often a job is checked while it can be ending, from about half its estimate to twice it (between a thirtieth and a quarter of the estimate). Before that nothing is checked; after, checks back off up to once a minute.',
			},
			{
				displayName: 'Max Concurrent Jobs',
				name: 'maxConcurrentJobs',
				type: 'number',
				default: 0,
				typeOptions: { minValue: 0, numberPrecision: 0 },
				hint: '0 means the plan’s limit (Pro 5, Premium 10)',
				description:
					'Run at most this many jobs of this node at once. Without waiting, a job counts for its estimated run time.',
			},
			{
				displayName: 'Max Credits per Execution',
				name: 'maxCreditsPerExecution',
				type: 'number',
				default: 0,
				typeOptions: { minValue: 0, numberPrecision: 0 },
				hint: '0 means no cap. The credits an execution got accepted are shown with it in n8n (custom data geminiOmniCredits).',
				description:
					'Never submit a job that could take the credits this execution got accepted past this number. Items not submitted end with an error that says so; they cost nothing.',
			},
			{
				displayName: 'Max Output Size (MiB)',
				name: 'maxOutputSizeMb',
				type: 'number',
				default: 2048,
				description: 'Refuse to download outputs larger than this: the item fails with an error naming the job, whose outputUrl stays valid for 7 days',
			},
			DATABASE_LIMIT_OPTION,
			{
				displayName: 'Max Wait (Minutes)',
				name: 'maxWaitMinutes',
				type: 'number',
				default: 30,
				description:
					'How long to wait for a job before giving up with an error that names the job ID (the job keeps running: use Job → Wait later)',
			},
			{
				displayName: 'Reuse Paid Jobs on Retry',
				name: 'reusePaidJobs',
				type: 'boolean',
				default: true,
				hint: 'Turn off to get a fresh variation of the same prompt on every run',
				description:
					'Whether a run again with the same request (a Retry of a failed execution, Retry On Fail, a re-run in the editor) takes the job an earlier run of this node paid for, while it runs or its output is kept (7 days), instead of paying again. A failed job is submitted again (it cost nothing).',
			},
			...extra,
		],
	};
}

/** The Options collection with only some of its entries, for operations that need fewer. */
export function optionsSubset(names: string[]): INodeProperties {
	const collection = optionsCollection();
	return { ...collection, options: (collection.options as INodeProperties[]).filter((option) => names.includes(option.name)) };
}

export function readOptions(this: IExecuteFunctions, itemIndex: number): IDataObject {
	return this.getNodeParameter('options', itemIndex, {}) as IDataObject;
}

/** A string parameter that must not be empty, with a message that names it. */
export function requiredString(this: IExecuteFunctions, name: string, label: string, itemIndex: number): string {
	const value = String(this.getNodeParameter(name, itemIndex, '') ?? '').trim();
	if (!value) throw new NodeOperationError(this.getNode(), `${label} is empty`, { itemIndex });
	return value;
}

/** An options parameter with an "Other" entry: the chosen value or the typed one. */
export function choiceOrOther(this: IExecuteFunctions, name: string, customName: string, itemIndex: number): string {
	const chosen = String(this.getNodeParameter(name, itemIndex, '') ?? '').trim();
	if (chosen !== OTHER) return chosen;
	return String(this.getNodeParameter(customName, itemIndex, '') ?? '').trim();
}

export function readVideoSettings(this: IExecuteFunctions, itemIndex: number): IDataObject {
	const settings: IDataObject = {};
	const resolution = choiceOrOther.call(this, 'resolution', 'customResolution', itemIndex);
	if (resolution) settings.resolution = resolution;
	const duration = this.getNodeParameter('duration', itemIndex, 8) as unknown;
	if (duration !== '' && duration !== null && duration !== undefined) settings.duration = readDuration.call(this, duration, itemIndex);
	return settings;
}

/**
 * Duration must be a whole number of seconds (an expression can give anything): refused here with a
 * clear message rather than sent as null. The range (4–16) is the editor's limit; the server judges
 * an expression's out-of-range value and its 400 message reaches the user.
 */
function readDuration(this: IExecuteFunctions, value: unknown, itemIndex: number): number {
	const seconds = typeof value === 'number' ? value : Number(String(value).trim());
	if (!Number.isInteger(seconds)) {
		throw new NodeOperationError(this.getNode(), `Duration must be a whole number of seconds from 4 to 16, not "${String(value)}"`, {
			itemIndex,
			description: 'Set Duration (Seconds) to a number such as 8, or an expression that gives one. Nothing was submitted for this item.',
		});
	}
	return seconds;
}

/** A URL field, or a binary to upload whose URL the scheduler puts in that field. */
export function readMediaInput(
	this: IExecuteFunctions,
	field: string,
	label: string,
	kind: MediaKind,
	itemIndex: number,
	body: IDataObject,
	uploads: BinaryUpload[],
): void {
	const source = this.getNodeParameter(`${field}Source`, itemIndex, 'url') as string;
	if (source === 'binary') {
		const binaryPropertyName = requiredString.call(this, `${field}BinaryProperty`, `${label}: Input Binary Field`, itemIndex);
		uploads.push({ field, binaryPropertyName, kind });
	} else {
		body[field] = requiredString.call(this, field, `${label} URL`, itemIndex);
	}
}

/** Adds the shared options (callback, wait, download) to a generate request. */
export function withWaitAndOptions(this: IExecuteFunctions, itemIndex: number, request: JobRequest): JobRequest {
	const options = readOptions.call(this, itemIndex);
	if (options.callbackUrl) request.body = { ...request.body, callbackUrl: String(options.callbackUrl).trim() };
	return { ...request, ...readWaitSettings.call(this, itemIndex, options) };
}

export function readWaitSettings(
	this: IExecuteFunctions,
	itemIndex: number,
	options = readOptions.call(this, itemIndex),
	alwaysWait = false,
): Pick<JobRequest, 'maxWaitMs' | 'download' | 'callback' | 'loop'> {
	const wait = alwaysWait || (this.getNodeParameter('waitForCompletion', itemIndex, true) as boolean);
	if (!wait) return {};
	const maxWaitMinutes = Number(options.maxWaitMinutes ?? 30);
	const settings: Pick<JobRequest, 'maxWaitMs' | 'download' | 'callback' | 'loop'> = {
		maxWaitMs: Math.max(0, (Number.isFinite(maxWaitMinutes) ? maxWaitMinutes : 30) * 60_000),
	};
	const waitMode = alwaysWait ? 'poll' : this.getNodeParameter('waitMode', itemIndex, 'poll');
	if (waitMode === 'callback') settings.callback = true;
	if (waitMode === 'loop') settings.loop = true;
	if (this.getNodeParameter('downloadOutput', itemIndex, true) as boolean) {
		settings.download = readDownloadSettings.call(this, itemIndex, options);
	}
	return settings;
}

/** Where to put the output file, and the largest file to download. */
export function readDownloadSettings(this: IExecuteFunctions, itemIndex: number, options = readOptions.call(this, itemIndex)): DownloadSettings {
	return downloadSettings(this.getNodeParameter('binaryPropertyName', itemIndex, 'data'), options.maxOutputSizeMb, options.databaseBinaryLimitMb);
}

/**
 * Item i → a video job from a prompt and an image (a first frame or a reference photo, as a URL or a
 * binary uploaded first), with the resolution, duration, wait and download settings.
 */
function readPromptAndImageRequest(
	this: IExecuteFunctions,
	itemIndex: number,
	model: string,
	imageField: string,
	imageLabel: string,
): JobRequest {
	const body: IDataObject = { model, prompt: requiredString.call(this, 'prompt', 'Prompt', itemIndex) };
	const uploads: BinaryUpload[] = [];
	readMediaInput.call(this, imageField, imageLabel, 'image', itemIndex, body, uploads);
	Object.assign(body, readVideoSettings.call(this, itemIndex));
	return withWaitAndOptions.call(this, itemIndex, { body, uploads });
}

export interface PromptAndImageOperation {
	resource: string;
	operation: string;
	model: string;
	/** The request field the image's URL goes in, its label and its hint in the editor. */
	imageField: string;
	imageLabel: string;
	imageHint: string;
	promptPlaceholder?: string;
}

/**
 * An operation that turns a prompt and an image into a video job (Video → Image to Video, Character →
 * Generate Video): its parameters and its item → job request, from what sets the two apart.
 */
export function promptAndImageOperation(spec: PromptAndImageOperation): {
	description: INodeProperties[];
	execute: (this: IExecuteFunctions, itemIndex: number) => Promise<JobRequest>;
} {
	const prompt = promptProperty();
	const properties: INodeProperties[] = [
		spec.promptPlaceholder ? { ...prompt, placeholder: spec.promptPlaceholder } : prompt,
		...mediaInputProperties(spec.imageField, spec.imageLabel, 'image', spec.imageHint),
		...videoSettingsProperties(),
		...waitProperties(),
		optionsCollection(),
	];
	return {
		description: updateDisplayOptions({ show: { resource: [spec.resource], operation: [spec.operation] } }, properties),
		async execute(this: IExecuteFunctions, itemIndex: number): Promise<JobRequest> {
			return readPromptAndImageRequest.call(this, itemIndex, spec.model, spec.imageField, spec.imageLabel);
		},
	};
}
