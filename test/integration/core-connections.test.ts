import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  createTestTables,
  lambdaContext,
  localCredentials,
  type ManagementApiStub,
  startManagementApiStub,
  streamEvent,
  streamRecord,
  type TestTables,
} from '@real-time-platform/test-support';
import { createManagementApiClient } from '../../src/adapters/aws-clients';
import { createConnectionRepository } from '../../src/adapters/connection-repository';
import { createConnectionSender } from '../../src/adapters/connection-sender';
import { createPresenceStore } from '../../src/adapters/presence-store';
import { createRealTimeDataReader } from '../../src/adapters/real-time-data-reader';
import { createSnapshotRequester } from '../../src/adapters/snapshot-markers';
import { createConnectHandler } from '../../src/handlers/logic/connect';
import { createDisconnectHandler } from '../../src/handlers/logic/disconnect';
import { runFanout } from '../../src/handlers/logic/fanout';
import { createMessageHandler } from '../../src/handlers/logic/message';
import { wsEvent } from '../helpers/events';
import { captureLog } from '../helpers/fakes';
import { publicKeys } from '../helpers/presence-fakes';

// Connection lifecycle against the real DynamoDB Local and a real HTTP stand-in for the @connections API.

// The integration project's testTimeout is not applied per project by jest, so the files set their own.
jest.setTimeout(60_000);

let tables: TestTables;
let stub: ManagementApiStub;
let handlers: {
  connect: ReturnType<typeof createConnectHandler>;
  disconnect: ReturnType<typeof createDisconnectHandler>;
  message: ReturnType<typeof createMessageHandler>;
};
let management: ReturnType<typeof createManagementApiClient>;

beforeAll(async () => {
  tables = await createTestTables('lifecycle');
  stub = await startManagementApiStub();
  management = createManagementApiClient({
    endpoint: stub.endpoint,
    maxSockets: 8,
    region: 'us-east-1',
    credentials: localCredentials,
  });
  const connections = createConnectionRepository({
    ddb: tables.documents,
    tableName: tables.connectionsTable,
    ttlSeconds: 7800,
  });
  const presence = createPresenceStore({
    ddb: tables.documents,
    connectionsTable: tables.connectionsTable,
    dataTable: tables.dataTable,
    keyAttribute: 'vehicleId',
    ttlSeconds: 7800,
  });
  const logger = captureLog();
  handlers = {
    connect: createConnectHandler({
      connections,
      presence,
      keyAccess: publicKeys,
      keyName: 'vehicleId',
      isQueryParam: true,
      logger,
    }),
    disconnect: createDisconnectHandler({ connections, presence, logger }),
    message: createMessageHandler({
      connections,
      snapshots: createSnapshotRequester({
        ddb: tables.documents,
        tableName: tables.dataTable,
        keyAttribute: 'vehicleId',
      }),
      sender: createConnectionSender({ client: management }),
      keyAccess: publicKeys,
      presence,
      logger,
    }),
  };
});

afterAll(async () => {
  management.destroy();
  await stub.close();
  await tables.drop();
});

async function rowsOf(connectionId: string) {
  const answer = await tables.documents.send(
    new QueryCommand({
      TableName: tables.connectionsTable,
      KeyConditionExpression: 'connectionId = :id',
      ExpressionAttributeValues: { ':id': connectionId },
      ConsistentRead: true,
    }),
  );
  return answer.Items ?? [];
}

/** The snapshot markers under a key of RealTimeData. */
async function markersOf(key: string) {
  const answer = await tables.documents.send(
    new QueryCommand({
      TableName: tables.dataTable,
      KeyConditionExpression: 'vehicleId = :key AND begins_with(itemId, :marker)',
      ExpressionAttributeValues: { ':key': key, ':marker': '$snapshot#' },
      ConsistentRead: true,
    }),
  );
  return answer.Items ?? [];
}

async function subscribersOf(key: string) {
  const answer = await tables.documents.send(
    new QueryCommand({
      TableName: tables.connectionsTable,
      IndexName: 'subscribersByKey',
      KeyConditionExpression: 'realTimeItemKey = :key',
      ExpressionAttributeValues: { ':key': key },
    }),
  );
  return (answer.Items ?? []).map((item) => item.connectionId);
}

test('connect stores the connection row and one row per key, each with a TTL', async () => {
  const before = Math.floor(Date.now() / 1000);
  const result = await handlers.connect(
    wsEvent({ routeKey: '$connect', connectionId: 'life-1=', query: { vehicleId: ['3', '4'] } }),
  );
  expect(result.statusCode).toBe(200);

  const rows = await rowsOf('life-1=');
  expect(rows.map((row) => row.realTimeItemKey).sort()).toEqual(['$connection#life-1=', '3', '4']);
  for (const row of rows) {
    expect(row.expiresAt).toBeGreaterThanOrEqual(before + 7800);
    expect(row.expiresAt).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 7800);
  }
  const connection = rows.find((row) => row.realTimeItemKey === '$connection#life-1=');
  expect(connection).toMatchObject({ connectedAt: 1763800000000, sourceIp: '203.0.113.7', userAgent: 'jest' });
  expect(await subscribersOf('3')).toContain('life-1=');
});

