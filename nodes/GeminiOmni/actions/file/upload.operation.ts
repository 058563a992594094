import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';

import { uploadBinary } from '../../helpers/binary';
import type { MediaKind } from '../../helpers/binary';
import type { JobRequest } from '../../scheduler';
import { requiredString } from '../common';

const properties: INodeProperties[] = [
	{
		displayName: 'Input Binary Field',
		name: 'binaryPropertyName',
		type: 'string',
		required: true,
		default: 'data',
		hint: 'The name of the input binary field containing the file to upload',
		description: 'A JPEG, PNG or WebP image (reference photo, first frame) or an MP4 clip (lip-sync source)',
	},
	{
		displayName: 'File Type',
		name: 'fileKind',
		type: 'options',
		options: [
			{ name: 'Image (JPEG, PNG, WebP)', value: 'image' },
			{ name: 'Video Clip (MP4)', value: 'video' },
		],
		default: 'image',
		description: 'What the file is for; its type and size are checked before the upload',
	},
];

export const description = updateDisplayOptions({ show: { resource: ['file'], operation: ['upload'] } }, properties);

/** Item i → POST /api/v1/upload; outputs `url`, `mimeType`, `size` for referenceUrl, imageUrl or videoUrl. */
export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<JobRequest> {
	const binaryPropertyName = requiredString.call(this, 'binaryPropertyName', 'Input Binary Field', itemIndex);
	const kind = this.getNodeParameter('fileKind', itemIndex, 'image') as MediaKind;
	return {
		run: async (requestOptions) => ({
			json: await uploadBinary.call(this, itemIndex, binaryPropertyName, kind, requestOptions),
		}),
	};
}
