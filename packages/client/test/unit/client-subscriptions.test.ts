import { type Change, ProtocolError, ServerError, UsageError } from '../../src';
import { FakeSocket, type Json } from '../fake-socket';
import { connected, harness, settle } from '../harness';

// Subscriptions and actions through the client, on fake sockets: what it sends, how it reads what comes back (batches,
// refusals, junk), and that it keeps working after bad input.

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

const item = (key: string, itemId: string, seq: string, extra: Json = {}) => ({
  type: 'item',
  event: 'MODIFY',
  key,
  itemId,
  item: { itemId, seq },
  seq,
  at: 1,
  ...extra,
});

function record(changes: Change[]) {
  return (change: Change) => changes.push(change);
}

/** A connected client subscribed to `key` without a snapshot (confirmed), and the changes it reports. */
async function subscribedLive(key: string) {
  const h = harness();
  const socket = await connected(h);
  const sub = h.client.subscribe(key, { snapshot: false });
  socket.confirmLastSubscribe();
  const changes: Change[] = [];
  sub.on('change', record(changes));
  return { h, socket, sub, changes };
}

describe('subscribing', () => {
  test('subscribe → subscribed → snapshot → synced; changes before the snapshot wait for it', async () => {
    const h = harness();
    const socket = await connected(h);
    const sub = h.client.subscribe('3');
    const changes: Change[] = [];
    sub.on('change', record(changes));
    const synced = jest.fn();
    sub.on('synced', synced);
    expect(socket.actions('subscribe')).toEqual([{ action: 'subscribe', keys: ['3'], snapshot: true }]);
    socket.push(item('3', 'a', '12'));
    socket.confirmLastSubscribe();
    socket.push({
      type: 'snapshot',
      key: '3',
      items: [{ itemId: 'a', seq: '11' }],
      position: '11',
      page: 0,
      complete: true,
    });
    expect(synced).toHaveBeenCalledTimes(1);
    expect(changes.map((c) => `${c.source}:${c.seq}`)).toEqual(['snapshot:11', 'live:12']);
    expect(sub.items.get('a')).toEqual({ itemId: 'a', seq: '12' });
  });

  test('every active subscription catches up again after a reconnect; public keys ride in the URL', async () => {
    const h = harness({ keyParam: 'vehicleId' });
    const first = await connected(h);
    h.client.subscribe('3');
    h.client.subscribe('4', { snapshot: false });
    h.client.subscribe('presence:u1');
    first.serverClose(1001);
    await jest.advanceTimersByTimeAsync(1000);
    const second = FakeSocket.last();
    expect(second.param('vehicleId')).toEqual(['3', '4']);
    second.accept();
    expect(second.actions('subscribe')).toEqual([{ action: 'subscribe', keys: ['3'], snapshot: true }]);
    // Control actions go one at a time: an error frame does not say what it answers.
    second.confirmLastSubscribe();
    second.push({ type: 'snapshot', key: '3', items: [], position: '0', page: 0 });
    second.confirmLastSubscribe();
    second.confirmLastSubscribe();
    expect(second.actions('subscribe')).toEqual([
      { action: 'subscribe', keys: ['3'], snapshot: true },
      { action: 'subscribe', keys: ['4'], snapshot: false },
      { action: 'subscribe', keys: ['presence:u1'], snapshot: true },
    ]);
  });

  test('public keys go 20 to a subscribe', async () => {
    const h = harness();
    const socket = await connected(h);
    const keys = Array.from({ length: 25 }, (_, i) => `k${i}`);
    for (const key of keys) h.client.subscribe(key);
    socket.serverClose(1001);
    await jest.advanceTimersByTimeAsync(1000);
    const next = FakeSocket.last();
    next.accept();
    next.confirmLastSubscribe();
    expect(next.actions('subscribe').map((a) => a.keys.length)).toEqual([20, 5]);
  });

  test('a refused key fails its own subscription only, and is not subscribed again', async () => {
    const h = harness();
    const socket = await connected(h);
    const allowed = h.client.subscribe('presence:friend');
    socket.confirmLastSubscribe();
    const refused = h.client.subscribe('presence:stranger');
    const errors: Error[] = [];
    refused.on('error', (error) => errors.push(error));
    socket.push({ type: 'error', code: 'FORBIDDEN', message: 'you may not watch presence:stranger' });
    expect(refused.status).toBe('failed');
    expect(errors[0]).toBeInstanceOf(ServerError);
    expect(errors[0]).toMatchObject({ code: 'FORBIDDEN', key: 'presence:stranger', retryable: false });
    expect(allowed.status).toBe('subscribing');
    expect(h.client.subscriptionsByKey.has('presence:stranger')).toBe(false);
    socket.serverClose(1001);
    await jest.advanceTimersByTimeAsync(1000);
    FakeSocket.last().accept();
    expect(
      FakeSocket.last()
        .actions('subscribe')
        .map((a) => a.keys),
    ).toEqual([['presence:friend']]);
  });

  test('INTERNAL_ERROR, or API Gateway’s own error frame: the subscribe is sent again after a pause', async () => {
    const h = harness();
    const socket = await connected(h);
    h.client.subscribe('3');
    socket.push({ type: 'error', code: 'INTERNAL_ERROR', message: 'could not subscribe right now; please retry' });
    await jest.advanceTimersByTimeAsync(250);
    expect(socket.actions('subscribe')).toHaveLength(2);
    // The route's Lambda failed: API Gateway says so in a frame of its own, without a type.
    socket.push('{"message": "Internal server error", "connectionId":"c=", "requestId":"r="}');
    await jest.advanceTimersByTimeAsync(500);
    expect(socket.actions('subscribe')).toHaveLength(3);
    expect(h.errors.filter((e) => e.name === 'ProtocolError')).toEqual([]);
  });

  test('a subscribe left unanswered is sent again; the late answer to the first send still counts', async () => {
    const h = harness({ requestTimeoutMs: 5000 });
    const socket = await connected(h);
    const sub = h.client.subscribe('3');
    await jest.advanceTimersByTimeAsync(5000);
    expect(socket.actions('subscribe')).toHaveLength(2);
    socket.confirmLastSubscribe();
    socket.push({ type: 'snapshot', key: '3', items: [{ itemId: 'a' }], position: '0', page: 0 });
    // The answer to the second send: nothing waits for it, and nothing goes wrong.
    socket.confirmLastSubscribe();
    socket.push({ type: 'snapshot', key: '3', items: [{ itemId: 'a' }], position: '0', page: 0 });
    expect(sub.synced).toBe(true);
    expect(h.errors).toEqual([]);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(socket.actions('subscribe')).toHaveLength(2);
  });

  test('a subscribe unanswered three times over is started again after a pause', async () => {
    const h = harness({ requestTimeoutMs: 5000 });
    const socket = await connected(h);
    h.client.subscribe('3');
    FakeSocket.autoPong = true;
    await jest.advanceTimersByTimeAsync(15_000 + 250);
    expect(socket.actions('subscribe')).toHaveLength(4);
  });

  test('unsubscribe sends the action; late frames of the key are ignored quietly', async () => {
    const h = harness();
    const socket = await connected(h);
    const sub = h.client.subscribe('3');
    socket.confirmLastSubscribe();
    sub.unsubscribe();
    expect(socket.actions('unsubscribe')).toEqual([{ action: 'unsubscribe', keys: ['3'] }]);
    socket.push({ type: 'snapshot', key: '3', items: [], position: '1', page: 0 });
    socket.push(item('3', 'a', '5'));
    socket.push({ type: 'unsubscribed', keys: ['3'] });
    expect(h.errors).toEqual([]);
    expect(sub.items.size).toBe(0);
    expect(() => h.client.subscribe('')).toThrow(UsageError);
    expect(() => h.client.subscribe('$reserved')).toThrow(/reserved/);
  });
});

