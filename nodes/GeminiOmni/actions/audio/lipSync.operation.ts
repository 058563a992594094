import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';

import type { BinaryUpload, JobRequest } from '../../scheduler';
import { mediaInputProperties, optionsCollection, readMediaInput, waitProperties, withWaitAndOptions } from '../common';
import { readSpeech, speechProperties } from './speech';

const properties: INodeProperties[] = [
	...speechProperties,
	...mediaInputProperties('videoUrl', 'Character Clip', 'video', 'The character video whose lips are synced to the script'),
	...waitProperties(),
	optionsCollection(),
];

export const description = updateDisplayOptions({ show: { resource: ['audio'], operation: ['lipSync'] } }, properties);

/** Item i → a gemini-omni-audio job with a character clip: the clip speaks the script (output: MP4). */
export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<JobRequest> {
	const body = readSpeech.call(this, itemIndex);
	const uploads: BinaryUpload[] = [];
	readMediaInput.call(this, 'videoUrl', 'Character Clip', 'video', itemIndex, body, uploads);
	return withWaitAndOptions.call(this, itemIndex, { body, uploads });
}
