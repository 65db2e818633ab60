import { randomUUID } from 'node:crypto';
import {
  type ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  connectionIdOf,
  openRecordingSocket,
  type RecordingSocket,
  refusedHandshake as refusedHandshakeAt,
  startTestPlatform,
  type TestPlatform,
} from '@real-time-platform/test-support';
import WebSocket from 'ws';

// The whole platform of template.yaml, started as `npm start` starts it (on the run's shared DynamoDB Local), driven
// only by real clients: ws sockets, DynamoDB writes and the @connections SDK client.

let platform: TestPlatform;
let ddb: DynamoDBClient;
let management: ApiGatewayManagementApiClient;

beforeAll(async () => {
  platform = await startTestPlatform();
  ({ dynamodb: ddb, management } = platform.aws);
});

afterAll(async () => {
  await platform?.stop();
});

type Client = RecordingSocket;

const connect = (query = ''): Promise<Client> => openRecordingSocket(`${platform.urls.webSocket}${query}`);

/** The HTTP status and body of a refused handshake. */
const refusedHandshake = (query: string) => refusedHandshakeAt(`${platform.urls.webSocket}${query}`);

async function putItem(key: string, itemId: string, attributes: Record<string, { S: string } | { N: string }> = {}) {
  await ddb.send(
    new PutItemCommand({
      TableName: platform.tableName('RealTimeDataTable'),
      Item: { realTimeItemKey: { S: key }, itemId: { S: itemId }, ...attributes },
    }),
  );
}

async function rowsOf(connectionId: string): Promise<string[]> {
  const rows = await platform.connectionTable.rowsOf(connectionId);
  return rows.map((row) => row.realTimeItemKey?.S ?? '?').sort();
}

const uniqueKey = () => `k-${randomUUID().slice(0, 8)}`;

test('walkthrough: a write to a subscribed key reaches the socket within a second, in the documented envelope', async () => {
  const key = uniqueKey();
  const client = await connect(`?realTimeItemKey=${key}`);
  // One write first, so the measured one does not include the fan-out function's first-invocation setup.
  await putItem(key, 'warm-up');
  await client.next((m) => m.type === 'item' && m.itemId === 'warm-up', 10_000);
  const written = Date.now();
  await putItem(key, 'latest', { speed: { N: '42' } });
  const message = await client.next((m) => m.type === 'item' && m.itemId === 'latest', 2000);
  expect(Date.now() - written).toBeLessThan(1000);
  expect(message).toMatchObject({
    type: 'item',
    event: 'INSERT',
    key,
    itemId: 'latest',
    item: { realTimeItemKey: key, itemId: 'latest', speed: 42 },
  });
  expect(message.seq).toEqual(expect.stringMatching(/^\d+$/));
  expect(typeof message.at).toBe('number');
  client.socket.close();
});

test('$connect stores the connection and its subscriptions with a TTL; an invalid key refuses the handshake with 400', async () => {
  const key = uniqueKey();
  const client = await connect(`?realTimeItemKey=${key}&realTimeItemKey=${key}-b`);
  const connectionId = await connectionIdOf(client);
  expect(await rowsOf(connectionId)).toEqual([`$connection#${connectionId}`, key, `${key}-b`].sort());
  const Items = await platform.connectionTable.rowsOf(connectionId);
  const nowSeconds = Date.now() / 1000;
  for (const row of Items) expect(Number(row.expiresAt?.N) - nowSeconds).toBeGreaterThan(7000); // ConnectionTtlSeconds 7800

  const refused = await refusedHandshake(`?realTimeItemKey=${'x'.repeat(1025)}`);
  expect(refused.status).toBe(400);
  expect(refused.body).toMatch(/1,?024 bytes/);
  expect((await refusedHandshake('?realTimeItemKey=%24reserved')).status).toBe(400);
  client.socket.close();
  await client.closed;
});

test('subscribe, snapshot, unsubscribe and garbage frames over the real route selection', async () => {
  const key = uniqueKey();
  await putItem(key, 'before', { v: { N: '1' } });
  const client = await connect();
  client.send({ action: 'subscribe', keys: [key], snapshot: true });
  expect(await client.next((m) => m.type === 'subscribed')).toEqual({ type: 'subscribed', keys: [key] });
  const snapshot = await client.next((m) => m.type === 'snapshot');
  expect(snapshot).toMatchObject({ key, items: [{ realTimeItemKey: key, itemId: 'before', v: 1 }] });

  client.send('not json');
  expect(await client.next((m) => m.type === 'error')).toMatchObject({ code: 'BAD_REQUEST' });
  client.send({ action: 'dance' });
  expect(await client.next((m) => m.code === 'UNKNOWN_ACTION')).toMatchObject({ type: 'error' });

  const sentinel = uniqueKey();
  client.send({ action: 'unsubscribe', keys: [key] });
  await client.next((m) => m.type === 'unsubscribed');
  client.send({ action: 'subscribe', keys: [sentinel] });
  await client.next((m) => m.type === 'subscribed' && (m.keys as string[])[0] === sentinel);
  await putItem(key, 'after');
  await putItem(sentinel, 'latest');
  // The stream keeps write order: once the sentinel's item is here, the unsubscribed key's would have been too.
  await client.next((m) => m.type === 'item' && m.key === sentinel);
  expect(client.frames.filter((m) => m.type === 'item').map((m) => m.key)).toEqual([sentinel]);
  expect(client.socket.readyState).toBe(WebSocket.OPEN);
  client.socket.close();
});

