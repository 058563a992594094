/**
 * The credential test's rules, evaluated the two ways n8n evaluates them (a small model of n8n's
 * CredentialsTester: the first matching rule fails the test, lodash's `get` reads the body). The proof in
 * real n8n is test/e2e/credential-test.test.ts (2.x) and test/e2e/n8n-1x.test.ts (1.x).
 */
import { CREDENTIAL_TEST_MESSAGES } from '../../nodes/GeminiOmni/transport/apiKey';
import { credentialTestRequest, KNOWN_ERROR_TEXTS } from '../../nodes/GeminiOmni/transport/credentialTest';

interface Rule {
	type: string;
	properties: { key?: string; value: unknown; message: string };
}
const rules = credentialTestRequest.rules as unknown as Rule[];

/** lodash's `get` for the paths the rules use (`error`, `error[2]`): a string's characters are readable by index. */
function get(body: unknown, path: string): unknown {
	return path
		.split(/[.[\]]/)
		.filter(Boolean)
		.reduce<unknown>((value, key) => (value === null || value === undefined ? undefined : (value as Record<string, unknown>)[key]), body);
}

/** n8n 1.x: no status is visible, only the body rules run, on every answer. */
function asOn1x(body: unknown): string {
	const failed = rules.find((rule) => rule.type === 'responseSuccessBody' && get(body, rule.properties.key!) === rule.properties.value);
	return failed ? failed.properties.message : 'OK';
}

/** n8n 2.x: every status but 404 throws and meets the status rules; a 404 meets the body rules. */
function asOn2x(status: number, body: unknown): string {
	if (status !== 404) {
		const failed = rules.find((rule) => rule.type === 'responseCode' && rule.properties.value === status);
		return failed ? failed.properties.message : `Received HTTP status code: ${status}`;
	}
	return asOn1x(body);
}

const answers: Array<[string, number, unknown, string]> = [
	['the API’s job-not-found', 404, { error: 'Job not found' }, 'OK'],
	['a job-not-found naming the job', 404, { error: 'job job_credential_test not found' }, 'OK'],
	['the simulator’s wrong key', 401, { error: 'Invalid API key' }, CREDENTIAL_TEST_MESSAGES.invalidKey],
	['the guide’s wrong key', 401, { error: 'Invalid or missing API key' }, CREDENTIAL_TEST_MESSAGES.invalidKey],
	['the simulator’s Starter key', 403, { error: KNOWN_ERROR_TEXTS.starterPlan[0] }, CREDENTIAL_TEST_MESSAGES.starterPlan],
	['a wrong key in other words', 401, { error: 'API key not recognised' }, CREDENTIAL_TEST_MESSAGES.notTheApi],
	['a Starter key in other words', 403, { error: 'Forbidden for this plan' }, CREDENTIAL_TEST_MESSAGES.notTheApi],
	['a rate limit', 429, { error: 'Rate limit exceeded' }, CREDENTIAL_TEST_MESSAGES.notTheApi],
	['an HTML 404', 404, '<html><body>404 Not Found</body></html>', CREDENTIAL_TEST_MESSAGES.notTheApi],
	['a generic JSON Not Found', 404, { error: 'Not Found' }, CREDENTIAL_TEST_MESSAGES.notTheApi],
	['a JSON 404 of another shape', 404, { message: 'Not Found', statusCode: 404 }, CREDENTIAL_TEST_MESSAGES.notTheApi],
	['an empty 404', 404, '', CREDENTIAL_TEST_MESSAGES.notTheApi],
	['an error that is not text', 404, { error: { code: 404 } }, CREDENTIAL_TEST_MESSAGES.notTheApi],
	['an error too short', 404, { error: 'jo' }, CREDENTIAL_TEST_MESSAGES.notTheApi],
];

describe('credential test rules', () => {
	it.each(answers)('n8n 1.x, %s: never "successful" unless it is the API’s job-not-found', (_label, _status, body, expected) => {
		expect(asOn1x(body)).toBe(expected);
	});

	it.each(answers)('n8n 2.x, %s', (_label, status, body, expected) => {
		const onTwo = asOn2x(status, body);
		if (status === 401) expect(onTwo).toBe(CREDENTIAL_TEST_MESSAGES.invalidKey);
		else if (status === 403) expect(onTwo).toBe(CREDENTIAL_TEST_MESSAGES.starterPlan);
		else if (status === 429) expect(onTwo).toBe(CREDENTIAL_TEST_MESSAGES.rateLimited);
		else expect(onTwo).toBe(expected);
	});

	it('stays a list n8n can ship to the editor: under 400 rules and 80 KB of JSON', () => {
		expect(rules.length).toBeLessThan(400);
		expect(JSON.stringify(credentialTestRequest).length).toBeLessThan(80_000);
	});
});
