import { type Change, type Item, RealtimeError } from '../../src';
import { type IncomingChange, Subscription, type SubscriptionHost } from '../../src/subscription';

// The merge rule, on one Subscription driven as the client drives it: a catch-up per connection, changes and
// snapshot pages as they arrive. Connections are numbers; seqs are small decimal strings.

interface Recorded {
  sub: Subscription;
  changes: Change[];
  synced: number;
  errors: RealtimeError[];
}

function subscription(options: { snapshot?: boolean; host?: Partial<SubscriptionHost> } = {}): Recorded {
  const host: SubscriptionHost = {
    release: () => {},
    listenerFailed: (error) => {
      throw error;
    },
    synced: () => {},
    ...options.host,
  };
  const sub = new Subscription('k', options.snapshot ?? true, host);
  const recorded: Recorded = { sub, changes: [], synced: 0, errors: [] };
  sub.on('change', (change) => recorded.changes.push(change));
  sub.on('synced', () => recorded.synced++);
  sub.on('error', (error) => recorded.errors.push(error));
  return recorded;
}

const put = (itemId: string, seq: number, extra: Item = {}): IncomingChange => ({
  event: 'MODIFY',
  itemId,
  item: { itemId, v: seq, ...extra },
  seq: String(seq),
  at: seq,
});
const remove = (itemId: string, seq: number): IncomingChange => ({
  event: 'REMOVE',
  itemId,
  item: { itemId },
  seq: String(seq),
  at: seq,
});
const item = (itemId: string, v: number): Item => ({ itemId, v });
const itemsOf = (sub: Subscription) => Object.fromEntries(sub.items);
const seqs = (changes: Change[]) =>
  changes.map((c) => `${c.source === 'live' ? c.seq : 'snap'}:${c.event}:${c.itemId}`);

/** Starts a catch-up on `connection` and confirms it, as `subscribed` does. */
function resubscribe(r: Recorded, connection: number): void {
  r.sub.beginCatchUp(connection);
  r.sub.confirmed(connection);
}

