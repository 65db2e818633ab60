import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import type { GetRecordsCommandOutput } from '@aws-sdk/client-dynamodb-streams';
import {
  type OnFailureDestination,
  type OnFailureMessage,
  type StreamEventSource,
  type StreamEventSourceOptions,
  startStreamEventSource,
} from '../../src/streams';
import { wireBodyOf } from '../../src/streams/wire-json';
import { type LocalLogger, type StreamSourceSpec, silentLogger } from '../../src/types';
import {
  createStreamTable,
  keyOf,
  RecordingInvoker,
  type StreamTable,
  sleep,
  streamSpec,
  waitFor,
} from '../helpers/stream-fixtures';

// Conformance tests for the DynamoDB Streams → Lambda event source mapping against a real DynamoDB Local.

// jest ignores testTimeout inside `projects`, so the integration files set their own.
jest.setTimeout(30_000);

const region = 'eu-west-1';
const accountId = '123456789012';
const dlq = { type: 'SQS' as const, destinationLogicalId: 'StreamFailureQueue' };

let table: StreamTable;
let sources: StreamEventSource[];
let failures: { destination: OnFailureDestination; message: OnFailureMessage }[];

beforeEach(async () => {
  table = await createStreamTable();
  sources = [];
  failures = [];
});

afterEach(async () => {
  await Promise.all(sources.map((s) => s.stop()));
  await table.dispose();
});

function start(
  spec: Partial<StreamSourceSpec>,
  invoker: RecordingInvoker,
  extra: Partial<StreamEventSourceOptions> = {},
): StreamEventSource {
  const source = startStreamEventSource({
    spec: streamSpec({ tableName: table.tableName, ...spec }),
    streamArn: table.streamArn,
    streamsClient: table.streams,
    region,
    accountId,
    invoker,
    logger: silentLogger,
    onFailure: (destination, message) => {
      failures.push({ destination, message });
    },
    // Short retry pauses keep the failure tests quick; the behaviour is the same.
    retryBackoff: { initialMs: 10, maxMs: 50 },
    ...extra,
  });
  sources.push(source);
  return source;
}

async function putAll(keys: string[]): Promise<void> {
  for (const key of keys) await table.put(key);
}

const keysOf = (records: { dynamodb?: { Keys?: Record<string, { S?: string }> } }[]) =>
  records.map((r) => r.dynamodb?.Keys?.pk?.S);

