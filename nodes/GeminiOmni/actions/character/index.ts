import type { INodeProperties } from 'n8n-workflow';

import * as generateVideo from './generateVideo.operation';

export { generateVideo };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['character'] } },
		options: [
			{
				name: 'Generate Video',
				value: 'generateVideo',
				action: 'Generate a character video',
				description: 'Generate a video of a consistent character from a reference photo and a prompt (model gemini-omni-character)',
			},
		],
		default: 'generateVideo',
	},
	...generateVideo.description,
];
