import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { compareSeq } from '@real-time-platform/protocol';
import {
  createTestTables,
  lambdaContext,
  localCredentials,
  type ManagementApiStub,
  startManagementApiStub,
  streamEvent,
  streamRecord,
  type TestTables,
} from '@real-time-platform/test-support';
import { createManagementApiClient } from '../../src/adapters/aws-clients';
import { createConnectionRepository } from '../../src/adapters/connection-repository';
import { createConnectionSender } from '../../src/adapters/connection-sender';
import { createPresenceStore } from '../../src/adapters/presence-store';
import { createRealTimeDataReader } from '../../src/adapters/real-time-data-reader';
import { createConnectHandler } from '../../src/handlers/logic/connect';
import { runFanout } from '../../src/handlers/logic/fanout';
import { captureLog } from '../helpers/fakes';
import { publicKeys } from '../helpers/presence-fakes';

// One 100-record batch over 5 keys to 50 connections, through real DynamoDB Local and a real HTTP server standing in
// for the @connections API (410 for some connections, 429-then-200 for others).

const KEYS = ['k0', 'k1', 'k2', 'k3', 'k4'];
const CONNECTIONS = Array.from({ length: 50 }, (_, i) => `fan-${String(i).padStart(2, '0')}=`);
const GONE = new Set(CONNECTIONS.slice(0, 5));
const THROTTLED = new Set(CONNECTIONS.slice(5, 10));
/** Connection i subscribes to two neighbouring keys: 20 subscribers per key. */
const keysOf = (i: number) => [KEYS[i % 5] as string, KEYS[(i + 1) % 5] as string];

// The integration project's testTimeout is not applied per project by jest, so the files set their own.
jest.setTimeout(60_000);

let tables: TestTables;
let stub: ManagementApiStub;
let management: ReturnType<typeof createManagementApiClient>;

beforeAll(async () => {
  tables = await createTestTables('fanout');
  stub = await startManagementApiStub();
  management = createManagementApiClient({
    endpoint: stub.endpoint,
    maxSockets: 64,
    region: 'us-east-1',
    credentials: localCredentials,
  });
});

afterAll(async () => {
  management.destroy();
  await stub.close();
  await tables.drop();
});

function fanoutDeps(concurrency = 64) {
  return {
    connections: createConnectionRepository({
      ddb: tables.documents,
      tableName: tables.connectionsTable,
      ttlSeconds: 7800,
    }),
    sender: createConnectionSender({ client: management, backoff: { baseMs: 5, capMs: 50 }, maxAttempts: 4 }),
    keyAttribute: 'vehicleId',
    concurrency,
    logger: captureLog(),
    snapshots: {
      reader: createRealTimeDataReader({
        ddb: tables.dynamodb,
        tableName: tables.dataTable,
        keyAttribute: 'vehicleId',
      }),
    },
  };
}

type Frame = Record<string, unknown>;

/** Posts as the gateway took them, each distinct body once (a post re-sent after a timeout arrives twice). */
function distinctPosts(posts: readonly Frame[]): Frame[] {
  const seen = new Set<string>();
  return posts.filter((post) => {
    const body = JSON.stringify(post);
    if (seen.has(body)) return false;
    seen.add(body);
    return true;
  });
}

const framesOf = (post: Frame): Frame[] => (post.type === 'batch' ? (post.messages as Frame[]) : [post]);

/** The client's rule (README): per key, a frame whose seq is not past the last one seen is a repeat. */
function dropRepeatsBySeq(frames: readonly Frame[]): Frame[] {
  const last = new Map<string, string>();
  return frames.filter((frame) => {
    const key = frame.key as string;
    const seq = frame.seq as string;
    const previous = last.get(key);
    if (previous !== undefined && compareSeq(seq, previous) <= 0) return false;
    last.set(key, seq);
    return true;
  });
}

async function rowCount(connectionId: string) {
  const answer = await tables.documents.send(
    new QueryCommand({
      TableName: tables.connectionsTable,
      KeyConditionExpression: 'connectionId = :id',
      ExpressionAttributeValues: { ':id': connectionId },
      ConsistentRead: true,
    }),
  );
  return answer.Count ?? 0;
}

