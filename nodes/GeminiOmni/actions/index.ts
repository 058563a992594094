import type { INodeProperties } from 'n8n-workflow';

import { agentFileProperties, toolDescriptionProperties } from './agentTool';
import * as audio from './audio';
import * as character from './character';
import * as file from './file';
import * as job from './job';
import * as video from './video';

export { audio, character, file, job, video };

/** Every resource's parameters, in the order the editor shows them. */
export const properties: INodeProperties[] = [
	...toolDescriptionProperties(),
	{
		displayName: 'Resource',
		name: 'resource',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Audio', value: 'audio', description: 'Text to speech and lip-sync' },
			{ name: 'Character', value: 'character', description: 'Videos of a consistent character from a photo' },
			{ name: 'File', value: 'file', description: 'Upload images and clips for use in jobs' },
			{ name: 'Job', value: 'job', description: 'Check, wait for and download jobs' },
			{ name: 'Video', value: 'video', description: 'Text to video and image to video' },
		],
		default: 'video',
	},
	...video.description,
	...character.description,
	...audio.description,
	...file.description,
	...job.description,
	...agentFileProperties(),
];

/**
 * The canvas subtitle: the chosen operation's name ("Text to Video", "Get: Job"), not its internal value. Built
 * from the operation lists above (operation values are unique across resources).
 */
export function operationSubtitle(): string {
	const resourceNames = new Map<unknown, string>();
	const resource = properties.find((property) => property.name === 'resource');
	for (const option of resource?.options ?? []) if ('value' in option) resourceNames.set(option.value, option.name);
	const names: Record<string, string> = {};
	for (const property of properties) {
		if (property.name !== 'operation') continue;
		const resource = resourceNames.get(property.displayOptions?.show?.resource?.[0]) ?? '';
		for (const option of property.options ?? []) {
			if (!('value' in option) || typeof option.value !== 'string') continue;
			// "Text to Video" says it all; "Get" needs its resource: "Get: Job".
			const saysResource = option.name.toLowerCase().includes(resource.toLowerCase());
			names[option.value] = saysResource || resource === 'Audio' ? option.name : `${option.name}: ${resource}`;
		}
	}
	return `={{ ${JSON.stringify(names)}[$parameter["operation"]] ?? $parameter["operation"] }}`;
}
