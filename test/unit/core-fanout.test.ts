import {
  ApiGatewayManagementApiClient,
  GoneException,
  LimitExceededException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { MAX_MESSAGE_BYTES } from '@real-time-platform/protocol';
import { lambdaContext, streamEvent, streamRecord } from '@real-time-platform/test-support';
import { mockClient } from 'aws-sdk-client-mock';
import { createConnectionSender } from '../../src/adapters/connection-sender';
import { type FanoutDeps, runFanout } from '../../src/handlers/logic/fanout';
import { captureLog, MemoryConnections, memoryData, RecordingSender } from '../helpers/fakes';

function setup(subscriptions: Record<string, string[]>, overrides: Partial<FanoutDeps> = {}) {
  const connections = new MemoryConnections().seed(subscriptions);
  const sender = new RecordingSender();
  const logger = captureLog();
  const metrics = {
    added: [] as [string, string, number][],
    addMetric(name: string, unit: string, value: number) {
      this.added.push([name, unit, value]);
    },
  };
  const deps: FanoutDeps = {
    connections,
    sender,
    keyAttribute: 'vehicleId',
    concurrency: 4,
    logger,
    metrics: metrics as never,
    snapshots: { reader: memoryData({}) },
    ...overrides,
  };
  const run = (records: unknown[], remainingMs = 30_000) =>
    runFanout(deps, streamEvent(records), lambdaContext(remainingMs));
  return { connections, sender, logger, metrics, run };
}

const seqsOf = (messages: Record<string, unknown>[]) => messages.map((m) => m.seq);

describe('stream fan-out', () => {
  test('every change reaches every subscriber of its key, in stream order, one lookup per key', async () => {
    const { connections, sender, run } = setup({ a: ['3'], b: ['3', '4'], c: ['4'], d: ['9'] });
    const records = [
      streamRecord({ key: '3', seq: 1, item: { lat: 1 } }),
      streamRecord({ key: '4', seq: 2 }),
      streamRecord({ key: '3', seq: 3, event: 'MODIFY', item: { lat: 2 } }),
      streamRecord({ key: '3', seq: 4, event: 'REMOVE', item: { lat: 2 } }),
    ];

    const { response } = await run(records);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(connections.lookups).toBe(2);
    expect(sender.messagesTo('a').map((m) => [m.event, m.seq])).toEqual([
      ['INSERT', '000000000000000000001'],
      ['MODIFY', '000000000000000000003'],
      ['REMOVE', '000000000000000000004'],
    ]);
    expect(sender.messagesTo('a')[0]).toEqual({
      type: 'item',
      event: 'INSERT',
      key: '3',
      itemId: 'latest',
      item: { vehicleId: '3', itemId: 'latest', lat: 1 },
      seq: '000000000000000000001',
      at: 1763800000000,
    });
    expect(seqsOf(sender.messagesTo('b'))).toHaveLength(4);
    expect(seqsOf(sender.messagesTo('c'))).toEqual(['000000000000000000002']);
    expect(sender.messagesTo('d')).toEqual([]);
    // One post per connection: a batch frame for several frames, the frame itself when alone.
    expect(sender.postsTo('a')).toHaveLength(1);
    expect(sender.postsTo('a')[0]).toMatchObject({ type: 'batch', messages: sender.messagesTo('a') });
    expect(sender.postsTo('c')).toEqual([expect.objectContaining({ type: 'item', key: '4' })]);
  });

  test('records without a key or with an odd shape are skipped with a log line, not failed', async () => {
    const { sender, logger, run } = setup({ a: ['3'] });
    const { response, summary } = await run([
      streamRecord({ key: '3', seq: 1, image: { itemId: { S: 'x' } } }),
      { eventName: 'INSERT', dynamodb: { SequenceNumber: '2', NewImage: 'nope' } },
      'garbage',
      streamRecord({ key: '3', seq: 4 }),
    ]);
    expect(response.batchItemFailures).toEqual([]);
    expect(summary.skipped).toBe(3);
    expect(seqsOf(sender.messagesTo('a'))).toEqual(['000000000000000000004']);
    expect(logger.lines.filter((l) => l.message === 'Stream record skipped')).toHaveLength(3);
  });

  test('an item whose key is reserved ($…) reaches nobody, not even rows of the platform keyed like it', async () => {
    // Connection rows sit in the subscribers index under `$connection#<id>`; such an item must not reach them.
    const { sender, logger, run } = setup({ a: ['$connection#a', '3'], b: ['$anything'] });
    const { response, summary } = await run([
      streamRecord({ key: '$connection#a', seq: 1, item: { secret: 'for someone else' } }),
      streamRecord({ key: '$anything', seq: 2 }),
      streamRecord({ key: '3', seq: 3 }),
    ]);
    expect(response.batchItemFailures).toEqual([]);
    expect(summary.skipped).toBe(2);
    expect(sender.messagesTo('b')).toEqual([]);
    expect(seqsOf(sender.messagesTo('a'))).toEqual(['000000000000000000003']);
    expect(logger.lines.filter((l) => l.message === 'Stream record skipped')).toHaveLength(2);
  });

  test('slow cleanups of gone connections do not hold the invocation past its deadline', async () => {
    const { connections, sender, run } = setup({ dead: ['3'], alive: ['3'] });
    sender.script.set('dead', ['gone']);
    const original = connections.deleteConnection.bind(connections);
    connections.deleteConnection = async (id: string) => {
      // Unref'd: the fan-out returns without it, as Lambda freezes a cleanup still running, so it must not keep the
      // test worker alive for its 3 s either.
      await new Promise((r) => setTimeout(r, 3000).unref());
      return original(id);
    };
    const started = Date.now();
    const { response } = await run([streamRecord({ key: '3', seq: 1 })], 1000);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(response.batchItemFailures).toEqual([]);
    expect(seqsOf(sender.messagesTo('alive'))).toHaveLength(1);
  });

  test('a gone connection is cleaned up once and gets nothing more, for any key; its records count as delivered', async () => {
    const { connections, sender, run } = setup({ dead: ['3', '4'], alive: ['3'] });
    sender.script.set('dead', ['gone']);
    const { response, summary } = await run([
      streamRecord({ key: '3', seq: 1 }),
      streamRecord({ key: '4', seq: 2 }),
      streamRecord({ key: '3', seq: 3 }),
    ]);
    expect(response.batchItemFailures).toEqual([]);
    expect(connections.deleted).toEqual(['dead']);
    expect(summary.gone).toBe(1);
    expect(seqsOf(sender.messagesTo('alive'))).toHaveLength(2);
    // One attempt per key chain at most; the second key chain may or may not have started before the first 410.
    expect(summary.posts).toBeLessThanOrEqual(2 + 2);
  });

  test('a post that keeps failing reports every record it carried and every later record of their keys', async () => {
    const { sender, run } = setup({ flaky: ['3'], fine: ['3', '4'] });
    // Two 70 KB items cannot share a post: flaky's frames go out as [1] then [3, 4]; the second post fails.
    sender.script.set('flaky', ['sent', 'failed']);
    const big = { blob: 'x'.repeat(70_000) };
    const records = [
      streamRecord({ key: '3', seq: 1, item: big }),
      streamRecord({ key: '4', seq: 2 }),
      streamRecord({ key: '3', seq: 3, item: big }),
      streamRecord({ key: '3', seq: 4 }),
    ];
    const { response, summary } = await run(records);
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: '000000000000000000003' },
      { itemIdentifier: '000000000000000000004' },
    ]);
    expect(summary.failed).toBe(2);
    expect(seqsOf(sender.messagesTo('flaky'))).toEqual(['000000000000000000001']);
    expect(seqsOf(sender.messagesTo('fine'))).toContain('000000000000000000002');
  });

  test("a subscriber lookup failure fails that key's records only", async () => {
    const { connections, sender, run } = setup({ a: ['3', '4'] });
    connections.failLookupOf.add('3');
    const { response, summary } = await run([
      streamRecord({ key: '3', seq: 1 }),
      streamRecord({ key: '4', seq: 2 }),
      streamRecord({ key: '3', seq: 3 }),
    ]);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
      '000000000000000000001',
      '000000000000000000003',
    ]);
    expect(seqsOf(sender.messagesTo('a'))).toEqual(['000000000000000000002']);
    expect(summary.lookupFailures).toBe(1);
  });

  test('a message over 128 KB goes out as a truncated notice', async () => {
    const { sender, run } = setup({ a: ['3'] });
    const { summary } = await run([
      streamRecord({ key: '3', seq: 1, event: 'MODIFY', itemId: 'big', item: { blob: 'x'.repeat(MAX_MESSAGE_BYTES) } }),
    ]);
    expect(sender.messagesTo('a')).toEqual([
      {
        type: 'item',
        event: 'MODIFY',
        key: '3',
        itemId: 'big',
        truncated: true,
        seq: '000000000000000000001',
        at: 1763800000000,
      },
    ]);
    expect(summary.truncated).toBe(1);
  });

  test('no more than FANOUT_CONCURRENCY posts are in flight', async () => {
    const subscriptions = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`c${i}`, ['3', '4']]));
    const { sender, run } = setup(subscriptions, { concurrency: 5 });
    sender.delayMs = 2;
    await run([streamRecord({ key: '3', seq: 1 }), streamRecord({ key: '4', seq: 2 })]);
    expect(sender.maxInFlight).toBe(5);
    const frames = [...sender.received.keys()].flatMap((id) => sender.messagesTo(id));
    expect(frames).toHaveLength(80);
  });

  test('records not delivered before the deadline are reported, so Lambda re-delivers them instead of timing out', async () => {
    const { sender, run } = setup({ a: ['3'] }, { safetyMarginMs: 0 });
    sender.delayMs = 30;
    // 70 KB each: one post per record, so the deadline falls between posts.
    const records = Array.from({ length: 10 }, (_, i) =>
      streamRecord({ key: '3', seq: i + 1, item: { blob: 'x'.repeat(70_000) } }),
    );
    const { response } = await run(records, 100);
    const delivered = sender.messagesTo('a').length;
    expect(delivered).toBeGreaterThan(0);
    expect(delivered).toBeLessThan(10);
    expect(response.batchItemFailures).toHaveLength(10 - delivered);
    expect(response.batchItemFailures[0]?.itemIdentifier).toBe(String(delivered + 1).padStart(21, '0'));
  });

  test('one summary log line and one metric set per batch, even for an empty batch', async () => {
    const { logger, metrics, run } = setup({});
    await run([]);
    const summaries = logger.lines.filter((l) => l.message === 'Fan-out batch');
    expect(summaries).toHaveLength(1);
    expect(summaries[0]?.fields).toMatchObject({ records: 0, keys: 0, posts: 0, failed: 0 });
    expect(metrics.added.map(([name]) => name)).toEqual(
      expect.arrayContaining(['Records', 'Posts', 'FailedRecords', 'GoneConnections', 'FanoutDuration']),
    );
  });

  test('an event that is not a stream batch is logged and answered with no failures', async () => {
    const { logger } = setup({});
    const deps = {
      connections: new MemoryConnections(),
      sender: new RecordingSender(),
      keyAttribute: 'vehicleId',
      concurrency: 2,
      logger,
      snapshots: { reader: memoryData({}) },
    };
    expect((await runFanout(deps, { hello: 'world' })).response).toEqual({ batchItemFailures: [] });
    expect(logger.lines[0]).toMatchObject({
      level: 'error',
      message: 'Malformed stream event: Records is not an array',
    });
  });
});

