import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';

import type { JobRequest } from '../../scheduler';
import {
	mediaInputProperties,
	optionsCollection,
	promptProperty,
	readPromptAndImageRequest,
	videoSettingsProperties,
	waitProperties,
} from '../common';

const properties: INodeProperties[] = [
	promptProperty(),
	...mediaInputProperties('imageUrl', 'First Frame', 'image', 'The image the video starts from; the model animates it'),
	...videoSettingsProperties(),
	...waitProperties(),
	optionsCollection(),
];

export const description = updateDisplayOptions({ show: { resource: ['video'], operation: ['imageToVideo'] } }, properties);

/** Item i → a gemini-omni-video job that animates a first frame (a URL, or a binary uploaded first). */
export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<JobRequest> {
	return readPromptAndImageRequest.call(this, itemIndex, 'gemini-omni-video', 'imageUrl', 'First Frame');
}
