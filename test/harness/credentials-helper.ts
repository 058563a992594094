/**
 * An ICredentialsHelper over in-memory credentials. It behaves like n8n's CLI CredentialsHelper
 * where nodes can tell the difference: defaults of the credential type are filled in,
 * expressions inside credential data are resolved, and `authenticate` is applied from the
 * credential type itself — a function is called, a generic definition has its expressions
 * (`=Bearer {{$credentials.apiKey}}`) resolved by the workflow's own expression engine.
 */
import type {
	ICredentialDataDecryptedObject,
	ICredentialsExpressionResolveValues,
	IExecuteData,
	IHttpRequestHelper,
	IHttpRequestOptions,
	INode,
	INodeCredentialsDetails,
	INodeParameters,
	INodeProperties,
	IRequestOptionsSimplified,
	IWorkflowExecuteAdditionalData,
	Workflow,
	WorkflowExecuteMode,
} from 'n8n-workflow';
import { ICredentialsHelper, NodeHelpers, isExpression } from 'n8n-workflow';
import { Credentials, getAdditionalKeys } from 'n8n-core';

import type { HarnessCredentialTypes } from './node-types';

export interface HarnessCredential {
	type: string;
	data: ICredentialDataDecryptedObject;
	id?: string;
	name?: string;
}

export class HarnessCredentialsHelper extends ICredentialsHelper {
	constructor(
		private readonly credentialTypes: HarnessCredentialTypes,
		/** Live list: updateCredentials writes back into it, so tests can see refreshed tokens. */
		private readonly credentials: HarnessCredential[],
	) {
		super();
	}

	/** The stored credential a node's reference points at: same type, same id when both have one. */
	private find(nodeCredentials: INodeCredentialsDetails, type: string): HarnessCredential {
		const ofType = this.credentials.filter((credential) => credential.type === type);
		const found =
			ofType.find((credential) => credential.id !== undefined && credential.id === nodeCredentials.id) ??
			ofType.find((credential) => credential.id === undefined);
		if (found === undefined) {
			throw new Error(
				`Harness: no credential of type "${type}" with id "${nodeCredentials.id ?? '(none)'}" was given to runWorkflow`,
			);
		}
		return found;
	}

