import {
  type _Record,
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import {
  type OnFailureDestination,
  type OnFailureMessage,
  type StreamEventSource,
  startStreamEventSource,
} from '../../src/streams';
import { type LocalLogger, type StreamSourceSpec, silentLogger } from '../../src/types';
import { keyOf, RecordingInvoker, streamSpec, waitFor } from '../helpers/stream-fixtures';

// Shard handling that DynamoDB Local cannot be made to show on demand (splits, paging, expired iterators),
// against an in-memory stand-in for the DynamoDB Streams API.

const streamArn = 'arn:aws:dynamodb:us-east-1:000000000000:table/T/stream/2026-01-01T00:00:00.000';

interface FakeShard {
  id: string;
  parent?: string;
  records: _Record[];
  closed: boolean;
}

/** Just enough of DynamoDB Streams: DescribeStream (paged by 2), GetShardIterator, GetRecords. */
class FakeStreams {
  readonly shards: FakeShard[] = [];
  readonly iteratorRequests: { shardId: string; type: string; sequenceNumber?: string }[] = [];
  expireNextGetRecords = false;
  private seq = 0;

  addShard(id: string, parent?: string): FakeShard {
    const shard: FakeShard = { id, parent, records: [], closed: false };
    this.shards.push(shard);
    return shard;
  }

  write(shardId: string, key: string, createdAt = new Date()): void {
    const shard = this.shards.find((s) => s.id === shardId);
    if (!shard) throw new Error(`no shard ${shardId}`);
    this.seq++;
    shard.records.push({
      eventID: `e${this.seq}`,
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'ddblocal',
      dynamodb: {
        ApproximateCreationDateTime: createdAt,
        Keys: { pk: { S: key } },
        NewImage: { pk: { S: key } },
        SequenceNumber: String(this.seq * 100),
        SizeBytes: 10,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
  }

  readonly client = {
    send: async (command: unknown): Promise<unknown> => {
      await Promise.resolve();
      if (command instanceof DescribeStreamCommand) return this.describe(command.input.ExclusiveStartShardId);
      if (command instanceof GetShardIteratorCommand) {
        const { ShardId = '', ShardIteratorType = 'TRIM_HORIZON', SequenceNumber } = command.input;
        this.iteratorRequests.push({ shardId: ShardId, type: ShardIteratorType, sequenceNumber: SequenceNumber });
        const shard = this.shard(ShardId);
        const position =
          ShardIteratorType === 'LATEST'
            ? shard.records.length
            : ShardIteratorType === 'AFTER_SEQUENCE_NUMBER'
              ? shard.records.findIndex((r) => r.dynamodb?.SequenceNumber === SequenceNumber) + 1
              : 0;
        return { ShardIterator: `${ShardId}|${position}` };
      }
      if (command instanceof GetRecordsCommand) {
        if (this.expireNextGetRecords) {
          this.expireNextGetRecords = false;
          throw new ExpiredIteratorException({ $metadata: { httpStatusCode: 400 }, message: 'Iterator expired' });
        }
        const [shardId = '', at = '0'] = (command.input.ShardIterator ?? '').split('|');
        const shard = this.shard(shardId);
        const records = shard.records.slice(Number(at), Number(at) + (command.input.Limit ?? 1000));
        const next = Number(at) + records.length;
        const done = shard.closed && next >= shard.records.length;
        return { Records: records, NextShardIterator: done ? undefined : `${shardId}|${next}` };
      }
      throw new Error(`unexpected command ${String(command)}`);
    },
  };

  private describe(exclusiveStart: string | undefined) {
    const from = exclusiveStart ? this.shards.findIndex((s) => s.id === exclusiveStart) + 1 : 0;
    const page = this.shards.slice(from, from + 2);
    const shards: Shard[] = page.map((s) => ({
      ShardId: s.id,
      ParentShardId: s.parent,
      SequenceNumberRange: {
        StartingSequenceNumber: '0',
        EndingSequenceNumber: s.closed ? String(this.seq * 100) : undefined,
      },
    }));
    const more = from + 2 < this.shards.length;
    return { StreamDescription: { Shards: shards, LastEvaluatedShardId: more ? page.at(-1)?.id : undefined } };
  }

  private shard(id: string): FakeShard {
    const shard = this.shards.find((s) => s.id === id);
    if (!shard) throw new Error(`no shard ${id}`);
    return shard;
  }
}

let source: StreamEventSource | undefined;
afterEach(async () => {
  await source?.stop();
  source = undefined;
});

function start(
  fake: FakeStreams,
  invoker: RecordingInvoker,
  startingPosition: 'TRIM_HORIZON' | 'LATEST',
  logger = silentLogger,
  extra: {
    spec?: Partial<StreamSourceSpec>;
    onFailure?: (d: OnFailureDestination, m: OnFailureMessage) => void;
    laneRestMaxMs?: number;
  } = {},
) {
  source = startStreamEventSource({
    spec: streamSpec({ startingPosition, ...extra.spec }),
    streamArn,
    streamsClient: fake.client as unknown as DynamoDBStreamsClient,
    region: 'us-east-1',
    accountId: '123456789012',
    invoker,
    logger,
    onFailure: extra.onFailure ?? (() => undefined),
    shardDiscoveryIntervalMs: 10,
    ...(extra.laneRestMaxMs === undefined ? {} : { laneRestMaxMs: extra.laneRestMaxMs }),
  });
  return source;
}

describe('a lane rests after each batch twice as long as its batches typically take', () => {
  /**
   * One shard holding k1, whose batch takes `slowMs` while k2 and k3 are written; resolves once all three were
   * delivered and the source is idle, with the delay between the end of the first batch and the start of the second.
   */
  async function slowFirstBatch(slowMs: number, extra: Parameters<typeof start>[4] = {}) {
    const fake = new FakeStreams();
    fake.addShard('shard-1');
    fake.write('shard-1', 'k1');
    let firstEndedAt = 0;
    const invoker = new RecordingInvoker(async (_records, call) => {
      if (call !== 0) return null;
      fake.write('shard-1', 'k2');
      fake.write('shard-1', 'k3');
      await new Promise((r) => setTimeout(r, slowMs));
      firstEndedAt = Date.now();
      return null;
    });
    const running = start(fake, invoker, 'TRIM_HORIZON', silentLogger, extra);
    await waitFor(() => invoker.records.length === 3, 'all three records');
    await running.idle();
    return {
      batches: invoker.batches.map((b) => b.records.map(keyOf)),
      secondAfterFirstMs: (invoker.batches[1]?.receivedAt ?? 0) - firstEndedAt,
    };
  }

  test('records that arrive meanwhile wait out the rest, at most 250 ms by default, and go as one batch', async () => {
    const { batches, secondAfterFirstMs } = await slowFirstBatch(200);
    // The rest is capped (a 200 ms batch → 250 ms, not 400); waiting out a timer is never shorter than asked.
    expect(batches).toEqual([['k1'], ['k2', 'k3']]);
    expect(secondAfterFirstMs).toBeGreaterThanOrEqual(250);
  });

  test('a full batch does not wait', async () => {
    // A batch of two, and a rest of up to 5 s (4 s after a 2 s batch): it goes well before the rest would end.
    const { batches, secondAfterFirstMs } = await slowFirstBatch(2000, { spec: { batchSize: 2 }, laneRestMaxMs: 5000 });
    expect(batches).toEqual([['k1'], ['k2', 'k3']]);
    expect(secondAfterFirstMs).toBeLessThan(1500);
  });
});

test('reads a parent shard to its end before its children, and every shard on every DescribeStream page', async () => {
  // Prepare: a closed parent with two children (a split) and an unrelated open shard, on two pages.
  const fake = new FakeStreams();
  const parent = fake.addShard('shard-parent');
  fake.addShard('shard-other');
  fake.addShard('shard-child-a', 'shard-parent');
  fake.addShard('shard-child-b', 'shard-parent');
  fake.write('shard-parent', 'k1');
  fake.write('shard-parent', 'k2');
  parent.closed = true;
  fake.write('shard-child-a', 'k3');
  fake.write('shard-child-b', 'k4');
  fake.write('shard-other', 'x1');
  // The parent's batch takes a while, so a child read too early would overtake it.
  let parentDoneAt = Number.POSITIVE_INFINITY;
  const invoker = new RecordingInvoker(async (records) => {
    if (records.some((r) => keyOf(r) === 'k1')) {
      await new Promise((r) => setTimeout(r, 50));
      parentDoneAt = Date.now();
    }
    return null;
  });
  // Act
  const running = start(fake, invoker, 'TRIM_HORIZON');
  await running.idle();
  // Assess
  expect(invoker.records.map(keyOf).sort()).toEqual(['k1', 'k2', 'k3', 'k4', 'x1']);
  const childBatches = invoker.batches.filter((b) => b.records.some((r) => ['k3', 'k4'].includes(keyOf(r) ?? '')));
  expect(childBatches).toHaveLength(2);
  for (const batch of childBatches) expect(batch.receivedAt).toBeGreaterThanOrEqual(parentDoneAt);
  // The unrelated shard did not wait for the slow parent.
  const other = invoker.batches.find((b) => b.records.some((r) => keyOf(r) === 'x1'));
  expect(other?.receivedAt).toBeLessThan(parentDoneAt);
  expect(running.stats()).toMatchObject({ shardsKnown: 4, shardsFinished: 1, shardsReading: 3 });
});

/** One shard holding one record, read from `startingPosition` until the event source is idle. */
async function startOnOneShard(record: string, startingPosition: 'TRIM_HORIZON' | 'LATEST') {
  const fake = new FakeStreams();
  fake.addShard('shard-1');
  fake.write('shard-1', record);
  const invoker = new RecordingInvoker();
  const running = start(fake, invoker, startingPosition);
  await running.idle();
  return { fake, invoker, running };
}

test('LATEST: shards open at start begin at the tip; shards that appear later begin at TRIM_HORIZON', async () => {
  // Prepare
  const { fake, invoker } = await startOnOneShard('old', 'LATEST');
  // Act: the shard closes and a child appears that already holds a record when we first see it.
  fake.write('shard-1', 'new-1');
  const first = fake.shards[0];
  if (first) first.closed = true;
  fake.addShard('shard-2', 'shard-1');
  fake.write('shard-2', 'new-2');
  await waitFor(() => invoker.records.length === 2, 'both new records');
  // Assess
  expect(invoker.records.map(keyOf)).toEqual(['new-1', 'new-2']);
  expect(fake.iteratorRequests.map((r) => [r.shardId, r.type])).toEqual([
    ['shard-1', 'LATEST'],
    ['shard-2', 'TRIM_HORIZON'],
  ]);
});

test('an expired iterator resumes right after the last record read, without gaps or duplicates', async () => {
  // Prepare
  const { fake, invoker, running } = await startOnOneShard('a', 'TRIM_HORIZON');
  // Act
  fake.expireNextGetRecords = true;
  fake.write('shard-1', 'b');
  await waitFor(() => invoker.records.length === 2, 'the record after the expiry');
  await running.idle();
  // Assess
  expect(invoker.records.map(keyOf)).toEqual(['a', 'b']);
  expect(fake.iteratorRequests.at(-1)).toEqual({
    shardId: 'shard-1',
    type: 'AFTER_SEQUENCE_NUMBER',
    sequenceNumber: '100',
  });
});

test('a failing stream API logs one warning, then one recovery line, and reading continues', async () => {
  // Prepare
  const fake = new FakeStreams();
  fake.addShard('shard-1');
  const lines: string[] = [];
  const logger: LocalLogger = {
    ...silentLogger,
    warn: (m) => lines.push(`warn ${m}`),
    info: (m) => lines.push(`info ${m}`),
  };
  let down = true;
  let refused = 0;
  const send = fake.client.send;
  fake.client.send = async (command) => {
    if (down && command instanceof GetRecordsCommand) {
      refused++;
      throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'Error' });
    }
    return send(command);
  };
  const invoker = new RecordingInvoker();
  start(fake, invoker, 'TRIM_HORIZON', logger);
  // Several failures (with backoff) before it comes back: one warning for all of them.
  await waitFor(() => refused >= 3, 'three failed GetRecords calls');
  // Act
  down = false;
  fake.write('shard-1', 'after-outage');
  await waitFor(() => invoker.records.length === 1, 'the record after the outage', 5000);
  // Assess
  expect(lines).toEqual([
    expect.stringMatching(/^warn .*GetRecords failed/),
    expect.stringMatching(/^info .*GetRecords works again/),
  ]);
});

test('records already older than MaximumRecordAgeInSeconds are discarded before any invocation', async () => {
  // Prepare: a record written two minutes ago (with a second-precise time), then a fresh one.
  const fake = new FakeStreams();
  fake.addShard('shard-1');
  fake.write('shard-1', 'ancient', new Date(Date.now() - 120_500));
  fake.write('shard-1', 'fresh');
  const messages: OnFailureMessage[] = [];
  const invoker = new RecordingInvoker();
  // Act
  const running = start(fake, invoker, 'TRIM_HORIZON', silentLogger, {
    spec: { maximumRecordAgeSeconds: 60 },
    onFailure: (_destination, message) => messages.push(message),
  });
  await running.idle();
  // Assess
  expect(invoker.batches.map((b) => b.records.map(keyOf))).toEqual([['fresh']]);
  expect(messages).toHaveLength(1);
  expect(messages[0]?.requestContext).toMatchObject({ condition: 'RecordAgeExceeded', approximateInvokeCount: 0 });
  expect(messages[0]?.responseContext).toEqual({ statusCode: 200, executedVersion: '$LATEST' });
  expect(messages[0]?.DDBStreamBatchInfo).toMatchObject({
    shardId: 'shard-1',
    startSequenceNumber: '100',
    batchSize: 1,
  });
});
