/** Request validation for POST /api/v1/generate, per model, from the contract's field table. */

export const MODELS = ['gemini-omni-video', 'gemini-omni-character', 'gemini-omni-audio'] as const;
export type Model = (typeof MODELS)[number];

export const RESOLUTIONS = ['720p', '1080p', '4k'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

export const VOICE_PROFILES = [
	'professional-male',
	'professional-female',
	'warm-male',
	'warm-female',
	'narrator',
	'energetic',
] as const;

export const MIN_DURATION = 4;
export const MAX_DURATION = 16;
export const MAX_TEXT_LENGTH = 4000;

const ALLOWED_FIELDS: Record<Model, string[]> = {
	'gemini-omni-video': ['model', 'prompt', 'imageUrl', 'resolution', 'duration', 'callbackUrl'],
	'gemini-omni-character': ['model', 'prompt', 'referenceUrl', 'resolution', 'duration', 'callbackUrl'],
	'gemini-omni-audio': ['model', 'script', 'language', 'voiceProfile', 'videoUrl', 'callbackUrl'],
};

const REQUIRED_FIELDS: Record<Model, string[]> = {
	'gemini-omni-video': ['prompt'],
	'gemini-omni-character': ['prompt', 'referenceUrl'],
	'gemini-omni-audio': ['script', 'language', 'voiceProfile'],
};

/** BCP-47 shape: a 2-3 letter language, then optional subtags (en-US, fr, pt-BR, zh-Hant-TW). */
const LANGUAGE_PATTERN = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;

export interface GenerateRequest {
	model: Model;
	/** prompt for video models, script for audio: where the [sim:...] directives are read from. */
	text: string;
	resolution: Resolution;
	duration: number;
	callbackUrl?: string;
	/** Audio with a videoUrl. */
	lipSync: boolean;
	/** Video with an imageUrl. */
	imageToVideo: boolean;
}

export type ValidationResult = { ok: true; request: GenerateRequest } | { ok: false; error: string };

function isHttpUrl(value: unknown): boolean {
	if (typeof value !== 'string') return false;
	try {
		const url = new URL(value);
		return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
	} catch {
		return false;
	}
}

function show(value: unknown): string {
	return JSON.stringify(value) ?? String(value);
}

export function validateGenerate(body: unknown): ValidationResult {
	if (typeof body !== 'object' || body === null || Array.isArray(body)) {
		return { ok: false, error: 'Request body must be a JSON object' };
	}
	const fields = body as Record<string, unknown>;
	if (fields.model === undefined) {
		return { ok: false, error: `Missing required field "model": expected one of ${MODELS.join(', ')}` };
	}
	if (typeof fields.model !== 'string' || !(MODELS as readonly string[]).includes(fields.model)) {
		return { ok: false, error: `Unknown model ${show(fields.model)}: expected one of ${MODELS.join(', ')}` };
	}
	const model = fields.model as Model;

	// Unexpected fields first: a client that sends extra fields should hear about it before anything else.
	for (const name of Object.keys(fields)) {
		if (!ALLOWED_FIELDS[model].includes(name)) {
			return { ok: false, error: `Unexpected field "${name}" for model ${model}` };
		}
	}
	for (const name of REQUIRED_FIELDS[model]) {
		if (fields[name] === undefined) {
			return { ok: false, error: `Missing required field "${name}" for model ${model}` };
		}
	}

	const textField = model === 'gemini-omni-audio' ? 'script' : 'prompt';
	const text = fields[textField];
	if (typeof text !== 'string' || text.trim() === '') {
		return { ok: false, error: `Field "${textField}" must be a non-empty string` };
	}
	if (text.length > MAX_TEXT_LENGTH) {
		return {
			ok: false,
			error: `Field "${textField}" is too long: ${text.length} characters (maximum ${MAX_TEXT_LENGTH})`,
		};
	}

	for (const name of ['imageUrl', 'referenceUrl', 'videoUrl', 'callbackUrl']) {
		if (fields[name] !== undefined && !isHttpUrl(fields[name])) {
			return { ok: false, error: `Field "${name}" must be an http(s) URL, got ${show(fields[name])}` };
		}
	}

	let resolution: Resolution = '1080p';
	let duration = 8;
	if (model !== 'gemini-omni-audio') {
		if (fields.resolution !== undefined) {
			if (!(RESOLUTIONS as readonly unknown[]).includes(fields.resolution)) {
				return {
					ok: false,
					error: `Invalid resolution ${show(fields.resolution)}: expected one of ${RESOLUTIONS.join(', ')}`,
				};
			}
			resolution = fields.resolution as Resolution;
		}
		if (fields.duration !== undefined) {
			const value = fields.duration;
			if (typeof value !== 'number' || !Number.isInteger(value) || value < MIN_DURATION || value > MAX_DURATION) {
				return {
					ok: false,
					error: `Invalid duration ${show(value)}: expected an integer number of seconds from ${MIN_DURATION} to ${MAX_DURATION}`,
				};
			}
			duration = value;
		}
	} else {
		if (typeof fields.language !== 'string' || !LANGUAGE_PATTERN.test(fields.language)) {
			return {
				ok: false,
				error: `Invalid language ${show(fields.language)}: expected a BCP-47 language tag such as en-US`,
			};
		}
		if (!(VOICE_PROFILES as readonly unknown[]).includes(fields.voiceProfile)) {
			return {
				ok: false,
				error: `Invalid voiceProfile ${show(fields.voiceProfile)}: expected one of ${VOICE_PROFILES.join(', ')}`,
			};
		}
	}

	return {
		ok: true,
		request: {
			model,
			text,
			resolution,
			duration,
			callbackUrl: fields.callbackUrl as string | undefined,
			lipSync: model === 'gemini-omni-audio' && fields.videoUrl !== undefined,
			imageToVideo: model === 'gemini-omni-video' && fields.imageUrl !== undefined,
		},
	};
}