test('@connections GET, POST and DELETE through the SDK; $disconnect removes every row; then 410', async () => {
  const key = uniqueKey();
  const client = await connect(`?realTimeItemKey=${key}`);
  const connectionId = await connectionIdOf(client);

  const info = await management.send(new GetConnectionCommand({ ConnectionId: connectionId }));
  expect(info.ConnectedAt).toBeInstanceOf(Date);
  expect(info.Identity?.SourceIp).toBe('127.0.0.1');

  await management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: '{"hello":"world"}' }));
  expect(await client.next((m) => m.hello === 'world')).toEqual({ hello: 'world' });

  await management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
  expect((await client.closed).code).toBe(1000);
  await expect(
    management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'x' })),
  ).rejects.toBeInstanceOf(GoneException);
  // $disconnect is asynchronous, as on AWS.
  for (let i = 0; i < 50 && (await rowsOf(connectionId)).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect(await rowsOf(connectionId)).toEqual([]);
});

test('a stale subscription (the socket is gone without $disconnect) is cleaned up on 410; live subscribers still get the item', async () => {
  const key = uniqueKey();
  const ghost = 'Z2hvc3QtY29ubj0=';
  await ddb.send(
    new PutItemCommand({
      TableName: platform.tableName('WebSocketConnectionManagerTable'),
      Item: { connectionId: { S: ghost }, realTimeItemKey: { S: key }, expiresAt: { N: '9999999999' } },
    }),
  );
  const client = await connect(`?realTimeItemKey=${key}`);
  await putItem(key, 'latest');
  await client.next((m) => m.type === 'item');
  for (let i = 0; i < 50 && (await rowsOf(ghost)).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect(await rowsOf(ghost)).toEqual([]);
  client.socket.close();
});

test("an item keyed like the platform's own rows ($…) reaches no connection", async () => {
  const key = uniqueKey();
  const client = await connect(`?realTimeItemKey=${key}`);
  const connectionId = await connectionIdOf(client);
  await putItem(`$connection#${connectionId}`, 'latest', { secret: { S: 'not for you' } });
  await putItem(key, 'sentinel');
  await client.next((m) => m.type === 'item' && m.key === key);
  expect(client.frames.filter((m) => m.type === 'item').map((m) => m.key)).toEqual([key]);
  client.socket.close();
});

test('many writes to one key arrive complete and in stream order; other keys are not mixed in', async () => {
  const key = uniqueKey();
  const other = uniqueKey();
  const client = await connect(`?realTimeItemKey=${key}`);
  const writes = 40;
  for (let i = 0; i < writes; i++) {
    await putItem(key, 'latest', { n: { N: String(i) } });
    if (i % 10 === 0) await putItem(other, 'latest');
  }
  await client.next((m) => m.type === 'item' && (m.item as { n?: number }).n === writes - 1, 10_000);
  const items = client.frames.filter((m) => m.type === 'item');
  expect(items.map((m) => (m.item as { n: number }).n)).toEqual([...Array(writes).keys()]);
  expect(items.every((m) => m.key === key)).toBe(true);
  const seqs = items.map((m) => BigInt(String(m.seq)));
  expect(seqs.every((seq, i) => i === 0 || seq > (seqs[i - 1] ?? 0n))).toBe(true);
  expect(items[0]?.event).toBe('INSERT');
  expect(items[1]?.event).toBe('MODIFY');
  client.socket.close();
});

test('an item too large for one WebSocket message arrives as a truncated notice', async () => {
  const key = uniqueKey();
  const client = await connect(`?realTimeItemKey=${key}`);
  await putItem(key, 'big', { blob: { S: 'x'.repeat(200 * 1024) } });
  const message = await client.next((m) => m.type === 'item');
  expect(message).toMatchObject({ key, itemId: 'big', truncated: true, event: 'INSERT' });
  expect(message.item).toBeUndefined();
  client.socket.close();
});

test('a frame over 32 KB closes the connection with 1009, as API Gateway does', async () => {
  const client = await connect();
  client.send(JSON.stringify({ action: 'heartbeat', pad: 'x'.repeat(40 * 1024) }));
  expect((await client.closed).code).toBe(1009);
});

test('GET /health on the HTTP API reports the connections and the stream event source', async () => {
  const response = await fetch(`${platform.urls.httpApi}/health`);
  expect(response.status).toBe(200);
  const body = (await response.json()) as { status: string; streams: { function: string }[] };
  expect(body.status).toBe('ok');
  expect(body.streams.map((s) => s.function)).toEqual(['OnReceiveRealTimeItem']);
});
