import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
	IWebhookFunctions,
	IWebhookResponseData,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { operationSubtitle, properties } from './actions';
import { router } from './actions/router';
import { callbackWebhook, callbackWebhooks } from './webhooks/callbackWait';

const LOOP_OUTPUTS_EXPRESSION =
	'$parameter.waitForCompletion !== false && $parameter.waitMode === "loop" && $parameter.resource !== "job" && $parameter.resource !== "file" ' +
	'? [{ "type": "main", "displayName": "Done" }, { "type": "main", "displayName": "Still Running" }] : ["main"]';

export class GeminiOmni implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Gemini Omni',
		name: 'geminiOmni',
		icon: { light: 'file:../../icons/geminiOmni.svg', dark: 'file:../../icons/geminiOmni.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: operationSubtitle(),
		description: 'Generate video, character video, speech and lip-sync with the Gemini Omni API',
		defaults: { name: 'Gemini Omni' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		// Wait Mode "Loop Through a Wait Node" has two outputs: Done and Still Running.
		outputs: `={{ ${LOOP_OUTPUTS_EXPRESSION} }}`,
		credentials: [{ name: 'geminiOmniApi', required: true}],
		// Wait Mode "Callback": the job's signed callback resumes the paused execution.
		webhooks: callbackWebhooks,
		properties,
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		return await callbackWebhook.call(this);
	}
}
