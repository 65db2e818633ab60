import { MAX_MESSAGE_BYTES } from '@real-time-platform/protocol';
import { lambdaContext, streamEvent, streamRecord } from '@real-time-platform/test-support';
import { decodeToken } from '../../src/adapters/item-store';
import { type FanoutDeps, runFanout } from '../../src/handlers/logic/fanout';
import { captureLog, MemoryConnections, memoryData, RecordingSender } from '../helpers/fakes';

const seq = (n: number) => String(n).padStart(21, '0');
/** The stream record of a snapshot marker, as the message function writes it (reserved-items.ts). */
const marker = (key: string, n: number, connectionId: string, event: 'INSERT' | 'MODIFY' | 'REMOVE' = 'INSERT') =>
  streamRecord({
    key,
    seq: n,
    event,
    itemId: `$snapshot#${connectionId}#req${n}`,
    item: { connectionId, expiresAt: 1 },
  });

function setup(
  subscriptions: Record<string, string[]>,
  items: Record<string, Record<string, unknown>[]> = {},
  overrides: Partial<FanoutDeps> = {},
) {
  const connections = new MemoryConnections().seed(subscriptions);
  const sender = new RecordingSender();
  const reader = memoryData(items);
  const logger = captureLog();
  const deps: FanoutDeps = {
    connections,
    sender,
    keyAttribute: 'vehicleId',
    concurrency: 4,
    logger,
    snapshots: { reader },
    ...overrides,
  };
  const run = (records: unknown[]) => runFanout(deps, streamEvent(records), lambdaContext(30_000));
  return { connections, sender, reader, logger, run };
}

