/**
 * Memory of recent deliveries, so a retried callback of the same (jobId, event) starts nothing.
 * Two layers: a process-wide set that catches deliveries arriving at the same moment (before either
 * run has saved anything), and the node's static data, which n8n saves after production webhook calls
 * and so survives restarts. Both are bounded: the platform retries for about 35 minutes at most.
 */
import type { IDataObject } from 'n8n-workflow';

const MAX_REMEMBERED = 1000;
const recentInProcess = new Set<string>();

/** Records a delivery; true if it is the first time this key is seen. */
export function rememberDelivery(staticData: IDataObject, key: string): boolean {
	const stored = Array.isArray(staticData.deliveries) ? (staticData.deliveries as string[]) : [];
	if (recentInProcess.has(key) || stored.includes(key)) return false;
	recentInProcess.add(key);
	if (recentInProcess.size > MAX_REMEMBERED) recentInProcess.delete(recentInProcess.values().next().value as string);
	staticData.deliveries = [...stored, key].slice(-MAX_REMEMBERED);
	return true;
}
