/**
 * npm run bench:backpressure — what a stalled client costs the local runtime. Starts the runtime as `npm start` does
 * (a child process on free ports), opens 10 sockets subscribed to one key that never read, plus one canary that
 * does, and writes 300 items of 100 KB to that key: the real fan-out posts every item to all 11 sockets (the
 * issue's case: 300 × 100 KB per stalled socket). Samples the runtime's RSS (/proc/<pid>/status VmRSS, worker
 * threads included, DynamoDB Local's JVM not) every 100 ms and prints: the baseline, the peak growth while
 * feeding, the growth once the canary has every item, and the growth after the stalled clients die (their sockets
 * destroyed, as when the client's process is killed) 5 s and 20 s after they die — by 20 s V8's memory reducer,
 * which starts after 8 s of little allocation, has collected what the flood left; plus how many stalled
 * connections the gateway closed and how many of their rows are left in the connection table.
 *
 * RSS also grows with the fan-out itself (the function's worker heap, 300 × 100 KB read from the stream and posted
 * 11 times), so what the stalled sockets cost is the difference from a run without them (`--sockets 0`), and what
 * the cap saves is the difference from a run without it (`--send-buffer-kb 0`, the gateway before backpressure).
 *
 * The baseline is taken after a warm-up (`--warmup` items of the same size to another key, read by one socket).
 *
 *   npm run bench:backpressure [-- --sockets 10 --items 300 --item-kb 100 --send-buffer-kb 1024 --warmup 100]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { DynamoDBClient, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { freePort } from '@real-time-platform/local-runtime';
import { connectionIdOf, openRecordingSocket } from '@real-time-platform/test-support';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values: args } = parseArgs({
  options: {
    sockets: { type: 'string', default: '10' },
    items: { type: 'string', default: '300' },
    'item-kb': { type: 'string', default: '100' },
    warmup: { type: 'string', default: '100' },
    /** The runtime's --send-buffer-kb: its default cap when absent, 0 for none. */
    'send-buffer-kb': { type: 'string' },
  },
});
const socketCount = Number(args.sockets);
const itemCount = Number(args.items);
const itemBytes = Number(args['item-kb']) * 1024;
const warmupCount = Number(args.warmup);
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const MB = 1024 * 1024;

const log = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

let child: ChildProcess | undefined;

/** The runtime in its own process group, killed at once whatever happens; its DynamoDB Local then halts by itself. */
async function startRuntime() {
  const [wsPort, httpPort, s3Port, mqttPort, sqsPort] = await Promise.all([1, 2, 3, 4, 5].map(() => freePort()));
  const dynamodbPort = await freePort('0.0.0.0');
  // No console (port 0): other runtimes on the machine may hold its default port.
  const cli = ['--import', 'tsx', 'packages/local-runtime/src/cli.ts', 'start', '--quiet', '--console-port', '0'];
  const ports = { ws: wsPort, http: httpPort, s3: s3Port, mqtt: mqttPort, sqs: sqsPort, dynamodb: dynamodbPort };
  const flags = Object.entries(ports).flatMap(([name, port]) => [`--${name}-port`, String(port)]);
  if (args['send-buffer-kb'] !== undefined) flags.push('--send-buffer-kb', args['send-buffer-kb']);
  child = spawn(process.execPath, [...cli, ...flags], { detached: true, stdio: ['ignore', 'ignore', 'inherit'] });
  const pid = child.pid ?? 0;
  await waitFor(
    () =>
      fetch(`http://127.0.0.1:${httpPort}/health`).then(
        (r) => r.ok,
        () => false,
      ),
    120_000,
    'the runtime',
  );
  return {
    pid,
    wsUrl: `ws://127.0.0.1:${wsPort}/develop`,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    dynamodb: `http://127.0.0.1:${dynamodbPort}`,
  };
}

