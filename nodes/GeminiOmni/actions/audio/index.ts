import type { INodeProperties } from 'n8n-workflow';

import * as lipSync from './lipSync.operation';
import * as textToSpeech from './textToSpeech.operation';

export { lipSync, textToSpeech };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['audio'] } },
		options: [
			{
				name: 'Text to Speech',
				value: 'textToSpeech',
				action: 'Generate speech from text',
				description: 'Speak a script in a chosen language and voice; outputs an MP3 (model gemini-omni-audio)',
			},
			{
				name: 'Lip-Sync',
				value: 'lipSync',
				action: 'Lip sync a character clip to speech',
				description: 'Speak a script and sync a character clip’s lips to it (model gemini-omni-audio with a video)',
			},
		],
		default: 'textToSpeech',
	},
	...textToSpeech.description,
	...lipSync.description,
];
