/**
 * npm run cost -- --producers 10 --hz 1 --subscribers 1000 --bytes 1024 [--keys N] [--conflate]
 *
 * The monthly AWS cost of a fan-out load by component (scripts/lib/cost-model.ts), one post per frame against
 * coalesced posts (and conflation with --conflate), plus the account-throughput check. The function's memory and
 * FanoutConcurrency come from template.yaml; the CPU per post from the last `npm run bench` on this machine
 * (.local/bench-result.json) unless --cpu-ms-per-post says otherwise.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { readCfnTemplate } from '@real-time-platform/local-runtime';
import { positiveInt, positiveNumber, runMain, UsageError } from './lib/cli-support';
import { type CostInputs, estimateCosts, renderCosts, type Scenario } from './lib/cost-model';

const HELP = `npm run cost -- --producers N --hz H --subscribers S --bytes B [options]

  --producers N        producers writing items (required)
  --hz H               writes per second per producer (1)
  --subscribers S      connections, spread evenly over the keys, one key each (required)
  --bytes B            item size in bytes (1024)
  --keys N             keys the producers and subscribers are spread over (1)
  --items-per-key N    distinct items per key (default: producers per key — each producer updates its own item)
  --conflate           also price ConflateChanges=true
  --batch-seconds T    time between a stream shard's batches (0.25: Lambda polls a shard 4 times a second)
  --cpu-ms-per-post C  fan-out CPU per post (default: the last npm run bench, else 0.25)
  --post-latency-ms L  round trip of one post (20)
  -h, --help           this text
`;

/** The fan-out's memory and FanoutConcurrency default, read from template.yaml. */
function templateSettings(): { memoryMb: number; concurrency: number } {
  const template = readCfnTemplate('template.yaml');
  const fanout = template.Resources?.OnReceiveRealTimeItem?.Properties as { MemorySize?: number } | undefined;
  const concurrency = (template.Parameters as Record<string, { Default?: unknown }> | undefined)?.FanoutConcurrency;
  return { memoryMb: Number(fanout?.MemorySize ?? 1024), concurrency: Number(concurrency?.Default ?? 64) };
}

/** CPU per post measured by the last `npm run bench` here, with where it came from. */
function measuredCpuPerPost(): { value: number; source: string } | undefined {
  const path = '.local/bench-result.json';
  if (!existsSync(path)) return undefined;
  try {
    const result = JSON.parse(readFileSync(path, 'utf8')) as { cpuMsPerPost?: unknown; at?: unknown };
    if (typeof result.cpuMsPerPost !== 'number') return undefined;
    return { value: result.cpuMsPerPost, source: `measured by npm run bench at ${String(result.at)}` };
  } catch {
    return undefined;
  }
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      producers: { type: 'string' },
      hz: { type: 'string' },
      subscribers: { type: 'string' },
      bytes: { type: 'string' },
      keys: { type: 'string' },
      'items-per-key': { type: 'string' },
      conflate: { type: 'boolean', default: false },
      'batch-seconds': { type: 'string' },
      'cpu-ms-per-post': { type: 'string' },
      'post-latency-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.producers === undefined || values.subscribers === undefined) {
    throw new UsageError('--producers and --subscribers are required');
  }
  const { memoryMb, concurrency } = templateSettings();
  const measured = measuredCpuPerPost();
  const cpuFlag = positiveNumber('--cpu-ms-per-post', values['cpu-ms-per-post']);
  const itemsPerKey = positiveNumber('--items-per-key', values['items-per-key']);
  const inputs: CostInputs = {
    producers: positiveInt('--producers', values.producers, 1),
    hz: positiveNumber('--hz', values.hz, 1),
    subscribers: positiveInt('--subscribers', values.subscribers, 1),
    bytes: positiveInt('--bytes', values.bytes, 1024, 400 * 1024),
    keys: positiveInt('--keys', values.keys, 1),
    ...(itemsPerKey === undefined ? {} : { itemsPerKey }),
    batchSeconds: positiveNumber('--batch-seconds', values['batch-seconds'], 0.25),
    cpuMsPerPost: cpuFlag ?? measured?.value ?? 0.25,
    memoryMb,
    postLatencyMs: positiveNumber('--post-latency-ms', values['post-latency-ms'], 20),
    concurrency,
  };
  const scenarios: Scenario[] = ['one post per frame', 'coalesced'];
  if (values.conflate) scenarios.push('coalesced + conflated');
  process.stdout.write(`${renderCosts(inputs, estimateCosts(inputs, scenarios))}\n`);
  const cpuSource =
    cpuFlag !== undefined
      ? '--cpu-ms-per-post'
      : (measured?.source ?? 'the default 0.25 ms (no .local/bench-result.json yet: run npm run bench)');
  process.stdout.write(`CPU per post: ${inputs.cpuMsPerPost} ms, ${cpuSource}.\n`);
  return 0;
}

runMain(() => main(process.argv.slice(2)));