describe('catching up with a snapshot that has a position', () => {
  test('changes racing the snapshot: those at or below the position are dropped, later ones applied in order', () => {
    const r = subscription();
    resubscribe(r, 1);
    r.sub.receive(put('a', 5), 1);
    r.sub.receive(put('b', 7), 1);
    r.sub.receive(put('a', 9), 1);
    expect(r.changes).toEqual([]);
    r.sub.receiveSnapshot({ items: [item('a', 5), item('c', 3)], position: '7', complete: true }, 1);
    expect(itemsOf(r.sub)).toEqual({ a: item('a', 9), c: item('c', 3) });
    expect(seqs(r.changes)).toEqual(['snap:INSERT:a', 'snap:INSERT:c', '9:MODIFY:a']);
    expect(r.synced).toBe(1);
    expect(r.sub.synced).toBe(true);
  });

  test('REMOVE during catch-up: after the position it deletes the item, at or before it is already in', () => {
    const r = subscription();
    resubscribe(r, 1);
    r.sub.receive(remove('gone-before', 4), 1);
    r.sub.receive(remove('a', 8), 1);
    r.sub.receiveSnapshot({ items: [item('a', 6), item('b', 2)], position: '6', complete: true }, 1);
    expect(itemsOf(r.sub)).toEqual({ b: item('b', 2) });
    expect(seqs(r.changes)).toEqual(['snap:INSERT:a', 'snap:INSERT:b', '8:REMOVE:a']);
  });

  test('pages collect until the one without `more`; nothing is emitted before', () => {
    const r = subscription();
    resubscribe(r, 1);
    r.sub.receiveSnapshot({ items: [item('a', 1)], position: '3', more: true }, 1);
    r.sub.receive(put('c', 4), 1);
    r.sub.receiveSnapshot({ items: [item('b', 2)], position: '3', complete: true }, 1);
    expect(itemsOf(r.sub)).toEqual({ a: item('a', 1), b: item('b', 2), c: item('c', 4) });
    expect(r.synced).toBe(1);
  });

  test('a page 0 mid-collection (a re-delivered stream batch) starts the snapshot afresh', () => {
    const r = subscription();
    resubscribe(r, 1);
    r.sub.receiveSnapshot({ items: [item('a', 1)], position: '3', page: 0, more: true }, 1);
    // The batch failed after page 0 and came again, read after a was removed (seq 4).
    r.sub.receiveSnapshot({ items: [item('b', 2)], position: '4', page: 0, more: true }, 1);
    r.sub.receiveSnapshot({ items: [item('c', 2)], position: '4', page: 1, complete: true }, 1);
    expect(itemsOf(r.sub)).toEqual({ b: item('b', 2), c: item('c', 2) });
  });

  test('after a reconnect only the differences are emitted, each once', () => {
    const r = subscription();
    resubscribe(r, 1);
    r.sub.receiveSnapshot({ items: [item('a', 1), item('b', 1), item('c', 1)], position: '1' }, 1);
    r.sub.receive(put('a', 2), 1);
    r.changes.length = 0;
    r.sub.connectionLost(1);
    expect(r.sub.synced).toBe(false);
    resubscribe(r, 2);
    // While away: b changed (3), c was removed (4), d was inserted (5); a is as it was.
    r.sub.receiveSnapshot({ items: [{ v: 2, itemId: 'a' }, item('b', 3), item('d', 5)], position: '5' }, 2);
    expect(seqs(r.changes)).toEqual(['snap:REMOVE:c', 'snap:MODIFY:b', 'snap:INSERT:d']);
    expect(r.changes.every((c) => c.source === 'snapshot' && c.seq === '5')).toBe(true);
    expect(itemsOf(r.sub)).toEqual({ a: item('a', 2), b: item('b', 3), d: item('d', 5) });
  });

  test('a snapshot older than what the subscription applied (make-before-break) changes nothing', () => {
    const r = subscription();
    resubscribe(r, 1);
    r.sub.receiveSnapshot({ items: [item('a', 1)], position: '1' }, 1);
    resubscribe(r, 2);
    // The old connection keeps the subscription live meanwhile, and is ahead of the new snapshot.
    r.sub.receive(put('a', 3), 1);
    r.sub.receive(put('a', 3), 2);
    r.sub.receiveSnapshot({ items: [item('a', 2)], position: '2' }, 2);
    r.sub.receive(put('a', 4), 1);
    r.sub.receive(put('a', 4), 2);
    expect(seqs(r.changes)).toEqual(['snap:INSERT:a', '3:MODIFY:a', '4:MODIFY:a']);
    expect(itemsOf(r.sub)).toEqual({ a: item('a', 4) });
    expect(r.sub.synced).toBe(true);
    expect(r.synced).toBe(2);
  });
});

describe('repeats', () => {
  test('the same seq twice, or an older seq after a newer one, is dropped', () => {
    const r = subscription({ snapshot: false });
    resubscribe(r, 1);
    for (const seq of [1, 2, 2, 1, 3, '00000000003']) {
      r.sub.receive(typeof seq === 'number' ? put('a', seq) : { ...put('a', 3), seq }, 1);
    }
    expect(seqs(r.changes)).toEqual(['1:MODIFY:a', '2:MODIFY:a', '3:MODIFY:a']);
  });

  test('seqs of different lengths compare as numbers', () => {
    const r = subscription({ snapshot: false });
    resubscribe(r, 1);
    r.sub.receive(put('a', 99), 1);
    r.sub.receive(put('a', 100), 1);
    r.sub.receive(put('a', 101), 1);
    expect(r.changes).toHaveLength(3);
  });
});

describe('snapshots that answer no catch-up are ignored', () => {
  test('before `subscribed`, on another connection, after the catch-up, or without snapshot', () => {
    const r = subscription();
    r.sub.beginCatchUp(1);
    // An answer to an earlier subscribe of the key (before an unsubscribe, or sent again after a timeout).
    r.sub.receiveSnapshot({ items: [item('x', 1)], position: '1' }, 1);
    r.sub.confirmed(1);
    r.sub.receiveSnapshot({ items: [item('y', 1)], position: '1' }, 2);
    r.sub.receiveSnapshot({ items: [item('a', 1)], position: '1' }, 1);
    r.sub.receiveSnapshot({ items: [item('z', 1)], position: '2' }, 1);
    expect(itemsOf(r.sub)).toEqual({ a: item('a', 1) });
    expect(r.synced).toBe(1);

    const live = subscription({ snapshot: false });
    resubscribe(live, 1);
    live.sub.receiveSnapshot({ items: [item('a', 1)], position: '1' }, 1);
    expect(live.sub.items.size).toBe(0);
  });
});

