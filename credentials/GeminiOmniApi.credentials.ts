import type {
	ICredentialDataDecryptedObject,
	ICredentialTestRequest,
	ICredentialType,
	IHttpRequestOptions,
	INodeProperties,
	Icon,
} from 'n8n-workflow';

import {
	API_KEY_FORMAT_MESSAGE,
	DEFAULT_BASE_URL,
	isValidApiKey,
} from '../nodes/GeminiOmni/transport/apiKey';
import { credentialTestRequest } from '../nodes/GeminiOmni/transport/credentialTest';

export class GeminiOmniApi implements ICredentialType {
	name = 'geminiOmniApi';

	displayName = 'Gemini Omni API';

	icon: Icon = {
		light: 'file:../icons/geminiOmni.svg',
		dark: 'file:../icons/geminiOmni.dark.svg',
	};

	documentationUrl = 'https://github.com/gemini-omni/n8n-nodes-gemini-omni#credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'API Key',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			required: true,
			default: '',
			placeholder: 'gomni_…',
			description:
				'Created on the /api-keys page of your Gemini Omni account and shown only once: gomni_ followed by 64 hexadecimal characters',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: DEFAULT_BASE_URL,
			description:
				'Where the API lives. Keep the default unless you point the node at another host, such as the local simulator.',
		},
		{
			displayName: 'Plan',
			name: 'plan',
			type: 'options',
			options: [
				{ name: 'Pro (30 Requests/Min, 200/Hour, 5 Concurrent Jobs)', value: 'pro' },
				{ name: 'Premium (60 Requests/Min, 500/Hour, 10 Concurrent Jobs)', value: 'premium' },
			],
			default: 'pro',
			hint: 'The node keeps batches inside this plan’s limits. The API is not available on the Starter plan.',
		},
		{
			displayName: 'Webhook Signing Secret',
			name: 'webhookSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'Your account’s webhook secret. Needed by the Gemini Omni Trigger and by callback waiting to verify the X-Gemini-Signature header; optional otherwise.',
		},
	];

	// A function rather than a generic header so that a malformed key is refused before any request
	// leaves n8n: in the credential test and in every node call that goes through this credential.
	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		requestOptions: IHttpRequestOptions,
	): Promise<IHttpRequestOptions> {
		const apiKey = String(credentials.apiKey ?? '').trim();
		if (!isValidApiKey(apiKey)) {
			throw new Error(API_KEY_FORMAT_MESSAGE);
		}
		requestOptions.headers = { ...(requestOptions.headers ?? {}), Authorization: `Bearer ${apiKey}` };
		return requestOptions;
	}

	// A request for a job that cannot exist; see transport/credentialTest.ts for what counts as success.
	test: ICredentialTestRequest = credentialTestRequest;
}