test('delivers records in exactly the shape Lambda sends (INSERT, MODIFY, REMOVE)', async () => {
  // Prepare
  const invoker = new RecordingInvoker();
  const source = start({}, invoker);
  // Act
  await table.put('vehicle-1', { speed: 42 });
  await table.put('vehicle-1', { speed: 43 });
  await table.dynamodb.send(
    new DeleteItemCommand({ TableName: table.tableName, Key: { pk: { S: 'vehicle-1' }, sk: { S: 'latest' } } }),
  );
  await source.idle();
  // Assess
  const [insert, modify, remove] = invoker.records;
  const nowSeconds = Date.now() / 1000;
  expect(insert).toEqual({
    eventID: expect.any(String),
    eventName: 'INSERT',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: region,
    dynamodb: {
      ApproximateCreationDateTime: expect.any(Number),
      Keys: { pk: { S: 'vehicle-1' }, sk: { S: 'latest' } },
      NewImage: { pk: { S: 'vehicle-1' }, sk: { S: 'latest' }, speed: { N: '42' } },
      SequenceNumber: expect.stringMatching(/^\d+$/),
      SizeBytes: expect.any(Number),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
    eventSourceARN: table.streamArn,
  });
  // Epoch seconds, not milliseconds and not a Date.
  expect(Math.abs((insert?.dynamodb?.ApproximateCreationDateTime ?? 0) - nowSeconds)).toBeLessThan(120);
  expect(modify?.eventName).toBe('MODIFY');
  expect(modify?.dynamodb?.OldImage).toEqual({ pk: { S: 'vehicle-1' }, sk: { S: 'latest' }, speed: { N: '42' } });
  expect(modify?.dynamodb?.NewImage?.speed).toEqual({ N: '43' });
  expect(remove?.eventName).toBe('REMOVE');
  expect(remove?.dynamodb?.NewImage).toBeUndefined();
  expect(remove?.dynamodb?.OldImage?.speed).toEqual({ N: '43' });
  // Survives JSON, as a real event does.
  expect(JSON.parse(JSON.stringify(invoker.records))).toEqual(invoker.records);
});

test('TRIM_HORIZON replays what is already in the stream; LATEST starts after the mapping starts', async () => {
  // Prepare
  await putAll(['before-1', 'before-2']);
  const fromStart = new RecordingInvoker();
  const fromNow = new RecordingInvoker();
  const trimHorizon = start({ startingPosition: 'TRIM_HORIZON' }, fromStart);
  const latest = start({ startingPosition: 'LATEST' }, fromNow);
  await latest.idle();
  // Act
  await putAll(['after-1']);
  await Promise.all([trimHorizon.idle(), latest.idle()]);
  // Assess
  expect(keysOf(fromStart.records)).toEqual(['before-1', 'before-2', 'after-1']);
  expect(keysOf(fromNow.records)).toEqual(['after-1']);
});

test('BatchSize caps the records per invocation, accumulating across reads', async () => {
  // Prepare
  await putAll(['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7']);
  const invoker = new RecordingInvoker();
  // Act
  const source = start({ batchSize: 3 }, invoker);
  await source.idle();
  // Assess
  expect(invoker.batches.map((b) => keysOf(b.records))).toEqual([['k1', 'k2', 'k3'], ['k4', 'k5', 'k6'], ['k7']]);
});

test('a batch stops at 6 MB of event JSON (the synchronous invocation payload limit) before BatchSize', async () => {
  // Prepare: 40 items of 350 KB, about 14 MB of records.
  const keys = Array.from({ length: 40 }, (_, i) => `big-${String(i).padStart(2, '0')}`);
  for (const key of keys) await table.put(key, { payload: 'x'.repeat(350_000) });
  const invoker = new RecordingInvoker();
  // Act
  const source = start({ batchSize: 100 }, invoker);
  await source.idle();
  // Assess: every record once, in order, in batches of several records, none over the limit.
  expect(keysOf(invoker.records)).toEqual(keys);
  const sizes = invoker.batches.map((batch) => Buffer.byteLength(JSON.stringify({ Records: batch.records })));
  expect(Math.max(...sizes)).toBeLessThanOrEqual(6 * 1024 * 1024);
  expect(Math.max(...invoker.batches.map((batch) => batch.records.length))).toBeGreaterThan(1);
});

test('GetRecords asks for about 1 MB of records at a time, as AWS answers, though DynamoDB Local has no byte bound', async () => {
  // Prepare: every GetRecords' Limit and the size of its answer.
  const reads: { limit?: number; bytes: number }[] = [];
  table.streams.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'GetRecordsCommand') {
        const bytes = wireBodyOf(result.output as GetRecordsCommandOutput)?.bytes ?? Number.NaN;
        reads.push({ limit: (args.input as { Limit?: number }).Limit, bytes });
      }
      return result;
    },
    { step: 'initialize', priority: 'high', name: 'testRecordReads' },
  );
  // The function holds its first batch until 30 items of 100 KB (3 MB) are waiting in the stream.
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const invoker = new RecordingInvoker(async () => {
    await held;
    return null;
  });
  const keys = Array.from({ length: 31 }, (_, i) => `wide-${String(i).padStart(2, '0')}`);
  const source = start({ batchSize: 100 }, invoker);
  await table.put(keys[0] as string, { payload: 'x'.repeat(100_000) });
  await waitFor(() => invoker.batches.length === 1, 'the first batch');
  for (const key of keys.slice(1)) await table.put(key, { payload: 'x'.repeat(100_000) });
  // Act
  release();
  await source.idle();
  // Assess: every record once, in order, read in answers of at most 1 MiB (10 of these records) after the first.
  expect(keysOf(invoker.records)).toEqual(keys);
  const answers = reads.filter((read) => read.bytes > 100);
  expect(Math.max(...answers.map((read) => read.bytes))).toBeLessThanOrEqual(1024 * 1024);
  expect(answers.length).toBeGreaterThanOrEqual(4);
  const firstAnswer = reads.indexOf(answers[0] as (typeof reads)[number]);
  expect(reads.slice(firstAnswer + 1).every((read) => read.limit === 10)).toBe(true);
});

