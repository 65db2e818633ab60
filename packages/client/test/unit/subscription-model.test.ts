import fc from 'fast-check';
import type { Change, Item } from '../../src';
import { type IncomingChange, Subscription } from '../../src/subscription';

// The merge rule against a model of the platform. A producer makes n changes to a few items; meanwhile the client's
// connections come and go — a crash, a reconnect, a make-before-break that overlaps the old connection — each
// subscription stored after some change s, its snapshot read after some change r ≥ s, its frames those of the
// changes after s, in order, some delivered twice (a retried stream batch), some lost when the connection dies.
// Whatever the schedule: the items equal the table, live changes come out once each in seq order, and replaying
// every emitted change reproduces the items.

const ITEM_IDS = ['a', 'b', 'c', 'd'];

type Op = { kind: 'put'; itemId: string } | { kind: 'remove'; itemId: string };
type Step = 'change' | 'crash' | 'rotate' | 'confirm' | 'snapshot' | 'retry' | 'flush' | 'close-old';

interface Conn {
  id: number;
  /** Frames sent to this connection not delivered yet, in order. */
  buffer: IncomingChange[];
  /** The changes sent so far (for retries). */
  sent: IncomingChange[];
  confirmed: boolean;
  snapshotDone: boolean;
}

function changeOf(op: Op, index: number): IncomingChange {
  const seq = String(index);
  return op.kind === 'put'
    ? { event: 'MODIFY', itemId: op.itemId, item: { itemId: op.itemId, v: index }, seq, at: index }
    : { event: 'REMOVE', itemId: op.itemId, item: { itemId: op.itemId }, seq, at: index };
}

/** DynamoDB Streams has no record for deleting an item that is not there: such a remove becomes a put. */
function realistic(op: Op | undefined, table: Map<string, Item>): Op | undefined {
  return op?.kind === 'remove' && !table.has(op.itemId) ? { kind: 'put', itemId: op.itemId } : op;
}

