import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';

import type { JobRequest } from '../../scheduler';
import { optionsSubset, readWaitSettings, waitProperties } from '../common';
import { jobIdProperty, readJobId } from './get.operation';

const properties: INodeProperties[] = [
	jobIdProperty,
	// Waiting (by polling: a job submitted elsewhere has no callback to this run) is what this operation
	// does: only the download settings are offered.
	...waitProperties().filter((property) => ['downloadOutput', 'binaryPropertyName'].includes(property.name)).map((property) => ({
		...property,
		// A tool call downloads by its own Return Output File setting (actions/agentTool.ts).
		displayOptions: property.name === 'binaryPropertyName' ? { show: { downloadOutput: [true] }, hide: { '@tool': [true] } } : { hide: { '@tool': [true] } },
	})),
	optionsSubset(['checkIntervalSeconds', 'maxWaitMinutes', 'maxOutputSizeMb', 'databaseBinaryLimitMb']),
];

export const description = updateDisplayOptions({ show: { resource: ['job'], operation: ['wait'] } }, properties);

/** Item i → wait for a job submitted elsewhere (another workflow, or a timed-out run), then download it. */
export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<JobRequest> {
	return { jobId: readJobId.call(this, itemIndex), ...readWaitSettings.call(this, itemIndex, undefined, true) };
}