describe('reading frames', () => {
  test('a batch is unwrapped and handled in order, exactly as single frames', async () => {
    const { h, socket, changes } = await subscribedLive('3');
    const messages: string[] = [];
    h.client.on('message', (frame) => messages.push(frame.type));
    socket.push({
      type: 'batch',
      messages: [
        item('3', 'a', '1'),
        item('3', 'b', '2'),
        item('3', 'a', '1'),
        { type: 'pong', at: 1, connectionId: 'c' },
      ],
    });
    expect(changes.map((c) => `${c.seq}:${c.itemId}`)).toEqual(['1:a', '2:b']);
    expect(messages).toEqual(['item', 'item', 'item', 'pong']);
  });

  test('junk from the server: an error event each, and the client keeps working', async () => {
    const { h, socket, sub } = await subscribedLive('3');
    socket.push('not json');
    socket.push('[1,2]');
    socket.push({ type: 'item', key: '3' });
    socket.push({ type: 'future-frame', hello: true });
    socket.push({ type: 'batch', messages: [item('3', 'x', '9'), { type: 'nope' }] });
    socket.pushRaw(new Uint8Array([0xff, 0xfe]));
    socket.pushRaw({ some: 'object' });
    socket.push({ type: 'snapshot', key: 'never-subscribed', items: [], position: '1', page: 0 });
    expect(h.errors).toHaveLength(8);
    expect(h.errors.every((e) => e instanceof ProtocolError)).toBe(true);
    expect(h.errors[3]?.message).toMatch(/unknown type "future-frame"/);
    expect(h.errors[7]?.message).toMatch(/snapshot for "never-subscribed"/);
    socket.push(item('3', 'a', '10'));
    expect(sub.items.get('a')).toEqual({ itemId: 'a', seq: '10' });
    expect(h.client.state).toBe('connected');
  });

  test('an error frame nobody waited for is an error event', async () => {
    const h = harness();
    const socket = await connected(h);
    socket.push({ type: 'error', code: 'BAD_REQUEST', message: 'content must not be empty', action: 'send-message' });
    expect(h.errors[0]).toMatchObject({ code: 'BAD_REQUEST', retryable: false });
  });

  test('presence frames change the user’s presence item', async () => {
    const { socket, sub, changes } = await subscribedLive('presence:u1');
    const presence = { status: 'online', connections: 1 };
    socket.push({ type: 'presence', event: 'join', key: 'presence:u1', userId: 'u1', presence, seq: '5', at: 1 });
    expect(sub.items.get('state')).toEqual({ itemId: 'state', userId: 'u1', ...presence });
    expect(changes[0]).toMatchObject({ event: 'INSERT', presence: 'join' });
  });

  test('a listener that throws is reported; the others still run and the client goes on', async () => {
    const { h, socket, sub } = await subscribedLive('3');
    sub.on('change', () => {
      throw new Error('app bug');
    });
    const after = jest.fn();
    sub.on('change', after);
    socket.push(item('3', 'a', '1'));
    socket.push(item('3', 'a', '2'));
    expect(after).toHaveBeenCalledTimes(2);
    expect(h.errors.map((e) => e.message)).toEqual(['a listener threw: app bug', 'a listener threw: app bug']);
  });
});