describe('stream fan-out through the real management-API sender (real SDK exception classes)', () => {
  const client = new ApiGatewayManagementApiClient({ region: 'eu-west-1', endpoint: 'http://localhost:3001/develop' });
  const mock = mockClient(client);
  const sent = new Map<string, unknown[]>();
  const throttledOnce = new Set<string>();

  beforeEach(() => {
    mock.reset();
    sent.clear();
    throttledOnce.clear();
    mock.on(PostToConnectionCommand).callsFake((input: { ConnectionId: string; Data: Uint8Array }) => {
      const post = JSON.parse(Buffer.from(input.Data).toString('utf8'));
      // Each frame of a batch is recorded on its own, as a client unwraps it.
      const message =
        post.type === 'batch' ? { ...post, seq: post.messages.map((m: { seq: string }) => m.seq).join() } : post;
      if (input.ConnectionId === 'gone')
        throw new GoneException({ $metadata: { httpStatusCode: 410 }, message: 'Gone' });
      if (input.ConnectionId === 'throttled' && !throttledOnce.has(message.seq)) {
        throttledOnce.add(message.seq);
        throw new LimitExceededException({ $metadata: { httpStatusCode: 429 }, message: 'Too Many Requests' });
      }
      if (input.ConnectionId === 'small' && !message.truncated) {
        throw new PayloadTooLargeException({ $metadata: { httpStatusCode: 413 }, message: 'Message too long' });
      }
      const frames = post.type === 'batch' ? post.messages : [post];
      sent.set(input.ConnectionId, [...(sent.get(input.ConnectionId) ?? []), ...frames]);
      return {};
    });
  });

  test('410 deletes the target connection, 429 is retried, 413 splits the batch and truncates each item', async () => {
    const connections = new MemoryConnections().seed({ gone: ['3'], throttled: ['3'], small: ['3'], ok: ['3'] });
    const sender = createConnectionSender({ client, sleep: async () => undefined });
    const deps: FanoutDeps = {
      connections,
      sender,
      keyAttribute: 'vehicleId',
      concurrency: 8,
      logger: captureLog(),
      snapshots: { reader: memoryData({}) },
    };
    const records = [streamRecord({ key: '3', seq: 1 }), streamRecord({ key: '3', seq: 2 })];

    const { response, summary } = await runFanout(deps, streamEvent(records), lambdaContext());

    expect(response.batchItemFailures).toEqual([]);
    expect(connections.deleted).toEqual(['gone']);
    expect(connections.subscriptions.has('gone')).toBe(false);
    expect((sent.get('throttled') ?? []).map((m) => (m as { seq: string }).seq)).toEqual([
      '000000000000000000001',
      '000000000000000000002',
    ]);
    expect(sent.get('small')).toEqual([
      expect.objectContaining({ truncated: true, seq: '000000000000000000001' }),
      expect.objectContaining({ truncated: true, seq: '000000000000000000002' }),
    ]);
    expect(sent.get('ok')).toHaveLength(2);
    // One batch post per connection: throttled once, retried once.
    expect(summary).toMatchObject({ gone: 1, retries: 1, truncated: 2, batches: 2 });
  });
});