function stopRuntime(): void {
  if (child?.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

async function main(): Promise<void> {
  const cap = args['send-buffer-kb'] === undefined ? 'default' : `${args['send-buffer-kb']} KB (0: none)`;
  log(
    `load average at start: ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}; send buffer cap ${cap}`,
  );
  const runtime = await startRuntime();
  log(`runtime up (pid ${runtime.pid})`);
  const ddb = new DynamoDBClient({ endpoint: runtime.dynamodb, region: 'us-east-1', credentials });
  const key = `bench-slow-${randomUUID().slice(0, 8)}`;
  const url = `${runtime.wsUrl}?realTimeItemKey=${key}`;

  const pad = 'x'.repeat(itemBytes - 200);
  const write = (itemKey: string, i: number) =>
    ddb.send(
      new PutItemCommand({
        TableName: 'RealTimeData-develop',
        Item: { realTimeItemKey: { S: itemKey }, itemId: { S: `i${i}` }, pad: { S: pad } },
      }),
    );
  // Warm-up on another key, read by one socket: every function's worker, the stream reader and the gateway have
  // handled items of this size before the baseline, so the growth measured is the load's, not a cold start's.
  const warmKey = `${key}-warmup`;
  const warm = await openRecordingSocket(`${runtime.wsUrl}?realTimeItemKey=${warmKey}`);
  for (let i = 0; i < warmupCount; i++) await write(warmKey, i);
  await waitFor(() => warm.frames.filter((f) => f.type === 'item').length >= warmupCount, 300_000, 'the warm-up');
  warm.close();

  const canary = await openRecordingSocket(url);
  const stalled = await Promise.all(Array.from({ length: socketCount }, () => openRecordingSocket(url)));
  // A minute for the first pong: on a loaded machine the message function's cold start alone can take ten seconds.
  const stalledIds = await Promise.all(stalled.map((socket) => connectionIdOf(socket, 60_000)));
  for (const socket of stalled) socket.socket.pause();
  await sleep(3000);
  const baseline = rssBytes(runtime.pid);
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssBytes(runtime.pid));
  }, 100);

  log(`baseline RSS ${(baseline / MB).toFixed(1)} MB after ${warmupCount} warm-up items; writing ${itemCount} items`);
  const started = Date.now();
  for (let i = 0; i < itemCount; i++) await write(key, i);
  await waitFor(() => canary.frames.filter((f) => f.type === 'item').length >= itemCount, 300_000, 'the canary');
  const fedMs = Date.now() - started;
  const afterFeed = rssBytes(runtime.pid);

  const rowsLeft = async () => {
    let rows = 0;
    for (const id of stalledIds) {
      const { Count = 0 } = await ddb.send(
        new QueryCommand({
          TableName: 'WebSocketConnectionManager-develop',
          KeyConditionExpression: 'connectionId = :c',
          ExpressionAttributeValues: { ':c': { S: id } },
        }),
      );
      rows += Count;
    }
    return rows;
  };
  // The gateway's own count: a paused client may not have read its close yet. With the cap the stalled ones are
  // gone long before the feed ends; without it they are all still open.
  const health = (await (await fetch(`${runtime.httpUrl}/health`)).json()) as { connections: number };
  const closedByGateway = socketCount + 1 - health.connections;
  const rowsBeforeDeath = await rowsLeft();
  // The stalled clients die: their sockets are destroyed without a close handshake, as when the process is killed.
  for (const socket of stalled) socket.socket.terminate();
  await waitFor(async () => (await rowsLeft()) === 0, 20_000, 'the stalled rows to go').catch(() => undefined);
  await sleep(5000);
  const afterClose = rssBytes(runtime.pid);
  clearInterval(sampler);
  // V8 returns an idle isolate's garbage with its memory reducer, which starts 8 s after allocation slows down
  // (--gc-memory-reducer-start-delay-ms): read again once it has had the time to run.
  await sleep(15_000);
  const settled = rssBytes(runtime.pid);

  const growth = (bytes: number) => `${((bytes - baseline) / MB).toFixed(1)} MB`;
  log(
    `${socketCount} stalled sockets + 1 reading canary, ${itemCount} items × ${itemBytes / 1024} KB fanned out in ${(fedMs / 1000).toFixed(1)} s`,
  );
  log(`runtime RSS baseline          ${(baseline / MB).toFixed(1)} MB`);
  log(`peak growth while feeding     ${growth(peak)}`);
  log(`growth once the canary had all ${growth(afterFeed)}`);
  log(`growth 5 s after they died    ${growth(afterClose)}`);
  log(`growth 20 s after they died   ${growth(settled)}`);
  log(`stalled closed by the gateway ${closedByGateway}/${socketCount} while feeding`);
  log(`their rows before they died   ${rowsBeforeDeath}; after ${await rowsLeft()}`);
  log(`canary received               ${canary.frames.filter((f) => f.type === 'item').length}/${itemCount} items`);
  log(
    `load average at the end      ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}`,
  );
  canary.close();
  ddb.destroy();
  child?.kill('SIGINT');
  await new Promise((resolve) => child?.once('exit', resolve));
}

process.on('exit', stopRuntime);
main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    stopRuntime();
    process.exit(1);
  },
);
