/**
 * The credential's "Test connection" inside real n8n (POST /rest/credentials/test, what the editor's
 * button calls): success for a good key, clear messages for a wrong key (401) and a Starter key (403),
 * a malformed key refused with no request sent, and a Base URL that is not the API (a server that
 * answers 404 to everything, or the API under an extra path) told apart from the API's own
 * job-not-found answer.
 */
import { startSimulator, type Simulator } from '../../simulator';
import type { N8nInstance } from '../../scripts/lib/n8n-instance';
import { API_KEY_FORMAT_MESSAGE, CREDENTIAL_TEST_MESSAGES } from '../../nodes/GeminiOmni/transport/apiKey';
import { startNotFoundServer, testConnection as testConnectionOn, sharedN8n } from './support';

jest.setTimeout(120_000);

let sim: Simulator;
let n8n: N8nInstance;

beforeAll(async () => {
	sim = await startSimulator({ timeScale: 0.05, ownKeys: true });
	n8n = await sharedN8n();
});
afterAll(async () => {
	await n8n?.stop();
	await sim?.close();
});
beforeEach(() => sim.clearLog());

const testConnection = async (apiKey: string, baseUrl = sim.url) => await testConnectionOn(n8n, apiKey, baseUrl);

describe('credential test in real n8n', () => {
	it('passes for a valid Pro key, with one authenticated request answered by the API’s job-not-found', async () => {
		const result = await testConnection(sim.keys.pro);
		expect(result.status).toBe('OK');
		const requests = sim.log.filter((entry) => entry.kind === 'api');
		expect(requests).toHaveLength(1);
		expect(requests[0].key).toBe(sim.keys.pro.slice(-6));
		expect(requests[0].status).toBe(404);
	});

	it('passes with a trailing slash on the Base URL', async () => {
		expect((await testConnection(sim.keys.pro, `${sim.url}/`)).status).toBe('OK');
	});

	it('explains a wrong key (401)', async () => {
		const result = await testConnection(`gomni_${'0'.repeat(64)}`);
		expect(result).toEqual({ status: 'Error', message: CREDENTIAL_TEST_MESSAGES.invalidKey });
		// n8n's authenticated request helper sends a request answered 401 once more (measured: 2 requests).
		const statuses = sim.log.filter((entry) => entry.kind === 'api').map((entry) => entry.status);
		expect(statuses.length).toBeGreaterThan(0);
		expect(new Set(statuses)).toEqual(new Set([401]));
	});

	it('explains a Starter key (403)', async () => {
		const result = await testConnection(sim.keys.starter);
		expect(result).toEqual({ status: 'Error', message: CREDENTIAL_TEST_MESSAGES.starterPlan });
	});

	it('refuses a malformed key without sending a request', async () => {
		const result = await testConnection('gomni_short');
		expect(result.status).toBe('Error');
		expect(result.message).toContain(API_KEY_FORMAT_MESSAGE);
		expect(sim.log).toHaveLength(0);
	});

	it.each([
		['an HTML 404 page (a proxy or web server)', 'text/html', '<html><body><h1>404 Not Found</h1><hr>nginx</body></html>'],
		['a JSON 404 of another shape', 'application/json', '{"message":"Not Found","statusCode":404}'],
		['a generic JSON "Not Found"', 'application/json', '{"error":"Not Found"}'],
		['an empty 404', 'text/plain', ''],
	])('fails for a good key at a Base URL answering %s', async (_label, contentType, body) => {
		const other = await startNotFoundServer(contentType, body);
		try {
			const result = await testConnection(sim.keys.pro, other.url);
			expect(result).toEqual({ status: 'Error', message: CREDENTIAL_TEST_MESSAGES.notTheApi });
			expect(other.requests).toEqual(['GET /api/v1/jobs/job_credential_test']);
		} finally {
			await other.close();
		}
	});
});
