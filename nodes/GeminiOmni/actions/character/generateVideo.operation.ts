import { promptAndImageOperation } from '../common';

/** Item i → a gemini-omni-character job: a consistent character from a reference photo. */
export const { description, execute } = promptAndImageOperation({
	resource: 'character',
	operation: 'generateVideo',
	model: 'gemini-omni-character',
	imageField: 'referenceUrl',
	imageLabel: 'Reference Photo',
	imageHint: 'A photo of the character’s face; a binary is uploaded first',
	promptPlaceholder: 'e.g. The character presenting to camera in a modern boardroom, confident and professional',
});
