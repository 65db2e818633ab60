import { lambdaContext, streamEvent, streamRecord } from '@real-time-platform/test-support';
import fc from 'fast-check';
import { conflate, conflates } from '../../src/domain/conflation';
import { runFanout } from '../../src/handlers/logic/fanout';
import { captureLog, MemoryConnections, memoryData, RecordingSender } from '../helpers/fakes';

type Change = { key: string; itemId: string; event: 'INSERT' | 'MODIFY' | 'REMOVE'; value: number };

/** A client's state after applying changes in order: REMOVE deletes, INSERT / MODIFY set. */
function apply(state: Map<string, number>, changes: readonly Change[]): Map<string, number> {
  const next = new Map(state);
  for (const change of changes) {
    const id = `${change.key}/${change.itemId}`;
    if (change.event === 'REMOVE') next.delete(id);
    else next.set(id, change.value);
  }
  return next;
}

describe('which keys are conflated', () => {
  test('off by default; on: every key no platform domain owns, or only the listed prefixes', () => {
    expect(conflates({ enabled: false, prefixes: [] }, 'vehicle:1')).toBe(false);
    expect(conflates({ enabled: true, prefixes: [] }, 'vehicle:1')).toBe(true);
    expect(conflates({ enabled: true, prefixes: ['vehicle:', 'dash:'] }, 'dash:7')).toBe(true);
    expect(conflates({ enabled: true, prefixes: ['vehicle:'] }, 'orders:1')).toBe(false);
    for (const key of ['chat:d_x', 'inbox:u1', 'presence:u1', 'calendar:u1', 'friends:u1']) {
      expect(conflates({ enabled: true, prefixes: [] }, key)).toBe(false);
      expect(conflates({ enabled: true, prefixes: [key.slice(0, 3)] }, key)).toBe(false);
    }
  });
});

describe('conflation', () => {
  const change = fc.record({
    key: fc.constantFrom('a', 'b'),
    itemId: fc.constantFrom('x', 'y', 'z'),
    event: fc.constantFrom('INSERT' as const, 'MODIFY' as const, 'REMOVE' as const),
    value: fc.integer(),
  });

  test('property: a client ends in the same state with the conflated changes as with all of them', () => {
    fc.assert(
      fc.property(
        fc.array(change, { maxLength: 50 }),
        fc.array(fc.tuple(fc.constantFrom('a/x', 'a/y', 'b/z'), fc.integer())),
        (changes, initial) => {
          const start = new Map(initial);
          const kept = conflate(changes, () => true);
          expect(
            apply(
              start,
              kept.map((k) => k.change),
            ),
          ).toEqual(apply(start, changes));
          // Every change is either sent or counted by the one that replaced it.
          expect(kept.reduce((n, k) => n + 1 + k.replaced, 0)).toBe(changes.length);
          // Kept changes stay in batch order, one per item.
          const positions = kept.map((k) => changes.indexOf(k.change));
          expect(positions).toEqual([...positions].sort((p, q) => p - q));
          expect(new Set(kept.map((k) => `${k.change.key}/${k.change.itemId}`)).size).toBe(kept.length);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('property: a REMOVE after an INSERT of the same item in the batch is never dropped', () => {
    fc.assert(
      fc.property(fc.array(change, { maxLength: 20 }), fc.array(change, { maxLength: 20 }), (before, between) => {
        const insert: Change = { key: 'a', itemId: 'x', event: 'INSERT', value: 1 };
        const remove: Change = { key: 'a', itemId: 'x', event: 'REMOVE', value: 1 };
        // Nothing touches a/x after the REMOVE: the client must end without it.
        const others = between.filter((c) => !(c.key === 'a' && c.itemId === 'x'));
        const changes = [...before, insert, ...others, remove];
        const kept = conflate(changes, () => true).map((k) => k.change);
        expect(kept).toContain(remove);
        expect(apply(new Map(), kept).has('a/x')).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('conflation in the fan-out', () => {
  function run(records: unknown[], prefixes: string[] = []) {
    const sender = new RecordingSender();
    const connections = new MemoryConnections().seed({ a: ['v1', 'chat:d_1', 'dash:1'] });
    const done = runFanout(
      {
        connections,
        sender,
        keyAttribute: 'vehicleId',
        concurrency: 2,
        logger: captureLog(),
        snapshots: { reader: memoryData({}) },
        conflation: { enabled: true, prefixes },
      },
      streamEvent(records),
      lambdaContext(),
    );
    return done.then((result) => ({ ...result, frames: sender.messagesTo('a') }));
  }

  test('only the newest change of each item is sent, saying how many it replaced; chat changes all go out', async () => {
    const { frames, summary, response } = await run([
      streamRecord({ key: 'v1', seq: 1, itemId: 'gps', item: { lat: 1 } }),
      streamRecord({ key: 'chat:d_1', seq: 2, itemId: 'msg#1', item: { content: 'a' } }),
      streamRecord({ key: 'v1', seq: 3, itemId: 'gps', event: 'MODIFY', item: { lat: 2 } }),
      streamRecord({ key: 'chat:d_1', seq: 4, itemId: 'msg#1', event: 'MODIFY', item: { content: 'b' } }),
      streamRecord({ key: 'v1', seq: 5, itemId: 'other' }),
      streamRecord({ key: 'v1', seq: 6, itemId: 'gps', event: 'MODIFY', item: { lat: 3 } }),
    ]);
    expect(response.batchItemFailures).toEqual([]);
    expect(frames.map((f) => [f.key, f.itemId, f.seq, f.conflated])).toEqual([
      ['chat:d_1', 'msg#1', '000000000000000000002', undefined],
      ['chat:d_1', 'msg#1', '000000000000000000004', undefined],
      ['v1', 'other', '000000000000000000005', undefined],
      ['v1', 'gps', '000000000000000000006', 2],
    ]);
    expect(frames.at(-1)?.item).toMatchObject({ lat: 3 });
    expect(summary.conflated).toBe(2);
  });

  test('an INSERT then REMOVE of one item is sent as the REMOVE; a prefix rule leaves other keys alone', async () => {
    const { frames } = await run(
      [
        streamRecord({ key: 'v1', seq: 1, itemId: 'gps' }),
        streamRecord({ key: 'dash:1', seq: 2, itemId: 'tile' }),
        streamRecord({ key: 'v1', seq: 3, itemId: 'gps', event: 'REMOVE' }),
        streamRecord({ key: 'dash:1', seq: 4, itemId: 'tile', event: 'REMOVE' }),
      ],
      ['dash:'],
    );
    expect(frames.map((f) => [f.key, f.event, f.conflated])).toEqual([
      ['v1', 'INSERT', undefined],
      ['v1', 'REMOVE', undefined],
      ['dash:1', 'REMOVE', 1],
    ]);
  });
});
