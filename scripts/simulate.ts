/**
 * npm run simulate — moving vehicles written to the platform at a steady rate, for demos and benchmarks.
 * `npm run simulate -- --help` for the flags.
 */
import { runMain } from './lib/cli-support';
import {
  formatSimulationSummary,
  formatStatus,
  parseSimulateArgs,
  runSimulation,
  SIMULATE_HELP,
  type SimulationStats,
  simulationExitCode,
} from './lib/simulator';
import { openTransport } from './lib/transport-flags';

// The SDK warns once per process that Node 20 support ends in 2027; this tool supports Node 20 today.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function main(argv: string[]): Promise<number> {
  const command = parseSimulateArgs(argv);
  if (command.help) {
    process.stdout.write(SIMULATE_HELP);
    return 0;
  }
  const transport = openTransport(command.transport);
  if (!command.quiet && !command.json) {
    const length = command.durationS === undefined ? 'until Ctrl-C' : `for ${command.durationS} s`;
    process.stderr.write(
      `${command.vehicles} vehicles × ${command.hz} Hz → ${transport.description}, ${length} (seed ${command.seed})\n`,
    );
  }

  // Ctrl-C ends the run normally (the summary is the point of a benchmark); a second one quits at once.
  const stop = new AbortController();
  const onSignal = () => {
    if (stop.signal.aborted) process.exit(130);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let previous: SimulationStats | undefined;
  const summary = await runSimulation({
    vehicles: command.vehicles,
    hz: command.hz,
    ...(command.durationS !== undefined ? { durationS: command.durationS } : {}),
    seed: command.seed,
    area: command.area,
    idPrefix: command.idPrefix,
    keyAttribute: command.transport.keyAttribute,
    transport,
    concurrency: command.concurrency,
    statusIntervalMs: command.statusIntervalS * 1000,
    signal: stop.signal,
    ...(command.quiet || command.json
      ? {}
      : {
          onStatus: (stats: Readonly<SimulationStats>) => {
            process.stderr.write(formatStatus(stats, previous));
            previous = { ...stats };
          },
        }),
  });
  await transport.close();
  process.stdout.write(command.json ? `${JSON.stringify(summary)}\n` : formatSimulationSummary(summary));
  return simulationExitCode(summary);
}

runMain(() => main(process.argv.slice(2)));
