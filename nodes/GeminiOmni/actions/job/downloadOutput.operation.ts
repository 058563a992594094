import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';

import type { JobRequest } from '../../scheduler';
import { optionsSubset, readDownloadSettings } from '../common';
import { jobIdProperty, readJobId } from './get.operation';

const properties: INodeProperties[] = [
	jobIdProperty,
	{
		displayName: 'Put Output File in Field',
		name: 'binaryPropertyName',
		type: 'string',
		default: 'data',
		hint: 'The name of the output binary field to put the file in',
		description: 'Binary property for the file, named after the job ID (e.g. job_abc123.mp4 or job_abc123.mp3)',
	},
	optionsSubset(['maxOutputSizeMb', 'databaseBinaryLimitMb']),
];

export const description = updateDisplayOptions({ show: { resource: ['job'], operation: ['downloadOutput'] } }, properties);

/** Item i → the current job, and its output streamed into a binary property (the job must be done). */
export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<JobRequest> {
	return { jobId: readJobId.call(this, itemIndex), download: readDownloadSettings.call(this, itemIndex) };
}
