import { lambdaContext } from '@real-time-platform/test-support';
import { createDisconnectHandler } from '../../src/handlers/logic/disconnect';
import { StorageError } from '../../src/lib/errors';
import { wsEvent } from '../helpers/events';
import { captureLog, MemoryConnections } from '../helpers/fakes';
import { MemoryPresence } from '../helpers/presence-fakes';

// $disconnect is called once: rows it could not delete because DynamoDB was briefly unavailable must not stay behind
// as subscribers, so the deletion is retried within the invocation.

/** Connections whose deletes fail (as DynamoDB restarting) `failures` times before working. */
function flakyDeletes(failures: number) {
  const connections = new MemoryConnections().seed({ c1: ['3', '4'] });
  const real = connections.deleteConnection.bind(connections);
  let failed = 0;
  connections.deleteConnection = async (connectionId: string) => {
    if (failed < failures) {
      failed++;
      throw new StorageError('Could not delete the connection: ECONNREFUSED', { retryable: true });
    }
    return real(connectionId);
  };
  return connections;
}

const event = () => wsEvent({ routeKey: '$disconnect', connectionId: 'c1' });

test('rows a transient failure kept are deleted by a retry, and the retries are logged', async () => {
  // Prepare
  const connections = flakyDeletes(2);
  const logger = captureLog();
  const disconnect = createDisconnectHandler({
    connections,
    presence: new MemoryPresence(connections),
    logger,
    retrySleep: async () => undefined,
  });
  // Act
  const result = await disconnect(event(), lambdaContext(10_000));
  // Assess
  expect(result.statusCode).toBe(200);
  expect(connections.subscriptions.has('c1')).toBe(false);
  expect(logger.lines.at(-1)?.fields).toMatchObject({ connectionId: 'c1', rowsDeleted: 3, retries: 2 });
});

test('a failure lasting past the invocation is answered 500 before its timeout, with the retries logged', async () => {
  // Prepare: 2 s left, so about 1 s of retries.
  const connections = flakyDeletes(Number.POSITIVE_INFINITY);
  const logger = captureLog();
  const disconnect = createDisconnectHandler({ connections, presence: new MemoryPresence(connections), logger });
  const started = Date.now();
  // Act
  const result = await disconnect(event(), lambdaContext(2000));
  // Assess
  expect(result.statusCode).toBe(500);
  expect(Date.now() - started).toBeLessThan(2000);
  const last = logger.lines.at(-1);
  expect(last?.level).toBe('error');
  expect(last?.fields?.retries).toBeGreaterThan(1);
});
