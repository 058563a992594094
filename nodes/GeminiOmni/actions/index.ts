import type { INodeProperties } from 'n8n-workflow';

import * as job from './job';

/** Every resource's parameters, in the order the editor shows them. */
export const properties: INodeProperties[] = [
	{
		displayName: 'Resource',
		name: 'resource',
		type: 'options',
		noDataExpression: true,
		options: [{ name: 'Job', value: 'job' }],
		default: 'job',
	},
	...job.description,
];
