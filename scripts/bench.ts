/**
 * npm run bench — the local platform end to end, always through the real path:
 *   PutItem (DynamoDB Local) → stream → OnReceiveRealTimeItem (worker thread) → POST @connections → WebSocket.
 *
 * The platform runs as a child process started exactly as a user starts it (`tsx packages/local-runtime/src/cli.ts start`), so its
 * 10,000+ sockets count against its own file-descriptor limit, not ours, and its CPU can be read from /proc.
 *
 * Measures, in one run on one machine:
 * 1. latency write → receipt at a steady write rate (default 100 subscribers, 100 writes/s, 10 s after a warm-up);
 * 2. connections opened at once (accepted / refused / timed out) and fan-out throughput to them (messages/s);
 * 3. two baselines: the SDK floor (a bare PostToConnection loop, concurrency 64, against a trivial HTTP server)
 *    and a plain `ws` broadcast; fan-out throughput is printed as a ratio of each.
 * Prints a markdown table (also written to .local/bench-result.md).
 *
 * Options: --quick (a ~30 s smoke run), --connections 1000,10000, --skip-10k, --latency 100@100 (subscribers@writes/s,
 * comma-separated for several loads), --latency-seconds 10, --cpu-prof (profiles of the runtime in .local/prof),
 * --runtime-logs (the runtime's per-invocation log lines, with durations, in .local/bench-runtime.log).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { freePort } from '@real-time-platform/local-runtime';
import WebSocket from 'ws';
import { createManagementApiClient } from '../src/adapters/aws-clients';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// ------------------------------------------------------------------------------------------------ options

interface LatencyLoad {
  subscribers: number;
  writesPerSecond: number;
  /** Subscribers are spread over this many keys and writes go round-robin over them (1 = everyone on one key). */
  keys: number;
}

/** "100@100:100" → 100 subscribers, 100 writes/s, 100 keys. */
function loadLabel(load: LatencyLoad): string {
  return `${load.subscribers}@${load.writesPerSecond}${load.keys > 1 ? `:${load.keys}` : ''}`;
}

interface Options {
  quick: boolean;
  connections: number[];
  latencyLoads: LatencyLoad[];
  latencySeconds: number;
  warmupWrites: number;
  /** Items written per fan-out phase, by connection count. */
  itemsFor: (connections: number) => number;
  floorCalls: number;
  broadcastClients: number;
  broadcastRounds: number;
  cpuProf: boolean;
  /** Run the runtime without --quiet: one log line per invocation (with its duration) in .local/bench-runtime.log. */
  runtimeLogs: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      connections: { type: 'string' },
      'skip-10k': { type: 'boolean', default: false },
      latency: { type: 'string' },
      'latency-seconds': { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      'runtime-logs': { type: 'boolean', default: false },
    },
  });
  const quick = values.quick === true;
  let connections = (values.connections ?? (quick ? '200,1000' : '1000,10000')).split(',').map(Number);
  if (values['skip-10k']) connections = connections.filter((n) => n < 10_000);
  if (connections.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error('--connections: positive integers');
  // 100@100:100 is the issue's load with each subscriber on its own key (100 messages/s); 100@10 puts 100
  // subscribers on one key (1,000 messages/s); 100@100 (10,000 messages/s, 5–10× the SDK floor) is a stress row.
  const latencyLoads = (values.latency ?? (quick ? '20@50:20' : '100@100:100,100@10,100@100'))
    .split(',')
    .map((spec) => {
      const [subscribers, rate, keys = 1] = spec.split(/[@:]/).map(Number);
      if (!subscribers || !rate || !keys || subscribers % keys !== 0) {
        throw new Error(
          `--latency expects subscribers@writesPerSecond[:keys] (keys dividing subscribers), got "${spec}"`,
        );
      }
      return { subscribers, writesPerSecond: rate, keys };
    });
  return {
    quick,
    connections,
    latencyLoads,
    latencySeconds: Number(values['latency-seconds'] ?? (quick ? 3 : 10)),
    warmupWrites: quick ? 100 : 300,
    // Enough messages that start-up effects are small, few enough that a phase stays under a minute or so.
    itemsFor: (n) => (quick ? 5 : n >= 10_000 ? 5 : 20),
    floorCalls: quick ? 2_000 : 10_000,
    broadcastClients: 1_000,
    broadcastRounds: quick ? 20 : 100,
    cpuProf: values['cpu-prof'] === true,
    runtimeLogs: values['runtime-logs'] === true,
  };
}

// ------------------------------------------------------------------------------------------------ small helpers

