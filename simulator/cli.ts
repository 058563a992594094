/**
 * Runs the simulator in the foreground for manual use and for n8n workflows pointed at it:
 *   npx tsx simulator/cli.ts [--port 4010] [--host 127.0.0.1] [--time-scale 0.05] [--webhook-secret whsec_...]
 */
import { startSimulator } from './index';
import type { SimulatorOptions } from './types';

function parseArgs(argv: string[]): SimulatorOptions {
	const options: SimulatorOptions = {};
	for (let index = 0; index < argv.length; index++) {
		const [flag, inline] = argv[index].split('=', 2);
		const value = (): string => {
			const next = inline ?? argv[++index];
			if (next === undefined) throw new Error(`${flag} needs a value`);
			return next;
		};
		switch (flag) {
			case '--port':
				options.port = Number(value());
				break;
			case '--host':
				options.host = value();
				break;
			case '--time-scale':
				options.timeScale = Number(value());
				break;
			case '--webhook-secret':
				options.webhookSecret = value();
				break;
			case '--help':
			case '-h':
				console.log('usage: simulator/cli.ts [--port N] [--host H] [--time-scale F] [--webhook-secret S]');
				process.exit(0);
				break;
			default:
				throw new Error(`Unknown option ${flag}`);
		}
	}
	if (options.port !== undefined && !(Number.isInteger(options.port) && options.port >= 0)) {
		throw new Error('--port must be a non-negative integer');
	}
	if (options.timeScale !== undefined && !(options.timeScale > 0)) throw new Error('--time-scale must be > 0');
	return options;
}

async function main(): Promise<void> {
	const simulator = await startSimulator(parseArgs(process.argv.slice(2)));
	console.log(`Gemini Omni simulator listening on ${simulator.url} (timeScale ${simulator.timeScale})`);
	console.log('Demo API keys:');
	console.log(`  pro        ${simulator.keys.pro}`);
	console.log(`  premium    ${simulator.keys.premium}`);
	console.log(`  starter    ${simulator.keys.starter}   (API not available: 403)`);
	console.log(`  noCredits  ${simulator.keys.noCredits}   (Pro, 0 credits: 402)`);
	console.log(`Webhook secret: ${simulator.webhookSecret}`);
	console.log('Directives in prompt/script: [sim:fail] [sim:fail=msg] [sim:failonce=msg] [sim:overrun=1.5] [sim:spread=0.3] [sim:seed=N] [sim:seconds=2] [sim:bytes=N]');
	console.log(`Admin: GET/DELETE ${simulator.url}/__sim/log, POST/DELETE ${simulator.url}/__sim/faults`);

	let stopping = false;
	const stop = (signal: string): void => {
		if (stopping) return;
		stopping = true;
		console.log(`${signal}: stopping the simulator`);
		simulator.close().then(
			() => process.exit(0),
			(error: Error) => {
				console.error(error);
				process.exit(1);
			},
		);
	};
	process.on('SIGINT', () => stop('SIGINT'));
	process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: Error) => {
	console.error(`simulator: ${error.message}`);
	process.exit(1);
});
