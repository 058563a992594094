import type { INodeProperties } from 'n8n-workflow';

import * as imageToVideo from './imageToVideo.operation';
import * as textToVideo from './textToVideo.operation';

export { imageToVideo, textToVideo };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['video'] } },
		options: [
			{
				name: 'Text to Video',
				value: 'textToVideo',
				action: 'Generate a video from text',
				description: 'Generate a video clip from a text prompt (model gemini-omni-video)',
			},
			{
				name: 'Image to Video',
				value: 'imageToVideo',
				action: 'Generate a video from an image',
				description: 'Animate a first-frame image into a video clip, guided by a prompt (model gemini-omni-video)',
			},
		],
		default: 'textToVideo',
	},
	...textToVideo.description,
	...imageToVideo.description,
];
