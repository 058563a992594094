import type { INodeProperties } from 'n8n-workflow';

import * as audio from './audio';
import * as character from './character';
import * as file from './file';
import * as job from './job';
import * as video from './video';

export { audio, character, file, job, video };

/** Every resource's parameters, in the order the editor shows them. */
export const properties: INodeProperties[] = [
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
];
