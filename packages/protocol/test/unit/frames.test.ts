import fc from 'fast-check';
import {
  compareSeq,
  itemMessage,
  parseFrameBody,
  pongMessage,
  serverFrameSchema,
  subscribedMessage,
  truncatedItemMessage,
  unknownActionMessage,
} from '../../src';

describe('server frames', () => {
  const change = { event: 'INSERT' as const, key: '3', itemId: 'latest', item: { speed: 42 }, seq: '12', at: 1 };

  test('every builder produces a frame the schema accepts, alone and inside a batch', () => {
    const frames = [
      itemMessage(change),
      truncatedItemMessage(change),
      subscribedMessage(['3']),
      pongMessage(1, 'abc='),
      unknownActionMessage('fly'),
      { type: 'snapshot', key: '3', items: [{ itemId: 'a' }], position: '12', page: 0, complete: true },
    ];
    for (const frame of frames) expect(serverFrameSchema.safeParse(frame).success).toBe(true);
    expect(serverFrameSchema.safeParse({ type: 'batch', messages: frames }).success).toBe(true);
  });

  test('refuses unknown types and malformed fields', () => {
    expect(serverFrameSchema.safeParse({ type: 'nope' }).success).toBe(false);
    expect(serverFrameSchema.safeParse({ ...itemMessage(change), seq: 12 }).success).toBe(false);
    expect(serverFrameSchema.safeParse({ type: 'batch', messages: [{ type: 'nope' }] }).success).toBe(false);
    // The server sends position and page on every snapshot page.
    expect(serverFrameSchema.safeParse({ type: 'snapshot', key: '3', items: [], page: 0 }).success).toBe(false);
    expect(serverFrameSchema.safeParse({ type: 'snapshot', key: '3', items: [], position: '1' }).success).toBe(false);
  });
});

describe('compareSeq', () => {
  const digits = fc.bigInt({ min: 0n, max: 10n ** 40n });

  test('orders sequence numbers as numbers, whatever their length and zero padding', () => {
    fc.assert(
      fc.property(digits, digits, fc.nat(25), fc.nat(25), (a, b, padA, padB) => {
        const sa = a.toString().padStart(padA, '0');
        const sb = b.toString().padStart(padB, '0');
        expect(Math.sign(compareSeq(sa, sb))).toBe(a < b ? -1 : a > b ? 1 : 0);
      }),
    );
  });
});

describe('parseFrameBody', () => {
  test('counts UTF-8 bytes, not UTF-16 units: 30,000 three-byte characters are over 64 KB', () => {
    const body = JSON.stringify({ action: 'heartbeat', pad: '€'.repeat(30_000) });
    expect(parseFrameBody(body)).toEqual({ ok: false, message: 'the message is too large; at most 65536 bytes' });
  });

  test('never throws, whatever the text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (text) => void parseFrameBody(text)));
  });
});
