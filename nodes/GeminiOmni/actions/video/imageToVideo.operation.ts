import { promptAndImageOperation } from '../common';

/** Item i → a gemini-omni-video job that animates a first frame (a URL, or a binary uploaded first). */
export const { description, execute } = promptAndImageOperation({
	resource: 'video',
	operation: 'imageToVideo',
	model: 'gemini-omni-video',
	imageField: 'imageUrl',
	imageLabel: 'First Frame',
	imageHint: 'The image the video starts from; the model animates it',
});