const TABLE = 'RealTimeData-develop';
const CONNECTIONS_TABLE = 'WebSocketConnectionManager-develop';
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
/** FANOUT_CONCURRENCY in template.yaml / env.json: the SDK floor uses the same number of posts in flight. */
const FANOUT_CONCURRENCY = 64;

/** Wall-clock ms with sub-ms precision, comparable across this process (the writer and the subscribers). */
const nowMs = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

/** Polls `check` until it returns true or `timeoutMs` passes; returns whether it did. */
async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(everyMs);
  }
  return check();
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');

// ------------------------------------------------------------------------------------------------ CPU accounting

/**
 * CPU seconds (user + system) by process, and by thread for the runtime's node process (its main thread runs the
 * gateway and @connections server, each function runs in a worker thread): where the time of a phase goes.
 */
type CpuSample = Map<string, number>;

const MAIN_THREAD = 'runtime main thread (gateway, @connections, stream poller)';
const USER_HZ = 100;

/** The runtime's process group (the child is a group leader): tsx's node, the runtime's node, DynamoDB Local's java. */
function sampleCpu(groupId: number | undefined): CpuSample {
  const sample: CpuSample = new Map();
  const add = (name: string, seconds: number) => sample.set(name, (sample.get(name) ?? 0) + seconds);
  const self = process.cpuUsage();
  add('bench clients', (self.user + self.system) / 1e6);
  if (groupId === undefined) return sample;
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const stat = parseStat(safeRead(`/proc/${entry}/stat`));
    if (!stat || stat.group !== groupId) continue;
    if (stat.name === 'java') add('DynamoDB Local (java)', stat.seconds);
    else if (stat.name === 'node' && Number(entry) !== groupId) {
      // The runtime itself (the group leader is tsx's launcher, which only relays signals).
      for (const tid of safeReaddir(`/proc/${entry}/task`)) {
        const thread = parseStat(safeRead(`/proc/${entry}/task/${tid}/stat`));
        if (thread) add(tid === entry ? MAIN_THREAD : `thread ${tid}`, thread.seconds);
      }
    }
  }
  return sample;
}

function parseStat(stat: string | undefined): { name: string; group: number; seconds: number } | undefined {
  if (!stat) return undefined;
  const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  // Fields after "(comm) ": state ppid pgrp … utime (14th field overall) stime (15th).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { name, group: Number(fields[2]), seconds: (Number(fields[11]) + Number(fields[12])) / USER_HZ };
}

/** Cores busy per part during a phase (1.00 = one core), and the runtime's CPU seconds in total. */
interface CpuUse {
  text: string;
  /** CPU seconds of the runtime's node process (all threads) and of its busiest worker thread. */
  runtimeSeconds: number;
  workerSeconds: number;
}

/** The runtime's other threads are summarised as their busiest one (the function doing the work) + the rest. */
function cpuDelta(before: CpuSample, after: CpuSample, wallSeconds: number): CpuUse {
  const seconds = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
  const threads = [...after.keys()].filter((name) => name.startsWith('thread ')).map(seconds);
  threads.sort((a, b) => b - a);
  const busiest = threads[0] ?? 0;
  const rest = threads.slice(1).reduce((sum, n) => sum + n, 0);
  const cores = (n: number) => (n / wallSeconds).toFixed(2);
  const parts = [
    `bench clients ${cores(seconds('bench clients'))}`,
    `${MAIN_THREAD} ${cores(seconds(MAIN_THREAD))}`,
    `busiest runtime worker thread (the function doing the work) ${cores(busiest)}`,
    `other runtime threads ${cores(rest)}`,
    `DynamoDB Local ${cores(seconds('DynamoDB Local (java)'))}`,
  ];
  return {
    text: `cores busy: ${parts.join(', ')}`,
    runtimeSeconds: seconds(MAIN_THREAD) + busiest + rest,
    workerSeconds: busiest,
  };
}

/** CPU seconds of this process's main thread only (the SDK floor's client; its server runs in a worker thread). */
function mainThreadCpuSeconds(): number {
  return parseStat(safeRead(`/proc/self/task/${process.pid}/stat`))?.seconds ?? Number.NaN;
}

