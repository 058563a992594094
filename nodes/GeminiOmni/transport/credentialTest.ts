/**
 * "Test connection" for the Gemini Omni API credential, as a declarative request that n8n runs itself
 * (through the credential's own `authenticate`, so a malformed key is refused before any request).
 *
 * The API has no "who am I" endpoint, so the test asks for a job that cannot exist: nothing is created
 * or billed. Only the API's own job-not-found answer means "the key works":
 *  - every status except 404 and 2xx is an error, matched to a clear message by its code (401 wrong
 *    key, 403 Starter plan, 429, 5xx; anything else gets n8n's "Received HTTP status code");
 *  - a 404 (or 2xx) must carry the API's error shape, `{ "error": "…" }`: an HTML page, an empty or
 *    other-shaped body, or a generic "Not Found" is some other server, not the API.
 * Limit, written down: n8n's rules can only fail on equality, so a foreign server answering 404 with a
 * JSON `error` other than the generic ones below is not told apart.
 */
import type { IAuthenticateRuleResponseCode, IAuthenticateRuleResponseSuccessBody, ICredentialTestRequest } from 'n8n-workflow';

import { CREDENTIAL_TEST_MESSAGES, DEFAULT_BASE_URL } from './apiKey';

export const CREDENTIAL_PROBE_PATH = '/api/v1/jobs/job_credential_test';

const NOT_FOUND = 404;
/** Every redirect-final, client and server error status except 404: these throw and meet the code rules. */
const STATUSES_THAT_FAIL = Array.from({ length: 300 }, (_, i) => 300 + i).filter((status) => status !== NOT_FOUND);

/** Answers of generic web servers and frameworks to an unknown path: not the API's job-not-found. */
const GENERIC_NOT_FOUND_ERRORS = ['Not Found', 'Not found', 'not found', 'Not Found.', 'NOT_FOUND', 'Cannot GET ' + CREDENTIAL_PROBE_PATH];

// Status rules apply to thrown answers, body rules to the rest; n8n's tester checks each rule's type, so
// one list holds both (its type declares the two kinds as alternative lists).
const rules: Array<IAuthenticateRuleResponseCode | IAuthenticateRuleResponseSuccessBody> = [
	{ type: 'responseCode', properties: { value: 401, message: CREDENTIAL_TEST_MESSAGES.invalidKey } },
	{ type: 'responseCode', properties: { value: 403, message: CREDENTIAL_TEST_MESSAGES.starterPlan } },
	{ type: 'responseCode', properties: { value: 429, message: CREDENTIAL_TEST_MESSAGES.rateLimited } },
	...[500, 502, 503, 504].map((value): IAuthenticateRuleResponseCode => ({
		type: 'responseCode',
		properties: { value, message: CREDENTIAL_TEST_MESSAGES.serverError },
	})),
	...[undefined, ...GENERIC_NOT_FOUND_ERRORS].map((value): IAuthenticateRuleResponseSuccessBody => ({
		type: 'responseSuccessBody',
		properties: { key: 'error', value, message: CREDENTIAL_TEST_MESSAGES.notTheApi },
	})),
];

export const credentialTestRequest: ICredentialTestRequest = {
	request: {
		baseURL: `={{ String($credentials.baseUrl || "${DEFAULT_BASE_URL}").trim().replace(/\\/+$/, "") }}`,
		url: CREDENTIAL_PROBE_PATH,
		method: 'GET',
		headers: { Accept: 'application/json' },
		json: true,
		ignoreHttpStatusErrors: { ignore: true, except: STATUSES_THAT_FAIL },
	},
	rules: rules as ICredentialTestRequest['rules'],
};