describe('items too large for a message', () => {
  test('fetched over HTTP; the changes after one wait for it, so the order holds', async () => {
    let release: (item: Item) => void = () => {};
    const fetchItem = jest.fn(() => new Promise<Item | undefined>((resolve) => (release = resolve)));
    const r = subscription({ snapshot: false, host: { fetchItem } });
    resubscribe(r, 1);
    r.sub.receive({ ...put('big', 1), item: undefined, truncated: true }, 1);
    r.sub.receive(put('small', 2), 1);
    expect(r.changes).toEqual([]);
    release({ itemId: 'big', blob: 'x'.repeat(10) });
    await new Promise((resolve) => setImmediate(resolve));
    expect(fetchItem).toHaveBeenCalledWith('k', 'big');
    expect(seqs(r.changes)).toEqual(['1:MODIFY:big', '2:MODIFY:small']);
    expect(r.changes[0]).toMatchObject({ truncated: true, item: { blob: 'xxxxxxxxxx' } });
  });

  test('without HTTP, or when the fetch fails, a placeholder stands in and the error is reported', async () => {
    const none = subscription({ snapshot: false });
    resubscribe(none, 1);
    none.sub.receive({ ...put('big', 1), item: undefined, truncated: true }, 1);
    expect(itemsOf(none.sub)).toEqual({ big: { itemId: 'big', truncated: true } });

    const failing = subscription({
      snapshot: false,
      host: { fetchItem: () => Promise.reject(new Error('503')) },
    });
    resubscribe(failing, 1);
    failing.sub.receive({ ...put('big', 1), item: undefined, truncated: true }, 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(itemsOf(failing.sub)).toEqual({ big: { itemId: 'big', truncated: true } });
    expect(failing.errors[0]).toBeInstanceOf(RealtimeError);
    expect(failing.errors[0]?.message).toMatch(/could not be fetched: 503/);
  });

  test('a partial snapshot fetches the rest, and truncated entries their item', async () => {
    const fetchRemaining = jest.fn(async () => [item('c', 1)]);
    const fetchItem = jest.fn(async () => item('b', 42));
    const r = subscription({ host: { fetchRemaining, fetchItem } });
    resubscribe(r, 1);
    r.sub.receiveSnapshot(
      { items: [item('a', 1), { itemId: 'b', truncated: true }], position: '1', complete: false, nextToken: 't1' },
      1,
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(fetchRemaining).toHaveBeenCalledWith('k', 't1');
    expect(itemsOf(r.sub)).toEqual({ a: item('a', 1), b: item('b', 42), c: item('c', 1) });
    expect(r.synced).toBe(1);
  });
});

describe('lifecycle', () => {
  test('refused: status failed, an error, and nothing applied after', () => {
    const r = subscription({ snapshot: false });
    resubscribe(r, 1);
    r.sub.refuse(new RealtimeError('no', { retryable: false }));
    r.sub.receive(put('a', 1), 1);
    expect(r.sub.status).toBe('failed');
    expect(r.errors).toHaveLength(1);
    expect(r.changes).toEqual([]);
  });

  test('unsubscribed: no more changes; items keep their last state', () => {
    const release = jest.fn();
    const r = subscription({ snapshot: false, host: { release } });
    resubscribe(r, 1);
    r.sub.receive(put('a', 1), 1);
    r.sub.unsubscribe();
    r.sub.unsubscribe();
    r.sub.receive(put('a', 2), 1);
    expect(release).toHaveBeenCalledTimes(1);
    expect(r.sub.status).toBe('unsubscribed');
    expect(itemsOf(r.sub)).toEqual({ a: item('a', 1) });
  });

  test('a conflated change says how many changes it replaced', () => {
    const r = subscription({ snapshot: false });
    resubscribe(r, 1);
    r.sub.receive({ ...put('a', 9), conflated: 3 }, 1);
    expect(r.changes[0]).toMatchObject({ source: 'live', seq: '9', conflated: 3 });
  });
});