describe('snapshots served by the fan-out', () => {
  test("the asker gets the key's items at the marker's place, positioned at the key's highest sequence in the batch", async () => {
    const { sender, run } = setup({ me: ['3'], other: ['3'] }, { '3': [{ vehicleId: '3', itemId: 'a', v: 1 }] });
    const { response, summary } = await run([
      streamRecord({ key: '3', seq: 1, itemId: 'a' }),
      marker('3', 2, 'me'),
      streamRecord({ key: '3', seq: 3, itemId: 'a', event: 'MODIFY' }),
      streamRecord({ key: '4', seq: 9 }),
    ]);
    expect(response.batchItemFailures).toEqual([]);
    expect(sender.messagesTo('me').map((f) => [f.type, f.seq ?? f.position])).toEqual([
      ['item', seq(1)],
      ['snapshot', seq(3)],
      ['item', seq(3)],
    ]);
    expect(sender.messagesTo('me')[1]).toEqual({
      type: 'snapshot',
      key: '3',
      items: [{ vehicleId: '3', itemId: 'a', v: 1 }],
      position: seq(3),
      page: 0,
      complete: true,
    });
    // One post: the snapshot travels in the same batch as the key's changes. Nobody else gets it.
    expect(sender.postsTo('me')).toHaveLength(1);
    expect(sender.messagesTo('other').map((f) => f.type)).toEqual(['item', 'item']);
    expect(summary).toMatchObject({ snapshots: 1, reserved: 0 });
  });

  test('a connection that unsubscribed (or was refused) since its marker gets nothing; the marker counts as done', async () => {
    const { sender, reader, run } = setup({ me: ['4'] }, { '3': [{ itemId: 'a' }] });
    const { response, summary } = await run([marker('3', 1, 'me'), marker('3', 2, 'stranger')]);
    expect(response.batchItemFailures).toEqual([]);
    expect(sender.received.size).toBe(0);
    expect(reader.reads).toBe(0);
    expect(summary.snapshots).toBe(0);
  });

  test("markers' TTL deletions and re-writes, and other reserved rows, are skipped and sent to nobody", async () => {
    const { sender, run } = setup({ me: ['3'] }, { '3': [{ itemId: 'a' }] });
    const { response, summary } = await run([
      marker('3', 1, 'me', 'REMOVE'),
      marker('3', 2, 'me', 'MODIFY'),
      streamRecord({ key: '3', seq: 3, itemId: '$other', item: { connectionId: 'me' } }),
      streamRecord({ key: '3', seq: 4, itemId: '$snapshot#me#x', item: {} }),
    ]);
    expect(response.batchItemFailures).toEqual([]);
    expect(sender.received.size).toBe(0);
    expect(summary.reserved).toBe(4);
  });

  test('a failed subscription check or table read reports the marker and the later records of its key', async () => {
    const { connections, sender, run } = setup({ me: ['3', '5'], other: ['3'] }, { '5': [{ itemId: 'a' }] });
    const original = connections.isSubscribed.bind(connections);
    connections.isSubscribed = async (id, key) => {
      if (key === '3') throw new Error('ThrottlingException');
      return original(id, key);
    };
    const failingRead = setup({ me: ['5'] }, {}, { snapshots: { reader: memoryData({}, ['5']) } });
    const [checked, read] = await Promise.all([
      run([streamRecord({ key: '3', seq: 1 }), marker('3', 2, 'me'), streamRecord({ key: '3', seq: 3 })]),
      failingRead.run([marker('5', 1, 'me'), streamRecord({ key: '5', seq: 2 })]),
    ]);
    expect(checked.response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([seq(2), seq(3)]);
    expect(sender.messagesTo('other').map((f) => f.seq)).toEqual([seq(1)]);
    expect(read.response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([seq(1), seq(2)]);
    expect(failingRead.sender.messagesTo('me')).toEqual([]);
    expect(failingRead.logger.lines.some((l) => l.message.startsWith('Snapshot not sent'))).toBe(true);
  });

  test('past maxItems the snapshot ends complete: false with a GET /items/{key} token after its last item', async () => {
    const items = Array.from({ length: 7 }, (_, i) => ({ itemId: `i${i}` }));
    const { sender, run } = setup(
      { me: ['3'] },
      { '3': items },
      { snapshots: { reader: memoryData({ '3': items }), maxItems: 5, queryLimit: 2 } },
    );
    await run([marker('3', 1, 'me')]);
    const pages = sender.messagesTo('me');
    expect(pages).toEqual([expect.objectContaining({ type: 'snapshot', complete: false, page: 0 })]);
    const [page] = pages as [Record<string, unknown>];
    expect((page.items as { itemId: string }[]).map((i) => i.itemId)).toEqual(['i0', 'i1', 'i2', 'i3', 'i4']);
    expect(decodeToken(page.nextToken as string, '3')).toBe('i4');
  });

  test('a large snapshot goes out as numbered pages in posts under 128 KB, in order', async () => {
    const items = Array.from({ length: 400 }, (_, i) => ({
      itemId: `i${String(i).padStart(3, '0')}`,
      blob: 'x'.repeat(1000),
    }));
    const { sender, run } = setup({ me: ['3'] }, { '3': items });
    await run([marker('3', 1, 'me')]);
    const pages = sender.messagesTo('me');
    expect(pages.length).toBeGreaterThan(3);
    expect(pages.map((p) => p.page)).toEqual(pages.map((_, i) => i));
    expect(pages.flatMap((p) => (p.items as { itemId: string }[]).map((i) => i.itemId))).toEqual(
      items.map((i) => i.itemId),
    );
    expect(pages.at(-1)).toMatchObject({ complete: true });
    for (const post of sender.postsTo('me'))
      expect(Buffer.byteLength(JSON.stringify(post))).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
  });

  test("a confirmed asker not yet listed by the subscribers index still gets the key's changes of the batch", async () => {
    const { connections, sender, run } = setup({ me: ['3'], other: ['3'] }, {});
    // The index lags behind the subscription row (GSIs are eventually consistent).
    connections.subscribersOf = async () => ['other'];
    await run([marker('3', 1, 'me'), streamRecord({ key: '3', seq: 2 })]);
    expect(sender.messagesTo('me').map((f) => f.type)).toEqual(['snapshot', 'item']);
    expect(sender.messagesTo('other').map((f) => f.type)).toEqual(['item']);
  });
});