test('an invalid key refuses the connection and stores nothing', async () => {
  const result = await handlers.connect(
    wsEvent({ routeKey: '$connect', connectionId: 'life-bad=', query: { vehicleId: ['3', ''] } }),
  );
  expect(result.statusCode).toBe(400);
  expect(await rowsOf('life-bad=')).toEqual([]);
});

test('subscribe (with snapshot), unsubscribe and heartbeat update the rows and reply through the management API', async () => {
  await handlers.connect(wsEvent({ routeKey: '$connect', connectionId: 'life-2=' }));
  await tables.dynamodb.send(
    new PutItemCommand({
      TableName: tables.dataTable,
      Item: { vehicleId: { S: '5' }, itemId: { S: 'latest' }, lat: { N: '52.1' } },
    }),
  );

  await handlers.message(
    wsEvent({
      routeKey: 'subscribe',
      connectionId: 'life-2=',
      body: { action: 'subscribe', keys: ['5', '6'], snapshot: true },
    }),
  );
  expect(await subscribersOf('5')).toEqual(['life-2=']);
  expect((await rowsOf('life-2=')).find((row) => row.realTimeItemKey === '6')?.expiresAt).toEqual(expect.any(Number));

  // The snapshot markers, one per key under the key itself, expiring in 5 minutes.
  const markers = await Promise.all(['5', '6'].map((key) => markersOf(key)));
  for (const [i, found] of markers.entries()) {
    expect(found).toEqual([
      {
        vehicleId: ['5', '6'][i],
        itemId: expect.stringMatching(/^\$snapshot#life-2=#/),
        connectionId: 'life-2=',
        expiresAt: expect.any(Number),
      },
    ]);
  }
  // The fan-out meets them on the stream and answers with the keys' items, read from the table (markers left out).
  const records = markers
    .flat()
    .map((marker, i) =>
      streamRecord({ key: marker.vehicleId as string, seq: 100 + i, itemId: marker.itemId as string, item: marker }),
    );
  const { response } = await runFanout(
    {
      connections: createConnectionRepository({
        ddb: tables.documents,
        tableName: tables.connectionsTable,
        ttlSeconds: 7800,
      }),
      sender: createConnectionSender({ client: management }),
      keyAttribute: 'vehicleId',
      concurrency: 4,
      logger: captureLog(),
      snapshots: {
        reader: createRealTimeDataReader({
          ddb: tables.dynamodb,
          tableName: tables.dataTable,
          keyAttribute: 'vehicleId',
        }),
      },
    },
    streamEvent(records),
    lambdaContext(),
  );
  expect(response.batchItemFailures).toEqual([]);

  await handlers.message(
    wsEvent({ routeKey: 'unsubscribe', connectionId: 'life-2=', body: { action: 'unsubscribe', keys: ['5'] } }),
  );
  expect(await subscribersOf('5')).toEqual([]);

  const seenBefore = (await rowsOf('life-2=')).find((row) => row.realTimeItemKey === '$connection#life-2=')
    ?.lastSeenAt as number;
  await new Promise((r) => setTimeout(r, 5));
  await handlers.message(wsEvent({ routeKey: 'heartbeat', connectionId: 'life-2=', body: { action: 'heartbeat' } }));
  const seenAfter = await tables.documents.send(
    new GetCommand({
      TableName: tables.connectionsTable,
      Key: { connectionId: 'life-2=', realTimeItemKey: '$connection#life-2=' },
    }),
  );
  expect(seenAfter.Item?.lastSeenAt).toBeGreaterThan(seenBefore);

  await handlers.message(wsEvent({ routeKey: '$default', connectionId: 'life-2=', body: { action: 'dance' } }));

  expect(stub.received.get('life-2=')).toEqual([
    { type: 'subscribed', keys: ['5', '6'] },
    {
      type: 'snapshot',
      key: '5',
      items: [{ vehicleId: '5', itemId: 'latest', lat: 52.1 }],
      position: String(100).padStart(21, '0'),
      page: 0,
      complete: true,
    },
    { type: 'snapshot', key: '6', items: [], position: String(101).padStart(21, '0'), page: 0, complete: true },
    { type: 'unsubscribed', keys: ['5'] },
    { type: 'pong', at: expect.any(Number), connectionId: 'life-2=' },
    {
      type: 'error',
      code: 'UNKNOWN_ACTION',
      message:
        'unknown action "dance"; valid actions: subscribe, unsubscribe, heartbeat, update-presence, send-message, read-messages',
    },
  ]);
});

test('disconnect removes every row of the connection and is idempotent', async () => {
  await handlers.connect(wsEvent({ routeKey: '$connect', connectionId: 'life-3=', query: { vehicleId: ['3', '7'] } }));
  await handlers.message(
    wsEvent({ routeKey: 'subscribe', connectionId: 'life-3=', body: { action: 'subscribe', keys: ['8'] } }),
  );
  expect(await rowsOf('life-3=')).toHaveLength(4);

  const event = wsEvent({
    routeKey: '$disconnect',
    connectionId: 'life-3=',
    disconnect: { statusCode: 1001, reason: 'Going away' },
  });
  expect((await handlers.disconnect(event)).statusCode).toBe(200);
  expect((await handlers.disconnect(event)).statusCode).toBe(200);

  expect(await rowsOf('life-3=')).toEqual([]);
  expect(await subscribersOf('7')).toEqual([]);
});