function safeReaddir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function safeRead(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------------------------------------ the platform

interface Platform {
  wsUrl: string;
  healthUrl: string;
  ddb: DynamoDBClient;
  /** Process group of the runtime (tsx, node, java). */
  groupId: number | undefined;
  health(): Promise<Health>;
  stop(): Promise<string>;
}

interface StreamStats {
  getRecordsCalls: number;
  recordsRead: number;
  invocations: number;
  recordsSucceeded: number;
  failedInvocations: number;
  retries: number;
}

interface Health {
  connections: number;
  streams: StreamStats[];
}

let runningChild: ChildProcess | undefined;

/** Kills the runtime's whole process group at once: the last resort (bench crash, second Ctrl-C). */
function killGroupNow(): void {
  const pid = runningChild?.pid;
  if (pid === undefined || runningChild?.exitCode !== null) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Starts `tsx packages/local-runtime/src/cli.ts start --quiet` on free ports, as a user would, and waits for GET /health. */
async function startPlatform(options: Options): Promise<Platform> {
  const [wsPort, httpPort, dynamodbPort] = [await freePort(), await freePort(), await freePort('0.0.0.0')];
  await mkdir('.local', { recursive: true });
  const logPath = join('.local', 'bench-runtime.log');
  const logFile = createWriteStream(logPath);
  const args = ['packages/local-runtime/src/cli.ts', 'start', ...(options.runtimeLogs ? [] : ['--quiet'])];
  args.push('--ws-port', String(wsPort), '--http-port', String(httpPort), '--dynamodb-port', String(dynamodbPort));
  const env = { ...process.env };
  // Profiles of every thread of the runtime (and of tsx's launcher), written when it exits after SIGINT.
  if (options.cpuProf) env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=.local/prof`.trim();
  // detached: its own process group, so DynamoDB Local (the runtime's child) can be killed with it if need be.
  const child = spawn('node_modules/.bin/tsx', args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
  runningChild = child;
  child.stdout?.pipe(logFile);
  child.stderr?.pipe(logFile);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const healthUrl = `http://127.0.0.1:${httpPort}/health`;
  const health = async (): Promise<Health> => (await (await fetch(healthUrl)).json()) as Health;
  const started = performance.now();
  const up = await waitFor(
    async () => {
      if (child.exitCode !== null) return true;
      return health().then(
        () => true,
        () => false,
      );
    },
    60_000,
    200,
  );
  if (!up || child.exitCode !== null) {
    killGroupNow();
    throw new Error(`the runtime did not come up (exit ${child.exitCode}); see ${logPath}:\n${tail(logPath)}`);
  }
  log(`runtime up in ${((performance.now() - started) / 1000).toFixed(1)} s (pid ${child.pid}, log ${logPath})`);

  const ddb = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${dynamodbPort}`,
    region: 'us-east-1',
    credentials: CREDENTIALS,
  });
  return {
    wsUrl: `ws://127.0.0.1:${wsPort}/develop`,
    healthUrl,
    ddb,
    groupId: child.pid,
    health,
    stop: async () => {
      ddb.destroy();
      return stopChild(child, exited);
    },
  };
}

/** SIGINT (the runtime's clean shutdown), SIGKILL to the group after 30 s; then checks that nothing is left. */
async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<string> {
  const pid = child.pid;
  if (pid === undefined) return 'not started';
  let how = 'SIGINT';
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGINT');
    const timer = setTimeout(() => {
      how = 'SIGINT, then SIGKILL after 30 s';
      killGroupNow();
    }, 30_000);
    await exited;
    clearTimeout(timer);
  }
  // The group must be empty: an orphan JVM would keep its port and memory.
  const left = () => safeReaddir('/proc').filter((e) => /^\d+$/.test(e) && groupOf(e) === pid);
  if (!(await waitFor(() => left().length === 0, 5_000))) {
    killGroupNow();
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {}
    how += `; ${left().length} process(es) of its group remained and were killed`;
  }
  runningChild = undefined;
  return `${how}; no process of its group left: ${left().length === 0}`;
}

