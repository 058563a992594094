import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';

import type { JobRequest } from '../../scheduler';
import { optionsCollection, waitProperties, withWaitAndOptions } from '../common';
import { readSpeech, speechProperties } from './speech';

const properties: INodeProperties[] = [...speechProperties, ...waitProperties(), optionsCollection()];

export const description = updateDisplayOptions({ show: { resource: ['audio'], operation: ['textToSpeech'] } }, properties);

/** Item i → a gemini-omni-audio job that speaks a script (output: MP3). */
export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<JobRequest> {
	return withWaitAndOptions.call(this, itemIndex, { body: readSpeech.call(this, itemIndex) });
}
