/**
 * How long a key's jobs really run against their estimates, learned from the jobs this process saw
 * finish (the server's createdAt and completedAt). The poll schedule starts checking at 0.55 × the
 * estimate and its grid passes through the estimate, because real jobs scatter around it. Once a key's
 * jobs have shown where they end, the grid passes through their median actual/estimate instead, and
 * starts at 0.9 × the earliest of them: checking before that only costs requests.
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
		// A clock jump or an odd job must not move the schedule far: 0.25× to 2× is as far as it follows.
		this.ratios.push(Math.min(2, Math.max(0.25, ratio)));
		if (this.ratios.length > this.keep) this.ratios.shift();
	}

	/**
	 * Where to start checking and where the grid passes, as shares of the estimate: the defaults until
	 * enough jobs were seen. The start is 0.9 × the earliest ratio seen but not before the default start,
	 * unless the anchor itself is earlier (then the grid starts at the anchor).
	 */
	shares(defaults: { earliestShare: number; anchorShare: number }): { earliestShare: number; anchorShare: number } {
		if (this.ratios.length < this.minSamples) return { earliestShare: defaults.earliestShare, anchorShare: defaults.anchorShare };
		const sorted = [...this.ratios].sort((a, b) => a - b);
		const anchorShare = sorted[Math.floor(sorted.length / 2)];
		return { earliestShare: Math.min(anchorShare, Math.max(defaults.earliestShare, 0.9 * sorted[0])), anchorShare };
	}
}
