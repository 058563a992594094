/** The text-to-speech fields shared by Text to Speech and Lip-Sync. */
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { OTHER, choiceOrOther, requiredString } from '../common';

export const speechProperties: INodeProperties[] = [
	{
		displayName: 'Script',
		name: 'script',
		type: 'string',
		typeOptions: { rows: 5 },
		required: true,
		default: '',
		placeholder: 'e.g. Welcome to your daily briefing. Here are the top three priorities for today.',
		description: 'The words to speak. Cost grows with its length.',
	},
	{
		displayName: 'Language',
		name: 'language',
		type: 'options',
		options: [
			{ name: 'Arabic (Saudi Arabia)', value: 'ar-SA', description: 'BCP-47 tag ar-SA' },
			{ name: 'Chinese (Mandarin, Simplified)', value: 'zh-CN', description: 'BCP-47 tag zh-CN' },
			{ name: 'Dutch (Netherlands)', value: 'nl-NL', description: 'BCP-47 tag nl-NL' },
			{ name: 'English (UK)', value: 'en-GB', description: 'BCP-47 tag en-GB' },
			{ name: 'English (US)', value: 'en-US', description: 'BCP-47 tag en-US' },
			{ name: 'French (France)', value: 'fr-FR', description: 'BCP-47 tag fr-FR' },
			{ name: 'German (Germany)', value: 'de-DE', description: 'BCP-47 tag de-DE' },
			{ name: 'Hindi (India)', value: 'hi-IN', description: 'BCP-47 tag hi-IN' },
			{ name: 'Italian (Italy)', value: 'it-IT', description: 'BCP-47 tag it-IT' },
			{ name: 'Japanese (Japan)', value: 'ja-JP', description: 'BCP-47 tag ja-JP' },
			{ name: 'Korean (South Korea)', value: 'ko-KR', description: 'BCP-47 tag ko-KR' },
			{ name: 'Polish (Poland)', value: 'pl-PL', description: 'BCP-47 tag pl-PL' },
			{ name: 'Portuguese (Brazil)', value: 'pt-BR', description: 'BCP-47 tag pt-BR' },
			{ name: 'Spanish (Mexico)', value: 'es-MX', description: 'BCP-47 tag es-MX' },
			{ name: 'Spanish (Spain)', value: 'es-ES', description: 'BCP-47 tag es-ES' },
			{ name: 'Other (Type It Below)', value: OTHER },
		],
		default: 'en-US',
		description: 'Spoken language as a BCP-47 tag',
	},
	{
		displayName: 'Custom Language',
		name: 'customLanguage',
		type: 'string',
		default: '',
		placeholder: 'e.g. sv-SE',
		displayOptions: { show: { language: [OTHER] } },
		description: 'Any BCP-47 language tag; the API answers with a clear error when it does not support it',
	},
	{
		displayName: 'Voice Profile',
		name: 'voiceProfile',
		type: 'options',
		options: [
			{ name: 'Energetic', value: 'energetic' },
			{ name: 'Narrator', value: 'narrator' },
			{ name: 'Professional Female', value: 'professional-female' },
			{ name: 'Professional Male', value: 'professional-male' },
			{ name: 'Warm Female', value: 'warm-female' },
			{ name: 'Warm Male', value: 'warm-male' },
			{ name: 'Other (Type It Below)', value: OTHER },
		],
		default: 'professional-male',
		description: 'The voice that reads the script',
	},
	{
		displayName: 'Custom Voice Profile',
		name: 'customVoiceProfile',
		type: 'string',
		default: '',
		displayOptions: { show: { voiceProfile: [OTHER] } },
		description: 'A voice profile this list does not have yet; sent as is',
	},
];

export function readSpeech(this: IExecuteFunctions, itemIndex: number): IDataObject {
	return {
		model: 'gemini-omni-audio',
		script: requiredString.call(this, 'script', 'Script', itemIndex),
		language: choiceOrOther.call(this, 'language', 'customLanguage', itemIndex),
		voiceProfile: choiceOrOther.call(this, 'voiceProfile', 'customVoiceProfile', itemIndex),
	};
}
