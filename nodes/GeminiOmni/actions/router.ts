/**
 * Owns the item loop: every input item ends as exactly one output item (or a clear error naming it),
 * in input order, with pairedItem. Continue On Fail turns an item's error into `{ error, ... }`.
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import * as job from './job';
import { redactSecrets } from '../transport/apiKey';

type ItemOperation = (this: IExecuteFunctions, itemIndex: number) => Promise<INodeExecutionData[]>;

const operations: Record<string, Record<string, ItemOperation>> = {
	job: { get: job.get.execute },
};

/** Anything an error may carry about an accepted job, so a paid job is never lost from the output. */
export interface ItemErrorContext extends IDataObject {
	jobId?: string;
	status?: string;
}

export function errorItem(error: Error, itemIndex: number, context: ItemErrorContext = {}): INodeExecutionData {
	const description = (error as { description?: string }).description;
	const json: IDataObject = { error: redactSecrets(error.message) };
	if (description) json.errorDescription = redactSecrets(description);
	const httpCode = (error as { httpCode?: string | null }).httpCode;
	if (httpCode) json.httpCode = httpCode;
	return { json: { ...json, ...context }, pairedItem: { item: itemIndex } };
}

/** Makes sure an error that stops the node names the item it came from. */
export function attributeToItem(this: IExecuteFunctions, error: Error, itemIndex: number): Error {
	const suffix = ` [item ${itemIndex}]`;
	if (error instanceof NodeApiError || error instanceof NodeOperationError) {
		if (error.context.itemIndex === undefined) error.context.itemIndex = itemIndex;
		if (!error.message.endsWith(suffix)) error.message += suffix;
		return error;
	}
	return new NodeOperationError(this.getNode(), redactSecrets(error.message) + suffix, { itemIndex });
}

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const resource = this.getNodeParameter('resource', 0) as string;
	const operation = this.getNodeParameter('operation', 0) as string;
	const execute = operations[resource]?.[operation];
	if (!execute) {
		throw new NodeOperationError(this.getNode(), `The operation "${operation}" of "${resource}" is not supported`);
	}

	const output: INodeExecutionData[] = [];
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		try {
			output.push(...(await execute.call(this, itemIndex)));
		} catch (error) {
			if (this.continueOnFail()) {
				output.push(errorItem(error as Error, itemIndex));
				continue;
			}
			throw attributeToItem.call(this, error as Error, itemIndex);
		}
	}
	return [output];
}