test('100 records over 5 keys reach 50 connections, once each after the seq rule, in per-key order; 410 cleans up; 429 is retried', async () => {
  // Prepare: connect everyone through the real $connect logic.
  const connections = createConnectionRepository({
    ddb: tables.documents,
    tableName: tables.connectionsTable,
    ttlSeconds: 7800,
  });
  const connect = createConnectHandler({
    connections,
    presence: createPresenceStore({
      ddb: tables.documents,
      connectionsTable: tables.connectionsTable,
      dataTable: tables.dataTable,
      keyAttribute: 'vehicleId',
      ttlSeconds: 7800,
    }),
    keyAccess: publicKeys,
    keyName: 'vehicleId',
    isQueryParam: true,
    logger: captureLog(),
  });
  const connected = await Promise.all(
    CONNECTIONS.map((connectionId, i) =>
      connect({
        requestContext: { routeKey: '$connect', connectionId },
        multiValueQueryStringParameters: { vehicleId: keysOf(i) },
      }),
    ),
  );
  expect(connected.every((result) => result.statusCode === 200)).toBe(true);
  const events = ['INSERT', 'MODIFY', 'REMOVE'] as const;
  const records = Array.from({ length: 100 }, (_, j) =>
    streamRecord({
      key: KEYS[(j * 3 + (j >> 2)) % 5] as string,
      seq: 1000 + j,
      event: events[j % 3],
      itemId: `item-${j % 7}`,
      item: { n: j },
    }),
  );
  stub.answer = (connectionId, _message, attempt) => {
    if (GONE.has(connectionId)) return 410;
    if (THROTTLED.has(connectionId) && attempt === 1) return 429;
    return 200;
  };
  tables.requests.clear();

  // Act
  const { response, summary } = await runFanout(fanoutDeps(), streamEvent(records), lambdaContext(30_000));
  const requests = Object.fromEntries(tables.requests);

  // DynamoDB requests: one subscriber Query per distinct key (one page each), plus Query + BatchWrite per gone cleanup.
  expect(tables.subscriberQueries()).toBe(KEYS.length);
  expect(requests).toEqual({ QueryCommand: KEYS.length + GONE.size, BatchWriteItemCommand: GONE.size });

  // Assess. Delivery is at least once: an attempt that times out after the gateway took it (a busy machine, a slow
  // answer) is indistinguishable from one that never arrived, so it is posted again and its frames arrive twice;
  // clients drop the repeats by seq (README). What the fan-out owes: every post arrives whole, a frame arrives twice
  // only as part of a re-sent post that a retry explains, and the distinct posts carry each of the connection's
  // records exactly once, in stream order per key.
  expect(response).toEqual({ batchItemFailures: [] });
  const seqsByKey = new Map(
    KEYS.map((key) => [
      key,
      records.filter((r) => r.dynamodb.Keys.vehicleId?.S === key).map((r) => r.dynamodb.SequenceNumber),
    ]),
  );
  let resentPosts = 0;
  for (const [i, connectionId] of CONNECTIONS.entries()) {
    const posts = stub.posts.get(connectionId) ?? [];
    const distinct = distinctPosts(posts);
    resentPosts += posts.length - distinct.length;
    const got = distinct.flatMap(framesOf);
    if (GONE.has(connectionId)) {
      expect(got).toEqual([]);
      continue;
    }
    const mine = keysOf(i);
    expect(got).toHaveLength(mine.reduce((n, key) => n + (seqsByKey.get(key)?.length ?? 0), 0));
    for (const key of mine) expect(got.filter((m) => m.key === key).map((m) => m.seq)).toEqual(seqsByKey.get(key));
    expect(got.every((m) => m.type === 'item' && mine.includes(m.key as string))).toBe(true);
    // What a client keeps after dropping repeats by seq is exactly that.
    expect(dropRepeatsBySeq(stub.received.get(connectionId) ?? [])).toEqual(got);
  }
  const sample = stub.received.get(CONNECTIONS[20] as string)?.[0];
  expect(sample).toMatchObject({
    type: 'item',
    event: expect.stringMatching(/INSERT|MODIFY|REMOVE/),
    itemId: expect.any(String),
    at: 1763800000000,
  });

  // Coalesced: every live connection got its 40 frames in one batch post.
  expect(distinctPosts(stub.posts.get(CONNECTIONS[20] as string) ?? [])).toEqual([
    expect.objectContaining({ type: 'batch' }),
  ]);
  // Gone connections: asked once, then all their rows deleted.
  for (const connectionId of GONE) {
    expect(await rowCount(connectionId)).toBe(0);
    expect(stub.answers.get(connectionId)?.length).toBeLessThanOrEqual(2);
  }
  // Throttled connections: the first attempt got 429, the retry went through.
  for (const connectionId of THROTTLED) expect(stub.answers.get(connectionId)?.slice(0, 2)).toEqual([429, 200]);
  expect(await rowCount(CONNECTIONS[10] as string)).toBe(3);

  expect(summary).toMatchObject({
    records: 100,
    keys: 5,
    skipped: 0,
    subscribers: 100,
    gone: 5,
    failed: 0,
  });
  // One retry per throttled connection, plus one for every post the stand-in took twice.
  expect(summary.retries).toBeGreaterThanOrEqual(THROTTLED.size + resentPosts);
});

