/**
 * The simulator and a real n8n with the package, wired together: what `npm run demo` and `npm run dev`
 * stand up. The e2e tests build the same thing in their beforeAll, step by step, so they can assert on
 * each part.
 */
import { startSimulator, type Simulator, type SimulatorOptions } from '../../simulator';
import { startN8n, type N8nInstance, type StartN8nOptions } from './n8n-instance';
import { GEMINI_OMNI_CREDENTIAL_TYPE, type CredentialReference } from './workflows';

export const SIMULATOR_CREDENTIAL_NAME = 'Gemini Omni (local simulator, Pro)';

export interface Stack {
	sim: Simulator;
	n8n: N8nInstance;
	/** A Gemini Omni credential in n8n pointing at the simulator with its Pro demo key. */
	credential: CredentialReference;
	/** Stops n8n and the simulator; safe to call more than once and from a signal handler. */
	stop(): Promise<void>;
}

export async function startStack(options: {
	simulator?: SimulatorOptions;
	n8n?: StartN8nOptions;
	onProgress?: (message: string) => void;
	/** Aborting (Ctrl-C during start) stops whatever already started; the start then rejects. */
	signal?: AbortSignal;
}): Promise<Stack> {
	const progress = options.onProgress ?? (() => {});
	let sim: Simulator | undefined;
	let n8n: N8nInstance | undefined;
	let stopping: Promise<void> | undefined;
	const stop = (): Promise<void> => {
		// n8n first: it may be in the middle of a request to the simulator.
		stopping ??= (async () => {
			await n8n?.stop();
			await sim?.close();
		})();
		return stopping;
	};
	try {
		sim = await startSimulator(options.simulator ?? {});
		progress(`Simulator listening on ${sim.url} (timeScale ${sim.timeScale})`);
		progress('Starting n8n with the package installed as a community package (first start ~10-30 s)…');
		options.signal?.throwIfAborted();
		n8n = await startN8n({ ...(options.n8n ?? {}), signal: options.signal });
		const { installSeconds, startSeconds, loginSeconds } = n8n.timings;
		progress(`n8n ready on ${n8n.baseUrl} (install ${installSeconds} s, start ${startSeconds} s, sign-in ${loginSeconds} s)`);
		options.signal?.throwIfAborted();
		const credential = await upsertSimulatorCredential(n8n, sim);
		progress(`Credential "${credential.name}" (id ${credential.id}) points at ${sim.url}`);
		return { sim, n8n, credential, stop };
	} catch (error) {
		await stop();
		throw error;
	}
}

/**
 * Creates the simulator credential, or, in a kept user folder that already has it, points it at this
 * run's simulator (its port changes from run to run).
 */
export async function upsertSimulatorCredential(n8n: N8nInstance, sim: Simulator): Promise<CredentialReference> {
	const data = { apiKey: sim.keys.pro, baseUrl: sim.url, plan: 'pro', webhookSecret: sim.webhookSecret };
	const existing = await n8n.api<{ data: Array<{ id: string; name: string; type: string }> }>('GET', '/credentials?limit=250');
	const found = existing.data.find(
		(credential) => credential.name === SIMULATOR_CREDENTIAL_NAME && credential.type === GEMINI_OMNI_CREDENTIAL_TYPE,
	);
	if (found) {
		await n8n.api('PATCH', `/credentials/${found.id}`, { data });
		return { id: found.id, name: found.name };
	}
	const id = await n8n.createCredential(SIMULATOR_CREDENTIAL_NAME, GEMINI_OMNI_CREDENTIAL_TYPE, data);
	return { id, name: SIMULATOR_CREDENTIAL_NAME };
}

/**
 * Ctrl-C (and SIGTERM) stop everything cleanly, then exit with `exitCode` (130 by default, as shells
 * expect after SIGINT; dev, where Ctrl-C is the normal way out, passes 0); another Ctrl-C two seconds or
 * more later exits at once.
 * Returns a function that removes the handlers.
 */
export function stopOnSignals(
	stop: () => Promise<void>,
	log: (message: string) => void = console.error,
	exitCode = 130,
): () => void {
	let firstAt = 0;
	const handler = (signal: NodeJS.Signals) => {
		if (firstAt) {
			// One Ctrl-C arrives several times: the terminal signals the whole process group, and npm and
			// tsx each pass it on to their child as well. Only a later, deliberate one forces the exit.
			if (Date.now() - firstAt < 2_000) return;
			log(`${signal} again: exiting without waiting`);
			process.exit(130);
		}
		firstAt = Date.now();
		log(`${signal}: stopping n8n and the simulator…`);
		stop().then(
			() => process.exit(exitCode),
			(error: Error) => {
				log(`while stopping: ${error.message}`);
				process.exit(1);
			},
		);
	};
	process.on('SIGINT', handler);
	process.on('SIGTERM', handler);
	return () => {
		process.removeListener('SIGINT', handler);
		process.removeListener('SIGTERM', handler);
	};
}

/** The API requests (uploads included) the simulator answered, counted by route and status. */
export function summarizeApiRequests(sim: Simulator): { total: number; byRoute: Array<{ route: string; count: number }> } {
	const apiEntries = sim.log.filter((entry) => entry.kind === 'api' || entry.kind === 'upload');
	const counts = new Map<string, number>();
	for (const entry of apiEntries) {
		// Job IDs would make every poll its own route; group them.
		const route = `${entry.method} ${entry.path.replace(/\/jobs\/[^/]+/, '/jobs/{jobId}')} → ${entry.status}`;
		counts.set(route, (counts.get(route) ?? 0) + 1);
	}
	return { total: apiEntries.length, byRoute: [...counts].map(([route, count]) => ({ route, count })) };
}
