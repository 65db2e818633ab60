import { lambdaContext, streamEvent, streamRecord } from '@real-time-platform/test-support';
import { runFanout } from '../../src/handlers/logic/fanout';
import { StorageError } from '../../src/lib/errors';
import { captureLog, MemoryConnections, memoryData, RecordingSender } from '../helpers/fakes';

// A DynamoDB outage seen from the fan-out: a subscriber lookup that fails for a transient reason is retried inside
// the invocation until its deadline; only what is still failing then is reported to the event source.

const unavailable = () =>
  new StorageError('Could not look up subscribers: ECONNREFUSED', { retryable: true, cause: new Error('refused') });

/** Connections whose lookups of `key` fail `failures` times (Infinity: always) before answering. */
function flakyConnections(key: string, failures: number) {
  const connections = new MemoryConnections().seed({ a: ['3', '4'] });
  const real = connections.subscribersOf.bind(connections);
  let failed = 0;
  connections.subscribersOf = async (asked: string) => {
    if (asked === key && failed < failures) {
      failed++;
      throw unavailable();
    }
    return real(asked);
  };
  return connections;
}

const records = [
  streamRecord({ key: '3', seq: 1 }),
  streamRecord({ key: '4', seq: 2 }),
  streamRecord({ key: '3', seq: 3 }),
];

test('a lookup failing while DynamoDB restarts is retried until it answers; nothing is reported', async () => {
  // Prepare
  const sender = new RecordingSender();
  const deps = {
    connections: flakyConnections('3', 3),
    sender,
    keyAttribute: 'vehicleId',
    concurrency: 2,
    snapshots: { reader: memoryData({}) },
    logger: captureLog(),
    retrySleep: async () => undefined,
  };
  // Act
  const { response, summary } = await runFanout(deps, streamEvent(records), lambdaContext(30_000));
  // Assess
  expect(response.batchItemFailures).toEqual([]);
  expect(summary.lookupRetries).toBe(3);
  expect(summary.lookupFailures).toBe(0);
  const delivered = sender.messagesTo('a').map((m) => String(m.seq));
  expect(delivered.sort()).toEqual(['000000000000000000001', '000000000000000000002', '000000000000000000003']);
});

test('a lookup still failing at the deadline reports its key’s records, and only those', async () => {
  // Prepare: real pauses, 1.5 s of invocation time left.
  const sender = new RecordingSender();
  const deps = {
    connections: flakyConnections('3', Number.POSITIVE_INFINITY),
    sender,
    keyAttribute: 'vehicleId',
    concurrency: 2,
    snapshots: { reader: memoryData({}) },
    logger: captureLog(),
  };
  // The pauses are full jitter (random up to 50 ms doubling): drawn at their longest they are 49, 99, 198 and 396 ms,
  // and the next (792 ms) would pass the deadline (1,500 ms less a 150 ms margin). Left random, small early draws and
  // a large later one could end the retries before 500 ms.
  const random = jest.spyOn(Math, 'random').mockReturnValue(0.99);
  const started = Date.now();
  // Act
  const { response, summary } = await runFanout(deps, streamEvent(records), lambdaContext(1500)).finally(() =>
    random.mockRestore(),
  );
  // Assess: retried for most of the invocation, then reported before Lambda's timeout.
  const tookMs = Date.now() - started;
  expect(tookMs).toBeGreaterThan(500);
  expect(tookMs).toBeLessThan(1500);
  expect(summary.lookupRetries).toBeGreaterThan(2);
  expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
    '000000000000000000001',
    '000000000000000000003',
  ]);
  expect(sender.messagesTo('a').map((m) => m.seq)).toEqual(['000000000000000000002']);
});

test('a lookup failing for a reason retrying cannot fix is reported at once', async () => {
  // Prepare
  const connections = new MemoryConnections().seed({ a: ['3'] });
  connections.failLookupOf.add('3');
  const deps = {
    connections,
    sender: new RecordingSender(),
    keyAttribute: 'vehicleId',
    concurrency: 2,
    snapshots: { reader: memoryData({}) },
    logger: captureLog(),
  };
  // Act
  const { response, summary } = await runFanout(deps, streamEvent(records.slice(0, 1)), lambdaContext(30_000));
  // Assess
  expect(summary.lookupRetries).toBe(0);
  expect(response.batchItemFailures).toHaveLength(1);
});
