/**
 * Talking to a running n8n main process: the owner's sign-in (session cookie and a public API key) and
 * the REST and public-API calls the tests, the demo and dev make. Its process is started and stopped by
 * n8n-instance.ts.
 */
import { randomBytes } from 'node:crypto';

import { ensureOk, request } from './n8n-http';
import { N8nHttpError } from './n8n-types';
import type { HttpResult, N8nExecution, N8nInstance, N8nNodeTypeDescription } from './n8n-types';

/** n8n ties the session cookie to this header; every session request sends the same value. */
export const BROWSER_ID = 'gemini-omni-e2e-browser';

/** Statuses after which an execution will not change any more. */
const FINISHED_STATUSES = new Set(['success', 'error', 'crashed', 'canceled']);

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

export interface N8nSession {
	/** The owner's session cookie (`/rest/…`, the editor's type files). */
	cookie: string;
	/** A public API key (X-N8N-API-KEY) with every scope the owner may grant. */
	apiKey: string;
}

/** What a client offers: the instance without its process. */
export type N8nClient = Omit<N8nInstance, 'port' | 'pid' | 'runnersBrokerPort' | 'userFolder' | 'owner' | 'timings' | 'logs' | 'stop' | 'kill' | 'role'>;

/** 1.x ignores N8N_INSTANCE_OWNER_*: its owner is set up through the REST API, which answers 404 for a moment after readiness. */
async function setUpOwnerOnV1(baseUrl: string, owner: { email: string; password: string; firstName: string; lastName: string }): Promise<void> {
	for (let attempt = 1; ; attempt++) {
		const url = `${baseUrl}/rest/owner/setup`;
		const setup = await request('POST', url, { 'browser-id': BROWSER_ID }, {
			email: owner.email,
			password: owner.password,
			firstName: owner.firstName,
			lastName: owner.lastName,
		});
		if (setup.status >= 200 && setup.status < 300) return;
		// Already set up (a kept user folder): the login tells.
		if (setup.status === 400) return;
		if (attempt >= 40) throw new N8nHttpError('POST', url, setup.status, JSON.stringify(setup.body));
		await sleep(500);
	}
}

async function logIn(baseUrl: string, owner: { email: string; password: string }): Promise<string> {
	for (let attempt = 1; ; attempt++) {
		const url = `${baseUrl}/rest/login`;
		const response = await fetch(url, {
			method: 'POST',
			headers: { 'content-type': 'application/json', 'browser-id': BROWSER_ID },
			body: JSON.stringify({ emailOrLdapLoginId: owner.email, password: owner.password }),
			signal: AbortSignal.timeout(15_000),
		});
		const text = await response.text();
		if (response.ok) {
			return response.headers
				.getSetCookie()
				.map((setCookie) => setCookie.split(';')[0])
				.join('; ');
		}
		// The owner is written during start; a login right at readiness has been seen to need a retry.
		if (attempt >= 10) throw new N8nHttpError('POST', url, response.status, text);
		await sleep(500);
	}
}

/** Signs the owner in (setting it up first on 1.x) and creates a public API key with every scope the owner may grant. */
export async function signInAsOwner(
	baseUrl: string,
	owner: { email: string; password: string; firstName: string; lastName: string },
	isV1: boolean,
): Promise<N8nSession> {
	if (isV1) await setUpOwnerOnV1(baseUrl, owner);
	const cookie = await logIn(baseUrl, owner);
	const rest = n8nClient(baseUrl, { cookie, apiKey: '' }, isV1).rest;
	const scopes = await rest<string[]>('GET', '/api-keys/scopes');
	const created = await rest<{ rawApiKey: string }>('POST', '/api-keys', {
		label: `gemini-omni-${randomBytes(4).toString('hex')}`,
		scopes,
		expiresAt: null,
	});
	if (!created.rawApiKey) throw new Error('POST /rest/api-keys returned no rawApiKey');
	return { cookie, apiKey: created.rawApiKey };
}