	async getDecrypted(
		additionalData: IWorkflowExecuteAdditionalData,
		nodeCredentials: INodeCredentialsDetails,
		type: string,
		mode: WorkflowExecuteMode,
		executeData?: IExecuteData,
		raw?: boolean,
		expressionResolveValues?: ICredentialsExpressionResolveValues,
	): Promise<ICredentialDataDecryptedObject> {
		// A copy, so a node mutating what it got cannot change what the next request sees.
		const stored = structuredClone(this.find(nodeCredentials, type).data);
		if (raw === true) return stored;

		const withDefaults = NodeHelpers.getNodeParameters(
			this.getCredentialsProperties(type),
			stored as INodeParameters,
			true,
			false,
			null,
			null,
		) as ICredentialDataDecryptedObject;
		// oauthTokenData is not a declared property, so getNodeParameters drops it.
		if (stored.oauthTokenData !== undefined) withDefaults.oauthTokenData = stored.oauthTokenData;

		if (expressionResolveValues === undefined) return withDefaults;
		const { workflow, runExecutionData, runIndex, itemIndex, node, connectionInputData } = expressionResolveValues;
		return workflow.expression.getParameterValue(
			withDefaults as INodeParameters,
			runExecutionData,
			runIndex,
			itemIndex,
			node.name,
			connectionInputData,
			mode,
			getAdditionalKeys(additionalData, mode, null, { isCredential: true }),
			executeData,
			false,
			withDefaults,
		) as ICredentialDataDecryptedObject;
	}

	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
		requestOptions: IHttpRequestOptions | IRequestOptionsSimplified,
		workflow?: Workflow,
		node?: INode,
	): Promise<IHttpRequestOptions> {
		const credentialType = this.credentialTypes.getByName(typeName);
		if (typeof credentialType.authenticate === 'function') {
			// Called as a method, as n8n does: a credential class may use `this`.
			return await credentialType.authenticate(credentials, requestOptions as IHttpRequestOptions);
		}
		const { authenticate } = credentialType;
		if (authenticate?.type !== 'generic') return requestOptions as IHttpRequestOptions;
		if (workflow === undefined || node === undefined) {
			throw new Error('Harness: generic credential authentication needs the workflow and node');
		}

		// Resolved as n8n's CredentialsHelper does: each key and value may be an expression over
		// $credentials, evaluated in 'internal' mode against the requesting node.
		const resolve = (value: unknown): string => {
			if (typeof value !== 'string' || !isExpression(value)) return String(value);
			const resolved = workflow.expression.getSimpleParameterValue(
				node,
				value,
				'internal',
				{ $credentials: credentials },
				undefined,
				'',
			);
			return resolved ? resolved.toString() : '';
		};
		const target = requestOptions as unknown as Record<string, unknown>;
		for (const [section, entries] of Object.entries(authenticate.properties)) {
			if (entries === null || typeof entries !== 'object') {
				target[section] = resolve(entries);
				continue;
			}
			const sectionObject = (target[section] ??= {}) as Record<string, unknown>;
			for (const [key, value] of Object.entries(entries as Record<string, unknown>)) {
				sectionObject[resolve(key)] = resolve(value);
			}
		}
		return requestOptions as IHttpRequestOptions;
	}

	async preAuthentication(
		_helpers: IHttpRequestHelper,
		_credentials: ICredentialDataDecryptedObject,
		_typeName: string,
		_node: INode,
		_credentialsExpired: boolean,
	): Promise<ICredentialDataDecryptedObject | undefined> {
		// Our credentials carry a static API key; nothing to fetch before a request.
		return undefined;
	}

	async runPreAuthentication(
		_helpers: IHttpRequestHelper,
		_credentials: ICredentialDataDecryptedObject,
		_typeName: string,
	): Promise<ICredentialDataDecryptedObject | undefined> {
		return undefined;
	}

	getParentTypes(typeName: string): string[] {
		return this.credentialTypes.getParentTypes(typeName);
	}

	isCredentialUsableByNode(credentialType: string, nodeType: string): boolean {
		if (!this.credentialTypes.recognizes(credentialType)) return true;
		const definition = this.credentialTypes.getByName(credentialType);
		if (!definition.restrictToSupportedNodes) return true;
		// supportedNodes holds bare node names; a workflow may use either form.
		const bareName = nodeType.slice(nodeType.lastIndexOf('.') + 1);
		return (definition.supportedNodes ?? []).some((name) => name === nodeType || name === bareName);
	}

	async getCredentials(nodeCredentials: INodeCredentialsDetails, type: string): Promise<Credentials> {
		const found = this.find(nodeCredentials, type);
		const credentials = new Credentials({ id: found.id ?? null, name: found.name ?? type }, type);
		await credentials.setData(found.data);
		return credentials;
	}

	async updateCredentials(
		nodeCredentials: INodeCredentialsDetails,
		type: string,
		data: ICredentialDataDecryptedObject,
	): Promise<void> {
		this.find(nodeCredentials, type).data = structuredClone(data);
	}

	async updateCredentialsOauthTokenData(
		nodeCredentials: INodeCredentialsDetails,
		type: string,
		data: ICredentialDataDecryptedObject,
	): Promise<void> {
		this.find(nodeCredentials, type).data.oauthTokenData = structuredClone(data.oauthTokenData);
	}

	/** Own properties merged over those of every type it extends, parents first. */
	getCredentialsProperties(type: string): INodeProperties[] {
		const definition = this.credentialTypes.getByName(type);
		if (definition.extends === undefined) return definition.properties;
		const merged: INodeProperties[] = [];
		for (const parent of definition.extends) {
			NodeHelpers.mergeNodeProperties(merged, this.getCredentialsProperties(parent));
		}
		NodeHelpers.mergeNodeProperties(merged, definition.properties);
		return merged;
	}
}
