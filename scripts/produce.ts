/**
 * npm run produce — send items from arguments, a file or stdin to the HTTP API (POST /items) or straight into the
 * RealTimeData table, with progress and a summary. `npm run produce -- --help` for the flags.
 */
import { validateItem } from '../src/domain/items';
import { runMain } from './lib/cli-support';
import { openInput, PRODUCE_HELP, parseProduceArgs } from './lib/produce-cli';
import { exitCodeOf, formatSummary, produce } from './lib/produce-core';
import { createProgress, silentProgress } from './lib/progress';
import { HTTP_MAX_BATCH_BYTES } from './lib/transport';
import { openTransport } from './lib/transport-flags';

// The SDK warns once per process that Node 20 support ends in 2027; this tool supports Node 20 today.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function main(argv: string[]): Promise<number> {
  const command = parseProduceArgs(argv, { stdinIsTTY: process.stdin.isTTY === true });
  if (command.help) {
    process.stdout.write(PRODUCE_HELP);
    return 0;
  }
  const transport = openTransport(command.transport);
  const input = await openInput(command.input, process.stdin, command.transport.keyAttribute);
  const progress =
    command.quiet || command.json
      ? silentProgress
      : createProgress({
          ...(input.totalBytes !== undefined ? { totalBytes: input.totalBytes } : {}),
          ...(input.bytesRead ? { bytesRead: input.bytesRead } : {}),
        });

  // Ctrl-C stops reading and lets the batches in flight finish, so the summary is true; a second one quits now.
  const interrupt = new AbortController();
  process.on('SIGINT', () => {
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort();
  });

  const keyAttribute = command.transport.keyAttribute;
  const summary = await produce({
    records: input.records,
    transport,
    validate: (raw) => {
      const verdict = validateItem(raw, { keyAttribute });
      return verdict.ok ? { ok: true } : verdict;
    },
    batchSize: command.batchSize,
    // POST /items refuses bodies over 1 MiB (src/handlers/logic/items-api.ts), and 25 items of up to 400 KB each
    // can be far more; a batch closes early instead. One item (≤ 400 KB) always fits.
    ...(command.transport.to === 'http' ? { maxBatchBytes: HTTP_MAX_BATCH_BYTES } : {}),
    concurrency: command.concurrency,
    maxReasons: command.maxReasons,
    onProgress: (c) => progress.update(c),
    signal: interrupt.signal,
  });
  progress.stop();
  await transport.close();
  process.stdout.write(
    command.json
      ? `${JSON.stringify({ ...summary, destination: transport.description, exitCode: exitCodeOf(summary) })}\n`
      : formatSummary(summary, input.unit),
  );
  return interrupt.signal.aborted ? 130 : exitCodeOf(summary);
}

runMain(() => main(process.argv.slice(2)));
