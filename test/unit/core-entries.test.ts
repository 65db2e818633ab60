import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  lambdaContext,
  type ManagementApiStub,
  startManagementApiStub,
  streamEvent,
  streamRecord,
} from '@real-time-platform/test-support';
import { mockClient } from 'aws-sdk-client-mock';
import { wsEvent } from '../helpers/events';

// The real entry modules, wired as on Lambda: config from the environment, SDK clients at module scope (mocked at
// the class level here), middy with Powertools' logger and metrics.

const env = {
  TABLE_NAME: 'WebSocketConnectionManager-test',
  DATA_TABLE_NAME: 'RealTimeData-test',
  REAL_TIME_ITEM_KEY: 'vehicleId',
  IS_QUERY_PARAM: 'true',
  WS_ENDPOINT: 'http://localhost:3001/develop' as string,
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  POWERTOOLS_SERVICE_NAME: 'real-time-platform',
  POWERTOOLS_METRICS_NAMESPACE: 'RealTimePlatformTest',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};
const saved = { ...process.env };
const documents = mockClient(DynamoDBDocumentClient);
const management = mockClient(ApiGatewayManagementApiClient);

// The fan-out posts with the lean signed poster over real HTTP (not the SDK client): a local @connections stand-in.
let stub: ManagementApiStub;
beforeAll(async () => {
  stub = await startManagementApiStub();
  env.WS_ENDPOINT = stub.endpoint;
  Object.assign(process.env, env);
});
afterAll(async () => {
  await stub.close();
  process.env = saved;
  documents.restore();
  management.restore();
});
beforeEach(() => {
  documents.reset();
  management.reset();
});

/** Imports an entry once (module cache shared with the SDK classes mocked above). */
async function load<T>(path: string): Promise<T> {
  return (await import(path)) as T;
}

/** Imports an entry in a fresh module registry, for cold-start behaviour. */
async function loadFresh<T>(path: string): Promise<T> {
  let loaded: T | undefined;
  await jest.isolateModulesAsync(async () => {
    loaded = (await import(path)) as T;
  });
  return loaded as T;
}
type Entry = { handler: (event: unknown, context: unknown) => Promise<unknown> };

test('on-connect: 400 for an invalid key, 200 and a stored connection for a valid one', async () => {
  const { handler } = await load<Entry>('../../src/handlers/on-connect');
  documents.on(BatchWriteCommand).resolves({});
  expect(await handler(wsEvent({ routeKey: '$connect', query: { vehicleId: '' } }), lambdaContext())).toMatchObject({
    statusCode: 400,
  });
  expect(documents.commandCalls(BatchWriteCommand)).toHaveLength(0);
  expect(await handler(wsEvent({ routeKey: '$connect', query: { vehicleId: '3' } }), lambdaContext())).toMatchObject({
    statusCode: 200,
  });
  const table = Object.keys(documents.commandCalls(BatchWriteCommand)[0]?.args[0].input.RequestItems ?? {});
  expect(table).toEqual(['WebSocketConnectionManager-test']);
});

test('on-disconnect: deletes the rows it finds', async () => {
  const { handler } = await load<Entry>('../../src/handlers/on-disconnect');
  // An anonymous connection's row (no userId): no presence to settle.
  documents.on(GetCommand).resolves({ Item: { connectionId: 'c1' } });
  documents
    .on(QueryCommand)
    .resolves({ Items: [{ realTimeItemKey: '$connection#R1kmxc2VNjMCFIA=' }, { realTimeItemKey: '3' }] });
  documents.on(BatchWriteCommand).resolves({});
  const event = wsEvent({
    routeKey: '$disconnect',
    connectionId: 'c1',
    disconnect: { statusCode: 1001, reason: 'Going away' },
  });
  expect(await handler(event, lambdaContext())).toMatchObject({ statusCode: 200 });
  expect(
    documents.commandCalls(BatchWriteCommand)[0]?.args[0].input.RequestItems?.['WebSocketConnectionManager-test'],
  ).toHaveLength(2);
});

test('on-message: heartbeat updates lastSeenAt and posts a pong to the caller', async () => {
  const { handler } = await load<Entry>('../../src/handlers/on-message');
  documents.on(UpdateCommand).resolves({});
  management.on(PostToConnectionCommand).resolves({});
  const event = wsEvent({ routeKey: 'heartbeat', connectionId: 'R1kmxc2VNjMCFIA=', body: { action: 'heartbeat' } });
  expect(await handler(event, lambdaContext())).toEqual({ statusCode: 200 });
  const post = management.commandCalls(PostToConnectionCommand)[0]?.args[0].input;
  expect(post?.ConnectionId).toBe('R1kmxc2VNjMCFIA=');
  expect(JSON.parse(Buffer.from(post?.Data as Uint8Array).toString())).toMatchObject({
    type: 'pong',
    connectionId: 'R1kmxc2VNjMCFIA=',
  });
});

test('on-receive-real-time-item: fans out, cleans up a 410 target, and publishes one metric set in the configured namespace', async () => {
  const { handler } = await load<Entry>('../../src/handlers/on-receive-real-time-item');
  documents
    .on(QueryCommand, { IndexName: 'subscribersByKey' })
    .resolves({ Items: [{ connectionId: 'alive' }, { connectionId: 'dead' }] });
  documents
    .on(QueryCommand, { KeyConditionExpression: 'connectionId = :id' })
    .resolves({ Items: [{ realTimeItemKey: '$connection#dead' }] });
  documents.on(GetCommand).resolves({ Item: { connectionId: 'dead' } });
  documents.on(BatchWriteCommand).resolves({});
  stub.answer = (connectionId) => (connectionId === 'dead' ? 410 : 200);
  const output: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    output.push(String(chunk));
    return true;
  });
  try {
    const result = await handler(streamEvent([streamRecord({ key: '3', seq: 1 })]), lambdaContext());
    expect(result).toEqual({ batchItemFailures: [] });
  } finally {
    write.mockRestore();
  }
  const deleted =
    documents.commandCalls(BatchWriteCommand)[0]?.args[0].input.RequestItems?.['WebSocketConnectionManager-test'];
  expect(deleted).toEqual([{ DeleteRequest: { Key: { connectionId: 'dead', realTimeItemKey: '$connection#dead' } } }]);
  const emf = output
    .map((line) => line.trim())
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line));
  expect(emf).toHaveLength(1);
  expect(emf[0]._aws.CloudWatchMetrics[0].Namespace).toBe('RealTimePlatformTest');
  expect(emf[0]).toMatchObject({ Records: 1, Posts: 2, GoneConnections: 1, FailedRecords: 0 });
  expect(stub.received.get('alive')).toEqual([expect.objectContaining({ type: 'item', key: '3' })]);
});

test('a missing variable fails the cold start with its name', async () => {
  delete process.env.WS_ENDPOINT;
  try {
    await expect(loadFresh('../../src/handlers/on-message')).rejects.toThrow(/WS_ENDPOINT is required/);
  } finally {
    process.env.WS_ENDPOINT = env.WS_ENDPOINT;
  }
});
