import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { freePort, type LocalPlatform, silentLogger, startLocalPlatform } from '@real-time-platform/local-runtime';
import { compareSeq } from '@real-time-platform/protocol';
import { openRecordingSocket, type RecordingSocket } from './sockets';

// Fault scenarios shared by the `faults` integration suite (small load) and `npm run bench:faults` (the issue's
// load): writes at a steady rate to one key while subscribers listen, a fault in the middle, then a count per
// subscriber of what was lost, duplicated or reordered among the writes DynamoDB acknowledged.

const REPOSITORY_ROOT = join(__dirname, '..', '..', '..');
export const FAULTS_KEY = 'faults';

/** The app's platform with a DynamoDB Local of its own (supervised, data in a folder), as `npm start -- --persist`. */
export interface FaultsPlatform {
  platform: LocalPlatform;
  ddb: DynamoDBClient;
  tableName: string;
  keyAttribute: string;
  stop(): Promise<void>;
}

/** `functionEnvironment`: e.g. the fan-out's WS_ENDPOINT pointed at a @connections stand-in that injects faults. */
export async function startFaultsPlatform(
  options: {
    functionEnvironment?: Record<string, Record<string, string>>;
    /** Functions' code replaced by a test fixture, e.g. a fan-out that throws on some invocations. */
    functionEntryPoints?: Record<string, string>;
  } = {},
): Promise<FaultsPlatform> {
  await mkdir(join(REPOSITORY_ROOT, '.local'), { recursive: true });
  const workDir = await mkdtemp(join(REPOSITORY_ROOT, '.local', 'test-faults-'));
  let platform: LocalPlatform;
  try {
    platform = await startLocalPlatform({
      templatePath: join(REPOSITORY_ROOT, 'template.yaml'),
      wsPort: await freePort(),
      httpPort: await freePort(),
      dynamodbPort: await freePort(),
      s3Port: 0,
      sqsPort: 0,
      mqttPort: 0,
      quietFunctions: true,
      logger: silentLogger,
      workDir,
      persistDir: join(workDir, 'data'),
      // Two cores shared with parallel suites can take a while to start a JVM.
      dynamodbStartTimeoutMs: 120_000,
      ...(options.functionEnvironment ? { functionEnvironment: options.functionEnvironment } : {}),
      ...(options.functionEntryPoints ? { functionEntryPoints: options.functionEntryPoints } : {}),
    });
  } catch (error) {
    await rm(workDir, { recursive: true, force: true });
    throw error;
  }
  const table = platform.model.tables.find((t) => t.logicalId === 'RealTimeDataTable');
  if (!table) throw new Error('template.yaml has no RealTimeDataTable');
  const ddb = new DynamoDBClient({
    endpoint: platform.urls.dynamodb,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    // One attempt, bounded: a write during the outage fails fast and simply is not acknowledged.
    maxAttempts: 1,
    requestHandler: { requestTimeout: 3000, connectionTimeout: 1000, throwOnRequestTimeout: true },
  });
  return {
    platform,
    ddb,
    tableName: table.tableName,
    keyAttribute: platform.model.parameters.RealTimeItemKey ?? 'realTimeItemKey',
    async stop() {
      ddb.destroy();
      try {
        await platform.stop();
      } finally {
        await rm(workDir, { recursive: true, force: true });
      }
    },
  };
}

/** `count` WebSocket clients subscribed to `key` by the handshake. */
export async function openSubscribers(
  faults: FaultsPlatform,
  count: number,
  key = FAULTS_KEY,
): Promise<RecordingSocket[]> {
  const url = `${faults.platform.urls.webSocket}?${faults.keyAttribute}=${encodeURIComponent(key)}`;
  return Promise.all(Array.from({ length: count }, () => openRecordingSocket(url)));
}

export interface WriteLoad {
  /** Sequence numbers (the item's `n`) DynamoDB acknowledged, in write order. */
  acknowledged: number[];
  /** Writes that failed (the outage): not acknowledged, so they may or may not arrive. */
  failed: number;
}

/**
 * Writes `n` = 1, 2, … to FAULTS_KEY (one item per write, itemId `w{n}`), one after the other at `perSecond`, until
 * `done()` says so; `at(ms)` callbacks run once the load has run that long (the faults). Sequential writes make write
 * order the stream's order, so each subscriber must see the acknowledged `n` increasing.
 */
