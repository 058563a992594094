/**
 * "Test connection" for the Gemini Omni API credential. The API has no "who am I" endpoint, so the test
 * asks for a job that cannot exist: 404 means the key was accepted, 401 a wrong key, 403 a Starter plan.
 * Nothing is created or billed; a malformed key is refused before any request.
 *
 * A function test (not a declarative one) because declarative rules can only match response bodies
 * exactly or fail every non-2xx status, and here the success answer is a 404.
 */
import type { ICredentialDataDecryptedObject, ICredentialTestFunctions, ICredentialsDecrypted, INodeCredentialTestResult } from 'n8n-workflow';

import { API_KEY_FORMAT_MESSAGE, DEFAULT_BASE_URL, isValidApiKey, redactSecrets } from './apiKey';

export const CREDENTIAL_PROBE_PATH = '/api/v1/jobs/job_credential_test';

const MESSAGE_BY_STATUS: Record<number, string> = {
	401: 'Invalid API key (HTTP 401): check the key on the /api-keys page of your account',
	403: 'The REST API is not available on the Starter plan (HTTP 403): upgrade to Pro or Premium',
	429: 'The key was accepted, but its rate limit is exhausted right now (HTTP 429): try again in a minute',
};

export async function testGeminiOmniCredential(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const data = (credential.data ?? {}) as ICredentialDataDecryptedObject;
	const apiKey = String(data.apiKey ?? '').trim();
	if (!isValidApiKey(apiKey)) return { status: 'Error', message: API_KEY_FORMAT_MESSAGE };
	const baseUrl = String(data.baseUrl || DEFAULT_BASE_URL).trim().replace(/\/+$/, '');
	try {
		// The credential-test context offers only this request helper (no httpRequestWithAuthentication).
		// eslint-disable-next-line @n8n/community-nodes/no-deprecated-workflow-functions
		const response = (await this.helpers.request({
			method: 'GET',
			uri: `${baseUrl}${CREDENTIAL_PROBE_PATH}`,
			headers: { Authorization: `Bearer ${apiKey}`, Accept: 'application/json' },
			json: true,
			simple: false,
			resolveWithFullResponse: true,
			timeout: 15_000,
		})) as { statusCode: number; body?: { error?: string } };
		const status = response.statusCode;
		if ((status >= 200 && status < 300) || status === 404) return { status: 'OK', message: 'Connection successful: the key was accepted' };
		const known = MESSAGE_BY_STATUS[status];
		const serverText = typeof response.body?.error === 'string' ? ` (${response.body.error})` : '';
		return {
			status: 'Error',
			message: redactSecrets(known ?? `Gemini Omni answered HTTP ${status}${serverText}: try again later, or check the Base URL`, [apiKey]),
		};
	} catch (error) {
		return {
			status: 'Error',
			message: redactSecrets(`Could not reach ${baseUrl}: ${(error as Error).message}. Check the Base URL.`, [apiKey]),
		};
	}
}
