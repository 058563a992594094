/**
 * A probe node and credential used to test the harness itself, independent of the package's
 * nodes. The probe uses the helpers our real node relies on, the way it will use them:
 * authenticated requests, streamed download into the binary store, streamed upload from it,
 * per-item errors honouring continueOnFail, the execution cancel signal, putExecutionToWait.
 */
import type {
	ICredentialDataDecryptedObject,
	ICredentialType,
	IHttpRequestOptions,
	IDataObject,
	IExecuteFunctions,
	IN8nHttpFullResponse,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';
import type { Readable } from 'node:stream';

export const PROBE_CREDENTIAL_TYPE = 'harnessTestApi';
export const PROBE_NODE_TYPE = 'harness.probe';

export class HarnessTestApi implements ICredentialType {
	name = PROBE_CREDENTIAL_TYPE;
	displayName = 'Harness Test API';
	properties: ICredentialType['properties'] = [
		{ displayName: 'API Key', name: 'apiKey', type: 'string', typeOptions: { password: true }, default: '' },
		{ displayName: 'Region', name: 'region', type: 'string', default: 'eu-west' },
	];
	authenticate: ICredentialType['authenticate'] = {
		type: 'generic',
		properties: {
			headers: {
				Authorization: '=Bearer {{$credentials.apiKey}}',
				'X-Region': '={{$credentials.region}}',
			},
			qs: { client: 'harness' },
		},
	};
}

/** Authenticates with a function instead of a generic definition, like GeminiOmniApi does. */
export class HarnessFunctionAuthApi implements ICredentialType {
	name = 'harnessFunctionAuthApi';
	displayName = 'Harness Function Auth API';
	properties: ICredentialType['properties'] = [{ displayName: 'Token', name: 'token', type: 'string', default: '' }];
	private readonly scheme = 'Token';

	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		requestOptions: IHttpRequestOptions,
	): Promise<IHttpRequestOptions> {
		requestOptions.headers = { ...requestOptions.headers, Authorization: `${this.scheme} ${String(credentials.token)}` };
		return requestOptions;
	}
}

type ProbeOperation = 'request' | 'download' | 'upload' | 'fail' | 'hang' | 'wait';

export class HarnessProbe implements INodeType {
	description: INodeTypeDescription;

	/** `credentialType`: which credential the probe authenticates with; a test can swap it. */
	constructor(credentialType = PROBE_CREDENTIAL_TYPE) {
		this.description = {
			displayName: 'Harness Probe',
			name: 'probe',
			group: ['transform'],
			version: 1,
			description: 'Exercises n8n-core helpers against a local server',
			defaults: { name: 'Probe' },
			inputs: [NodeConnectionTypes.Main],
			outputs: [NodeConnectionTypes.Main],
			credentials: [{ name: credentialType, required: true }],
			properties: [
				{
					displayName: 'Operation',
					name: 'operation',
					type: 'options',
					options: ['request', 'download', 'upload', 'fail', 'hang', 'wait'].map((value) => ({ name: value, value })),
					default: 'request',
				},
				{ displayName: 'URL', name: 'url', type: 'string', default: '' },
				{ displayName: 'Message', name: 'message', type: 'string', default: 'probe failed' },
			],
		};
	}

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const output: INodeExecutionData[] = [];
		for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
			try {
				output.push(await runOperation.call(this, itemIndex, items[itemIndex], credentialTypeOf(this)));
			} catch (error) {
				if (this.continueOnFail()) {
					output.push({ json: { error: (error as Error).message }, pairedItem: { item: itemIndex } });
					continue;
				}
				throw error;
			}
		}
		return [output];
	}
}

/** The credential the workflow attached (`this` in execute() is n8n's context, not the class). */
function credentialTypeOf(context: IExecuteFunctions): string {
	return Object.keys(context.getNode().credentials ?? {})[0] ?? PROBE_CREDENTIAL_TYPE;
}

async function runOperation(
	this: IExecuteFunctions,
	itemIndex: number,
	item: INodeExecutionData,
	credentialType: string,
): Promise<INodeExecutionData> {
	const operation = this.getNodeParameter('operation', itemIndex) as ProbeOperation;
	const url = this.getNodeParameter('url', itemIndex) as string;
	const pairedItem = { item: itemIndex };
	const request = async (options: Parameters<IExecuteFunctions['helpers']['httpRequest']>[0]) =>
		await this.helpers.httpRequestWithAuthentication.call(this, credentialType, options);

	switch (operation) {
		case 'request':
			return { json: (await request({ url, json: true })) as IDataObject, pairedItem };
		case 'download': {
			const response = (await request({
				url,
				encoding: 'stream',
				returnFullResponse: true,
				json: false,
			})) as IN8nHttpFullResponse;
			const mimeType = String(response.headers['content-type'] ?? 'application/octet-stream');
			const binary = await this.helpers.prepareBinaryData(response.body as Readable, 'download.bin', mimeType);
			return { json: {}, binary: { data: binary }, pairedItem };
		}
		case 'upload': {
			const binary = this.helpers.assertBinaryData(itemIndex, 'data');
			const body = binary.id
				? await this.helpers.getBinaryStream(binary.id, 64 * 1024)
				: await this.helpers.getBinaryDataBuffer(itemIndex, 'data');
			return { json: (await request({ url, method: 'POST', body, json: false })) as IDataObject, pairedItem };
		}
		case 'fail':
			throw new NodeOperationError(this.getNode(), this.getNodeParameter('message', itemIndex) as string, {
				itemIndex,
			});
		case 'hang':
			// The server never answers; only the execution's cancel signal ends this request.
			await request({ url, json: true, abortSignal: this.getExecutionCancelSignal() });
			return { json: { unexpected: 'hang returned' }, pairedItem };
		case 'wait':
			await this.putExecutionToWait(new Date(Date.now() + 60 * 60 * 1000));
			return { json: item.json, pairedItem };
	}
}