function run(ops: Op[], steps: Step[], choices: number[]) {
  const table = new Map<string, Item>();
  const emitted: Change[] = [];
  const sub = new Subscription('k', true, {
    release: () => {},
    listenerFailed: (error) => {
      throw error;
    },
    synced: () => {},
  });
  sub.on('change', (change) => emitted.push(change));

  let done = 0;
  let nextId = 1;
  let choice = 0;
  const pick = (n: number) => (n <= 0 ? 0 : (choices[choice++ % choices.length] ?? 0) % n);
  // The connections alive, oldest first. The newest is the client's primary; an older one is being replaced.
  let alive: Conn[] = [];
  const newest = () => alive.at(-1);

  const deliver = (conn: Conn, count = conn.buffer.length) => {
    for (const change of conn.buffer.splice(0, count)) sub.receive(change, conn.id);
  };
  const open = () => {
    const conn: Conn = { id: nextId++, buffer: [], sent: [], confirmed: false, snapshotDone: false };
    sub.beginCatchUp(conn.id);
    alive.push(conn);
  };
  const confirm = (conn: Conn) => {
    conn.confirmed = true;
    sub.confirmed(conn.id);
  };
  const sendSnapshot = (conn: Conn) => {
    if (!conn.confirmed) confirm(conn);
    const items = [...table.values()].map((item) => ({ ...item }));
    const position = String(done);
    conn.snapshotDone = true;
    if (items.length > 1 && pick(2) === 0) {
      sub.receiveSnapshot({ items: items.slice(0, 1), position, more: true }, conn.id);
      sub.receiveSnapshot({ items: items.slice(1), position }, conn.id);
    } else sub.receiveSnapshot({ items, position }, conn.id);
  };
  const lose = (conn: Conn) => {
    sub.connectionLost(conn.id);
    alive = alive.filter((c) => c !== conn);
  };
  const change = (op: Op) => {
    done++;
    const made = changeOf(op, done);
    if (op.kind === 'put') table.set(op.itemId, made.item as Item);
    else table.delete(op.itemId);
    for (const conn of alive) {
      conn.buffer.push(made);
      conn.sent.push(made);
    }
  };

  open();
  for (const step of steps) {
    const primary = newest();
    switch (step) {
      case 'change': {
        const op = realistic(ops[done], table);
        if (op !== undefined) change(op);
        break;
      }
      case 'flush': {
        const conn = alive[pick(alive.length)];
        if (conn !== undefined) deliver(conn, 1 + pick(conn.buffer.length));
        break;
      }
      case 'retry':
        // A retried stream batch: the last few changes again, to every connection that got them.
        for (const conn of alive) {
          conn.buffer.push(...conn.sent.slice(conn.sent.length - 1 - pick(Math.min(conn.sent.length, 4))));
        }
        break;
      case 'confirm':
        if (primary !== undefined && !primary.confirmed) confirm(primary);
        break;
      case 'snapshot':
        if (primary === undefined || primary.snapshotDone) break;
        deliver(primary, pick(primary.buffer.length + 1));
        sendSnapshot(primary);
        break;
      case 'crash': {
        // A socket dies with whatever it had in flight; when it was the primary, the client reconnects.
        const conn = alive[pick(alive.length)];
        if (conn === undefined) break;
        lose(conn);
        if (conn === primary) open();
        break;
      }
      case 'rotate':
        // A make-before-break: a second connection while the only one is synced.
        if (alive.length === 1 && primary?.snapshotDone) open();
        break;
      case 'close-old': {
        // The replaced connection closes once the new one caught up, after draining what it had in flight.
        const old = alive[0];
        if (alive.length < 2 || old === undefined || !primary?.snapshotDone) break;
        deliver(old);
        lose(old);
        break;
      }
    }
  }
  // The end: the rest of the changes, the primary's snapshot if it had none yet, every connection drained.
  for (let op = realistic(ops[done], table); op !== undefined; op = realistic(ops[done], table)) change(op);
  const last = newest();
  if (last !== undefined && !last.snapshotDone) {
    deliver(last, pick(last.buffer.length + 1));
    sendSnapshot(last);
  }
  for (const conn of alive) deliver(conn);
  return { table, emitted, sub };
}

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('put' as const, 'put' as const, 'remove' as const),
  itemId: fc.constantFrom(...ITEM_IDS),
});
const stepArb = fc.constantFrom<Step>(
  'change',
  'change',
  'change',
  'flush',
  'flush',
  'retry',
  'confirm',
  'snapshot',
  'crash',
  'rotate',
  'close-old',
);
const scheduleArb = fc.record({
  ops: fc.array(opArb, { maxLength: 40 }),
  steps: fc.array(stepArb, { maxLength: 80 }),
  choices: fc.array(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 30 }),
});

function holds({ table, emitted, sub }: ReturnType<typeof run>): void {
  expect(Object.fromEntries(sub.items)).toEqual(Object.fromEntries(table));
  const liveSeqs = emitted.flatMap((change) => (change.source === 'live' ? [Number(change.seq)] : []));
  for (let i = 1; i < liveSeqs.length; i++) expect(liveSeqs[i]).toBeGreaterThan(liveSeqs[i - 1] as number);
  const replayed = new Map<string, Item>();
  for (const change of emitted) {
    // Nothing is emitted twice: every change moves the item to a state it was not in.
    expect(replayed.get(change.itemId)).not.toEqual(change.event === 'REMOVE' ? undefined : change.item);
    if (change.event === 'REMOVE') replayed.delete(change.itemId);
    else replayed.set(change.itemId, change.item as Item);
  }
  expect(Object.fromEntries(replayed)).toEqual(Object.fromEntries(sub.items));
}

describe('the merge rule against a model of the platform', () => {
  test('frames of two connections interleaved in any order', () => {
    fc.assert(
      fc.property(scheduleArb, ({ ops, steps, choices }) => holds(run(ops, steps, choices))),
      { numRuns: 3000 },
    );
  });
});
