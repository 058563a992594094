/**
 * What the editor should show, derived at test time from the node's own BUILT description (the files
 * startN8n packs into n8n), never from hand-written lists: the node may change, the test follows.
 *
 * The built files and n8n-workflow are loaded with Node's own require (createRequire), not Jest's:
 * Jest's module map ignores .tmp/ and .cache/, where a packed copy may live ($GEMINI_OMNI_E2E_PACKAGE_DIR).
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type * as Workflow from 'n8n-workflow';
import type { INodeParameters, INodeProperties, INodePropertyOptions, INodeTypeDescription } from 'n8n-workflow';

import { REPO_ROOT } from '../../../scripts/lib/n8n-instance';

/** The package startN8n installs: the same default as startN8n's own. */
export const PACKAGE_DIR = process.env.GEMINI_OMNI_E2E_PACKAGE_DIR ?? REPO_ROOT;

const nativeRequire = createRequire(join(PACKAGE_DIR, 'package.json'));

export const PACKAGE_NAME = (JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as { name: string }).name;

function loadDescription(file: string, className: string): INodeTypeDescription {
	const module = nativeRequire(join(PACKAGE_DIR, file)) as Record<string, new () => { description: INodeTypeDescription }>;
	const NodeClass = module[className];
	if (typeof NodeClass !== 'function') throw new Error(`${file} exports no class ${className}: run the build first`);
	return new NodeClass().description;
}

export const nodeDescription = (): INodeTypeDescription =>
	loadDescription('dist/nodes/GeminiOmni/GeminiOmni.node.js', 'GeminiOmni');
export const triggerDescription = (): INodeTypeDescription =>
	loadDescription('dist/nodes/GeminiOmniTrigger/GeminiOmniTrigger.node.js', 'GeminiOmniTrigger');

const { NodeHelpers } = nativeRequire('n8n-workflow') as typeof Workflow;

function optionsOf(property: INodeProperties): INodePropertyOptions[] {
	return (property.options ?? []).filter((option): option is INodePropertyOptions => 'value' in option && !('values' in option));
}

export interface ExpectedOperation {
	resource: INodePropertyOptions;
	operation: INodePropertyOptions;
}

/** Every (resource, operation) pair the node offers, in the order of its options. */
export function resourcesAndOperations(description: INodeTypeDescription): ExpectedOperation[] {
	const resourceProperty = description.properties.find((property) => property.name === 'resource');
	if (!resourceProperty) throw new Error('The node has no Resource parameter');
	const pairs: ExpectedOperation[] = [];
	for (const resource of optionsOf(resourceProperty)) {
		const operationProperty = description.properties.find(
			(property) =>
				property.name === 'operation' &&
				NodeHelpers.displayParameter({ resource: resource.value } as INodeParameters, property, { typeVersion: 1 }, description),
		);
		if (!operationProperty) throw new Error(`Resource ${resource.name} has no Operation parameter`);
		for (const operation of optionsOf(operationProperty)) pairs.push({ resource, operation });
	}
	return pairs;
}

export interface ExpectedPanel {
	/** Labels (displayName) of the top-level fields, in description order. */
	labels: string[];
	/** Parameter names of those fields, same order. */
	names: string[];
	/** Texts of the notices shown (HTML tags removed, whitespace collapsed). */
	notices: string[];
}

export const plainText = (html: string): string =>
	html
		.replace(/<[^>]*>/g, '')
		.replace(/&nbsp;/g, ' ')
		.replace(/&amp;/g, '&')
		.replace(/&lt;/g, '<')
		.replace(/&gt;/g, '>')
		.replace(/\s+/g, ' ')
		.trim();

/**
 * What the parameters panel must show for these parameter values: the node's values as the editor
 * holds them (defaults filled in, as n8n does when resource or operation changes), then every
 * top-level property whose displayOptions match. Collections count as one field; hidden ones none.
 */
export function expectedPanel(description: INodeTypeDescription, values: INodeParameters): ExpectedPanel {
	const node = { typeVersion: Array.isArray(description.version) ? Math.max(...description.version) : description.version };
	const full =
		NodeHelpers.getNodeParameters(description.properties, values, true, false, node, description) ?? values;
	const shown = description.properties.filter(
		(property) => property.type !== 'hidden' && NodeHelpers.displayParameter(full, property, node, description, full),
	);
	const fields = shown.filter((property) => property.type !== 'notice');
	return {
		labels: fields.map((property) => property.displayName),
		names: fields.map((property) => property.name),
		notices: shown.filter((property) => property.type === 'notice').map((property) => plainText(property.displayName)),
	};
}

/** "Audio" → its operations' action texts as the nodes panel lists them (action, else the option's name). */
export function actionsByResource(description: INodeTypeDescription): Map<string, string[]> {
	const byResource = new Map<string, string[]>();
	for (const { resource, operation } of resourcesAndOperations(description)) {
		const list = byResource.get(resource.name) ?? [];
		list.push(operation.action ?? operation.name);
		byResource.set(resource.name, list);
	}
	return byResource;
}

/** The trigger's events (the options of its event/events parameter), which the panel lists as its triggers. */
export function triggerEvents(description: INodeTypeDescription): string[] {
	const events = description.properties.find((property) => property.name === 'events' || property.name === 'event');
	if (!events) throw new Error('The trigger has no event(s) parameter');
	return optionsOf(events).map((option) => option.name);
}
