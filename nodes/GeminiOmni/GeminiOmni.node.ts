import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
	IWebhookFunctions,
	IWebhookResponseData,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { properties } from './actions';
import { router } from './actions/router';
import { testGeminiOmniCredential } from './transport/credentialTest';
import { callbackWebhook } from './webhooks/callbackWait';

// The webhook below is a resume webhook (restartWebhook): n8n registers and removes it per paused
// execution at $execution.resumeUrl, and there is nothing to register with Gemini Omni, so the
// trigger lifecycle (checkExists/create/delete) does not apply to this node.
// eslint-disable-next-line @n8n/community-nodes/webhook-lifecycle-complete
export class GeminiOmni implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Gemini Omni',
		name: 'geminiOmni',
		icon: { light: 'file:../../icons/geminiOmni.svg', dark: 'file:../../icons/geminiOmni.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["operation"] + ": " + $parameter["resource"] }}',
		description: 'Generate video, character video, speech and lip-sync with the Gemini Omni API',
		defaults: { name: 'Gemini Omni' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'geminiOmniApi', required: true, testedBy: 'geminiOmniApiTest' }],
		// Wait Mode "Callback": the job's signed callback resumes the paused execution.
		webhooks: [{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', path: '', restartWebhook: true }],
		properties,
	};

	methods = {
		credentialTest: { geminiOmniApiTest: testGeminiOmniCredential },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		return await callbackWebhook.call(this);
	}
}