test('MaximumBatchingWindowInSeconds waits to fill a batch, and a full batch goes at once', async () => {
  // Prepare
  const windowed = new RecordingInvoker();
  const source = start({ batchSize: 3, maximumBatchingWindowSeconds: 1 }, windowed);
  await source.idle();
  // Act: two records wait for the window; three more fill a batch straight away.
  const firstWriteAt = Date.now();
  await putAll(['w1', 'w2']);
  await waitFor(() => windowed.batches.length === 1, 'the windowed batch', 5000);
  const fullWriteAt = Date.now();
  await putAll(['f1', 'f2', 'f3']);
  await waitFor(() => windowed.batches.length === 2, 'the full batch', 5000);
  // Assess
  const [first, second] = windowed.batches;
  expect(keysOf(first?.records ?? [])).toEqual(['w1', 'w2']);
  expect((first?.receivedAt ?? 0) - firstWriteAt).toBeGreaterThanOrEqual(900);
  expect(keysOf(second?.records ?? [])).toEqual(['f1', 'f2', 'f3']);
  expect((second?.receivedAt ?? 0) - fullWriteAt).toBeLessThan(900);
});

test('FilterCriteria: only INSERTs; only keys with a prefix; dropped records still move the checkpoint', async () => {
  // Prepare
  const insertsOnly = new RecordingInvoker();
  const chatOnly = new RecordingInvoker();
  const a = start({ filterPatterns: ['{"eventName":["INSERT"]}'] }, insertsOnly);
  const b = start({ filterPatterns: ['{"dynamodb":{"Keys":{"pk":{"S":[{"prefix":"chat:"}]}}}}'] }, chatOnly);
  // Act
  await table.put('chat:1', { text: 'hi' });
  await table.put('chat:1', { text: 'edited' });
  await table.put('presence:7');
  await table.put('chat:2');
  await Promise.all([a.idle(), b.idle()]);
  // Assess
  expect(insertsOnly.records.map((r) => [keyOf(r), r.eventName])).toEqual([
    ['chat:1', 'INSERT'],
    ['presence:7', 'INSERT'],
    ['chat:2', 'INSERT'],
  ]);
  expect(keysOf(chatOnly.records)).toEqual(['chat:1', 'chat:1', 'chat:2']);
  expect(a.stats().recordsFilteredOut).toBe(1);
  expect(b.stats().recordsFilteredOut).toBe(1);
});

test('ReportBatchItemFailures: a failed 3rd record re-delivers records 3-5, never 1-2', async () => {
  // Prepare
  await putAll(['r1', 'r2', 'r3', 'r4', 'r5']);
  const invoker = new RecordingInvoker((records, call) =>
    call === 0
      ? { batchItemFailures: [{ itemIdentifier: records[2]?.dynamodb?.SequenceNumber }] }
      : { batchItemFailures: [] },
  );
  // Act
  const source = start({ batchSize: 5, reportBatchItemFailures: true }, invoker);
  await source.idle();
  // Assess
  expect(invoker.batches.map((b) => keysOf(b.records))).toEqual([
    ['r1', 'r2', 'r3', 'r4', 'r5'],
    ['r3', 'r4', 'r5'],
  ]);
  expect(failures).toEqual([]);
});

test('ReportBatchItemFailures: an unknown itemIdentifier fails the whole batch', async () => {
  // Prepare
  await putAll(['u1', 'u2']);
  const invoker = new RecordingInvoker((_records, call) =>
    call === 0 ? { batchItemFailures: [{ itemIdentifier: 'not-a-sequence-number' }] } : {},
  );
  // Act
  const source = start({ reportBatchItemFailures: true }, invoker);
  await source.idle();
  // Assess
  expect(invoker.batches.map((b) => keysOf(b.records))).toEqual([
    ['u1', 'u2'],
    ['u1', 'u2'],
  ]);
});

test('BisectBatchOnFunctionError isolates a poison record; the others are delivered', async () => {
  // Prepare
  await putAll(['p0', 'p1', 'p2', 'p3', 'p4', 'POISON', 'p6', 'p7']);
  const invoker = new RecordingInvoker((records) => {
    if (records.some((r) => keyOf(r) === 'POISON')) throw new TypeError('cannot handle POISON');
    return null;
  });
  // Act
  const source = start(
    { batchSize: 8, bisectBatchOnFunctionError: true, maximumRetryAttempts: 1, onFailure: dlq },
    invoker,
  );
  await source.idle();
  // Assess
  expect(invoker.batches.map((b) => keysOf(b.records))).toEqual([
    ['p0', 'p1', 'p2', 'p3', 'p4', 'POISON', 'p6', 'p7'],
    ['p0', 'p1', 'p2', 'p3'],
    ['p4', 'POISON', 'p6', 'p7'],
    ['p4', 'POISON'],
    ['p4'],
    ['POISON'],
    // Splitting did not use the one retry; the record alone gets it.
    ['POISON'],
    ['p6', 'p7'],
  ]);
  const poison = invoker.records.find((r) => keyOf(r) === 'POISON');
  expect(failures).toHaveLength(1);
  expect(failures[0]?.message.requestContext).toMatchObject({
    condition: 'RetryAttemptsExhausted',
    approximateInvokeCount: 5,
  });
  expect(failures[0]?.message.DDBStreamBatchInfo).toMatchObject({
    batchSize: 1,
    startSequenceNumber: poison?.dynamodb?.SequenceNumber,
    endSequenceNumber: poison?.dynamodb?.SequenceNumber,
  });
});

