import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';

import type { BinaryUpload, JobRequest } from '../../scheduler';
import {
	mediaInputProperties,
	optionsCollection,
	promptProperty,
	readMediaInput,
	readVideoSettings,
	requiredString,
	videoSettingsProperties,
	waitProperties,
	withWaitAndOptions,
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
	const body: IDataObject = { model: 'gemini-omni-video', prompt: requiredString.call(this, 'prompt', 'Prompt', itemIndex) };
	const uploads: BinaryUpload[] = [];
	readMediaInput.call(this, 'imageUrl', 'First Frame', 'image', itemIndex, body, uploads);
	Object.assign(body, readVideoSettings.call(this, itemIndex));
	return withWaitAndOptions.call(this, itemIndex, { body, uploads });
}
