import type { Change } from '../../src';
import { FakeSocket, type Json } from '../fake-socket';
import { connected, harness, settle } from '../harness';
import { jwt } from '../tokens';

// Make-before-break: before the server's 2-hour cut (10 s here) and before the token expires, the client opens a
// second connection, subscribes and catches up there, then closes the first — the state stays `connected`, and no
// change is missed or emitted twice.

beforeEach(() => jest.useFakeTimers());
// Connections live for minutes here: the fake server answers heartbeats.
const alive = (h: ReturnType<typeof harness>) => {
  FakeSocket.autoPong = true;
  return h;
};
afterEach(() => jest.useRealTimers());

const item = (itemId: string, seq: string): Json => ({
  type: 'item',
  event: 'MODIFY',
  key: '3',
  itemId,
  item: { itemId, seq },
  seq,
  at: 1,
});

/** Plays the server for the socket's last subscribe: subscribed, then a snapshot at `position`. */
function serve(socket: FakeSocket, items: Json[], position: string): void {
  socket.confirmLastSubscribe();
  socket.push({ type: 'snapshot', key: '3', items, position, page: 0, complete: true });
}

describe('before the maximum connection duration', () => {
  test('a second socket catches up, the first closes after the overlap, and the state never leaves connected', async () => {
    // maxConnectionMs 10 s → a margin of 2 s → the replacement opens 6–8 s in (7 s with random 0.5).
    const h = alive(harness({ maxConnectionMs: 10_000, overlapMs: 500 }));
    const old = await connected(h);
    const sub = h.client.subscribe('3');
    const changes: Change[] = [];
    sub.on('change', (c) => changes.push(c));
    serve(old, [{ itemId: 'a', seq: '1' }], '1');
    await jest.advanceTimersByTimeAsync(6_999);
    expect(FakeSocket.created).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    await settle();
    expect(FakeSocket.created).toHaveLength(2);
    const fresh = FakeSocket.last();

    // While the new socket opens and catches up, changes reach the old one, then both.
    old.push(item('a', '2'));
    fresh.accept();
    fresh.pong();
    old.push(item('b', '3'));
    fresh.push(item('b', '3'));
    fresh.confirmLastSubscribe();
    fresh.push({
      type: 'snapshot',
      key: '3',
      items: [{ itemId: 'a', seq: '2' }],
      position: '2',
      page: 0,
      complete: true,
    });
    old.push(item('a', '4'));
    fresh.push(item('a', '4'));
    expect(old.closedWith).toBeUndefined();
    await jest.advanceTimersByTimeAsync(500);
    expect(old.closedWith).toBe(1000);

    fresh.push(item('b', '5'));
    expect(changes.map((c) => `${c.source}:${c.seq}:${c.itemId}`)).toEqual([
      'snapshot:1:a',
      'live:2:a',
      'live:3:b',
      'live:4:a',
      'live:5:b',
    ]);
    expect(Object.fromEntries(sub.items)).toEqual({ a: { itemId: 'a', seq: '4' }, b: { itemId: 'b', seq: '5' } });
    expect(h.path()).toEqual(['connecting', 'connected']);
    // Heartbeats and actions now use the new socket.
    h.client.send({ action: 'read-messages', conversationId: 'c' });
    expect(fresh.actions('read-messages')).toHaveLength(1);
    expect(old.actions('read-messages')).toHaveLength(0);
  });

  test('if the old socket is cut while the new one is opening, the new one is the reconnect', async () => {
    const h = alive(harness({ maxConnectionMs: 10_000 }));
    const old = await connected(h);
    h.client.subscribe('3');
    serve(old, [], '1');
    await jest.advanceTimersByTimeAsync(7_000);
    await settle();
    const fresh = FakeSocket.last();
    old.serverClose(1001, 'Going away');
    expect(h.client.state).toBe('connecting');
    fresh.accept();
    expect(h.path()).toEqual(['connecting', 'connected', 'reconnecting', 'connecting', 'connected']);
    expect(FakeSocket.created).toHaveLength(2);
  });

  test('a replacement that fails leaves the old connection in place, and is tried again', async () => {
    const h = alive(harness({ maxConnectionMs: 10_000 }));
    const old = await connected(h);
    await jest.advanceTimersByTimeAsync(7_000);
    await settle();
    FakeSocket.last().serverClose(1006);
    expect(h.client.state).toBe('connected');
    await jest.advanceTimersByTimeAsync(500);
    await settle();
    expect(FakeSocket.created).toHaveLength(3);
    expect(old.closedWith).toBeUndefined();
  });
});

describe('before the token expires', () => {
  test('a new token from the provider, a new connection with it', async () => {
    jest.setSystemTime(1_800_000_000_000);
    const now = Date.now();
    const tokens = [
      jwt({ sub: 'u1', exp: Math.floor(now / 1000) + 600 }),
      jwt({ sub: 'u1', exp: Math.floor(now / 1000) + 1200 }),
    ];
    const provider = jest.fn(async () => tokens.shift() ?? 'none');
    const h = alive(harness({ token: provider, tokenRefreshMarginMs: 60_000 }));
    const old = await connected(h);
    await jest.advanceTimersByTimeAsync(540_000 - 1);
    expect(FakeSocket.created).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    await settle();
    expect(provider).toHaveBeenCalledTimes(2);
    const fresh = FakeSocket.last();
    expect(fresh.param('token')).toEqual([jwt({ sub: 'u1', exp: Math.floor(now / 1000) + 1200 })]);
    fresh.accept();
    await jest.advanceTimersByTimeAsync(1000);
    expect(old.closedWith).toBe(1000);
    expect(h.client.state).toBe('connected');
  });

  test('a provider with nothing newer: no replacement until the lifetime limit', async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    const provider = jest.fn(async () => jwt({ sub: 'u1', exp }));
    const h = alive(harness({ token: provider, maxConnectionMs: 7_200_000 }));
    await connected(h);
    await jest.advanceTimersByTimeAsync(3_600_000);
    expect(provider).toHaveBeenCalledTimes(2);
    expect(FakeSocket.created).toHaveLength(1);
  });
});
