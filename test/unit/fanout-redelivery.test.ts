import { lambdaContext, streamEvent, streamRecord } from '@real-time-platform/test-support';
import { RedeliveryLedger } from '../../src/domain/redelivery-ledger';
import { runFanout } from '../../src/handlers/logic/fanout';
import { captureLog, MemoryConnections, memoryData, RecordingSender } from '../helpers/fakes';

// A record fails as a whole when one subscriber's post gives up; Lambda re-delivers it with the same sequence number.
// The ledger remembers whom the failed attempt had reached, so the re-delivery does not repeat it to them.

const records = [streamRecord({ key: '3', seq: 1 }), streamRecord({ key: '3', seq: 2 })];
const seqs = (sender: RecordingSender, connectionId: string) =>
  sender.messagesTo(connectionId).map((message) => String(message.seq));

function setUp(ledger: RedeliveryLedger | undefined) {
  const sender = new RecordingSender();
  const deps = {
    connections: new MemoryConnections().seed({ a: ['3'], b: ['3'], c: ['3'] }),
    sender,
    keyAttribute: 'vehicleId',
    concurrency: 4,
    coalesce: false,
    snapshots: { reader: memoryData({}) },
    logger: captureLog(),
    ...(ledger === undefined ? {} : { redelivery: ledger }),
  };
  return { sender, deps };
}

test('a re-delivered record skips the connections its failed attempt reached; each gets every change once, in order', async () => {
  // Prepare: b's first post is refused for good (throttled past the retries); a and c take everything.
  const ledger = new RedeliveryLedger();
  const { sender, deps } = setUp(ledger);
  sender.script.set('b', ['failed', 'sent']);

  // Act: the batch, then Lambda's re-delivery of what it reported.
  const first = await runFanout(deps, streamEvent(records), lambdaContext(30_000));
  const failed = new Set(first.response.batchItemFailures.map((failure) => failure.itemIdentifier));
  const again = records.filter((record) => failed.has(record.dynamodb.SequenceNumber));
  const second = await runFanout(deps, streamEvent(again), lambdaContext(30_000));

  // Assess
  expect(first.response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
    '000000000000000000001',
    '000000000000000000002',
  ]);
  expect(second.response.batchItemFailures).toEqual([]);
  for (const connectionId of ['a', 'b', 'c'])
    expect(seqs(sender, connectionId)).toEqual(['000000000000000000001', '000000000000000000002']);
  // a and c had the first record: only the second (never posted, held back to keep the key's order) went to them.
  expect(second.summary.alreadyReached).toBe(2);
  expect(ledger.size).toBe(0);
});

test('without a ledger the re-delivery repeats the record to those it had reached (at least once)', async () => {
  const { sender, deps } = setUp(undefined);
  sender.script.set('b', ['failed', 'sent']);

  const first = await runFanout(deps, streamEvent(records), lambdaContext(30_000));
  const failed = new Set(first.response.batchItemFailures.map((failure) => failure.itemIdentifier));
  await runFanout(
    deps,
    streamEvent(records.filter((r) => failed.has(r.dynamodb.SequenceNumber))),
    lambdaContext(30_000),
  );

  expect(seqs(sender, 'a')).toEqual(['000000000000000000001', '000000000000000000001', '000000000000000000002']);
  expect(seqs(sender, 'b')).toEqual(['000000000000000000001', '000000000000000000002']);
});

test('a record failing twice keeps everyone it reached in either attempt', async () => {
  const ledger = new RedeliveryLedger();
  const { sender, deps } = setUp(ledger);
  // b refuses twice, c refuses once; a takes everything at once.
  sender.script.set('b', ['failed', 'failed', 'sent']);
  sender.script.set('c', ['failed', 'sent']);
  const one = [records[0] as (typeof records)[number]];

  await runFanout(deps, streamEvent(one), lambdaContext(30_000));
  await runFanout(deps, streamEvent(one), lambdaContext(30_000));
  const third = await runFanout(deps, streamEvent(one), lambdaContext(30_000));

  expect(third.response.batchItemFailures).toEqual([]);
  for (const connectionId of ['a', 'b', 'c']) expect(seqs(sender, connectionId)).toEqual(['000000000000000000001']);
});

describe('RedeliveryLedger', () => {
  test('remembers per record, merges attempts, forgets a delivered record', () => {
    const ledger = new RedeliveryLedger();
    ledger.remember('1', ['a']);
    ledger.remember('1', ['b', 'a']);
    expect(ledger.reachedBefore('1', 'a') && ledger.reachedBefore('1', 'b')).toBe(true);
    expect(ledger.reachedBefore('1', 'c') || ledger.reachedBefore('2', 'a')).toBe(false);
    ledger.forget('1');
    expect(ledger.knows('1')).toBe(false);
  });

  test('past its bound it forgets the oldest records first', () => {
    const ledger = new RedeliveryLedger(4);
    ledger.remember('1', ['a', 'b']);
    ledger.remember('2', ['a', 'b']);
    ledger.remember('3', ['a']);
    expect([ledger.knows('1'), ledger.knows('2'), ledger.knows('3')]).toEqual([false, true, true]);
    ledger.remember('4', ['a', 'b', 'c', 'd', 'e']);
    expect(ledger.size).toBe(0);
  });
});
