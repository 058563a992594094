/**
 * The node and credential types a harness run knows: this package's own classes (loaded from
 * source, so ts-jest compiles them and no build is needed), the harness start node, and
 * whatever a test passes in.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type {
	ICredentialType,
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypes,
	IVersionedNodeType,
} from 'n8n-workflow';
import { NodeConnectionTypes, NodeHelpers } from 'n8n-workflow';

import packageJson from '../../package.json';

const repositoryRoot = path.resolve(__dirname, '../..');

/** The type name n8n gives our nodes once the package is installed: `<package>.<node name>`. */
export const PACKAGE_NAME = packageJson.name;

/** Type name of the start node built by `manualTrigger()`. */
export const HARNESS_START_TYPE = 'harness.manualTrigger';

/** Binaries travel through node parameters as base64, so a workflow stays plain data. */
export interface EncodedBinary {
	base64: string;
	fileName?: string;
	mimeType?: string;
}

/**
 * Emits the items given in its parameters. Binary properties go through the real
 * `prepareBinaryData`, so in filesystem mode they live in n8n's binary store like any
 * downloaded file would.
 */
class HarnessStart implements INodeType {
	description: INodeType['description'] = {
		displayName: 'Harness Start',
		name: 'manualTrigger',
		group: ['input'],
		version: 1,
		description: 'Starts a harness run with fixed items',
		defaults: { name: 'Start' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		properties: [
			{ displayName: 'Items (JSON)', name: 'items', type: 'json', default: '[{}]' },
			{ displayName: 'Binaries (JSON)', name: 'binaries', type: 'json', default: '[]' },
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = JSON.parse(this.getNodeParameter('items', 0) as string) as IDataObject[];
		const binaries = JSON.parse(this.getNodeParameter('binaries', 0) as string) as Array<
			Record<string, EncodedBinary> | undefined
		>;
		const output: INodeExecutionData[] = [];
		for (const [index, json] of items.entries()) {
			const item: INodeExecutionData = { json, pairedItem: { item: 0 } };
			for (const [property, encoded] of Object.entries(binaries[index] ?? {})) {
				item.binary ??= {};
				item.binary[property] = await this.helpers.prepareBinaryData(
					Buffer.from(encoded.base64, 'base64'),
					encoded.fileName,
					encoded.mimeType,
				);
			}
			output.push(item);
		}
		return [output];
	}
}

type NodeTypeClass = new () => INodeType | IVersionedNodeType;
type CredentialTypeClass = new () => ICredentialType;

/**
 * Requires a source file of this package if it exists yet. A missing file is normal while the
 * package grows (the trigger node comes later); a file that exists but fails to load is a real
 * error and propagates.
 */
function loadOptionalExport<T>(relativePath: string, exportName: string): T | undefined {
	const absolutePath = path.join(repositoryRoot, relativePath);
	if (!existsSync(`${absolutePath}.ts`)) return undefined;
	// With the extension: beside `GeminiOmni.node.ts` lies `GeminiOmni.node.json` (the codex), which a
	// bare require resolves to first outside Jest (tsx, plain Node).
	const moduleExports = require(`${absolutePath}.ts`) as Record<string, unknown>;
	const exported = moduleExports[exportName];
	if (typeof exported !== 'function') {
		throw new Error(`Harness: ${relativePath}.ts does not export a class named ${exportName}`);
	}
	return exported as T;
}

/** This package's node types, instantiated fresh for each run; missing source files are skipped. */
export function packageNodeTypes(): Array<INodeType | IVersionedNodeType> {
	const classes = [
		loadOptionalExport<NodeTypeClass>('nodes/GeminiOmni/GeminiOmni.node', 'GeminiOmni'),
		loadOptionalExport<NodeTypeClass>('nodes/GeminiOmniTrigger/GeminiOmniTrigger.node', 'GeminiOmniTrigger'),
	];
	return classes.filter((NodeClass) => NodeClass !== undefined).map((NodeClass) => new NodeClass());
}

/** This package's credential types. */
export function packageCredentialTypes(): ICredentialType[] {
	const CredentialClass = loadOptionalExport<CredentialTypeClass>(
		'credentials/GeminiOmniApi.credentials',
		'GeminiOmniApi',
	);
	return CredentialClass ? [new CredentialClass()] : [];
}

/**
 * n8n's INodeTypes over a plain map. Each package node answers to both its installed name
 * (`n8n-nodes-gemini-omni.geminiOmni`) and its bare name (`geminiOmni`). Package sources are
 * loaded only when a workflow asks for a type the map lacks, so a half-written node elsewhere
 * in the package cannot break runs that do not use it.
 */
export class HarnessNodeTypes implements INodeTypes {
	private readonly byName = new Map<string, INodeType | IVersionedNodeType>();
	private packageTypesLoaded = false;

	constructor(extraTypes: Record<string, INodeType | IVersionedNodeType> = {}) {
		this.byName.set(HARNESS_START_TYPE, new HarnessStart());
		for (const [typeName, nodeType] of Object.entries(extraTypes)) this.byName.set(typeName, nodeType);
	}

	private loadPackageTypes(): void {
		if (this.packageTypesLoaded) return;
		this.packageTypesLoaded = true;
		for (const nodeType of packageNodeTypes()) {
			const { name } = nodeType.description;
			// A test's own type of the same name wins.
			if (!this.byName.has(name)) this.byName.set(name, nodeType);
			if (!this.byName.has(`${PACKAGE_NAME}.${name}`)) this.byName.set(`${PACKAGE_NAME}.${name}`, nodeType);
		}
	}

	getByName(typeName: string): INodeType | IVersionedNodeType {
		if (!this.byName.has(typeName)) this.loadPackageTypes();
		const nodeType = this.byName.get(typeName);
		if (nodeType === undefined) {
			throw new Error(`Harness: unknown node type "${typeName}" (known: ${[...this.byName.keys()].join(', ')})`);
		}
		return nodeType;
	}

	getByNameAndVersion(typeName: string, version?: number): INodeType {
		return NodeHelpers.getVersionedNodeType(this.getByName(typeName), version);
	}

	getKnownTypes(): IDataObject {
		this.loadPackageTypes();
		return Object.fromEntries([...this.byName.keys()].map((typeName) => [typeName, {}]));
	}
}

/** Credential types by name, with the `extends` chain n8n uses for inherited properties. */
export class HarnessCredentialTypes {
	private readonly byName = new Map<string, ICredentialType>();
	private packageTypesLoaded = false;

	constructor(extraTypes: ICredentialType[] = []) {
		for (const credentialType of extraTypes) this.byName.set(credentialType.name, credentialType);
	}

	private loadPackageTypes(): void {
		if (this.packageTypesLoaded) return;
		this.packageTypesLoaded = true;
		for (const credentialType of packageCredentialTypes()) {
			if (!this.byName.has(credentialType.name)) this.byName.set(credentialType.name, credentialType);
		}
	}

	recognizes(typeName: string): boolean {
		if (!this.byName.has(typeName)) this.loadPackageTypes();
		return this.byName.has(typeName);
	}

	getByName(typeName: string): ICredentialType {
		const credentialType = this.recognizes(typeName) ? this.byName.get(typeName) : undefined;
		if (credentialType === undefined) {
			throw new Error(`Harness: unknown credential type "${typeName}" (known: ${[...this.byName.keys()].join(', ')})`);
		}
		return credentialType;
	}

	/** All ancestors, nearest first, as n8n's CredentialTypes.getParentTypes does. */
	getParentTypes(typeName: string): string[] {
		if (!this.recognizes(typeName)) return [];
		const parents = this.getByName(typeName).extends ?? [];
		return [...parents, ...parents.flatMap((parent) => this.getParentTypes(parent))];
	}
}