export async function writeLoad(
  faults: FaultsPlatform,
  options: {
    perSecond: number;
    /** Asked before each write: how long the load has run and how many writes were acknowledged so far. */
    done: (progress: { elapsedMs: number; acknowledged: number }) => boolean;
    at?: { ms: number; run: () => void }[];
    /** The key written to (FAULTS_KEY by default); one key per scenario keeps their counts apart. */
    key?: string;
    /** Several keys instead, written in turn: write `n` goes to `keys[(n - 1) % keys.length]` (see keyOfWrite). */
    keys?: readonly string[];
  },
): Promise<WriteLoad> {
  const acknowledged: number[] = [];
  let failed = 0;
  const keys = options.keys ?? [options.key ?? FAULTS_KEY];
  const started = Date.now();
  const pending = [...(options.at ?? [])].sort((a, b) => a.ms - b.ms);
  for (let n = 1; !options.done({ elapsedMs: Date.now() - started, acknowledged: acknowledged.length }); n++) {
    while (pending[0] && Date.now() - started >= pending[0].ms) pending.shift()?.run();
    try {
      await faults.ddb.send(
        new PutItemCommand({
          TableName: faults.tableName,
          Item: { [faults.keyAttribute]: { S: keyOfWrite(keys, n) }, itemId: { S: `w${n}` }, n: { N: String(n) } },
        }),
      );
      acknowledged.push(n);
    } catch {
      failed++;
    }
    const next = started + (n * 1000) / options.perSecond;
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
  return { acknowledged, failed };
}

/** The key write `n` of a several-key writeLoad went to. */
export function keyOfWrite(keys: readonly string[], n: number): string {
  return keys[(n - 1) % keys.length] as string;
}

export interface DeliveryCount {
  received: number;
  lost: number;
  duplicated: number;
  reordered: number;
}

/**
 * What one subscriber got of the acknowledged writes: `n` values from item frames, in arrival order. Writes that
 * failed for the writer may still have been stored (a request that timed out while DynamoDB Local was starting is
 * committed later, after the next write), so only acknowledged writes are counted and ordered.
 */
export function countDelivery(received: readonly number[], acknowledged: readonly number[]): DeliveryCount {
  const wanted = new Set(acknowledged);
  const ofAcknowledged = received.filter((n) => wanted.has(n));
  const got = new Set(ofAcknowledged);
  let reordered = 0;
  for (let i = 1; i < ofAcknowledged.length; i++) {
    if ((ofAcknowledged[i] as number) < (ofAcknowledged[i - 1] as number)) reordered++;
  }
  return {
    received: received.length,
    lost: acknowledged.filter((n) => !got.has(n)).length,
    duplicated: ofAcknowledged.length - got.size,
    reordered,
  };
}

/** The `n` of every item frame of `key` a socket received, in order. */
export function itemNumbers(frames: readonly Record<string, unknown>[], key = FAULTS_KEY): number[] {
  return frames
    .filter((frame) => frame.type === 'item' && frame.key === key)
    .map((frame) => Number((frame.item as { n?: unknown }).n));
}

/** Resolves once `has()` is true, polling; rejects after `timeoutMs` (the positive signal every count waits for). */
export async function waitUntil(has: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!has()) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * What a client applies of `key` from the item frames a socket received: the `n` of each frame whose `seq` is above
 * the last applied one (the client SDK's rule, delivery being at least once), and how many repeats that dropped.
 */
export function appliedBySeq(
  frames: readonly Record<string, unknown>[],
  key: string,
): { applied: number[]; repeatsDropped: number } {
  const applied: number[] = [];
  let repeatsDropped = 0;
  let lastSeq: string | undefined;
  for (const frame of frames) {
    if (frame.type !== 'item' || frame.key !== key) continue;
    const seq = String(frame.seq);
    if (lastSeq !== undefined && compareSeq(seq, lastSeq) <= 0) {
      repeatsDropped++;
      continue;
    }
    lastSeq = seq;
    applied.push(Number((frame.item as { n?: unknown }).n));
  }
  return { applied, repeatsDropped };
}
