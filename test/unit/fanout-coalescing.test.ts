import { MAX_MESSAGE_BYTES, serverFrameSchema } from '@real-time-platform/protocol';
import { lambdaContext, streamEvent, streamRecord } from '@real-time-platform/test-support';
import fc from 'fast-check';
import type { PostResult } from '../../src/adapters/connection-sender';
import { createPostEncoder, encodePost, framesInNextPost, postBytes } from '../../src/domain/coalesce';
import { type FanoutDeps, runFanout } from '../../src/handlers/logic/fanout';
import { captureLog, MemoryConnections, memoryData } from '../helpers/fakes';

/** A sender that keeps every post's bytes and answers from a function of the post. */
class ByteSender {
  readonly posts: { connectionId: string; data: Buffer }[] = [];
  /** Every post's bytes as handed over (not copied), to see which posts shared one Uint8Array. */
  readonly handed: { connectionId: string; data: Uint8Array }[] = [];
  answer: (connectionId: string, post: Record<string, unknown>, size: number) => PostResult['status'] = () => 'sent';
  async post(connectionId: string, data: Uint8Array): Promise<PostResult> {
    this.handed.push({ connectionId, data });
    const bytes = Buffer.from(data);
    const status = this.answer(connectionId, JSON.parse(bytes.toString('utf8')), bytes.byteLength);
    if (status === 'sent') this.posts.push({ connectionId, data: bytes });
    if (status === 'failed') return { status, attempts: 1, retryable: true, error: new Error('5xx') };
    return { status, attempts: 1 };
  }
  framesTo(connectionId: string): Record<string, unknown>[] {
    return this.posts
      .filter((p) => p.connectionId === connectionId)
      .flatMap((p) => {
        const post = JSON.parse(p.data.toString('utf8'));
        return post.type === 'batch' ? post.messages : [post];
      });
  }
}

function fanout(subscriptions: Record<string, string[]>, sender: ByteSender, overrides: Partial<FanoutDeps> = {}) {
  const deps: FanoutDeps = {
    connections: new MemoryConnections().seed(subscriptions),
    sender,
    keyAttribute: 'vehicleId',
    concurrency: 4,
    logger: captureLog(),
    snapshots: { reader: memoryData({}) },
    ...overrides,
  };
  return (records: unknown[]) => runFanout(deps, streamEvent(records), lambdaContext(30_000));
}

