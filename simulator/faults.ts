import type { Fault } from './types';

/** Injected faults, consumed first-match-first per request. Admin (/__sim) paths are never faulted. */
export class FaultQueue {
	private faults: Array<Fault & { remaining: number }> = [];

	add(fault: Fault): void {
		this.faults.push({ ...fault, remaining: fault.times ?? 1 });
	}

	clear(): void {
		this.faults = [];
	}

	take(method: string, path: string): Fault | undefined {
		const index = this.faults.findIndex((fault) => {
			if (fault.method && fault.method.toUpperCase() !== method.toUpperCase()) return false;
			if (fault.path === undefined) return true;
			return typeof fault.path === 'string' ? path.startsWith(fault.path) : fault.path.test(path);
		});
		if (index === -1) return undefined;
		const fault = this.faults[index];
		fault.remaining--;
		if (fault.remaining <= 0) this.faults.splice(index, 1);
		return fault;
	}

	list(): Fault[] {
		return this.faults.map(({ remaining, ...fault }) => ({ ...fault, times: remaining }));
	}
}
