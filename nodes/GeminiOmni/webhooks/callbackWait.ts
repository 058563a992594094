/**
 * Callback wait: the node submits the job with `callbackUrl` = this execution's resume URL, then
 * pauses the execution until the job's signed callback resumes it. No polling, no worker held.
 *
 * n8n resumes a paused node once, so this mode takes one item per run (a batch gets a clear error
 * before anything is submitted; use Poll, or Loop Over Items). When the deadline passes, n8n resumes
 * the node without running its code and passes its input item on: that item is prepared before the
 * pause to carry the job and a timeout message, so an accepted job is never lost.
 */
import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	IWebhookDescription,
	IWebhookFunctions,
	IWebhookResponseData,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { downloadJobOutput, downloadSettings } from '../helpers/binary';
import type { Job } from '../helpers/job';
import { CREDENTIAL_TYPE } from '../transport';
import { SIGNATURE_HEADER, parseJobEvent, readRawBody, verifySignature } from './verifySignature';

/**
 * The resume webhook, declared as n8n's own send-and-wait nodes declare theirs: a restart webhook that
 * n8n itself serves at $execution.resumeUrl for each paused execution. Nothing is registered with
 * Gemini Omni (the URL travels with the job), so there is no create/delete lifecycle to implement.
 */
export const callbackWebhooks: IWebhookDescription[] = [
	{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', path: '', restartWebhook: true },
];

/** Where the pending job is kept on the paused item (read back when the callback arrives). */
export const PENDING_FIELD = 'geminiOmniPendingJob';

const LOCAL_HOST = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|0\.0\.0\.0)$/i;

function isLocalUrl(url: string): boolean {
	try {
		return LOCAL_HOST.test(new URL(url).hostname);
	} catch {
		return false;
	}
}

/** Checks what callback mode needs and returns the URL the API must call back. */
export async function callbackUrlForThisExecution(
	this: IExecuteFunctions,
	itemCount: number,
	baseUrl: string,
	webhookSecret: string,
): Promise<string> {
	if (itemCount !== 1) {
		throw new NodeOperationError(
			this.getNode(),
			`Wait Mode "Callback" waits for one job per run, but this node received ${itemCount} items. Nothing was submitted. Use Wait Mode "Poll" for batches, or put the node inside Loop Over Items (batch size 1).`,
		);
	}
	if (!webhookSecret.trim()) {
		throw new NodeOperationError(
			this.getNode(),
			'Wait Mode "Callback" needs the Webhook Signing Secret in the Gemini Omni API credential, to verify the callback. Nothing was submitted.',
		);
	}
	const resumeUrl = String(this.evaluateExpression('{{ $execution.resumeUrl }}', 0) ?? '');
	if (!/^https?:\/\//.test(resumeUrl)) {
		throw new NodeOperationError(this.getNode(), 'This n8n version gave no resume URL, so Wait Mode "Callback" cannot be used. Use "Poll".');
	}
	// The API must reach this URL from the internet: a localhost resume URL works only with a local API.
	if (isLocalUrl(resumeUrl) && !isLocalUrl(baseUrl)) {
		const message = `The resume URL ${new URL(resumeUrl).origin} is local, so Gemini Omni cannot call it back. Set N8N_WEBHOOK_URL to this instance's public URL.`;
		this.logger.warn(message);
		const withHints = this as IExecuteFunctions & { addExecutionHints?: (...hints: Array<{ message: string; type: 'warning' }>) => void };
		withHints.addExecutionHints?.({ message, type: 'warning' });
	}
	return resumeUrl;
}

/**
 * Prepares the single item for the pause and puts the execution to wait until the deadline.
 *
 * At the deadline n8n runs no node code: it passes on the input that this execution keeps for the
 * paused node. So the job is written into a copy, and the copy replaces that kept input. The
 * previous node's output, which is the same array and items, stays as it was.
 */
export async function pauseForCallback(this: IExecuteFunctions, accepted: Job, maxWaitMs: number): Promise<INodeExecutionData[][]> {
	const deadline = new Date(Date.now() + maxWaitMs);
	const [item] = this.getInputData();
	const pendingItem: INodeExecutionData = {
		...item,
		json: {
			...item.json,
			[PENDING_FIELD]: {
				jobId: accepted.jobId,
				status: accepted.status,
				model: accepted.model,
				creditCost: accepted.creditCost,
				estimatedSeconds: accepted.estimatedSeconds,
				waitedUntil: deadline.toISOString(),
				error: `No callback for job ${accepted.jobId} arrived before ${deadline.toISOString()}. The job was not cancelled: run Job → Wait or Job → Get with this job ID.`,
			} as IDataObject,
		},
	};
	const kept = this.getExecuteData().data;
	kept.main = [[pendingItem], ...(kept.main ?? []).slice(1)];
	await this.putExecutionToWait(deadline);
	return [[{ ...pendingItem, pairedItem: { item: 0 } }]];
}

/** The resume request: verify, answer at once, then produce the same output as poll mode. */
export async function callbackWebhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
	const response = this.getResponseObject();
	const credentials = await this.getCredentials(CREDENTIAL_TYPE);
	const rawBody = await readRawBody.call(this);
	// A forged or unsigned callback gets 401 and the execution stays paused.
	if (!verifySignature(rawBody, this.getHeaderData()[SIGNATURE_HEADER], String(credentials.webhookSecret ?? ''))) {
		response.status(401).json({ error: 'Invalid or missing X-Gemini-Signature' });
		return { noWebhookResponse: true };
	}
	const event = parseJobEvent(rawBody!);
	const pending = (this.evaluateExpression(`{{ $json.${PENDING_FIELD} }}`) ?? undefined) as IDataObject | undefined;
	if (!event || (pending?.jobId && pending.jobId !== event.jobId)) {
		response.status(409).json({ error: 'This resume URL waits for another job' });
		return { noWebhookResponse: true };
	}
	response.status(200).json({ received: true });

	const job: Job = {
		jobId: event.jobId,
		status: event.status,
		model: event.model ?? (pending?.model as string | undefined),
		creditCost: event.creditCost,
		outputUrl: event.outputUrl,
		completedAt: event.timestamp,
		expiresAt: event.expiresAt,
	};
	if (event.error) job.error = event.error;
	for (const key of Object.keys(job)) if (job[key] === undefined) delete job[key];

	const item: INodeExecutionData = { json: job, pairedItem: { item: 0 } };
	if (job.status === 'failed') {
		// No error can be thrown from a resume; the item says what poll mode's error says.
		item.json.error = `Job ${job.jobId} failed: ${event.error ?? 'no reason given'}. No credits were consumed for a failed job.`;
	} else if (this.getNodeParameter('downloadOutput', true) as boolean) {
		const options = this.getNodeParameter('options', {}) as IDataObject;
		const settings = downloadSettings(this.getNodeParameter('binaryPropertyName', 'data'), options.maxOutputSizeMb, options.databaseBinaryLimitMb);
		try {
			const binary = await downloadJobOutput.call(this, job, 0, settings);
			item.binary = { [settings.binaryPropertyName]: binary };
		} catch (error) {
			item.json.error = (error as Error).message;
		}
	}
	return { noWebhookResponse: true, workflowData: [[item]] };
}
