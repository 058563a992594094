/**
 * How long a key's jobs really run against their estimates, learned from the jobs this process saw
 * finish (the server's createdAt and completedAt). The poll schedule starts checking at 0.55 × the
 * estimate because real jobs scatter; once a key's jobs show they end no earlier than r × their
 * estimate, checking before 0.9 × r only costs requests, so the first check moves up to there.
 */
import type { Job } from '../helpers/job';

export class RunTimeModel {
	private readonly ratios: number[] = [];

	constructor(
		/** Recent jobs remembered. */
		private readonly keep = 50,
		/** Jobs seen before the schedule follows them. */
		private readonly minSamples = 5,
	) {}

	/** Notes a finished job's actual run time as a multiple of its estimate (ignored when a time is missing). */
	observe(job: Job, estimateSeconds: number | undefined): void {
		if (job.status !== 'done' || !estimateSeconds || estimateSeconds <= 0) return;
		const ranMs = Date.parse(String(job.completedAt ?? '')) - Date.parse(String(job.createdAt ?? ''));
		const ratio = ranMs / (estimateSeconds * 1000);
		if (!Number.isFinite(ratio) || ratio <= 0) return;
		this.ratios.push(ratio);
		if (this.ratios.length > this.keep) this.ratios.shift();
	}

	/** The share of the estimate to start checking at: `defaultShare` until enough jobs were seen. */
	earliestShare(defaultShare: number): number {
		if (this.ratios.length < this.minSamples) return defaultShare;
		return Math.min(1, Math.max(defaultShare, 0.9 * Math.min(...this.ratios)));
	}
}
