import { createConnectHandler, keysFromConnectEvent } from '../../src/handlers/logic/connect';
import { createDisconnectHandler } from '../../src/handlers/logic/disconnect';
import { StorageError } from '../../src/lib/errors';
import { wsEvent } from '../helpers/events';
import { captureLog, MemoryConnections } from '../helpers/fakes';
import { MemoryPresence, publicKeys } from '../helpers/presence-fakes';

function connectWith(options: { isQueryParam?: boolean } = {}) {
  const connections = new MemoryConnections();
  const logger = captureLog();
  const connect = createConnectHandler({
    connections,
    presence: new MemoryPresence(connections),
    keyAccess: publicKeys,
    keyName: 'vehicleId',
    isQueryParam: options.isQueryParam ?? true,
    logger,
  });
  return { connections, logger, connect };
}

describe('$connect', () => {
  test('stores the connection with its keys (repeated query values allowed)', async () => {
    const { connections, connect } = connectWith();
    const event = wsEvent({
      routeKey: '$connect',
      connectionId: 'R1kmxc2VNjMCFIA=',
      query: { vehicleId: ['3', '4', '3'] },
    });

    const result = await connect(event);

    expect(result.statusCode).toBe(200);
    expect([...(connections.subscriptions.get('R1kmxc2VNjMCFIA=') ?? [])]).toEqual(['3', '4']);
    expect(connections.connections.get('R1kmxc2VNjMCFIA=')).toEqual({
      connectionId: 'R1kmxc2VNjMCFIA=',
      connectedAt: 1763800000000,
      sourceIp: '203.0.113.7',
      userAgent: 'jest',
    });
  });

  test('no key at all is allowed: the client subscribes later', async () => {
    const { connections, connect } = connectWith();
    const event = wsEvent({ routeKey: '$connect', connectionId: 'c1' });
    expect((await connect(event)).statusCode).toBe(200);
    expect(connections.subscriptions.get('c1')?.size).toBe(0);
  });

  test.each([
    ['an empty key', { vehicleId: '' }, /invalid vehicleId "": a key must not be empty/],
    ['a key over 1,024 bytes', { vehicleId: 'x'.repeat(1025) }, /at most 1024 bytes/],
    ['21 keys', { vehicleId: Array.from({ length: 21 }, (_, i) => `v${i}`) }, /at most 20 keys per request; got 21/],
    ['a reserved key', { vehicleId: '$connection' }, /reserved by the platform/],
  ])('%s → 400 with a clear body, nothing stored', async (_name, query, body) => {
    const { connections, connect } = connectWith();
    const result = await connect(wsEvent({ routeKey: '$connect', connectionId: 'c1', query }));
    expect(result.statusCode).toBe(400);
    expect(result.body).toMatch(body);
    expect(connections.connections.size).toBe(0);
  });

  test('with IS_QUERY_PARAM=false keys come from the header, case-insensitively, repeated or comma separated', () => {
    const event = wsEvent({
      routeKey: '$connect',
      headers: { VehicleID: ['3, 4', '5'] },
      query: { vehicleId: 'ignored' },
    });
    expect(keysFromConnectEvent(event, 'vehicleId', false)).toEqual(['3', '4', '5']);
    const single = wsEvent({ routeKey: '$connect' });
    single.headers = { vehicleid: '7,8' };
    expect(keysFromConnectEvent(single, 'vehicleId', false)).toEqual(['7', '8']);
    expect(keysFromConnectEvent(single, 'vehicleId', true)).toEqual([]);
  });

  test('query-string keys fall back to queryStringParameters when there is no multi-value map', () => {
    const event = wsEvent({ routeKey: '$connect' });
    event.queryStringParameters = { vehicleId: '3', other: 'x' };
    expect(keysFromConnectEvent(event, 'vehicleId', true)).toEqual(['3']);
  });

  test('a storage failure answers 500 "Internal server error" and logs the cause', async () => {
    const { connections, logger, connect } = connectWith();
    connections.failOn.saveConnection = new StorageError('Could not store the connection: ThrottlingException', {
      retryable: true,
    });
    const result = await connect(wsEvent({ routeKey: '$connect', query: { vehicleId: '3' } }));
    expect(result).toEqual({ statusCode: 500, body: 'Internal server error' });
    expect(logger.lines.find((l) => l.level === 'error')?.fields.error).toMatchObject({ name: 'StorageError' });
  });

  test.each([[{}], [{ requestContext: {} }], [null], ['junk']])(
    'a malformed event %j → 400, nothing stored',
    async (event) => {
      const { connections, connect } = connectWith();
      const result = await connect(event as never);
      expect(result.statusCode).toBe(400);
      expect(result.body).toMatch(/connectionId is missing/);
      expect(connections.connections.size).toBe(0);
    },
  );
});

describe('$disconnect', () => {
  test('deletes every row, logs the close code and reason, and is idempotent', async () => {
    const connections = new MemoryConnections().seed({ c1: ['3', '4'], c2: ['3'] });
    const logger = captureLog();
    const disconnect = createDisconnectHandler({ connections, presence: new MemoryPresence(connections), logger });
    const event = wsEvent({
      routeKey: '$disconnect',
      connectionId: 'c1',
      disconnect: { statusCode: 1001, reason: 'Going away' },
    });

    expect((await disconnect(event)).statusCode).toBe(200);
    expect((await disconnect(event)).statusCode).toBe(200);

    expect(connections.subscriptions.has('c1')).toBe(false);
    expect(connections.subscriptions.has('c2')).toBe(true);
    expect(logger.lines[0]?.fields).toMatchObject({
      connectionId: 'c1',
      disconnectStatusCode: 1001,
      disconnectReason: 'Going away',
      rowsDeleted: 3,
    });
    expect(logger.lines[1]?.fields).toMatchObject({ rowsDeleted: 0 });
  });

  test('a storage failure is logged and answered 500; a malformed event 400', async () => {
    const connections = new MemoryConnections();
    connections.failOn.deleteConnection = new Error('boom');
    const logger = captureLog();
    const disconnect = createDisconnectHandler({ connections, presence: new MemoryPresence(connections), logger });
    expect((await disconnect(wsEvent({ routeKey: '$disconnect' }))).statusCode).toBe(500);
    expect(logger.lines.at(-1)?.level).toBe('error');
    expect((await disconnect({} as never)).statusCode).toBe(400);
  });
});