test("a connection that stays throttled gets its key's records reported from the first undelivered one", async () => {
  const connections = createConnectionRepository({
    ddb: tables.documents,
    tableName: tables.connectionsTable,
    ttlSeconds: 7800,
  });
  await connections.saveConnection({ connectionId: 'stuck=' }, ['s1']);
  await connections.saveConnection({ connectionId: 'fine=' }, ['s1', 's2']);
  let stuckCalls = 0;
  stub.answer = (connectionId) => {
    if (connectionId !== 'stuck=') return 200;
    stuckCalls++;
    // The first record goes through; from the second on, the connection is throttled for good.
    return stuckCalls === 1 ? 200 : 429;
  };
  // s1's items are 70 KB: two never share a post, so stuck= gets one post per record of s1.
  const big = { blob: 'x'.repeat(70_000) };
  const records = [
    streamRecord({ key: 's1', seq: 1, item: big }),
    streamRecord({ key: 's2', seq: 2 }),
    streamRecord({ key: 's1', seq: 3, item: big }),
    streamRecord({ key: 's2', seq: 4 }),
    streamRecord({ key: 's1', seq: 5, item: big }),
  ];

  const { response } = await runFanout(fanoutDeps(4), streamEvent(records), lambdaContext(30_000));

  expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
    [records[2], records[4]].map((r) => r?.dynamodb.SequenceNumber),
  );
  expect(stub.received.get('stuck=')?.map((m) => m.seq)).toEqual([records[0]?.dynamodb.SequenceNumber]);
  // The stuck post was tried maxAttempts (4) times, then given up.
  expect(stuckCalls).toBe(1 + 4);
  expect(stub.received.get('fine=')?.filter((m) => m.key === 's2')).toHaveLength(2);
});

test('a post answered after the request timeout is sent again: its frames arrive twice, and the seq rule drops the repeat', async () => {
  // Prepare: the stand-in takes slow='s first post at once but answers only after the client gave up on it.
  const connections = createConnectionRepository({
    ddb: tables.documents,
    tableName: tables.connectionsTable,
    ttlSeconds: 7800,
  });
  await connections.saveConnection({ connectionId: 'slow=' }, ['t1']);
  stub.answer = (connectionId, _message, attempt) =>
    connectionId === 'slow=' && attempt === 1 ? { status: 200, delayMs: 1500 } : 200;
  const impatient = createManagementApiClient({
    endpoint: stub.endpoint,
    maxSockets: 4,
    region: 'us-east-1',
    credentials: localCredentials,
    requestTimeoutMs: 300,
  });
  const records = [streamRecord({ key: 't1', seq: 21 }), streamRecord({ key: 't1', seq: 22 })];

  // Act
  const { response, summary } = await runFanout(
    {
      ...fanoutDeps(4),
      sender: createConnectionSender({ client: impatient, backoff: { baseMs: 5, capMs: 50 }, requestTimeoutMs: 300 }),
    },
    streamEvent(records),
    lambdaContext(30_000),
  );
  impatient.destroy();

  // Assess: nothing reported lost; the one batch post went out twice, whole and identical.
  expect(response).toEqual({ batchItemFailures: [] });
  expect(summary).toMatchObject({ posts: 1, retries: 1 });
  const posts = stub.posts.get('slow=') ?? [];
  expect(posts).toHaveLength(2);
  expect(posts[1]).toEqual(posts[0]);
  const seqs = records.map((r) => r.dynamodb.SequenceNumber);
  expect(stub.received.get('slow=')?.map((m) => m.seq)).toEqual([...seqs, ...seqs]);
  expect(dropRepeatsBySeq(stub.received.get('slow=') ?? []).map((m) => m.seq)).toEqual(seqs);
});
