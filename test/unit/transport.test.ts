import { NodeApiError } from 'n8n-workflow';
import type { INode } from 'n8n-workflow';

import { API_KEY_FORMAT_MESSAGE, isValidApiKey, redactSecrets } from '../../nodes/GeminiOmni/transport/apiKey';
import { toNodeApiError, serverErrorText } from '../../nodes/GeminiOmni/transport/errors';
import { backoffDelay, isRetryableStatus, parseRetryAfter } from '../../nodes/GeminiOmni/transport/retry';

const node: INode = {
	id: 'n1',
	name: 'Gemini Omni',
	type: 'n8n-nodes-gemini-omni.geminiOmni',
	typeVersion: 1,
	position: [0, 0],
	parameters: {},
};
const hex64 = 'ab'.repeat(32);
const key = `gomni_${hex64}`;

describe('API key format', () => {
	it('accepts gomni_ plus 64 hex characters, in either case', () => {
		expect(isValidApiKey(key)).toBe(true);
		expect(isValidApiKey(`gomni_${hex64.toUpperCase()}`)).toBe(true);
	});

	it.each([
		['empty', ''],
		['wrong prefix', `gemini_${hex64}`],
		['63 hex characters', `gomni_${hex64.slice(1)}`],
		['65 hex characters', `gomni_${hex64}a`],
		['non-hex character', `gomni_${hex64.slice(1)}g`],
		['surrounding text', `Bearer gomni_${hex64}`],
		['not a string', 42],
	])('refuses %s', (_label, candidate) => {
		expect(isValidApiKey(candidate)).toBe(false);
	});

	it('explains the expected format and that nothing was sent', () => {
		expect(API_KEY_FORMAT_MESSAGE).toMatch(/gomni_/);
		expect(API_KEY_FORMAT_MESSAGE).toMatch(/64 hexadecimal/);
		expect(API_KEY_FORMAT_MESSAGE).toMatch(/No request was sent/);
	});
});

describe('redactSecrets', () => {
	it('removes the given secrets and anything shaped like a key', () => {
		const other = `gomni_${'0f'.repeat(32)}`;
		const text = `key ${key} and secret whsec_123456 and stray ${other}`;
		const redacted = redactSecrets(text, [key, 'whsec_123456']);
		expect(redacted).not.toContain(key);
		expect(redacted).not.toContain(other);
		expect(redacted).not.toContain('whsec_123456');
		expect(redacted).toContain('[redacted]');
	});

	it('leaves ordinary text alone', () => {
		expect(redactSecrets('Job job_1 failed: bad prompt', [key])).toBe('Job job_1 failed: bad prompt');
	});
});

describe('parseRetryAfter', () => {
	const now = Date.parse('2026-11-24T10:00:00Z');
	it.each([
		['2', 2000],
		['0', 0],
		['0.35', 350],
		['1.5', 1500],
		['.5', 500],
		['1.', 1000],
		[' 3 ', 3000],
	])('reads seconds %p', (header, ms) => {
		expect(parseRetryAfter(header, now)).toBe(ms);
	});

	it('reads an HTTP date relative to now', () => {
		expect(parseRetryAfter('Tue, 24 Nov 2026 10:00:05 GMT', now)).toBe(5000);
	});

	it('never returns a negative wait for a date in the past', () => {
		expect(parseRetryAfter('Tue, 24 Nov 2026 09:59:00 GMT', now)).toBe(0);
	});

	it.each([[undefined], [''], ['soon'], ['-1']])('ignores %p', (header) => {
		expect(parseRetryAfter(header, now)).toBeUndefined();
	});

	it('takes the first value of a repeated header', () => {
		expect(parseRetryAfter(['4', '9'], now)).toBe(4000);
	});
});

describe('retry policy', () => {
	it.each([400, 401, 402, 403, 404])('never retries %i', (status) => {
		expect(isRetryableStatus(status)).toBe(false);
	});

	it.each([429, 500, 503])('retries %i', (status) => {
		expect(isRetryableStatus(status)).toBe(true);
	});

	it('backs off exponentially with jitter inside [ceiling/2, ceiling], capped', () => {
		for (let attempt = 0; attempt < 8; attempt++) {
			const ceiling = Math.min(10_000, 1000 * 2 ** attempt);
			expect(backoffDelay(attempt, 1000, 10_000, () => 0)).toBe(ceiling / 2);
			expect(backoffDelay(attempt, 1000, 10_000, () => 1)).toBe(ceiling);
		}
	});
});

describe('toNodeApiError', () => {
	it.each([
		[400, 'Missing field "prompt"', /Invalid request: Missing field "prompt"/, /Fix the field/],
		[401, 'Invalid API key', /Invalid API key/, /credential/],
		[402, 'Insufficient credits: 150 needed, 20 left', /Insufficient credits/, /Top up credits or upgrade the plan/],
		[403, 'API not available on Starter plan', /Not permitted on this plan/, /Pro or Premium/],
		[404, 'Job not found', /Job not found/, /job ID/],
	])('maps %i to a clear message with the server text and an action', (status, server, message, action) => {
		const error = toNodeApiError(node, { status, serverMessage: server, method: 'GET', path: '/api/v1/jobs/x', attempts: 1 }, [key], 2);
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error.message).toMatch(message);
		expect(error.message).toContain(server);
		expect(error.description).toMatch(action);
		expect(error.httpCode).toBe(String(status));
		expect(error.context.itemIndex).toBe(2);
	});

	it('says what was tried when retries ran out', () => {
		const error = toNodeApiError(
			node,
			{ status: 503, serverMessage: 'down', method: 'POST', path: '/api/v1/generate', attempts: 5, retrySummary: '5 attempts over 3.1 s' },
			[key],
		);
		expect(error.description).toContain('Tried 5 attempts over 3.1 s');
	});

	it('never carries the key, even when the server echoes it', () => {
		const error = toNodeApiError(
			node,
			{ status: 401, serverMessage: `Invalid API key ${key}`, method: 'GET', path: '/api/v1/jobs/x', attempts: 1 },
			[key],
		);
		const everything = JSON.stringify({ message: error.message, description: error.description, cause: error.cause, context: error.context });
		expect(everything).not.toContain(hex64);
	});

	it('reads the contract error shape and tolerates others', () => {
		expect(serverErrorText({ error: 'bad' })).toBe('bad');
		expect(serverErrorText({ error: { message: 'nested' } })).toBe('nested');
		expect(serverErrorText('plain text')).toBe('plain text');
		expect(serverErrorText({})).toBeUndefined();
	});
});

describe('apiRequest budget accounting', () => {
	// A small hand-made context is enough here: the request never reaches HTTP.
	it('releases the budget slot when building the body fails', async () => {
		const { apiRequest } = await import('../../nodes/GeminiOmni/transport');
		let released = 0;
		const context = { getNode: () => node, helpers: { httpRequestWithAuthentication: jest.fn() } };
		await expect(
			apiRequest.call(context as never, {
				method: 'POST',
				path: '/api/v1/upload',
				credentials: { apiKey: key, baseUrl: 'http://127.0.0.1:9', plan: 'pro', webhookSecret: '' },
				beforeAttempt: async () => () => released++,
				rawBody: async () => {
					throw new Error('binary file was pruned');
				},
			}),
		).rejects.toThrow('binary file was pruned');
		expect(released).toBe(1);
		expect(context.helpers.httpRequestWithAuthentication).not.toHaveBeenCalled();
	});
});
