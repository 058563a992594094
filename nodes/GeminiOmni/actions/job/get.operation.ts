import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError, updateDisplayOptions } from 'n8n-workflow';

import { apiRequest } from '../../transport';
import { normalizeJob } from '../../helpers/job';

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
		throw new NodeOperationError(this.getNode(), 'Job ID is empty: map the jobId of a submitted job', {
			itemIndex,
		});
	}
	return jobId;
}

/** One request, no waiting: the job's current state. */
export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<INodeExecutionData[]> {
	const jobId = readJobId.call(this, itemIndex);
	const job = await apiRequest.call(this, {
		method: 'GET',
		path: `/api/v1/jobs/${encodeURIComponent(jobId)}`,
		itemIndex,
	});
	return [{ json: normalizeJob(job), pairedItem: { item: itemIndex } }];
}
