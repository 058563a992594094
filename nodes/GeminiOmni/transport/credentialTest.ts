/**
 * "Test connection" for the Gemini Omni API credential, as a declarative request that n8n runs itself
 * (through the credential's own `authenticate`, so a malformed key is refused before any request).
 *
 * The API has no "who am I" endpoint, so the test asks for a job that cannot exist: nothing is created
 * or billed. Only the API's own job-not-found answer means "the key works".
 *
 * n8n 2.x and 1.x run the same rules differently, and both must come out right:
 *  - n8n 2.x knows `ignoreHttpStatusErrors: { ignore, except }`: every status but 404 throws and meets
 *    the status rules (401 wrong key, 403 Starter plan, 429, 5xx); a 404 reaches the body rules.
 *  - n8n 1.x treats that object as `true` (its request helper checks only truthiness), so nothing throws
 *    and it shows no status to the rules: only the body rules run, on every answer.
 * So the body rules must recognise the API's job-not-found from the body alone. n8n's body rules can only
 * fail on equality (`get(body, key) === value`), so "the `error` text begins with `job`" is written as
 * its complement: for each of the first three characters, a rule fails on every other printable ASCII
 * character and on a missing one. A 401 "Invalid API key", a 403, a 429 or 5xx message, an HTML page, an
 * empty body or a generic "Not Found" all fail. Limit, written down: a foreign server answering JSON with
 * an `error` that begins with "job" would pass, and so would a message beginning with a non-ASCII letter.
 * The API's own 401 and 403 texts get their specific messages on 1.x by rules placed first.
 */
import type { IAuthenticateRuleResponseCode, IAuthenticateRuleResponseSuccessBody, ICredentialTestRequest } from 'n8n-workflow';

import { CREDENTIAL_TEST_MESSAGES, DEFAULT_BASE_URL } from './apiKey';

export const CREDENTIAL_PROBE_PATH = '/api/v1/jobs/job_credential_test';

const NOT_FOUND = 404;
/** Every redirect-final, client and server error status except 404: these throw on n8n 2.x and meet the code rules. */
const STATUSES_THAT_FAIL = Array.from({ length: 300 }, (_, i) => 300 + i).filter((status) => status !== NOT_FOUND);

/** The API's job-not-found (the guide: 404 "Job not found") begins with these letters, in either case. */
export const JOB_NOT_FOUND_PREFIX = 'job';

/**
 * The API's answers to a wrong key and to a Starter key, as the guide and this project's simulator word
 * them: on n8n 1.x, where no status is visible, these texts are how those two get their own message.
 */
export const KNOWN_ERROR_TEXTS = {
	invalidKey: ['Invalid API key', 'Invalid or missing API key', 'Unauthorized'],
	starterPlan: [
		'The REST API is available on Pro and Premium plans only. Upgrade your plan to use API keys.',
		'API not available on Starter plan',
		'Action not permitted',
	],
} as const;

const PRINTABLE_ASCII = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i));

function bodyRule(key: string, value: string | undefined, message: string): IAuthenticateRuleResponseSuccessBody {
	return { type: 'responseSuccessBody', properties: { key, value, message } };
}

/** Fails unless `error` begins with JOB_NOT_FOUND_PREFIX (case-insensitive): see the header comment. */
function errorMustBeginWithJob(): IAuthenticateRuleResponseSuccessBody[] {
	return [...JOB_NOT_FOUND_PREFIX].flatMap((letter, position) => {
		const allowed = new Set([letter.toLowerCase(), letter.toUpperCase()]);
		const refused = [undefined, ...PRINTABLE_ASCII.filter((char) => !allowed.has(char))];
		return refused.map((char) => bodyRule(`error[${position}]`, char, CREDENTIAL_TEST_MESSAGES.notTheApi));
	});
}

// Status rules apply to thrown answers, body rules to the rest; n8n's tester checks each rule's type, so
// one list holds both (its type declares the two kinds as alternative lists). The first match wins.
const rules: Array<IAuthenticateRuleResponseCode | IAuthenticateRuleResponseSuccessBody> = [
	{ type: 'responseCode', properties: { value: 401, message: CREDENTIAL_TEST_MESSAGES.invalidKey } },
	{ type: 'responseCode', properties: { value: 403, message: CREDENTIAL_TEST_MESSAGES.starterPlan } },
	{ type: 'responseCode', properties: { value: 429, message: CREDENTIAL_TEST_MESSAGES.rateLimited } },
	...[500, 502, 503, 504].map((value): IAuthenticateRuleResponseCode => ({
		type: 'responseCode',
		properties: { value, message: CREDENTIAL_TEST_MESSAGES.serverError },
	})),
	...KNOWN_ERROR_TEXTS.invalidKey.map((text) => bodyRule('error', text, CREDENTIAL_TEST_MESSAGES.invalidKey)),
	...KNOWN_ERROR_TEXTS.starterPlan.map((text) => bodyRule('error', text, CREDENTIAL_TEST_MESSAGES.starterPlan)),
	bodyRule('error', undefined, CREDENTIAL_TEST_MESSAGES.notTheApi),
	...errorMustBeginWithJob(),
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
