/**
 * Process-wide n8n-core state the engine needs before any node runs: a private n8n user folder
 * and n8n-core's BinaryDataService. n8n-core reaches both through the `@n8n/di` Container,
 * so they are singletons per Jest test file (Jest gives every file its own module registry).
 */
import { Container } from '@n8n/di';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BinaryDataConfig, BinaryDataService } from 'n8n-core';

export type BinaryMode = 'default' | 'filesystem';

let harnessDir: string | undefined;
let initialisedMode: BinaryMode | undefined;
const runsInFlight = new Map<BinaryMode, number>();

/** The temp folder this test file's engine writes to (user folder and binary store). */
export function harnessDirectory(): string {
	if (harnessDir === undefined) {
		const dir = mkdtempSync(path.join(tmpdir(), 'gemini-omni-engine-'));
		harnessDir = dir;
		// InstanceSettings (read by every node execution context) creates `<folder>/.n8n/config`
		// with a fresh encryption key; keep it away from the developer's ~/.n8n. Jest copies
		// process.env per test file, so this does not leak into other files.
		process.env.N8N_USER_FOLDER = dir;
		// n8n's logger writes straight to stdout (past Jest's console capture) and reports every
		// node error there; results already carry the errors. ENGINE_HARNESS_LOG_LEVEL=debug to see it.
		process.env.N8N_LOG_LEVEL = process.env.ENGINE_HARNESS_LOG_LEVEL ?? 'silent';
		process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
	}
	return harnessDir;
}

/** Where filesystem-mode binaries land, so tests can prove a download never stayed in memory. */
export function binaryStoragePath(): string {
	return path.join(harnessDirectory(), 'binary-data');
}

/**
 * Points n8n-core's BinaryDataService at the requested mode. Reading back works in any mode
 * (the stored id names its manager); only writes follow the current mode, which is global,
 * so two overlapping runs must agree on it.
 */
export async function useBinaryMode(mode: BinaryMode): Promise<() => void> {
	harnessDirectory();
	const otherModeBusy = [...runsInFlight].some(([busyMode, count]) => busyMode !== mode && count > 0);
	if (otherModeBusy) {
		throw new Error(
			`Harness: overlapping runs must share one binaryMode; "${mode}" was asked while another mode runs`,
		);
	}
	if (initialisedMode !== mode) {
		const config = Container.get(BinaryDataConfig);
		config.mode = mode;
		config.localStoragePath = binaryStoragePath();
		// init() (re)creates the filesystem manager and takes the mode from the config:
		// 'default' keeps binaries inline as base64, 'filesystem' writes them under localStoragePath.
		await Container.get(BinaryDataService).init();
		initialisedMode = mode;
	}
	runsInFlight.set(mode, (runsInFlight.get(mode) ?? 0) + 1);
	return () => runsInFlight.set(mode, (runsInFlight.get(mode) ?? 1) - 1);
}
