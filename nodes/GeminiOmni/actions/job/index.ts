import type { INodeProperties } from 'n8n-workflow';

import * as downloadOutput from './downloadOutput.operation';
import * as get from './get.operation';
import * as wait from './wait.operation';

export { downloadOutput, get, wait };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['job'] } },
		options: [
			{
				name: 'Download Output',
				value: 'downloadOutput',
				action: 'Download the output of a job',
				description: 'Stream a done job’s output file into a binary field',
			},
			{
				name: 'Get',
				value: 'get',
				action: 'Get a job',
				description: 'Get the current status of a job (one request, no waiting)',
			},
			{
				name: 'Wait',
				value: 'wait',
				action: 'Wait for a job to finish',
				description: 'Wait for a job submitted elsewhere to finish, then optionally download its output',
			},
		],
		default: 'get',
	},
	...get.description,
	...wait.description,
	...downloadOutput.description,
];