describe('sending actions', () => {
  test('queued while not connected, sent in order when the socket opens', async () => {
    const h = harness();
    h.client.send({ action: 'read-messages', conversationId: 'c1' });
    h.client.send({ action: 'send-message', conversationId: 'c1', content: 'hi', tempMessageId: 't1' });
    await settle();
    const socket = FakeSocket.last();
    expect(socket.actions()).toEqual([]);
    socket.accept();
    expect(socket.actions().map((a) => a.action)).toEqual(['heartbeat', 'read-messages', 'send-message']);
    h.client.send({ action: 'read-messages', conversationId: 'c2' });
    expect(socket.actions().at(-1)).toEqual({ action: 'read-messages', conversationId: 'c2' });
  });

  test('the queue is bounded: the oldest action goes', async () => {
    const h = harness({ maxQueuedActions: 2 });
    for (const n of [1, 2, 3]) h.client.send({ action: 'read-messages', n });
    await settle();
    FakeSocket.last().accept();
    expect(
      FakeSocket.last()
        .actions('read-messages')
        .map((a) => a.n),
    ).toEqual([2, 3]);
    expect(h.errors[0]?.message).toMatch(/oldest was dropped/);
  });

  test('what can never be sent throws a UsageError', async () => {
    const h = harness();
    const cyclic: Json = { action: 'x' };
    cyclic.self = cyclic;
    expect(() => h.client.send({ action: '' })).toThrow(UsageError);
    expect(() => h.client.send(null as never)).toThrow(UsageError);
    expect(() => h.client.send(cyclic as never)).toThrow(/cannot be sent as JSON/);
    expect(() => h.client.send({ action: 'x', blob: 'x'.repeat(33 * 1024) })).toThrow(/32768 bytes/);
    await h.client.close();
    expect(() => h.client.send({ action: 'x' })).toThrow(/closed/);
  });

  test('update-presence waits its turn behind a subscribe, so the error frame is attributed right', async () => {
    const h = harness();
    const socket = await connected(h);
    const sub = h.client.subscribe('3', { snapshot: false });
    h.client.send({ action: 'update-presence', url: 'https://example.com', title: 'x' });
    expect(socket.actions().map((a) => a.action)).toEqual(['heartbeat', 'subscribe']);
    socket.confirmLastSubscribe();
    expect(socket.actions().map((a) => a.action)).toEqual(['heartbeat', 'subscribe', 'update-presence']);
    socket.push({ type: 'error', code: 'UNAUTHORIZED', message: 'update-presence needs a signed-in user' });
    expect(sub.status).toBe('synced');
    expect(h.errors[0]).toMatchObject({ code: 'UNAUTHORIZED' });
  });
});
