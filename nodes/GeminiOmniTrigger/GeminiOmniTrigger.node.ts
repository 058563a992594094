import type {
	IDataObject,
	IHookFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
	IWebhookFunctions,
	IWebhookResponseData,
} from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { DATABASE_BINARY_LIMIT_MB, downloadJobOutput, downloadSettings } from '../GeminiOmni/helpers/binary';
import { DATABASE_LIMIT_OPTION } from '../GeminiOmni/actions/common';
import { CREDENTIAL_TYPE } from '../GeminiOmni/transport';
import { SIGNATURE_HEADER, parseJobEvent, readRawBody, verifySignature } from '../GeminiOmni/webhooks/verifySignature';
import { deliveryAge, rememberDelivery } from './deliveries';
import { matchesWebhookSecret } from './keptSecrets';

async function assertWebhookSecret(this: IHookFunctions): Promise<void> {
	const credentials = await this.getCredentials(CREDENTIAL_TYPE);
	if (!String(credentials.webhookSecret ?? '').trim()) {
		throw new NodeOperationError(
			this.getNode(),
			'The Gemini Omni API credential has no Webhook Signing Secret. Add it (from your account’s webhook settings) so deliveries can be verified; the trigger does not accept unsigned deliveries.',
		);
	}
}

export class GeminiOmniTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Gemini Omni Trigger',
		name: 'geminiOmniTrigger',
		icon: { light: 'file:../../icons/geminiOmni.svg', dark: 'file:../../icons/geminiOmni.dark.svg' },
		group: ['trigger'],
		// Version 2 behaves as version 1. It exists because n8n treats a version-1 start node like its
		// Webhook node 1: it evaluates an expression (`options.binaryData`) in an isolate before every
		// delivery's body is read (a CPU profile: 2.5 s of n8n's time for 300 deliveries).
		version: [1, 2],
		defaultVersion: 2,
		subtitle: '={{ "On " + $parameter["events"].join(", ").replace("job.completed", "Job Completed").replace("job.failed", "Job Failed") }}',
		description: 'Starts the workflow when a Gemini Omni job completes or fails (signed job callbacks)',
		defaults: { name: 'Gemini Omni Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'geminiOmniApi', required: true}],
		webhooks: [{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', path: 'gemini-omni' }],
		properties: [
			{
				displayName:
					'Open <b>Webhook URLs</b> at the top of this panel and copy the <b>Production URL</b> into the <b>Callback URL</b> option of a Gemini Omni node (or the callbackUrl of any job): the URL travels with each job, there is nothing to register. While building, use the <b>Test URL</b> and click <b>Listen for test event</b>; publish the workflow for the Production URL to work. The credential needs the Webhook Signing Secret.',
				name: 'notice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Events',
				name: 'events',
				type: 'multiOptions',
				required: true,
				options: [
					{ name: 'Job Completed', value: 'job.completed', description: 'The job is done and its outputUrl is ready' },
					{ name: 'Job Failed', value: 'job.failed', description: 'The job failed; no credits were consumed' },
				],
				default: ['job.completed', 'job.failed'],
				description: 'Which job events start the workflow',
			},
			{
				displayName: 'Download Output',
				name: 'downloadOutput',
				type: 'boolean',
				default: false,
				description: 'Whether to stream a completed job’s output file into a binary field of the item',
			},
			{
				displayName: 'Put Output File in Field',
				name: 'binaryPropertyName',
				type: 'string',
				default: 'data',
				displayOptions: { show: { downloadOutput: [true] } },
				hint: 'The name of the output binary field to put the file in',
			},
			{
				displayName: 'Max Output Size (MiB)',
				name: 'maxOutputSizeMb',
				type: 'number',
				default: 2048,
				displayOptions: { show: { downloadOutput: [true] } },
				description: 'Larger outputs are not downloaded; the item still carries the outputUrl',
			},
			{ ...DATABASE_LIMIT_OPTION, displayOptions: { show: { downloadOutput: [true] } } },
		],
	};

	// The API has no webhook registration endpoint: a callback URL travels with each job. The lifecycle
	// records which URL this trigger serves (shown to the user, checked on activation) and refuses to
	// activate without a signing secret, so there is never an "accept everything" mode.
	webhookMethods = {
		default: {
			async checkExists(this: IHookFunctions): Promise<boolean> {
				// Checked on every activation, also when the URL is already recorded: a secret removed
				// later must stop the trigger, not leave it answering every delivery with 401.
				await assertWebhookSecret.call(this);
				const staticData = this.getWorkflowStaticData('node');
				return staticData.callbackUrl !== undefined && staticData.callbackUrl === this.getNodeWebhookUrl('default');
			},
			async create(this: IHookFunctions): Promise<boolean> {
				await assertWebhookSecret.call(this);
				const staticData = this.getWorkflowStaticData('node');
				staticData.callbackUrl = this.getNodeWebhookUrl('default');
				return true;
			},
			async delete(this: IHookFunctions): Promise<boolean> {
				const staticData = this.getWorkflowStaticData('node');
				delete staticData.callbackUrl;
				return true;
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const response = this.getResponseObject();
		const rawBody = await readRawBody.call(this);
		const signature = this.getHeaderData()[SIGNATURE_HEADER];
		const signed = await matchesWebhookSecret(
			this.getNode().credentials?.[CREDENTIAL_TYPE]?.id ?? undefined,
			async () => String((await this.getCredentials(CREDENTIAL_TYPE)).webhookSecret ?? ''),
			(secret) => verifySignature(rawBody, signature, secret),
		);
		// A bad or missing signature starts nothing and is not a failed run: answer 401 and stop here.
		if (!signed) {
			response.status(401).json({ error: 'Invalid or missing X-Gemini-Signature' });
			return { noWebhookResponse: true };
		}
		const event = parseJobEvent(rawBody!);
		if (!event) {
			// Signed, so it came from the platform: a non-2xx answer would only make it retry three times.
			response.status(200).json({ received: true, ignored: 'not a Gemini Omni job event' });
			return { noWebhookResponse: true };
		}
		// A captured delivery replayed later is signed too: its own timestamp gives it away.
		const age = deliveryAge(event.timestamp);
		if (age !== 'fresh') {
			response.status(200).json({ received: true, ignored: age === 'tooOld' ? 'older than the replay window' : 'timestamp in the future' });
			return { noWebhookResponse: true };
		}
		const events = this.getNodeParameter('events', ['job.completed', 'job.failed']) as string[];
		const wanted = events.includes(event.event);
		// A retried delivery of the same (jobId, event) is acknowledged and starts nothing.
		const scope = `${this.getWorkflow().id}:${this.getNode().id}:`;
		const firstDelivery = wanted && rememberDelivery(this.getWorkflowStaticData('node'), scope, event.jobId, event.event);
		// Answer at once, before any slow work, so the platform does not retry a delivery we received.
		// Not left to n8n (after the run has started): n8n 2.41 starts a run by wrapping this call's static
		// data again, which clears its changed flag, and the delivery's key would then never be saved.
		response.status(200).json({ received: true, ...(wanted && !firstDelivery ? { duplicate: true } : {}) });
		if (!wanted || !firstDelivery) return { noWebhookResponse: true };

		const item: INodeExecutionData = { json: event as IDataObject };
		if (event.status === 'done' && event.outputUrl && (this.getNodeParameter('downloadOutput', false) as boolean)) {
			try {
				const settings = downloadSettings(
					this.getNodeParameter('binaryPropertyName', 'data'),
					this.getNodeParameter('maxOutputSizeMb', 2048),
					this.getNodeParameter('databaseBinaryLimitMb', DATABASE_BINARY_LIMIT_MB),
				);
				const binary = await downloadJobOutput.call(this, { ...event, jobId: event.jobId, status: 'done' }, 0, settings);
				item.binary = { [settings.binaryPropertyName]: binary };
			} catch (error) {
				// The event is already acknowledged: start the workflow anyway, with the reason the file is missing.
				item.json.downloadError = (error as Error).message;
			}
		}
		return { noWebhookResponse: true, workflowData: [[item]] };
	}
}
