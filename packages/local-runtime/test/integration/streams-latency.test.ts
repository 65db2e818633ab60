import { type StreamEventSource, startStreamEventSource } from '../../src/streams';
import { silentLogger } from '../../src/types';
import {
  createStreamTable,
  keyOf,
  RecordingInvoker,
  type StreamTable,
  sleep,
  streamSpec,
} from '../helpers/stream-fixtures';

// Write → invocation latency through a real DynamoDB Local stream: the part of the runtime's write → subscriber
// latency that the event source owns. Prints p50/p95/p99; asserts only a loose bound so a busy CI box does not flake.

// jest ignores testTimeout inside `projects`, so the integration files set their own.
jest.setTimeout(30_000);

let table: StreamTable;
let source: StreamEventSource;

beforeAll(async () => {
  table = await createStreamTable('latency');
});

afterAll(async () => {
  await source?.stop();
  await table.dispose();
});

test('write → invocation latency at about 100 writes/s', async () => {
  // Prepare
  const writeStarted = new Map<string, number>();
  const writeAcknowledged = new Map<string, number>();
  const delivered: { key: string; at: number }[] = [];
  const invoker = new RecordingInvoker((records) => {
    const at = performance.now();
    for (const record of records) delivered.push({ key: keyOf(record) ?? '', at });
    return null;
  });
  source = startStreamEventSource({
    spec: streamSpec({ tableName: table.tableName, startingPosition: 'LATEST' }),
    streamArn: table.streamArn,
    streamsClient: table.streams,
    region: 'us-east-1',
    accountId: '123456789012',
    invoker,
    logger: silentLogger,
    onFailure: () => undefined,
  });
  // A fresh DynamoDB Local JVM is several times slower until the JIT has warmed up; don't measure that.
  for (let i = 0; i < 500; i++) await table.put(`warm-${i}`);
  await source.idle();
  delivered.length = 0;
  // Act: 220 writes, one every 10 ms (the bench's 100 writes/s); the first 20 warm up.
  const writes: Promise<void>[] = [];
  const keys: string[] = [];
  for (let i = 0; i < 220; i++) {
    const key = `lat-${i}`;
    keys.push(key);
    writeStarted.set(key, performance.now());
    writes.push(table.put(key).then(() => void writeAcknowledged.set(key, performance.now())));
    await sleep(10);
  }
  await Promise.all(writes);
  await source.idle();
  // Assess: every write delivered exactly once (concurrent writes may land in any order); latencies printed.
  expect(delivered.map((d) => d.key).sort()).toEqual([...keys].sort());
  const measured = delivered.filter((d) => Number(d.key.slice(4)) >= 20);
  const fromStart = percentiles(measured.map((d) => d.at - (writeStarted.get(d.key) ?? 0)));
  const fromAck = percentiles(measured.map((d) => d.at - (writeAcknowledged.get(d.key) ?? 0)));
  process.stdout.write(
    `write → invocation over ${measured.length} writes: ${fromStart.text}\n` +
      `write acknowledged → invocation: ${fromAck.text}\n`,
  );
  // Only a loose bound on the part the event source owns: on a loaded 2-core box DynamoDB Local itself queues
  // writes for hundreds of ms. The 15 ms end-to-end target is measured by `npm run bench`.
  expect(fromAck.p50).toBeLessThan(500);
});

/** p50 and a printable p50/p95/p99 line. */
function percentiles(values: number[]): { p50: number; text: string } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return {
    p50: at(0.5),
    text: `p50 ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms`,
  };
}
