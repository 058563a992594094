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
	{ ...promptProperty(), placeholder: 'e.g. The character presenting to camera in a modern boardroom, confident and professional' },
	...mediaInputProperties('referenceUrl', 'Reference Photo', 'image', 'A photo of the character’s face; a binary is uploaded first'),
	...videoSettingsProperties(),
	...waitProperties(),
	optionsCollection(),
];

export const description = updateDisplayOptions({ show: { resource: ['character'], operation: ['generateVideo'] } }, properties);

/** Item i → a gemini-omni-character job: a consistent character from a reference photo. */
export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<JobRequest> {
	return readPromptAndImageRequest.call(this, itemIndex, 'gemini-omni-character', 'referenceUrl', 'Reference Photo');
}
