/**
 * The webhook secret, kept in this process for a short while per credential.
 *
 * Why: in a webhook call n8n 2.x resolves a credential without a run to resolve against, so every read
 * builds a workflow of its own and takes an expression isolate for it (n8n's credentials-helper,
 * `applyDefaultsAndOverwrites`). Measured in the bench (bench/trigger.ts): reading the credential on
 * every delivery cost the Trigger more than half of its throughput under a burst.
 *
 * Safe, because a kept secret only ever saves a read:
 * - a delivery that does not verify against the kept secret is checked again against a fresh read, so
 *   a secret changed in n8n is never refused;
 * - a replaced secret is accepted at most KEEP_SECRET_MS longer;
 * - the secret lives only in this map, keyed by the credential's ID, never in output or logs.
 */

/** How long a secret read from the credential is used without reading it again. */
export const KEEP_SECRET_MS = 60_000;

/** At most this many credentials are kept (a process serves few Trigger credentials). */
const MAX_KEPT = 100;

const kept = new Map<string, { secret: string; readAt: number }>();

/**
 * Whether `matches` accepts the credential's webhook secret: the kept one if it is recent and matches,
 * else a fresh one from `readSecret`. Without a credential ID, always a fresh read.
 */
export async function matchesWebhookSecret(
	credentialId: string | undefined,
	readSecret: () => Promise<string>,
	matches: (secret: string) => boolean,
	now = Date.now(),
): Promise<boolean> {
	const entry = credentialId === undefined ? undefined : kept.get(credentialId);
	if (entry && now - entry.readAt < KEEP_SECRET_MS && matches(entry.secret)) return true;
	const secret = await readSecret();
	if (credentialId !== undefined) {
		kept.delete(credentialId);
		kept.set(credentialId, { secret, readAt: now });
		if (kept.size > MAX_KEPT) kept.delete(kept.keys().next().value as string);
	}
	return matches(secret);
}

/** Forgets every kept secret: for tests. */
export function forgetKeptSecrets(): void {
	kept.clear();
}
