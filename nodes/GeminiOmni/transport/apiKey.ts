/** The API key's format, and keeping it out of everything a user or a log can see. */

export const DEFAULT_BASE_URL = 'https://googlegeminiomni.com';

// The contract: `gomni_` followed by exactly 64 hexadecimal characters; hex is case-insensitive.
const API_KEY_PATTERN = /^gomni_[0-9a-f]{64}$/i;

export const API_KEY_FORMAT_MESSAGE =
	'The Gemini Omni API key is not in the expected format: it must be "gomni_" followed by 64 hexadecimal characters. Copy it again from the /api-keys page of your account. No request was sent.';

export function isValidApiKey(apiKey: unknown): apiKey is string {
	return typeof apiKey === 'string' && API_KEY_PATTERN.test(apiKey);
}

// Anything key-shaped is masked too, so a key pasted into a prompt or echoed by a server is never shown.
const ANY_KEY_PATTERN = /gomni_[0-9a-f]{8,}/gi;

/** Removes every secret (and anything shaped like an API key) from a text. */
export function redactSecrets(text: string, secrets: Array<string | undefined> = []): string {
	let redacted = text;
	for (const secret of secrets) {
		if (secret && secret.length >= 6) redacted = redacted.split(secret).join('[redacted]');
	}
	return redacted.replace(ANY_KEY_PATTERN, 'gomni_[redacted]');
}

/** What "Test connection" says, one text per outcome (shown in the credential dialog). */
export const CREDENTIAL_TEST_MESSAGES = {
	invalidKey: 'Invalid API key (HTTP 401): check the key on the /api-keys page of your account',
	starterPlan: 'The REST API is not available on the Starter plan (HTTP 403): upgrade to Pro or Premium',
	rateLimited: 'The key was accepted, but its rate limit is exhausted right now (HTTP 429): try again in a minute',
	notTheApi:
		'The Base URL answered, but not as the Gemini Omni API answers a working key. Check the Base URL (for example https://googlegeminiomni.com, with no extra path) and the API key.',
	serverError: 'Gemini Omni answered with a server error (HTTP 5xx): try again later, or check the Base URL',
} as const;
