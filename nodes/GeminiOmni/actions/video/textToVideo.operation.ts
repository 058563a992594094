import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';

import type { JobRequest } from '../../scheduler';
import {
	optionsCollection,
	promptProperty,
	readVideoSettings,
	requiredString,
	videoSettingsProperties,
	waitProperties,
	withWaitAndOptions,
} from '../common';

const properties: INodeProperties[] = [promptProperty(), ...videoSettingsProperties(), ...waitProperties(), optionsCollection()];

export const description = updateDisplayOptions({ show: { resource: ['video'], operation: ['textToVideo'] } }, properties);

/** Item i → a gemini-omni-video job from a prompt. */
export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<JobRequest> {
	const body = {
		model: 'gemini-omni-video',
		prompt: requiredString.call(this, 'prompt', 'Prompt', itemIndex),
		...readVideoSettings.call(this, itemIndex),
	};
	return withWaitAndOptions.call(this, itemIndex, { body });
}
