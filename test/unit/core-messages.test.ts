import {
  errorMessage,
  itemMessage,
  pongMessage,
  subscribedMessage,
  truncatedItemMessage,
  unknownActionMessage,
  unsubscribedMessage,
} from '@real-time-platform/protocol';
import { streamRecord } from '@real-time-platform/test-support';
import { toNumber, toPlainItem } from '../../src/domain/attribute-values';
import { encodeMessage } from '../../src/domain/messages';
import { parseStreamRecord } from '../../src/domain/stream-changes';

const change = {
  event: 'INSERT' as const,
  key: '3',
  itemId: 'latest',
  item: { vehicleId: '3', lat: 52.1 },
  seq: '4001',
  at: 1763800000000,
};

describe('the server envelope (PRODUCT.md)', () => {
  test('item, truncated item, subscribed, unsubscribed, pong and error frames have the documented shape', () => {
    expect(JSON.parse(Buffer.from(encodeMessage(itemMessage(change))).toString())).toEqual({
      type: 'item',
      event: 'INSERT',
      key: '3',
      itemId: 'latest',
      item: { vehicleId: '3', lat: 52.1 },
      seq: '4001',
      at: 1763800000000,
    });
    expect(truncatedItemMessage(change)).toEqual({
      type: 'item',
      event: 'INSERT',
      key: '3',
      itemId: 'latest',
      truncated: true,
      seq: '4001',
      at: 1763800000000,
    });
    expect(subscribedMessage(['3'])).toEqual({ type: 'subscribed', keys: ['3'] });
    expect(unsubscribedMessage(['3'])).toEqual({ type: 'unsubscribed', keys: ['3'] });
    expect(pongMessage(5, 'R1kmxc2VNjMCFIA=')).toEqual({ type: 'pong', at: 5, connectionId: 'R1kmxc2VNjMCFIA=' });
    expect(errorMessage('BAD_REQUEST', 'x')).toEqual({ type: 'error', code: 'BAD_REQUEST', message: 'x' });
  });

  test('an unknown action names the valid ones', () => {
    expect(unknownActionMessage('dance')).toEqual({
      type: 'error',
      code: 'UNKNOWN_ACTION',
      message:
        'unknown action "dance"; valid actions: subscribe, unsubscribe, heartbeat, update-presence, send-message, read-messages',
    });
    expect(unknownActionMessage(undefined)).toMatchObject({
      message:
        'missing action; valid actions: subscribe, unsubscribe, heartbeat, update-presence, send-message, read-messages',
    });
  });
});

describe('DynamoDB JSON → plain JSON', () => {
  test('numbers stay numbers when exact, else strings; sets → arrays; binary → base64', () => {
    expect(
      toPlainItem({
        small: { N: '42' },
        fraction: { N: '-0.125' },
        big: { N: '123456789012345678901234567890' },
        precise: { N: '0.12345678901234567' },
        tags: { SS: ['a', 'b'] },
        scores: { NS: ['1', '99999999999999999999'] },
        blob: { B: 'AQID' },
        bytes: { B: new Uint8Array([1, 2, 3]) },
        blobs: { BS: ['AQID'] },
        nested: { M: { ok: { BOOL: true }, none: { NULL: true }, list: { L: [{ S: 'x' }, { N: '1e3' }] } } },
      }),
    ).toEqual({
      small: 42,
      fraction: -0.125,
      big: '123456789012345678901234567890',
      precise: '0.12345678901234567',
      tags: ['a', 'b'],
      scores: [1, '99999999999999999999'],
      blob: 'AQID',
      bytes: 'AQID',
      blobs: ['AQID'],
      nested: { ok: true, none: null, list: ['x', 1000] },
    });
  });

  test('an attribute named __proto__ stays data', () => {
    const item = toPlainItem(JSON.parse('{"__proto__":{"S":"x"}}'));
    expect(Object.getPrototypeOf(item)).toBe(Object.prototype);
    expect(JSON.stringify(item)).toBe('{"__proto__":"x"}');
  });

  test('toNumber keeps 15 significant digits as numbers and longer ones as text', () => {
    expect(toNumber('123456789012345')).toBe(123456789012345);
    expect(toNumber('1234567890123456')).toBe('1234567890123456');
    expect(toNumber('1000000000000000000000')).toBe(1e21);
  });
});

describe('stream record → change', () => {
  const now = () => 1;

  test('INSERT and MODIFY carry NewImage; REMOVE carries OldImage', () => {
    const insert = parseStreamRecord(streamRecord({ key: '3', seq: 1, item: { lat: 1 } }), 'vehicleId', now);
    expect(insert).toEqual({
      ok: true,
      change: {
        event: 'INSERT',
        key: '3',
        itemId: 'latest',
        item: { vehicleId: '3', itemId: 'latest', lat: 1 },
        seq: '000000000000000000001',
        at: 1763800000000,
      },
    });
    const remove = parseStreamRecord(
      streamRecord({ key: '3', seq: 2, event: 'REMOVE', item: { lat: 9 } }),
      'vehicleId',
      now,
    );
    expect(remove.ok && remove.change.item).toEqual({ vehicleId: '3', itemId: 'latest', lat: 9 });
  });

  test.each([
    [
      'no key attribute',
      streamRecord({ key: '3', seq: 1, image: { itemId: { S: 'x' } } }),
      /no string attribute vehicleId/,
    ],
    [
      'a numeric key',
      streamRecord({ key: '3', seq: 1, image: { vehicleId: { N: '3' }, itemId: { S: 'x' } } }),
      /no string attribute vehicleId/,
    ],
    ['an unknown event', { ...streamRecord({ key: '3', seq: 1 }), eventName: 'UPSERT' }, /unexpected eventName/],
    ['no SequenceNumber', { eventName: 'INSERT', dynamodb: {} }, /no SequenceNumber/],
    ['not an object', 42, /not an object/],
    [
      'a bad attribute',
      streamRecord({ key: '3', seq: 1, image: { vehicleId: { S: '3' }, itemId: { S: 'x' }, bad: { Q: 1 } } }),
      /unknown type descriptor/,
    ],
  ])('%s → skipped with a reason', (_name, record, reason) => {
    const result = parseStreamRecord(record, 'vehicleId', now);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
});
