/** Error texts a user reads: said once, right for the endpoint, never inviting a retry that could bill twice. */
import type { INode } from 'n8n-workflow';

import { toNodeApiError, type ApiFailure } from '../../nodes/GeminiOmni/transport/errors';

const node: INode = { id: '1', name: 'Gemini Omni', type: 'geminiOmni', typeVersion: 1, position: [0, 0], parameters: {} };
const errorFor = (failure: Partial<ApiFailure>) =>
	toNodeApiError(node, { method: 'GET', path: '/api/v1/jobs/job_1', attempts: 1, ...failure }, []);

describe('error titles do not repeat the server’s text', () => {
	it.each([
		[401, 'Invalid API key', 'Invalid API key'],
		[404, 'Job not found', 'Job not found'],
		[404, 'Job not found: job_1.', 'Job not found: job_1'],
		[400, 'prompt is required', 'Invalid request: prompt is required'],
	])('%i with "%s" reads "%s"', (status, serverMessage, expected) => {
		expect(errorFor({ status, serverMessage }).message).toBe(expected);
	});
});

describe('a 404 is "job not found" only where a job was looked up', () => {
	it.each(['/api/v1/generate', '/api/v1/upload'])('a 404 from %s points at the Base URL', (path) => {
		const error = errorFor({ status: 404, serverMessage: 'Not found', method: 'POST', path });
		expect(error.message).toMatch(/^Gemini Omni API not found at this Base URL/);
		expect(error.description).toMatch(/check the Base URL/);
		expect(`${error.message} ${error.description}`).not.toMatch(/job ID/i);
	});

	it('a 404 from a job lookup asks to check the job ID', () => {
		expect(errorFor({ status: 404, serverMessage: 'Job not found' }).description).toMatch(/Check the job ID/);
	});
});

describe('a submit that may have created a job', () => {
	it.each([
		['a dropped connection', { networkError: 'socket hang up.', networkCode: 'ECONNRESET' }],
		['a gateway error', { status: 502, serverMessage: 'Bad gateway' }],
	])('after %s: says it was not resent, and never invites a retry', (_label, failure) => {
		const error = errorFor({ method: 'POST', path: '/api/v1/generate', mayHaveCreatedJob: true, ...failure });
		const text = `${error.message} ${error.description}`;
		expect(error.description).toMatch(/may have reached Gemini Omni and created a job, so it was not sent again/);
		expect(error.description).toMatch(/Before running this item again, check your Gemini Omni account/);
		expect(text).not.toMatch(/try again|retry the request/i);
		expect(text).not.toMatch(/\.\./);
	});
});
