import type { IDataObject } from 'n8n-workflow';

/** Outputs stay on their signed URL for 7 days after completion (contract: "valid for 7 days"). */
export const OUTPUT_URL_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

export type JobStatus = 'accepted' | 'generating' | 'done' | 'failed';

export interface Job extends IDataObject {
	jobId: string;
	status: JobStatus | string;
	model?: string;
	creditCost?: number;
	estimatedSeconds?: number;
	outputUrl?: string;
	error?: string;
	createdAt?: string;
	completedAt?: string;
	expiresAt?: string;
}

export function isFinished(job: Job): boolean {
	return job.status === 'done' || job.status === 'failed';
}

/**
 * The job as the node outputs it: every field the server sent (the contract allows more), plus
 * `expiresAt` for a done job so a workflow knows when its outputUrl stops working.
 */
export function normalizeJob(raw: IDataObject): Job {
	const job = { ...raw } as Job;
	if (job.status === 'done' && job.outputUrl && !job.expiresAt) {
		const completed = Date.parse(String(job.completedAt ?? ''));
		if (!Number.isNaN(completed)) job.expiresAt = new Date(completed + OUTPUT_URL_LIFETIME_MS).toISOString();
	}
	return job;
}
