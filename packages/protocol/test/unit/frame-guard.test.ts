import fc from 'fast-check';
import { decodeServerFrame, ERROR_CODES, ITEM_EVENTS, serverFrameSchema } from '../../src';

// The hand-written guard browser clients use must accept exactly what the zod schema accepts: generated frames of
// every type, the same frames with one field replaced by any JSON value, and arbitrary JSON.

const json = fc.jsonValue();
const text = fc.string({ maxLength: 8 });
const item = fc.dictionary(text, json, { maxKeys: 3 });
const page = fc.record({ url: text, title: text, domain: text });
const number = fc.double({ noNaN: true, noDefaultInfinity: true });

const itemFrame = fc.record(
  {
    type: fc.constant('item'),
    event: fc.constantFrom(...ITEM_EVENTS),
    key: text,
    itemId: text,
    item,
    truncated: fc.constant(true),
    conflated: fc.integer({ min: 1, max: 1000 }),
    seq: fc.stringMatching(/^\d{1,25}$/),
    at: number,
    duplicate: fc.constant(true),
  },
  { requiredKeys: ['type', 'event', 'key', 'itemId', 'at'] },
);
const singleFrames = [
  itemFrame,
  fc.record(
    {
      type: fc.constant('snapshot'),
      key: text,
      items: fc.array(item, { maxLength: 3 }),
      position: text,
      page: fc.nat(),
      more: fc.constant(true),
      complete: fc.boolean(),
      nextToken: text,
    },
    { requiredKeys: ['type', 'key', 'items', 'position', 'page'] },
  ),
  fc.record({ type: fc.constantFrom('subscribed', 'unsubscribed'), keys: fc.array(text, { maxLength: 3 }) }),
  fc.record({ type: fc.constant('pong'), at: number, connectionId: text }),
  fc.record(
    {
      type: fc.constant('error'),
      code: fc.constantFrom(...ERROR_CODES),
      message: text,
      action: text,
      conversationId: text,
      tempMessageId: text,
    },
    { requiredKeys: ['type', 'code', 'message'] },
  ),
  fc.record({
    type: fc.constant('presence'),
    event: fc.constantFrom('join', 'leave', 'update'),
    key: text,
    userId: text,
    presence: fc.record(
      {
        status: fc.constantFrom('online', 'offline'),
        connections: number,
        since: number,
        lastSeenAt: number,
        page,
        latestPage: page,
      },
      { requiredKeys: ['status', 'connections'] },
    ),
    seq: text,
    at: number,
  }),
  fc.record({ type: fc.constant('presence-updated'), changed: fc.boolean(), page: fc.option(page, { nil: null }) }),
];
const single = fc.oneof(...singleFrames);
const frame = fc.oneof(single, fc.record({ type: fc.constant('batch'), messages: fc.array(single, { maxLength: 4 }) }));

/** Values at the edges of the rules (0 conflated, 2^53, an empty page …) beside any JSON value. */
const replacement = fc.oneof(
  fc.constantFrom(0, -1, 1.5, 2 ** 53, '', 'x', null, true, false, [], {}, { url: '', title: '', domain: '' }),
  json,
);

/** A frame with one field (or a field of its first batch element) replaced by another value, or removed. */
const mutated = fc
  .tuple(frame, fc.nat(), fc.option(replacement, { nil: undefined, freq: 4 }))
  .map(([original, which, value]) => {
    const target: Record<string, unknown> =
      original.type === 'batch' && Array.isArray(original.messages) && original.messages.length > 0
        ? (original.messages[0] as Record<string, unknown>)
        : original;
    const names = Object.keys(target);
    const name = names[which % names.length] as string;
    if (value === undefined) delete target[name];
    else target[name] = value;
    return original as unknown;
  });

const accepted = (value: unknown) => decodeServerFrame(value).kind === 'frame';
const schemaAccepts = (value: unknown) => serverFrameSchema.safeParse(value).success;

describe('decodeServerFrame agrees with serverFrameSchema', () => {
  test('on valid frames of every type, alone and in batches', () => {
    fc.assert(fc.property(frame, (value) => accepted(value) && schemaAccepts(value)));
  });

  test('on frames with one field replaced by another value or removed', () => {
    fc.assert(
      fc.property(mutated, (value) => accepted(value) === schemaAccepts(value)),
      { numRuns: 2000 },
    );
  });

  test('on arbitrary JSON', () => {
    fc.assert(fc.property(json, (value) => accepted(value) === schemaAccepts(value)));
  });
});

describe('decodeServerFrame', () => {
  test('tells a frame of an unknown type from a malformed one', () => {
    expect(decodeServerFrame({ type: 'activity', at: 1 })).toEqual({ kind: 'unknown', type: 'activity' });
    expect(decodeServerFrame({ type: 'pong', at: '1', connectionId: 'c' })).toMatchObject({ kind: 'malformed' });
    expect(decodeServerFrame([1])).toMatchObject({ kind: 'malformed' });
    expect(decodeServerFrame({ type: 7 })).toMatchObject({ kind: 'malformed' });
  });

  test('a type named like an Object.prototype member is unknown, alone or in a batch (found by the fuzz above)', () => {
    for (const type of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
      expect(decodeServerFrame({ type, messages: [] })).toEqual({ kind: 'unknown', type });
      expect(decodeServerFrame({ type: 'batch', messages: [{ type }] })).toMatchObject({ kind: 'malformed' });
    }
  });

  test('a batch with one bad element is malformed as a whole', () => {
    const pong = { type: 'pong', at: 1, connectionId: 'c' };
    expect(decodeServerFrame({ type: 'batch', messages: [pong, pong] }).kind).toBe('frame');
    expect(decodeServerFrame({ type: 'batch', messages: [pong, { type: 'activity' }] })).toEqual({
      kind: 'malformed',
      problem: 'batch frame: messages[1]: unknown frame type "activity"',
    });
    expect(decodeServerFrame({ type: 'batch', messages: [{ type: 'batch', messages: [] }] }).kind).toBe('malformed');
  });
});