test('MaximumRetryAttempts: retries, then the OnFailure metadata, then progress past the batch', async () => {
  // Prepare
  await putAll(['bad-1', 'bad-2']);
  const invoker = new RecordingInvoker((records) => {
    if (records.some((r) => keyOf(r)?.startsWith('bad'))) throw new Error('downstream is down');
    return null;
  });
  const source = start({ maximumRetryAttempts: 2, onFailure: dlq }, invoker);
  await source.idle();
  // Act
  await putAll(['good-1']);
  await source.idle();
  // Assess
  expect(invoker.batches.map((b) => keysOf(b.records))).toEqual([
    ['bad-1', 'bad-2'],
    ['bad-1', 'bad-2'],
    ['bad-1', 'bad-2'],
    ['good-1'],
  ]);
  const [bad1, bad2] = invoker.records;
  expect(failures).toHaveLength(1);
  const { destination, message } = failures[0] as (typeof failures)[number];
  expect(destination).toEqual(dlq);
  expect(message).toEqual({
    requestContext: {
      requestId: expect.any(String),
      functionArn: `arn:aws:lambda:${region}:${accountId}:function:OnReceiveRealTimeItem`,
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 3,
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    version: '1.0',
    timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    DDBStreamBatchInfo: {
      shardId: expect.stringMatching(/^shardId-/),
      startSequenceNumber: bad1?.dynamodb?.SequenceNumber,
      endSequenceNumber: bad2?.dynamodb?.SequenceNumber,
      approximateArrivalOfFirstRecord: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      approximateArrivalOfLastRecord: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      batchSize: 2,
      streamArn: table.streamArn,
    },
  });
  expect(source.stats()).toMatchObject({ batchesDiscarded: 1, recordsDiscarded: 2, recordsSucceeded: 1 });
});

test('MaximumRecordAgeInSeconds: a record that keeps failing is discarded once too old (RecordAgeExceeded)', async () => {
  // Prepare: AWS accepts 60 s or more; the local runtime takes shorter ages so this test runs in seconds.
  const invoker = new RecordingInvoker(() => {
    throw new Error('always failing');
  });
  const source = start({ maximumRecordAgeSeconds: 1, maximumRetryAttempts: -1, onFailure: dlq }, invoker);
  await source.idle();
  const writtenAt = Date.now();
  // Act
  await putAll(['stale']);
  await waitFor(() => failures.length === 1, 'the RecordAgeExceeded message', 10_000);
  invoker.setBehaviour(() => null);
  await putAll(['fresh']);
  await source.idle();
  // Assess
  expect(Date.now() - writtenAt).toBeGreaterThanOrEqual(1000);
  expect(failures[0]?.message.requestContext.condition).toBe('RecordAgeExceeded');
  expect(failures[0]?.message.requestContext.approximateInvokeCount).toBeGreaterThan(1);
  expect(failures[0]?.message.DDBStreamBatchInfo.batchSize).toBe(1);
  expect(keysOf(invoker.records).filter((k) => k === 'fresh')).toEqual(['fresh']);
  expect(keysOf(invoker.records).at(-1)).toBe('fresh');
});

test('keeps per-key order through failures and retries', async () => {
  // Prepare: a function that fails one call in three and reports a partial failure in another.
  const processed: string[] = [];
  const invoker = new RecordingInvoker((records, call) => {
    if (call % 3 === 1) throw new Error('flaky');
    if (call % 3 === 2 && records.length > 1) {
      const cut = Math.floor(records.length / 2);
      for (const r of records.slice(0, cut)) processed.push(`${keyOf(r)}#${r.dynamodb?.NewImage?.n?.N}`);
      return { batchItemFailures: [{ itemIdentifier: records[cut]?.dynamodb?.SequenceNumber }] };
    }
    for (const r of records) processed.push(`${keyOf(r)}#${r.dynamodb?.NewImage?.n?.N}`);
    return null;
  });
  const source = start({ batchSize: 7, reportBatchItemFailures: true }, invoker);
  // Act: five keys written concurrently, each key's versions in order.
  const keys = ['a', 'b', 'c', 'd', 'e'];
  await Promise.all(
    keys.map(async (key) => {
      for (let n = 1; n <= 10; n++) await table.put(key, { n });
    }),
  );
  await source.idle();
  // Assess: every key's versions arrive complete and in order.
  for (const key of keys) {
    const versions = processed.filter((p) => p.startsWith(`${key}#`)).map((p) => Number(p.split('#')[1]));
    expect(versions).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  }
});

test('ParallelizationFactor: several batches of a shard at once, each partition key in one lane and in order', async () => {
  // Prepare: a slow function that notes when each batch ran.
  const runs: { keys: string[]; start: number; end: number }[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const invoker = new RecordingInvoker(async (records) => {
    running++;
    mostAtOnce = Math.max(mostAtOnce, running);
    const start = performance.now();
    await sleep(60);
    running--;
    runs.push({ keys: records.map((r) => `${keyOf(r)}#${r.dynamodb?.NewImage?.n?.N}`), start, end: performance.now() });
    return null;
  });
  // Twelve keys, five versions each, already in the stream: the first read finds them all at once.
  const keys = Array.from({ length: 12 }, (_, i) => `p${i}`);
  await Promise.all(
    keys.map(async (key) => {
      for (let n = 1; n <= 5; n++) await table.put(key, { n });
    }),
  );
  // Act
  const source = start({ batchSize: 3, parallelizationFactor: 4 }, invoker);
  await source.idle();
  // Assess: up to four batches at once, never more.
  expect(mostAtOnce).toBeGreaterThan(1);
  expect(mostAtOnce).toBeLessThanOrEqual(4);
  expect(source.stats().maxConcurrentBatches).toBe(mostAtOnce);
  for (const key of keys) {
    const mine = runs.filter((run) => run.keys.some((k) => k.startsWith(`${key}#`))).sort((a, b) => a.start - b.start);
    // A key's batches never overlap in time, and its versions arrive complete and in order.
    for (let i = 1; i < mine.length; i++) expect(mine[i]?.start).toBeGreaterThanOrEqual(mine[i - 1]?.end as number);
    const versions = mine.flatMap((run) =>
      run.keys.filter((k) => k.startsWith(`${key}#`)).map((k) => Number(k.split('#')[1])),
    );
    expect(versions).toEqual([1, 2, 3, 4, 5]);
  }
});

test('stop() waits for the in-flight invocation, then nothing more is invoked', async () => {
  // Prepare: only the first invocation is slow, so stop() comes while it runs and the next would follow at once.
  let finished = 0;
  const invoker = new RecordingInvoker(async (_records, call) => {
    if (call === 0) await sleep(300);
    finished++;
    return null;
  });
  const source = start({ batchSize: 1 }, invoker);
  await putAll(['s1', 's2', 's3']);
  await waitFor(() => invoker.batches.length === 1, 'the first invocation');
  // Act
  await source.stop();
  // A second mapping on the same stream delivers all three records: the other two were there to be taken, and by
  // the time it is done, a stopped mapping that still polled would have invoked its function again.
  const witness = new RecordingInvoker();
  await start({ batchSize: 1 }, witness).idle();
  // Assess
  expect(witness.records.map(keyOf)).toEqual(['s1', 's2', 's3']);
  expect(finished).toBe(1);
  expect(invoker.records.map(keyOf)).toEqual(['s1']);
  await expect(source.stop()).resolves.toBeUndefined();
});

test('logs one warning when DynamoDB is unreachable, and keeps going', async () => {
  // Prepare: a streams client pointed at a port nobody listens on.
  const { DynamoDBStreamsClient } = await import('@aws-sdk/client-dynamodb-streams');
  const unreachable = new DynamoDBStreamsClient({
    endpoint: 'http://127.0.0.1:9',
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  let failedCalls = 0;
  unreachable.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        failedCalls++;
        throw error;
      }
    },
    { step: 'initialize', name: 'countFailedCalls' },
  );
  const warnings: string[] = [];
  const logger: LocalLogger = { ...silentLogger, warn: (message) => warnings.push(message) };
  // Act: it keeps trying (with backoff), three times at least, before we look at what it logged.
  const source = start({}, new RecordingInvoker(), {
    streamsClient: unreachable,
    logger,
    shardDiscoveryIntervalMs: 10,
  });
  await waitFor(() => failedCalls >= 3, 'three failed DescribeStream calls');
  await source.stop();
  unreachable.destroy();
  // Assess
  expect(warnings).toEqual([expect.stringContaining('DescribeStream failed')]);
});
