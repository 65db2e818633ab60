/**
 * The machinery of `npm run bench` (scripts/bench.ts): small helpers, CPU accounting from /proc, the runtime started
 * as a child process like `npm start`, and the benchmark's WebSocket clients.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type AttributeValue, DynamoDBClient, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { freePort } from '@real-time-platform/local-runtime';
import WebSocket from 'ws';

// ------------------------------------------------------------------------------------------------ small helpers

export const TABLE = 'RealTimeData-develop';
export const CONNECTIONS_TABLE = 'WebSocketConnectionManager-develop';
export const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
/** FANOUT_CONCURRENCY in template.yaml / env.json: the SDK floor uses the same number of posts in flight. */
export const FANOUT_CONCURRENCY = 64;

/** Wall-clock ms with sub-ms precision, comparable across this process (the writer and the subscribers). */
export const nowMs = () => performance.timeOrigin + performance.now();
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
export const log = (message: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

/** Polls `check` until it returns true or `timeoutMs` passes; returns whether it did. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(everyMs);
  }
  return check();
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export const int = (n: number) => Math.round(n).toLocaleString('en-US');
export const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');

// ------------------------------------------------------------------------------------------------ CPU accounting

/**
 * CPU seconds (user + system) by process, and by thread for the runtime's node process (its main thread runs the
 * gateway and @connections server, each function runs in a worker thread): where the time of a phase goes.
 */
export type CpuSample = Map<string, number>;

const MAIN_THREAD = 'runtime main thread (gateway, @connections, stream poller)';
const USER_HZ = 100;

/**
 * The runtime's process tree (`rootPid` is the process the bench started): tsx's node, the runtime's node, and
 * DynamoDB Local's java, which runs in a process group of its own (so a Ctrl-C reaches only the runtime).
 */
export function sampleCpu(rootPid: number | undefined): CpuSample {
  const sample: CpuSample = new Map();
  const add = (name: string, seconds: number) => sample.set(name, (sample.get(name) ?? 0) + seconds);
  const self = process.cpuUsage();
  add('bench clients', (self.user + self.system) / 1e6);
  if (rootPid === undefined) return sample;
  const processes = new Map<number, NonNullable<ReturnType<typeof parseStat>>>();
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const stat = parseStat(safeRead(`/proc/${entry}/stat`));
    if (stat) processes.set(Number(entry), stat);
  }
  const inTree = (pid: number): boolean => {
    for (let at: number | undefined = pid; at !== undefined && at > 1; at = processes.get(at)?.parent) {
      if (at === rootPid) return true;
    }
    return false;
  };
  const nodes: number[] = [];
  for (const [pid, stat] of processes) {
    if (!inTree(pid)) continue;
    if (stat.name === 'java') add('DynamoDB Local (java)', stat.seconds);
    else if (stat.name === 'node') nodes.push(pid);
  }
  for (const pid of nodes) {
    // The runtime itself: the root is tsx's launcher, which only relays signals, unless the runtime runs under node
    // directly (--cpu-prof).
    if (nodes.length > 1 && pid === rootPid) continue;
    for (const tid of safeReaddir(`/proc/${pid}/task`)) {
      const thread = parseStat(safeRead(`/proc/${pid}/task/${tid}/stat`));
      if (thread) add(tid === String(pid) ? MAIN_THREAD : `thread ${tid}`, thread.seconds);
    }
  }
  return sample;
}

function parseStat(stat: string | undefined): { name: string; parent: number; seconds: number } | undefined {
  if (!stat) return undefined;
  const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  // Fields after "(comm) ": state ppid pgrp … utime (14th field overall) stime (15th).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { name, parent: Number(fields[1]), seconds: (Number(fields[11]) + Number(fields[12])) / USER_HZ };
}

/** Cores busy per part during a phase (1.00 = one core), and the runtime's CPU seconds in total. */
export interface CpuUse {
  text: string;
  /** CPU seconds of the runtime's node process (all threads) and of its busiest worker thread. */
  runtimeSeconds: number;
  workerSeconds: number;
}

