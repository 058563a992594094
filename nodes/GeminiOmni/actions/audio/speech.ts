/** The text-to-speech fields shared by Text to Speech and Lip-Sync. */
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { OTHER, choiceOrOther, requiredString } from '../common';

/** The languages the API documents: BCP-47 tag and name, in the editor's (alphabetical) order. */
const LANGUAGES: Array<[tag: string, name: string]> = [
	['ar-SA', 'Arabic (Saudi Arabia)'],
	['zh-CN', 'Chinese (Mandarin, Simplified)'],
	['nl-NL', 'Dutch (Netherlands)'],
	['en-GB', 'English (UK)'],
	['en-US', 'English (US)'],
	['fr-FR', 'French (France)'],
	['de-DE', 'German (Germany)'],
	['hi-IN', 'Hindi (India)'],
	['it-IT', 'Italian (Italy)'],
	['ja-JP', 'Japanese (Japan)'],
	['ko-KR', 'Korean (South Korea)'],
	['pl-PL', 'Polish (Poland)'],
	['pt-BR', 'Portuguese (Brazil)'],
	['es-MX', 'Spanish (Mexico)'],
	['es-ES', 'Spanish (Spain)'],
];

/** The voice profiles the API documents, in the editor's (alphabetical) order. */
const VOICE_PROFILES = ['energetic', 'narrator', 'professional-female', 'professional-male', 'warm-female', 'warm-male'];

/** "professional-female" → "Professional Female". */
const voiceName = (profile: string) => profile.split('-').map((word) => word[0].toUpperCase() + word.slice(1)).join(' ');

const OTHER_OPTION = { name: 'Other (Type It Below)', value: OTHER };

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
		options: [...LANGUAGES.map(([value, name]) => ({ name, value, description: `BCP-47 tag ${value}` })), OTHER_OPTION],
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
		options: [...VOICE_PROFILES.map((value) => ({ name: voiceName(value), value })), OTHER_OPTION],
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