function groupOf(pid: string): number | undefined {
  const stat = safeRead(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

function tail(path: string, lines = 20): string {
  return (safeRead(path) ?? '').trim().split('\n').slice(-lines).join('\n');
}

function streamStats(health: Health): StreamStats {
  const zero = { getRecordsCalls: 0, recordsRead: 0, invocations: 0, recordsSucceeded: 0, failedInvocations: 0 };
  return health.streams[0] ?? { ...zero, retries: 0 };
}

// ------------------------------------------------------------------------------------------------ clients

interface OpenResult {
  sockets: WebSocket[];
  accepted: number;
  refused: number;
  timedOut: number;
  errors: number;
  /** First `new WebSocket` to the last socket settled (open, refused, failed). */
  ms: number;
  refusedStatuses: Map<number, number>;
}

/** Opens `count` sockets subscribed to `key`, all at once, and counts how each ended. */
async function openSockets(
  url: string,
  keyOf: (index: number) => string,
  count: number,
  onMessage: (index: number, data: Buffer) => void,
  timeoutMs: number,
): Promise<OpenResult> {
  const result: OpenResult = {
    sockets: [],
    accepted: 0,
    refused: 0,
    timedOut: 0,
    errors: 0,
    ms: 0,
    refusedStatuses: new Map(),
  };
  const started = performance.now();
  const settled: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    // No compression: the platform sends none either (API Gateway does not negotiate it), and inflating would make
    // the clients, which share the CPU with the runtime, the bottleneck.
    const socket = new WebSocket(`${url}?realTimeItemKey=${encodeURIComponent(keyOf(i))}`, {
      perMessageDeflate: false,
      handshakeTimeout: timeoutMs,
    });
    settled.push(
      new Promise<void>((resolve) => {
        socket.once('open', () => {
          result.accepted++;
          result.sockets.push(socket);
          socket.on('message', (data: Buffer) => onMessage(i, data));
          resolve();
        });
        socket.once('unexpected-response', (_req, res) => {
          result.refused++;
          const status = res.statusCode ?? 0;
          result.refusedStatuses.set(status, (result.refusedStatuses.get(status) ?? 0) + 1);
          res.resume();
          socket.terminate();
          resolve();
        });
        socket.once('error', (error: Error) => {
          if (/timed out/i.test(error.message)) result.timedOut++;
          else if (socket.readyState !== WebSocket.OPEN) result.errors++;
          resolve();
        });
      }),
    );
  }
  await Promise.all(settled);
  result.ms = performance.now() - started;
  return result;
}

/** Closes the sockets and waits until $disconnect has removed their rows (so the next phase starts quiet). */
async function closeSockets(platform: Platform, sockets: WebSocket[], keys: string[]): Promise<void> {
  for (const socket of sockets) socket.close(1000);
  const rows = async () =>
    (await Promise.all(keys.map((key) => subscriberRows(platform.ddb, key)))).reduce((a, b) => a + b, 0);
  const gone = await waitFor(async () => (await rows()) === 0, 120_000, 500);
  if (!gone) log(`warning: subscription rows still present 120 s after closing the sockets`);
}

async function subscriberRows(ddb: DynamoDBClient, key: string): Promise<number> {
  let count = 0;
  let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
  do {
    const page = await ddb.send(
      new QueryCommand({
        TableName: CONNECTIONS_TABLE,
        IndexName: 'subscribersByKey',
        KeyConditionExpression: 'realTimeItemKey = :k',
        ExpressionAttributeValues: { ':k': { S: key } },
        Select: 'COUNT',
        ExclusiveStartKey: start,
      }),
    );
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return count;
}

/** The item's `itemId`, read without parsing the whole message (the clients share the CPU with the runtime). */
function itemIdOf(text: string): string | undefined {
  const at = text.indexOf('"itemId":"');
  if (at < 0) return undefined;
  const start = at + 10;
  return text.slice(start, text.indexOf('"', start));
}

/** The `sentAt` the writer put in the item (epoch ms, two decimals: 15 digits, so the platform sends a number). */
function sentAtOf(text: string): number {
  const at = text.indexOf('"sentAt":');
  if (at < 0) return Number.NaN;
  // A number with more than 15 significant digits would reach the client as a string: skip the quote if so.
  const start = at + (text.charAt(at + 9) === '"' ? 10 : 9);
  let end = start;
  while (end < text.length && '0123456789.-e+'.includes(text.charAt(end))) end++;
  return Number(text.slice(start, end));
}

function putItem(ddb: DynamoDBClient, key: string, itemId: string, sentAt: number) {
  return ddb.send(
    new PutItemCommand({
      TableName: TABLE,
      Item: { realTimeItemKey: { S: key }, itemId: { S: itemId }, sentAt: { N: sentAt.toFixed(2) } },
    }),
  );
}

// ------------------------------------------------------------------------------------------------ 1. latency

interface LatencyResult {
  load: LatencyLoad;
  writes: number;
  expected: number;
  received: number;
  missing: number;
  duplicates: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** How long after the last write receipts were awaited. */
  waitedSeconds: number;
  cpu: CpuUse;
  /** Stream batches during the measured writes: records per invocation shows how much batching absorbed. */
  recordsPerInvocation: number;
}

async function measureLatency(platform: Platform, options: Options, load: LatencyLoad): Promise<LatencyResult> {
  const keys = Array.from({ length: load.keys }, (_, k) => `lat-${loadLabel(load).replaceAll(/[@:]/g, '-')}-${k}`);
  const keyOf = (i: number) => keys[i % keys.length] as string;
  const writes = Math.round(load.writesPerSecond * options.latencySeconds);
  const subscribersPerKey = load.subscribers / load.keys;
  const seen = new Uint8Array(load.subscribers * writes);
  const latencies = new Float64Array(load.subscribers * writes);
  let received = 0;
  let duplicates = 0;
  let warmupReceived = 0;

  const onMessage = (subscriber: number, data: Buffer) => {
    const receivedAt = nowMs();
    const text = data.toString();
    const itemId = itemIdOf(text);
    if (itemId === undefined) return;
    if (itemId.startsWith('w')) {
      warmupReceived++;
      return;
    }
    const slot = subscriber * writes + Number(itemId);
    if (seen[slot]) {
      duplicates++;
      return;
    }
    seen[slot] = 1;
    latencies[received++] = receivedAt - sentAtOf(text);
  };
  const opened = await openSockets(platform.wsUrl, keyOf, load.subscribers, onMessage, 30_000);
  if (opened.accepted !== load.subscribers) throw new Error(`latency: only ${opened.accepted} subscribers connected`);

  // Warm-up through the whole path (DynamoDB Local's JVM, the handler's sockets, JIT), then let it drain.
  // A few seconds' worth at most: the JVM warms in the first phase, and a slow load would make this take minutes.
  const warmupWrites = Math.min(options.warmupWrites, Math.ceil(load.writesPerSecond * 3));
  await writeAtRate(platform.ddb, keyOf, warmupWrites, load.writesPerSecond, (i) => `w${i}`);
  const warmupExpected = warmupWrites * subscribersPerKey;
  await waitFor(() => warmupReceived >= warmupExpected, 120_000);
  log(`latency ${loadLabel(load)}: warm-up ${warmupReceived}/${warmupExpected} received`);

  const statsBefore = streamStats(await platform.health());
  const cpuBefore = sampleCpu(platform.groupId);
  const started = performance.now();
  await writeAtRate(platform.ddb, keyOf, writes, load.writesPerSecond, (i) => String(i));
  const expected = writes * subscribersPerKey;
  // Whatever has not arrived this long after the last write is reported missing.
  const waitMs = 60_000 + expected / 100;
  await waitFor(() => received >= expected, waitMs);
  const wall = (performance.now() - started) / 1000;
  const cpu = cpuDelta(cpuBefore, sampleCpu(platform.groupId), wall);
  const statsAfter = streamStats(await platform.health());
  await closeSockets(platform, opened.sockets, keys);

  const sorted = latencies.subarray(0, received).sort();
  const invocations = statsAfter.invocations - statsBefore.invocations;
  return {
    load,
    writes,
    expected,
    received,
    missing: expected - received,
    duplicates,
    waitedSeconds: Math.round(waitMs / 1000),
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    cpu,
    recordsPerInvocation: invocations > 0 ? (statsAfter.recordsRead - statsBefore.recordsRead) / invocations : 0,
  };
}

/**
 * Open-loop writer: write i is sent at start + i / rate whether or not earlier writes finished, so a slow platform
 * shows up as latency instead of quietly lowering the rate.
 */
async function writeAtRate(
  ddb: DynamoDBClient,
  keyOf: (i: number) => string,
  count: number,
  perSecond: number,
  itemId: (i: number) => string,
): Promise<void> {
  const start = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    pending.push(putItem(ddb, keyOf(i), itemId(i), nowMs()));
  }
  await Promise.all(pending);
}

// ------------------------------------------------------------------------------------------------ 2. fan-out

interface FanoutResult {
  connections: number;
  items: number;
  open: OpenResult;
  expected: number;
  received: number;
  missing: number;
  duplicates: number;
  seconds: number;
  messagesPerSecond: number;
  cpu: CpuUse;
  invocations: number;
}

async function measureFanout(platform: Platform, options: Options, connections: number): Promise<FanoutResult> {
  const key = `fan-${connections}`;
  const items = options.itemsFor(connections);
  const seen = new Uint8Array(connections * items);
  let received = 0;
  let duplicates = 0;
  let warmupReceived = 0;
  let lastReceipt = 0;
  const onMessage = (socketIndex: number, data: Buffer) => {
    const itemId = itemIdOf(data.toString());
    if (itemId === undefined) return;
    if (itemId === 'warmup') {
      warmupReceived++;
      return;
    }
    const slot = socketIndex * items + Number(itemId);
    if (seen[slot]) {
      duplicates++;
      return;
    }
    seen[slot] = 1;
    received++;
    lastReceipt = performance.now();
  };

  log(`fan-out ${int(connections)}: opening ${int(connections)} sockets at once`);
  const open = await openSockets(platform.wsUrl, () => key, connections, onMessage, 60_000);
  log(
    `fan-out ${int(connections)}: ${open.accepted} accepted, ${open.refused} refused, ${open.timedOut} timed out, ` +
      `${open.errors} failed in ${(open.ms / 1000).toFixed(1)} s`,
  );
  const subscribed = open.accepted;
  if (subscribed === 0) throw new Error(`fan-out ${connections}: no connection accepted; see .local/bench-runtime.log`);

  // One item first (not timed): the first Query of this key and the first posts to new sockets.
  await putItem(platform.ddb, key, 'warmup', nowMs());
  await waitFor(() => warmupReceived >= subscribed, 120_000);

  const expected = subscribed * items;
  const statsBefore = streamStats(await platform.health());
  const cpuBefore = sampleCpu(platform.groupId);
  const started = performance.now();
  // "Quickly": all K writes in flight at once; they reach the handler in one or a few stream batches.
  await Promise.all(Array.from({ length: items }, (_, i) => putItem(platform.ddb, key, String(i), nowMs())));
  await waitFor(() => received >= expected, 60_000 + expected / 200, 20);
  const seconds = ((received >= expected ? lastReceipt : performance.now()) - started) / 1000;
  const cpu = cpuDelta(cpuBefore, sampleCpu(platform.groupId), seconds);
  const statsAfter = streamStats(await platform.health());
  await closeSockets(platform, open.sockets, [key]);
  return {
    connections,
    items,
    open,
    expected: connections * items,
    received,
    missing: connections * items - received,
    duplicates,
    seconds,
    messagesPerSecond: received / seconds,
    cpu,
    invocations: statsAfter.invocations - statsBefore.invocations,
  };
}

// ------------------------------------------------------------------------------------------------ 3. baselines

interface SdkFloor {
  callsPerSecond: number;
  runs: number[];
  /** CPU time of the client thread per call (ms; 10 ms /proc resolution over thousands of calls). */
  cpuMsPerCall: number;
}

/** A trivial HTTP server answering 200 to everything, in a worker thread (its own core, like the runtime's server). */
const TRIVIAL_SERVER = `
const { createServer } = require('node:http');
const { parentPort } = require('node:worker_threads');
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => { res.writeHead(200, { 'Content-Length': '0' }); res.end(); });
});
server.keepAliveTimeout = 65000;
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
`;

/** A message like the platform's item messages, for both baselines. */
const SAMPLE_MESSAGE = JSON.stringify({
  type: 'item',
  event: 'INSERT',
  key: 'fan-1000',
  itemId: '12',
  item: { realTimeItemKey: 'fan-1000', itemId: '12', sentAt: 1763800000000.123 },
  seq: '000000000000000000012',
  at: 1763800000000,
});

/**
 * The SDK floor: PostToConnection calls/s with the handler's own client configuration (createManagementApiClient:
 * keep-alive agent, 64 sockets, maxAttempts 1) and 64 calls in flight, against a server that does nothing.
 * Every post of the real path is one such call, so the fan-out cannot beat this on the same CPU.
 */
async function measureSdkFloor(calls: number): Promise<SdkFloor> {
  const worker = new Worker(TRIVIAL_SERVER, { eval: true });
  try {
    const port = await new Promise<number>((resolve) => worker.once('message', resolve));
    const client = createManagementApiClient({
      endpoint: `http://127.0.0.1:${port}/develop`,
      maxSockets: FANOUT_CONCURRENCY,
      region: 'us-east-1',
      credentials: CREDENTIALS,
    });
    const data = Buffer.from(SAMPLE_MESSAGE);
    const loop = async (count: number) => {
      let next = 0;
      const started = performance.now();
      const lane = async () => {
        while (next++ < count) await client.send(new PostToConnectionCommand({ ConnectionId: 'floor=', Data: data }));
      };
      await Promise.all(Array.from({ length: FANOUT_CONCURRENCY }, lane));
      return count / ((performance.now() - started) / 1000);
    };
    await loop(Math.min(3_000, calls)); // warm-up: sockets, JIT
    const cpuBefore = mainThreadCpuSeconds();
    const runs = [await loop(calls), await loop(calls), await loop(calls)];
    // CPU per call does not depend on what else the machine runs, unlike calls/s: the steadier comparison.
    const cpuMsPerCall = ((mainThreadCpuSeconds() - cpuBefore) * 1000) / (3 * calls);
    client.destroy();
    return { callsPerSecond: median(runs), runs, cpuMsPerCall };
  } finally {
    await worker.terminate();
  }
}

/** The ws broadcast server: on "go", sends `rounds` broadcasts to every client, yielding between rounds. */
const BROADCAST_SERVER = `
const { WebSocketServer } = require('ws');
const { parentPort, workerData } = require('node:worker_threads');
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
wss.on('listening', () => parentPort.postMessage({ port: wss.address().port }));
parentPort.on('message', (rounds) => {
  let round = 0;
  const broadcast = () => {
    for (const client of wss.clients) client.send(workerData.message);
    if (++round < rounds) setImmediate(broadcast);
  };
  broadcast();
});
`;

/** A plain ws broadcast to `clients` sockets, `rounds` times: messages/s received by our clients. */
async function measureWsBroadcast(clients: number, rounds: number): Promise<number> {
  const worker = new Worker(BROADCAST_SERVER, { eval: true, workerData: { message: SAMPLE_MESSAGE } });
  try {
    const { port } = await new Promise<{ port: number }>((resolve) => worker.once('message', resolve));
    let received = 0;
    const opened = await openSockets(
      `ws://127.0.0.1:${port}/`,
      () => 'x',
      clients,
      () => received++,
      30_000,
    );
    const run = async (count: number) => {
      received = 0;
      const started = performance.now();
      worker.postMessage(count);
      await waitFor(() => received >= count * opened.accepted, 60_000, 5);
      return received / ((performance.now() - started) / 1000);
    };
    await run(Math.max(5, Math.floor(rounds / 10))); // warm-up
    const result = await run(rounds);
    for (const socket of opened.sockets) socket.terminate();
    return result;
  } finally {
    await worker.terminate();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

// ------------------------------------------------------------------------------------------------ report

interface Report {
  options: Options;
  loadAtStart: number[];
  floor: SdkFloor;
  broadcast: number;
  latency: LatencyResult[];
  fanout: FanoutResult[];
  failures: string[];
  stopped: string;
}

const verdict = (ok: boolean) => (ok ? '**met**' : '**missed**');

function renderReport(report: Report): string {
  const { floor, broadcast } = report;
  const cpus = os.cpus();
  const lines = [
    `### npm run bench — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Machine: ${cpus[0]?.model.trim() ?? 'unknown CPU'} × ${cpus.length}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ` +
      `Node ${process.version}, ${os.type()} ${os.release()}. Command: \`npm run bench${argvText()}\`. ` +
      `Load average at start: ${report.loadAtStart.map((n) => n.toFixed(2)).join(' ')} (other work on the machine skews results).`,
    '',
    `The clients (this process), the runtime (a child process: gateway + functions in worker threads) and DynamoDB ` +
      `Local (Java) share these ${cpus.length} cores; every message goes PutItem → stream → OnReceiveRealTimeItem → ` +
      'POST @connections → socket.',
    '',
    '| Measure | Result | Target |',
    '|---|---|---|',
  ];
  for (const r of report.latency) {
    const ok = r.p50 <= 15 && r.p99 <= 50 && r.missing === 0 && r.duplicates === 0;
    lines.push(
      `| Latency write → receipt, ${r.load.subscribers} subscribers on ${r.load.keys === 1 ? 'one key' : `${r.load.keys} keys`} × ${r.load.writesPerSecond} writes/s ` +
        `(${int(r.writes)} writes, ${int((r.load.subscribers / r.load.keys) * r.load.writesPerSecond)} messages/s) | ` +
        `p50 ${ms(r.p50)} ms · p95 ${ms(r.p95)} ms · p99 ${ms(r.p99)} ms · max ${ms(r.max)} ms; ` +
        `${int(r.received)}/${int(r.expected)} received, ${int(r.missing)} not received ${r.waitedSeconds} s after the ` +
        `last write, ${int(r.duplicates)} duplicates ` +
        `| p50 ≤ 15 ms, p99 ≤ 50 ms: ${verdict(ok)} |`,
    );
  }
  for (const f of report.fanout) {
    const allAccepted = f.open.accepted === f.connections;
    const refusedDetail = [...f.open.refusedStatuses].map(([s, n]) => `${n}×${s}`).join(', ');
    lines.push(
      `| ${int(f.connections)} connections opened at once | ${int(f.open.accepted)} accepted, ${int(f.open.refused)} ` +
        `refused${refusedDetail ? ` (${refusedDetail})` : ''}, ${int(f.open.timedOut)} timed out, ${int(f.open.errors)} ` +
        `failed; ${(f.open.ms / 1000).toFixed(1)} s | all accepted: ${verdict(allAccepted)} |`,
    );
    const ratio = f.messagesPerSecond / floor.callsPerSecond;
    lines.push(
      `| Fan-out to ${int(f.connections)} connections (${f.items} items, ${int(f.expected)} messages) | ` +
        `**${int(f.messagesPerSecond)} messages/s** (${f.seconds.toFixed(1)} s, ${f.invocations} invocations; ` +
        `${int(f.missing)} missing, ${int(f.duplicates)} duplicates) = ${ratio.toFixed(2)}× SDK floor, ` +
        `${(f.messagesPerSecond / broadcast).toFixed(3)}× ws broadcast; per CPU second ` +
        `${(floor.cpuMsPerCall / ((f.cpu.workerSeconds * 1000) / Math.max(1, f.received))).toFixed(2)}× SDK floor ` +
        `(the floor client's CPU per call ÷ the fan-out worker's CPU per message: steadier under other load) | ` +
        `≥ 0.7× SDK floor: ${verdict(ratio >= 0.7)} |`,
    );
  }
  lines.push(
    `| Baseline: SDK floor (bare PostToConnection, ${FANOUT_CONCURRENCY} in flight, trivial HTTP server) | ` +
      `${int(floor.callsPerSecond)} calls/s (median of ${floor.runs.map(int).join(' / ')}) | — |`,
    `| Baseline: plain \`ws\` broadcast to ${int(report.options.broadcastClients)} clients | ` +
      `${int(broadcast)} messages/s | — |`,
    '',
    'Where the CPU went (cores busy during each measured phase; 1.00 = one core):',
    '',
  );
  for (const r of report.latency) {
    lines.push(
      `- latency ${loadLabel(r.load)}/s: ${r.cpu.text}; ${r.recordsPerInvocation.toFixed(1)} records per invocation`,
    );
  }
  for (const f of report.fanout) {
    const perMessage = (seconds: number) => ((seconds * 1000) / Math.max(1, f.received)).toFixed(3);
    lines.push(
      `- fan-out ${int(f.connections)}: ${f.cpu.text}. CPU per message delivered: ${perMessage(f.cpu.runtimeSeconds)} ms ` +
        `in the runtime, of which ${perMessage(f.cpu.workerSeconds)} ms in the fan-out worker thread ` +
        `(SDK floor: ${floor.cpuMsPerCall.toFixed(3)} ms per bare call)`,
    );
  }
  for (const failure of report.failures) lines.push(`- **failed** ${failure}`);
  lines.push('', `Runtime stopped with ${report.stopped}.`, '');
  return lines.join('\n');
}

function argvText(): string {
  const args = process.argv.slice(2);
  return args.length > 0 ? ` -- ${args.join(' ')}` : '';
}

// ------------------------------------------------------------------------------------------------ main

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const loadAtStart = os.loadavg();

  // Baselines first, on a quiet machine: they are the best this machine does, so the ratios are not flattered.
  log('baseline: SDK floor');
  const floor = await measureSdkFloor(options.floorCalls);
  log(`baseline: SDK floor ${int(floor.callsPerSecond)} calls/s; ws broadcast…`);
  const broadcast = await measureWsBroadcast(options.broadcastClients, options.broadcastRounds);
  log(`baseline: ws broadcast ${int(broadcast)} messages/s`);

  const platform = await startPlatform(options);
  const latency: LatencyResult[] = [];
  const fanout: FanoutResult[] = [];
  const failures: string[] = [];
  let stopped = 'not stopped';
  try {
    // A failed phase is reported and the next one still runs: one broken number should not hide the others.
    const attempt = async (phase: string, run: () => Promise<void>) => {
      try {
        await run();
      } catch (error) {
        log(`${phase} failed: ${error instanceof Error ? error.message : String(error)}`);
        failures.push(`${phase}: ${error instanceof Error ? error.message : String(error)}`);
      }
    };
    for (const load of options.latencyLoads) {
      await attempt(`latency ${loadLabel(load)}/s`, async () => {
        const result = await measureLatency(platform, options, load);
        log(`latency ${loadLabel(load)}/s: p50 ${ms(result.p50)} p99 ${ms(result.p99)} ms`);
        latency.push(result);
      });
    }
    for (const connections of options.connections) {
      await attempt(`fan-out ${int(connections)}`, async () => {
        const result = await measureFanout(platform, options, connections);
        log(`fan-out ${int(connections)}: ${int(result.messagesPerSecond)} messages/s`);
        fanout.push(result);
      });
    }
  } finally {
    log('stopping the runtime');
    stopped = await platform.stop();
  }

  const markdown = renderReport({ options, loadAtStart, floor, broadcast, latency, fanout, failures, stopped });
  process.stdout.write(`\n${markdown}\n`);
  await mkdir('.local', { recursive: true });
  await writeFile(join('.local', 'bench-result.md'), markdown);
  log('written to .local/bench-result.md');
}

// Whatever happens to us, the runtime's process group (with its JVM) goes too.
process.on('exit', killGroupNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killGroupNow();
    process.exit(130);
  });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`\n✖ bench failed: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`);
    killGroupNow();
    process.exit(1);
  },
);