/** The runtime's other threads are summarised as their busiest one (the function doing the work) + the rest. */
export function cpuDelta(before: CpuSample, after: CpuSample, wallSeconds: number): CpuUse {
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
export function mainThreadCpuSeconds(): number {
  return parseStat(safeRead(`/proc/self/task/${process.pid}/stat`))?.seconds ?? Number.NaN;
}

export function safeReaddir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

export function safeRead(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------------------------------------ the platform

export interface Platform {
  wsUrl: string;
  healthUrl: string;
  ddb: DynamoDBClient;
  /** The process the bench started (tsx's launcher), root of the runtime's process tree (tsx, node, java). */
  rootPid: number | undefined;
  health(): Promise<Health>;
  stop(): Promise<string>;
}

export interface StreamStats {
  getRecordsCalls: number;
  recordsRead: number;
  invocations: number;
  recordsSucceeded: number;
  failedInvocations: number;
  retries: number;
}

export interface Health {
  connections: number;
  streams: StreamStats[];
  dynamodb?: { pid?: number };
}

let runningChild: ChildProcess | undefined;

/** Kills the runtime's whole process group at once: the last resort (bench crash, second Ctrl-C). */
export function killGroupNow(): void {
  const pid = runningChild?.pid;
  if (pid === undefined || runningChild?.exitCode !== null) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Starts `tsx packages/local-runtime/src/cli.ts start --quiet` on free ports, as a user would, and waits for GET /health. */
export async function startPlatform(options: {
  cpuProf: boolean;
  runtimeLogs: boolean;
  /** Template parameters, as `npm start -- --parameter-overrides K=V …` takes them. */
  parameterOverrides?: string[];
}): Promise<Platform> {
  const [wsPort, httpPort, dynamodbPort] = [await freePort(), await freePort(), await freePort('0.0.0.0')];
  await mkdir('.local', { recursive: true });
  const logPath = join('.local', 'bench-runtime.log');
  const logFile = createWriteStream(logPath);
  const args = ['packages/local-runtime/src/cli.ts', 'start', ...(options.runtimeLogs ? [] : ['--quiet'])];
  for (const override of options.parameterOverrides ?? []) args.push('--parameter-overrides', override);
  args.push('--ws-port', String(wsPort), '--http-port', String(httpPort), '--dynamodb-port', String(dynamodbPort));
  // A profile of the runtime's main thread (gateway, @connections, stream poller), written when it exits after
  // SIGINT; function workers are terminated without writing one. Node refuses --cpu-prof in NODE_OPTIONS (exit 9),
  // so the runtime then runs under node itself with tsx as a loader.
  const [command, commandArgs] = options.cpuProf
    ? [process.execPath, ['--cpu-prof', '--cpu-prof-dir=.local/prof', '--import', 'tsx', ...args]]
    : ['node_modules/.bin/tsx', args];
  // detached: its own process group, so tsx and the runtime can be killed together if need be (DynamoDB Local's
  // JVM then halts by itself: its stdin from the runtime closes).
  const child = spawn(command, commandArgs, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
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
    // DynamoDB Local's JVM alone takes a minute to start when the machine is busy.
    180_000,
    200,
  );
  if (!up || child.exitCode !== null) {
    killGroupNow();
    throw new Error(`the runtime did not come up (exit ${child.exitCode}); see ${logPath}:\n${tail(logPath)}`);
  }
  log(`runtime up in ${((performance.now() - started) / 1000).toFixed(1)} s (pid ${child.pid}, log ${logPath})`);
  const javaPid = (await health()).dynamodb?.pid;

  const ddb = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${dynamodbPort}`,
    region: 'us-east-1',
    credentials: CREDENTIALS,
  });
  return {
    wsUrl: `ws://127.0.0.1:${wsPort}/develop`,
    healthUrl,
    ddb,
    rootPid: child.pid,
    health,
    stop: async () => {
      ddb.destroy();
      return stopChild(child, exited, javaPid);
    },
  };
}

/** SIGINT (the runtime's clean shutdown), SIGKILL to the group after 30 s; then checks that nothing is left. */
async function stopChild(child: ChildProcess, exited: Promise<void>, javaPid: number | undefined): Promise<string> {
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
  // The group must be empty, and DynamoDB Local's JVM (in a group of its own) gone: an orphan JVM would keep its port
  // and memory.
  const jvmLeft = () => (javaPid !== undefined && groupOf(String(javaPid)) !== undefined ? [String(javaPid)] : []);
  const left = () => [...safeReaddir('/proc').filter((e) => /^\d+$/.test(e) && groupOf(e) === pid), ...jvmLeft()];
  if (!(await waitFor(() => left().length === 0, 5_000))) {
    killGroupNow();
    for (const target of [-pid, ...jvmLeft().map(Number)]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {}
    }
    how += `; ${left().length} process(es) of the runtime remained and were killed`;
  }
  runningChild = undefined;
  return `${how}; no process of the runtime left: ${left().length === 0}`;
}

function groupOf(pid: string): number | undefined {
  const stat = safeRead(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

export function tail(path: string, lines = 20): string {
  return (safeRead(path) ?? '').trim().split('\n').slice(-lines).join('\n');
}

export function streamStats(health: Health): StreamStats {
  const zero = { getRecordsCalls: 0, recordsRead: 0, invocations: 0, recordsSucceeded: 0, failedInvocations: 0 };
  return health.streams[0] ?? { ...zero, retries: 0 };
}

// ------------------------------------------------------------------------------------------------ clients

export interface OpenResult {
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
export async function openSockets(
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
export async function closeSockets(platform: Platform, sockets: WebSocket[], keys: string[]): Promise<void> {
  for (const socket of sockets) socket.close(1000);
  const rows = async () =>
    (await Promise.all(keys.map((key) => subscriberRows(platform.ddb, key)))).reduce((a, b) => a + b, 0);
  const gone = await waitFor(async () => (await rows()) === 0, 120_000, 500);
  if (!gone) log(`warning: subscription rows still present 120 s after closing the sockets`);
}

export async function subscriberRows(ddb: DynamoDBClient, key: string): Promise<number> {
  let count = 0;
  let start: Record<string, AttributeValue> | undefined;
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

/** Writes a benchmark item: its `sentAt` (epoch ms, two decimals) and, when given, the writer's counter `n`. */
export function putItem(ddb: DynamoDBClient, key: string, itemId: string, sentAt: number, n?: number) {
  return ddb.send(
    new PutItemCommand({
      TableName: TABLE,
      Item: {
        realTimeItemKey: { S: key },
        itemId: { S: itemId },
        sentAt: { N: sentAt.toFixed(2) },
        ...(n === undefined ? {} : { n: { N: String(n) } }),
      },
    }),
  );
}
