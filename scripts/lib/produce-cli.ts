/**
 * `npm run produce`'s command line: its help, its flags, and the input sources (arguments, a file, stdin).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { formatOf, type ItemFileFormat, parseItemStream } from '../../src/domain/item-files';
import { positiveInt, UsageError } from './cli-support';
import type { SourceRecord } from './produce-core';
import type { TransportConfig } from './transport';
import { transportConfigOf, transportFlagSpecs, transportFlagsHelp } from './transport-flags';

/** `npm run produce -- --help`. */
export const PRODUCE_HELP = `npm run produce — send items to the Real Time Platform

Usage:
  npm run produce -- [ITEM…] [options]          items as arguments, each a JSON object or an array of them
  npm run produce -- --file FILE [options]      a .json (array), .ndjson/.jsonl or .csv (header row) file
  npm run produce -- - [options] < FILE         stdin (also when piped without "-"); NDJSON unless --format

Input:
  -f, --file FILE              read items from FILE, streamed (format from the extension, or --format)
  --format json|ndjson|csv     the input's format, when the file name does not say (stdin: ndjson)

${transportFlagsHelp}
Sending:
  --concurrency N              requests in flight (4)
  --batch-size N               items per request, at most 25 (25)

Output:
  --max-reasons N              rejection and failure reasons listed in the summary (10)
  --json                       print the summary as JSON on stdout
  -q, --quiet                  no progress output
  -h, --help                   this text

Every item needs the key attribute (--key-attribute) as a string; itemId defaults to "latest". Items that cannot be
valid are not sent: they count as rejected, with their line and reason. Progress goes to stderr (a bar on a
terminal, a line every 5 s otherwise); the summary to stdout.

Exit code: 0 all written; 2 some rejected (bad input), the rest written; 1 failed writes, an unreachable or
refusing destination, or a usage error.

Examples:
  npm run produce -- '{"realTimeItemKey":"3","speed":42}'
  npm run produce -- '[{"realTimeItemKey":"3"},{"realTimeItemKey":"4","itemId":"a"}]' --to dynamodb
  npm run produce -- --file vehicles.ndjson --key-attribute vehicleId --concurrency 8
  cat vehicles.csv | npm run produce -- - --format csv
  npm run produce -- --file items.json --url https://abc123.execute-api.eu-west-1.amazonaws.com
`;

/** Where the items come from. */
export type InputSource =
  | { kind: 'arguments'; values: string[] }
  | { kind: 'file'; path: string; format: ItemFileFormat }
  | { kind: 'stdin'; format: ItemFileFormat };

/** A parsed `npm run produce` command line. */
export type ProduceCommand =
  | { help: true }
  | {
      help: false;
      input: InputSource;
      transport: TransportConfig;
      concurrency: number;
      batchSize: number;
      maxReasons: number;
      json: boolean;
      quiet: boolean;
    };

const formats: readonly ItemFileFormat[] = ['json', 'ndjson', 'csv'];

/**
 * Parses produce's arguments. `stdinIsTTY` decides whether no input at all means "read the pipe" or a mistake.
 */
export function parseProduceArgs(
  argv: string[],
  context: { stdinIsTTY: boolean; env?: NodeJS.ProcessEnv } = { stdinIsTTY: true },
): ProduceCommand {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      ...transportFlagSpecs,
      file: { type: 'string', short: 'f' },
      format: { type: 'string' },
      concurrency: { type: 'string' },
      'batch-size': { type: 'string' },
      'max-reasons': { type: 'string' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', short: 'q', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return { help: true };
  const format = values.format;
  if (format !== undefined && !formats.includes(format as ItemFileFormat)) {
    throw new UsageError(`--format must be json, ndjson or csv, got "${format}"`);
  }
  const stdinDash = positionals.includes('-');
  const items = positionals.filter((p) => p !== '-');
  const sources = [items.length > 0, values.file !== undefined, stdinDash].filter(Boolean).length;
  if (sources > 1) throw new UsageError('give items as arguments, --file, or "-" (stdin) — one of them, not several');

  let input: InputSource;
  if (values.file !== undefined) {
    const byName = formatOf(values.file);
    const chosen = (format as ItemFileFormat | undefined) ?? byName;
    if (!chosen) {
      throw new UsageError(`cannot tell the format of "${values.file}" from its name: add --format json|ndjson|csv`);
    }
    input = { kind: 'file', path: values.file, format: chosen };
  } else if (items.length > 0) {
    if (format !== undefined) throw new UsageError('--format applies to --file and stdin; arguments are JSON');
    input = { kind: 'arguments', values: items };
  } else if (stdinDash || !context.stdinIsTTY) {
    input = { kind: 'stdin', format: (format as ItemFileFormat | undefined) ?? 'ndjson' };
  } else {
    throw new UsageError('nothing to send: give items as arguments, --file FILE, or pipe them in (see --help)');
  }

  return {
    help: false,
    input,
    transport: transportConfigOf(values, context.env),
    concurrency: positiveInt('--concurrency', values.concurrency, 4, 256),
    batchSize: positiveInt('--batch-size', values['batch-size'], 25, 25),
    maxReasons: positiveInt('--max-reasons', values['max-reasons'], 10),
    json: values.json === true,
    quiet: values.quiet === true,
  };
}

/** JSON arguments as records: argument n is "item n" when it is one object; an array's elements count on. */
export function* argumentRecords(values: readonly string[]): Generator<SourceRecord> {
  let position = 0;
  for (const [index, text] of values.entries()) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      yield { line: ++position, error: `argument ${index + 1} is not JSON (${(error as Error).message})` };
      continue;
    }
    for (const item of Array.isArray(parsed) ? parsed : [parsed]) yield { line: ++position, item };
  }
}

/** An opened input: its records, and for files how far reading has got (for the progress bar). */
export interface OpenedInput {
  records: AsyncIterable<SourceRecord>;
  /** What positions in the summary are called. */
  unit: 'line' | 'item';
  totalBytes?: number;
  bytesRead?: () => number;
}

/** Opens the input; files and stdin are streamed, never read whole. */
export async function openInput(
  input: InputSource,
  stdin: NodeJS.ReadableStream = process.stdin,
  /** The key column of a CSV stays text, so `3` is the key "3", not the number 3. */
  keyAttribute?: string,
): Promise<OpenedInput> {
  const options = keyAttribute === undefined ? {} : { keyAttribute };
  if (input.kind === 'arguments') {
    const records = argumentRecords(input.values);
    return {
      records: (async function* () {
        yield* records;
      })(),
      unit: 'item',
    };
  }
  if (input.kind === 'stdin')
    return { records: parseItemStream(stdin, input.format, options), unit: input.format === 'json' ? 'item' : 'line' };
  let size: number;
  try {
    const info = await stat(input.path);
    if (!info.isFile()) throw new UsageError(`--file ${input.path}: not a file`);
    size = info.size;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(
      `--file ${input.path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
    );
  }
  const stream = createReadStream(input.path);
  return {
    records: parseItemStream(stream, input.format, options),
    // A JSON array's "line" is the element's position (see item-files.ts).
    unit: input.format === 'json' ? 'item' : 'line',
    totalBytes: size,
    bytesRead: () => stream.bytesRead,
  };
}