/** The REST and public-API calls to the n8n main process at `baseUrl`, as the owner of `session`. */
export function n8nClient(baseUrl: string, session: N8nSession, isV1: boolean): N8nClient {
	const sessionHeaders = () => ({ cookie: session.cookie, 'browser-id': BROWSER_ID });
	const apiKey = session.apiKey;

	async function rest<T>(method: string, path: string, body?: unknown): Promise<T> {
		const url = `${baseUrl}/rest${path}`;
		const result = await request(method, url, sessionHeaders(), body);
		ensureOk(method, url, result);
		const payload = result.body as { data?: T };
		return (payload && typeof payload === 'object' && 'data' in payload ? payload.data : payload) as T;
	}

	async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
		const url = `${baseUrl}${path.startsWith('/api/') ? path : `/api/v1${path}`}`;
		const result = await request(method, url, { 'X-N8N-API-KEY': apiKey, accept: 'application/json' }, body);
		ensureOk(method, url, result);
		return result.body as T;
	}

	// The editor's type files: static JSON behind the session cookie, not part of any API.
	async function typeFile<T>(kind: 'nodes' | 'credentials'): Promise<T> {
		const url = `${baseUrl}/types/${kind}.json`;
		const result = await request('GET', url, sessionHeaders());
		ensureOk('GET', url, result);
		return result.body as T;
	}

	const webhookUrl = (path: string) => `${baseUrl}/webhook/${path.replace(/^\/+/, '')}`;

	const client: N8nClient = {
		baseUrl,
		apiKey,
		api,
		rest,
		webhookUrl,

		async createCredential(name, type, data) {
			// n8n 1.123's public API refuses a credential whose type has `authenticate` without this field
			// in its data (a bug of that version; its editor is unaffected).
			const body = { name, type, data: isV1 ? { allowedHttpRequestDomains: 'all', ...data } : data };
			const created = await api<{ id: string }>('POST', '/credentials', body);
			return created.id;
		},

		async createWorkflow(workflow) {
			// The public API refuses read-only fields (id, active, versionId…) that exported workflows carry.
			const { name, nodes, connections, settings, staticData } = workflow;
			const created = await api<{ id: string }>('POST', '/workflows', {
				name,
				nodes,
				connections,
				settings: settings ?? { executionOrder: 'v1' },
				...(staticData ? { staticData } : {}),
			});
			return created.id;
		},

		async activateWorkflow(id) {
			await api('POST', `/workflows/${id}/activate`);
		},

		async deactivateWorkflow(id) {
			await api('POST', `/workflows/${id}/deactivate`);
		},

		async callWebhook(path, body, callOptions = {}) {
			const url = webhookUrl(path);
			const method = callOptions.method ?? 'POST';
			const waitUntilRegistered = callOptions.waitUntilRegistered ?? true;
			const registrationDeadline = Date.now() + (callOptions.registrationTimeoutMs ?? 20_000);
			for (;;) {
				const result = await request(method, url, callOptions.headers ?? {}, body, 120_000, callOptions.responseType);
				// Right after activation the production webhook is not registered yet and answers 404.
				if (result.status !== 404 || !waitUntilRegistered || Date.now() > registrationDeadline) {
					return result as HttpResult<any>;
				}
				await sleep(200);
			}
		},

		async listExecutions(workflowId) {
			const executions: N8nExecution[] = [];
			let cursor: string | undefined;
			do {
				const query = new URLSearchParams({ workflowId, limit: '250' });
				if (cursor) query.set('cursor', cursor);
				const page = await api<{ data: N8nExecution[]; nextCursor?: string | null }>(
					'GET',
					`/executions?${query.toString()}`,
				);
				executions.push(...page.data);
				cursor = page.nextCursor ?? undefined;
			} while (cursor);
			return executions;
		},

		async getExecution(id, includeData = true) {
			return await api<N8nExecution>('GET', `/executions/${id}?includeData=${includeData ? 'true' : 'false'}`);
		},

		async waitForExecution(workflowId, waitOptions = {}) {
			const accept = waitOptions.accept ?? (() => true);
			const waitDeadline = Date.now() + (waitOptions.timeoutMs ?? 30_000);
			for (;;) {
				const executions = await client.listExecutions(workflowId);
				const candidates = executions
					.filter((execution) => FINISHED_STATUSES.has(execution.status))
					.sort((a, b) => Number(b.id) - Number(a.id))
					// Newest first; a test looks for a run it just caused, not one from long ago.
					.slice(0, 20);
				for (const candidate of candidates) {
					const full = await client.getExecution(candidate.id, true);
					if (accept(full)) return full;
				}
				if (Date.now() > waitDeadline) {
					throw new Error(
						`No finished execution of workflow ${workflowId} matched within ${waitOptions.timeoutMs ?? 30_000} ms ` +
							`(saw ${executions.map((execution) => `${execution.id}:${execution.status}`).join(', ') || 'none'})`,
					);
				}
				await sleep(300);
			}
		},

		async waitForExecutionState(id, until, stateOptions = {}) {
			const timeoutMs = stateOptions.timeoutMs ?? 30_000;
			const stateDeadline = Date.now() + timeoutMs;
			for (;;) {
				let execution: N8nExecution | undefined;
				try {
					execution = await client.getExecution(id, true);
				} catch (error) {
					// Saved a moment after the webhook answered: a 404 right at the start is not an answer.
					if (!(error instanceof N8nHttpError && error.status === 404)) throw error;
				}
				if (execution && until(execution)) return execution;
				if (Date.now() > stateDeadline) {
					throw new Error(
						`Execution ${id} did not become ${stateOptions.what ?? 'what was waited for'} within ${timeoutMs} ms ` +
							`(last status: ${execution?.status ?? 'not found'})`,
					);
				}
				await sleep(250);
			}
		},

		async nodeTypes() {
			return await typeFile<N8nNodeTypeDescription[]>('nodes');
		},

		async credentialTypes() {
			return await typeFile('credentials');
		},
	};
	return client;
}
