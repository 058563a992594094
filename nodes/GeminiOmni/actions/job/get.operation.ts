import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError, updateDisplayOptions } from 'n8n-workflow';

import type { JobRequest } from '../../scheduler';

export const jobIdProperty: INodeProperties = {
	displayName: 'Job ID',
	name: 'jobId',
	type: 'string',
	required: true,
	default: '',
	placeholder: 'job_abc123',
	description: 'The ID returned when the job was submitted (the jobId field of an earlier Gemini Omni step)',
};

const properties: INodeProperties[] = [jobIdProperty];

export const description = updateDisplayOptions({ show: { resource: ['job'], operation: ['get'] } }, properties);

export function readJobId(this: IExecuteFunctions, itemIndex: number): string {
	const jobId = String(this.getNodeParameter('jobId', itemIndex, '') ?? '').trim();
	if (!jobId) {
		throw new NodeOperationError(this.getNode(), 'Job ID is empty: map the jobId of a submitted job', { itemIndex });
	}
	return jobId;
}

/** Item i → one GET of the job's current state, no waiting. */
export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<JobRequest> {
	return { jobId: readJobId.call(this, itemIndex) };
}