describe('packing frames into posts', () => {
  test('a lone frame is its own post; several are one batch frame whose elements are the frames', () => {
    const a = Buffer.from('{"type":"item","seq":"1"}');
    const b = Buffer.from('{"type":"item","seq":"2"}');
    expect(encodePost([a])).toBe(a);
    expect(JSON.parse(Buffer.from(encodePost([a, b])).toString())).toEqual({
      type: 'batch',
      messages: [JSON.parse(a.toString()), JSON.parse(b.toString())],
    });
    expect(postBytes([a.byteLength, b.byteLength])).toBe(encodePost([a, b]).byteLength);
  });

  test('property: posts never exceed 128 KB, carry every frame once and in order, whatever the sizes', () => {
    const size = fc.oneof(fc.integer({ min: 20, max: 400 }), fc.integer({ min: 20_000, max: MAX_MESSAGE_BYTES }));
    fc.assert(
      fc.property(fc.array(size, { minLength: 1, maxLength: 60 }), (sizes) => {
        let start = 0;
        while (start < sizes.length) {
          const count = framesInNextPost(sizes.slice(start));
          expect(count).toBeGreaterThanOrEqual(1);
          expect(postBytes(sizes.slice(start, start + count))).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
          // Greedy: the next frame would not have fitted.
          if (start + count < sizes.length) {
            expect(postBytes(sizes.slice(start, start + count + 1))).toBeGreaterThan(MAX_MESSAGE_BYTES);
          }
          start += count;
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('building each batch once', () => {
  const frame = (seq: number) => Buffer.from(`{"type":"item","seq":"${seq}"}`);

  test('the same frames give the same Uint8Array, with the bytes encodePost gives; other frames another', () => {
    const encode = createPostEncoder();
    const [a, b, c] = [frame(1), frame(2), frame(3)];
    const ab = encode([a, b]);
    expect(encode([a, b])).toBe(ab);
    expect(Buffer.from(ab).equals(Buffer.from(encodePost([a, b])))).toBe(true);
    // Identity, not content: an equal frame in another Uint8Array is another frame.
    expect(encode([a, frame(2)])).not.toBe(ab);
    expect(encode([b, a])).not.toBe(ab);
    expect(Buffer.from(encode([a, c])).equals(Buffer.from(encodePost([a, c])))).toBe(true);
    expect(encode([a])).toBe(a);
  });

  test('it remembers at most maxBytes of batches, forgetting the oldest first', () => {
    const [a, b, c] = [frame(1), frame(2), frame(3)];
    const size = encodePost([a, b]).byteLength;
    const encode = createPostEncoder(2 * size);
    const ab = encode([a, b]);
    const bc = encode([b, c]);
    expect(encode([a, b])).toBe(ab);
    encode([c, a]); // a third batch: [a, b], the oldest, is forgotten
    expect(encode([b, c])).toBe(bc);
    const again = encode([a, b]);
    expect(again).not.toBe(ab);
    expect(Buffer.from(again).equals(Buffer.from(ab))).toBe(true);
  });
});

describe('coalescing in the fan-out', () => {
  test('the subscribers of one key are handed the same batch, so it is built and hashed once', async () => {
    const sender = new ByteSender();
    const run = fanout({ a: ['k1'], b: ['k1'], c: ['k1'], d: ['k1', 'k2'] }, sender);
    const records = [1, 2, 3].map((seq) => streamRecord({ key: 'k1', seq, itemId: `i${seq}` }));
    records.push(streamRecord({ key: 'k2', seq: 4, itemId: 'i4' }));

    const { response } = await run(records);

    expect(response.batchItemFailures).toEqual([]);
    const byConnection = new Map(sender.handed.map((post) => [post.connectionId, post.data]));
    expect(byConnection.get('b')).toBe(byConnection.get('a'));
    expect(byConnection.get('c')).toBe(byConnection.get('a'));
    expect(byConnection.get('d')).not.toBe(byConnection.get('a'));
    expect(sender.framesTo('d').map((f) => f.seq)).toEqual(records.map((r) => r.dynamodb.SequenceNumber));
  });

  test('property: whatever the mix of item sizes and keys, no post exceeds 128 KB and frames keep per-key order', async () => {
    const record = fc.record({
      key: fc.constantFrom('k1', 'k2', 'k3'),
      blob: fc.oneof(fc.nat(300), fc.integer({ min: 10_000, max: 140_000 })),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 40 }), async (specs) => {
        const sender = new ByteSender();
        const run = fanout({ one: ['k1'], two: ['k1', 'k2'], all: ['k1', 'k2', 'k3'] }, sender);
        const records = specs.map((spec, i) =>
          streamRecord({ key: spec.key, seq: i + 1, itemId: `i${i}`, item: { blob: 'x'.repeat(spec.blob) } }),
        );
        const { response } = await run(records);
        expect(response.batchItemFailures).toEqual([]);
        for (const post of sender.posts) {
          expect(post.data.byteLength).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
          expect(serverFrameSchema.safeParse(JSON.parse(post.data.toString('utf8'))).success).toBe(true);
        }
        const keysOf = { one: ['k1'], two: ['k1', 'k2'], all: ['k1', 'k2', 'k3'] };
        for (const [connectionId, keys] of Object.entries(keysOf)) {
          const expected = records
            .filter((r) => keys.includes(r.dynamodb.Keys.vehicleId?.S as string))
            .map((r) => r.dynamodb.SequenceNumber);
          expect(sender.framesTo(connectionId).map((f) => f.seq)).toEqual(expected);
        }
      }),
      { numRuns: 60 },
    );
  });

  test('with coalescing off (CoalescePosts=false) every frame is a post of its own, in the same order', async () => {
    const sender = new ByteSender();
    const run = fanout({ a: ['k1', 'k2'] }, sender, { coalesce: false });
    const records = [1, 2, 3].map((seq) => streamRecord({ key: seq === 2 ? 'k2' : 'k1', seq, itemId: `i${seq}` }));

    const { response, summary } = await run(records);

    expect(response.batchItemFailures).toEqual([]);
    expect(sender.posts.map((p) => JSON.parse(p.data.toString('utf8')).type)).toEqual(['item', 'item', 'item']);
    expect(sender.framesTo('a').map((f) => f.seq)).toEqual(records.map((r) => r.dynamodb.SequenceNumber));
    expect(summary).toMatchObject({ posts: 3, batches: 0, frames: 3 });
  });

  test('a batch answered 413 is split: its frames go out one by one, an oversized item as its truncated notice', async () => {
    const sender = new ByteSender();
    // This gateway counts differently: it refuses posts over 50 KB.
    sender.answer = (_id, _post, size) => (size > 50_000 ? 'tooLarge' : 'sent');
    const run = fanout({ a: ['3'] }, sender);
    const { response, summary } = await run([
      streamRecord({ key: '3', seq: 1, itemId: 'small' }),
      streamRecord({ key: '3', seq: 2, itemId: 'big', item: { blob: 'x'.repeat(60_000) } }),
      streamRecord({ key: '3', seq: 3, itemId: 'small' }),
    ]);
    expect(response.batchItemFailures).toEqual([]);
    expect(sender.framesTo('a').map((f) => [f.seq, f.truncated ?? false])).toEqual([
      ['000000000000000000001', false],
      ['000000000000000000002', true],
      ['000000000000000000003', false],
    ]);
    expect(summary).toMatchObject({ truncated: 1, frames: 3 });
  });

  test('a failed batch post fails every record it carried and the later records of those keys only', async () => {
    const sender = new ByteSender();
    let posts = 0;
    // a's first post (records 1-3 of keys 3 and 4) fails for good; b's posts go through.
    sender.answer = (id) => (id === 'a' && posts++ === 0 ? 'failed' : 'sent');
    const run = fanout({ a: ['3', '4'], b: ['5'] }, sender);
    const { response } = await run([
      streamRecord({ key: '3', seq: 1 }),
      streamRecord({ key: '4', seq: 2 }),
      streamRecord({ key: '5', seq: 3 }),
      streamRecord({ key: '3', seq: 4 }),
    ]);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
      '000000000000000000001',
      '000000000000000000002',
      '000000000000000000004',
    ]);
    expect(sender.framesTo('b').map((f) => f.seq)).toEqual(['000000000000000000003']);
  });
});
