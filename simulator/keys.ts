import { createHash, randomBytes } from 'node:crypto';
import type { KeySpec, Plan, PlanLimits } from './types';

export const PLAN_LIMITS: Record<'pro' | 'premium', PlanLimits> = {
	pro: { perMinute: 30, perHour: 200, concurrent: 5 },
	premium: { perMinute: 60, perHour: 500, concurrent: 10 },
};

export const PLAN_LABELS: Record<Plan, string> = { starter: 'Starter', pro: 'Pro', premium: 'Premium' };

/** Deterministic so docs, example workflows and out-of-process tests can hard-code them. */
function demoKey(label: string): string {
	return 'gomni_' + createHash('sha256').update(`gemini-omni-simulator demo key: ${label}`).digest('hex');
}

export const DEMO_KEYS = {
	pro: demoKey('pro'),
	premium: demoKey('premium'),
	starter: demoKey('starter'),
	/** A Pro key whose account has 0 credits. */
	noCredits: demoKey('no-credits'),
};

/** The same four kinds of key as DEMO_KEYS, random: one simulator's own. */
export function ownKeys(): typeof DEMO_KEYS {
	const key = () => 'gomni_' + randomBytes(32).toString('hex');
	return { pro: key(), premium: key(), starter: key(), noCredits: key() };
}

export const DEMO_WEBHOOK_SECRET = 'whsec_demo_gemini_omni_simulator_0001';

export const DEFAULT_CREDITS = 1_000_000;

/** The contract: gomni_ + exactly 64 hex characters; hex is case-insensitive. */
const KEY_PATTERN = /^gomni_[0-9a-f]{64}$/i;

export interface KeyAccount {
	/** Lowercased, so an upper-case hex key finds the same account. */
	key: string;
	suffix: string;
	plan: Plan;
	credits: number;
	limits: PlanLimits;
	/** Timestamps (ms) of counted requests, ascending, pruned to the hour window. */
	requestTimes: number[];
}

export function keySuffix(token: string): string {
	return token.slice(-6);
}

export class KeyRegistry {
	private readonly accounts = new Map<string, KeyAccount>();

	add(spec: KeySpec): KeyAccount {
		if (!KEY_PATTERN.test(spec.key)) {
			throw new Error(`Simulator key must be gomni_ followed by 64 hex characters (got one ending in ${keySuffix(spec.key)})`);
		}
		// Starter keys never reach the limiter (403 first); they get Pro numbers only to keep the type simple.
		const planLimits = spec.plan === 'premium' ? PLAN_LIMITS.premium : PLAN_LIMITS.pro;
		const account: KeyAccount = {
			key: spec.key.toLowerCase(),
			suffix: keySuffix(spec.key),
			plan: spec.plan,
			credits: spec.credits ?? DEFAULT_CREDITS,
			limits: { ...planLimits, ...(spec.limits ?? {}) },
			requestTimes: [],
		};
		this.accounts.set(account.key, account);
		return account;
	}

	/** Finds the account by full key or by its last characters (as the log shows them). */
	find(keyOrSuffix: string): KeyAccount | undefined {
		const exact = this.accounts.get(keyOrSuffix.toLowerCase());
		if (exact) return exact;
		const suffix = keyOrSuffix.toLowerCase();
		for (const account of this.accounts.values()) {
			if (account.key.endsWith(suffix)) return account;
		}
		return undefined;
	}

	all(): IterableIterator<KeyAccount> {
		return this.accounts.values();
	}

	get(key: string): KeyAccount | undefined {
		return this.accounts.get(key.toLowerCase());
	}
}

export type AuthResult =
	| { ok: true; account: KeyAccount; token: string }
	| { ok: false; status: 401 | 403; error: string; token?: string; account?: KeyAccount };

export function authenticate(registry: KeyRegistry, header: string | undefined): AuthResult {
	if (!header || header.trim() === '') {
		return { ok: false, status: 401, error: 'Missing API key: send the header Authorization: Bearer gomni_<64 hex characters>' };
	}
	const match = /^Bearer\s+(\S+)\s*$/i.exec(header.trim());
	if (!match) {
		return { ok: false, status: 401, error: 'Malformed Authorization header: expected "Bearer gomni_<64 hex characters>"' };
	}
	const token = match[1];
	if (!KEY_PATTERN.test(token)) {
		return { ok: false, status: 401, error: 'Invalid API key format: expected gomni_ followed by 64 hexadecimal characters', token };
	}
	const account = registry.get(token);
	if (!account) return { ok: false, status: 401, error: 'Invalid API key', token };
	if (account.plan === 'starter') {
		return {
			ok: false,
			status: 403,
			error: 'The REST API is available on Pro and Premium plans only. Upgrade your plan to use API keys.',
			token,
			account,
		};
	}
	return { ok: true, account, token };
}
