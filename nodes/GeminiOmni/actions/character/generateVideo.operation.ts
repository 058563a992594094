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
	{ ...promptProperty(), placeholder: 'The character presenting to camera in a modern boardroom, confident and professional' },
	...mediaInputProperties('referenceUrl', 'Reference Photo', 'image', 'A photo of the character’s face; a binary is uploaded first'),
	...videoSettingsProperties(),
	...waitProperties(),
	optionsCollection(),
];

export const description = updateDisplayOptions({ show: { resource: ['character'], operation: ['generateVideo'] } }, properties);

/** Item i → a gemini-omni-character job: a consistent character from a reference photo. */
export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<JobRequest> {
	const body: IDataObject = { model: 'gemini-omni-character', prompt: requiredString.call(this, 'prompt', 'Prompt', itemIndex) };
	const uploads: BinaryUpload[] = [];
	readMediaInput.call(this, 'referenceUrl', 'Reference Photo', 'image', itemIndex, body, uploads);
	Object.assign(body, readVideoSettings.call(this, itemIndex));
	return withWaitAndOptions.call(this, itemIndex, { body, uploads });
}
