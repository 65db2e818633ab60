import { itemMessage } from '@real-time-platform/protocol';
import fc from 'fast-check';
import { deliveriesIn } from '../../scripts/lib/bench-frames';
import { encodePost } from '../../src/domain/coalesce';
import { encodeMessage } from '../../src/domain/messages';

// The benchmark counts deliveries from what its clients receive: lone frames read without JSON.parse, batches parsed.

const frame = (itemId: string, seq: string, sentAt: number, n?: number, conflated?: number) => {
  const message = itemMessage({
    event: 'INSERT',
    key: 'hot-1',
    itemId,
    item: { realTimeItemKey: 'hot-1', itemId, sentAt, ...(n === undefined ? {} : { n }) },
    seq,
    at: 1,
  });
  if (conflated !== undefined) message.conflated = conflated;
  return encodeMessage(message);
};

describe('deliveries in a benchmark message', () => {
  test('property: a lone frame and a batch of frames read back as the same deliveries', () => {
    const delivery = fc.record({
      itemId: fc.stringMatching(/^[a-z0-9]{1,8}$/),
      seq: fc.stringMatching(/^[0-9]{21}$/),
      sentAt: fc.double({ min: 1.7e12, max: 1.9e12, noNaN: true }).map((n) => Math.round(n * 100) / 100),
      n: fc.option(fc.nat(100_000), { nil: undefined }),
      conflated: fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(delivery, { minLength: 1, maxLength: 20 }), (expected) => {
        const frames = expected.map((d) => frame(d.itemId, d.seq, d.sentAt, d.n, d.conflated));
        const clean = (d: (typeof expected)[number]) => JSON.parse(JSON.stringify(d));
        expect(deliveriesIn(Buffer.from(encodePost(frames)).toString())).toEqual(expected.map(clean));
        expect(deliveriesIn(Buffer.from(frames[0] as Uint8Array).toString())).toEqual([
          clean(expected[0] as (typeof expected)[number]),
        ]);
      }),
      { numRuns: 200 },
    );
  });

  test('snapshots, pongs and errors carry no deliveries', () => {
    expect(deliveriesIn('{"type":"snapshot","key":"k","items":[{"itemId":"a"}],"position":"1","page":0}')).toEqual([]);
    expect(deliveriesIn('{"type":"pong","at":1,"connectionId":"x"}')).toEqual([]);
  });
});
