/**
 * Local stand-in for the Gemini Omni REST API, written from ../shared/API-CONTRACT.md.
 * Node built-ins only. See README.md beside this file for directives, costs and admin routes.
 */
import { SimulatorServer } from './server';
import type { Simulator, SimulatorOptions } from './types';

export { DEMO_KEYS, DEMO_WEBHOOK_SECRET, PLAN_LIMITS } from './keys';
export type {
	Fault,
	JobStatus,
	KeySpec,
	LogEntry,
	LogKind,
	Plan,
	PlanLimits,
	SimJobView,
	Simulator,
	SimulatorOptions,
	WebhookDelivery,
} from './types';

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
	const simulator = new SimulatorServer(opts);
	await simulator.listen();
	return simulator;
}
