import { randomUUID } from 'node:crypto';
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  type HttpReply,
  type Json,
  type RecordingSocket,
  refusedHandshake,
  startTestPlatform,
  type TestPlatform,
} from '@real-time-platform/test-support';
import { createConnectionRepository } from '../../src/adapters/connection-repository';
import { createPresenceStore } from '../../src/adapters/presence-store';
import { authorizeKeys } from '../../src/domain/key-access';
import { createPlatformKeyAccess } from '../../src/handlers/wiring/dependencies';

// Calendars through the whole local platform of template.yaml with AuthMode=jwt, driven only by real clients: HTTP
// requests with Bearer tokens to the HTTP API emulation (its Lambda authorizer, then CalendarApiFunction), ws sockets
// subscribed to calendar:<userId> keys, and DynamoDB reads to see what was (not) stored.

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

let platform: TestPlatform;
let ddb: DynamoDBClient;
let DATA_TABLE: string;
let CONNECTIONS_TABLE: string;

beforeAll(async () => {
  platform = await startTestPlatform({ auth: 'jwt', parameterOverrides: { Environment: 'staging' } });
  DATA_TABLE = platform.tableName('RealTimeDataTable');
  CONNECTIONS_TABLE = platform.tableName('WebSocketConnectionManagerTable');
  ddb = new DynamoDBClient({ endpoint: platform.urls.dynamodb, region: 'us-east-1', credentials });
});

afterAll(async () => {
  ddb?.destroy();
  await platform?.stop();
});

/** A user id of its own per test, so tests never see each other's calendars. */
const user = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;

type Reply = HttpReply;

/** One HTTP request as `caller` (anonymous when undefined). */
const http = (
  caller: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> => platform.http(method, path, { as: caller, body, headers });

const events = (owner: string) => `/calendars/${owner}/events`;

/** A socket of `userId` that records every frame. */
type Client = RecordingSocket;

async function connect(userId: string, keys: string[] = []): Promise<Client> {
  return (await platform.signIn(userId)).connect(keys);
}

/** The HTTP status of a refused handshake. */
async function refusedHandshakeStatus(userId: string, key: string): Promise<number> {
  return (await refusedHandshake((await platform.signIn(userId)).webSocketUrl([key]))).status;
}

/** The itemIds stored under a key, read straight from DynamoDB. */
async function storedItemIds(key: string): Promise<string[]> {
  const { Items = [] } = await ddb.send(
    new QueryCommand({
      TableName: DATA_TABLE,
      KeyConditionExpression: 'realTimeItemKey = :k',
      ExpressionAttributeValues: { ':k': { S: key } },
      ConsistentRead: true,
    }),
  );
  return Items.map((item) => item.itemId?.S ?? '?');
}

const itemFrame = (event: string, itemId: string) => (frame: Json) =>
  frame.type === 'item' && frame.event === event && frame.itemId === itemId;

const standup = {
  title: 'Standup',
  start: '2026-12-01T09:00:00Z',
  end: '2026-12-01T09:15:00Z',
  allDay: false,
  timeZone: 'Europe/Paris',
  description: 'Daily sync',
  location: 'Room 4',
};

test('the owner creates, patches, replaces and deletes an event; each change reaches their socket live', async () => {
  const owner = user('alice');
  const key = `calendar:${owner}`;
  const socket = await connect(owner, [key]);

  const created = await http(owner, 'POST', events(owner), standup);
  expect(created.status).toBe(201);
  const eventId = created.body?.eventId as string;
  expect(created.body).toMatchObject({ ...standup, ownerId: owner, version: 1, createdBy: owner });
  expect(created.headers.get('etag')).toBe('"1"');
  expect(created.headers.get('location')).toBe(`${events(owner)}/${eventId}`);
  const insert = await socket.next(itemFrame('INSERT', eventId));
  expect(insert).toMatchObject({ key, item: { eventId, title: 'Standup', version: 1 } });

  const patched = await http(owner, 'PATCH', `${events(owner)}/${eventId}`, { title: 'Daily' }, { 'if-match': '"1"' });
  expect(patched).toMatchObject({ status: 200, body: { title: 'Daily', version: 2, start: standup.start } });
  const modify = await socket.next((f) => itemFrame('MODIFY', eventId)(f) && f.item.version === 2);
  expect(modify.item).toMatchObject({ title: 'Daily' });

  const replaced = await http(owner, 'PUT', `${events(owner)}/${eventId}`, {
    title: 'Offsite',
    allDay: true,
    start: '2026-12-03',
    end: '2026-12-05',
    version: 2,
  });
  expect(replaced.status).toBe(200);
  // PUT replaces the whole event: what the body leaves out (timeZone, description, location) is gone.
  expect(replaced.body).toEqual({
    eventId,
    ownerId: owner,
    title: 'Offsite',
    allDay: true,
    start: '2026-12-03',
    end: '2026-12-05',
    version: 3,
    createdAt: created.body?.createdAt,
    updatedAt: expect.any(String),
    createdBy: owner,
    updatedBy: owner,
  });
  await socket.next((f) => itemFrame('MODIFY', eventId)(f) && f.item.version === 3);
  expect((await http(owner, 'GET', `${events(owner)}/${eventId}`)).body).toEqual(replaced.body);

  const deleted = await http(owner, 'DELETE', `${events(owner)}/${eventId}`, undefined, { 'if-match': '3' });
  expect(deleted.status).toBe(204);
  const remove = await socket.next(itemFrame('REMOVE', eventId));
  // REMOVE carries the last state, so a client knows what disappeared.
  expect(remove.item).toMatchObject({ title: 'Offsite', version: 3 });
  expect((await http(owner, 'GET', `${events(owner)}/${eventId}`)).status).toBe(404);
  expect((await http(owner, 'DELETE', `${events(owner)}/${eventId}`)).status).toBe(404);
  expect(socket.frames.filter((f) => f.type === 'item').map((f) => f.event)).toEqual([
    'INSERT',
    'MODIFY',
    'MODIFY',
    'REMOVE',
  ]);
  socket.close();
});

test('other users may neither read nor subscribe until the owner shares; unsharing takes both back', async () => {
  const owner = user('alice');
  const other = user('bob');
  const key = `calendar:${owner}`;
  const ownerSocket = await connect(owner, [key]);
  const first = await http(owner, 'POST', events(owner), standup);

  // Not shared: the handshake naming the key is refused, a later subscribe gets an error frame, REST answers 403.
  expect(await refusedHandshakeStatus(other, key)).toBe(403);
  const otherSocket = await connect(other);
  otherSocket.send({ action: 'subscribe', keys: [key] });
  expect(await otherSocket.next((f) => f.type === 'error')).toMatchObject({ code: 'FORBIDDEN' });
  expect((await http(other, 'GET', events(owner))).status).toBe(403);
  expect((await http(other, 'GET', `${events(owner)}/${first.body?.eventId}`)).status).toBe(403);
  expect((await http(undefined, 'GET', events(owner))).status).toBe(401);

  // Shared (read access): reading and subscribing work, writing still does not.
  const shared = await http(owner, 'PUT', `/calendars/${owner}/shares/${other}`);
  expect(shared).toMatchObject({ status: 201, body: { userId: other, access: 'read' } });
  expect((await http(owner, 'PUT', `/calendars/${owner}/shares/${other}`)).status).toBe(200);
  expect((await http(other, 'PUT', `/calendars/${owner}/shares/${user('mallory')}`)).status).toBe(403);
  expect((await http(owner, 'GET', `/calendars/${owner}/shares`)).body).toEqual({ shares: [shared.body] });
  otherSocket.send({ action: 'subscribe', keys: [key] });
  expect(await otherSocket.next((f) => f.type === 'subscribed')).toEqual({ type: 'subscribed', keys: [key] });
  const list = await http(other, 'GET', events(owner));
  expect(list).toMatchObject({ status: 200, body: { events: [{ eventId: first.body?.eventId, title: 'Standup' }] } });
  const handshake = await connect(other, [key]);

  const second = await http(owner, 'POST', events(owner), { ...standup, title: 'Review' });
  const seen = await otherSocket.next(itemFrame('INSERT', second.body?.eventId));
  expect(seen.item).toMatchObject({ title: 'Review', ownerId: owner });
  await handshake.next(itemFrame('INSERT', second.body?.eventId));

  const forbiddenWrite = await http(other, 'POST', events(owner), { ...standup, title: 'Sneaky' });
  expect(forbiddenWrite.status).toBe(403);
  expect((await storedItemIds(key)).sort()).toEqual([first.body?.eventId, second.body?.eventId].sort());

  // Unshared: the subscriptions end with the share (both sockets), and reads are refused again.
  expect((await http(owner, 'DELETE', `/calendars/${owner}/shares/${other}`)).status).toBe(204);
  expect((await http(owner, 'DELETE', `/calendars/${owner}/shares/${other}`)).status).toBe(404);
  const third = await http(owner, 'POST', events(owner), { ...standup, title: 'Private' });
  // The third event is fanned out (the owner has it) and each socket has all that was sent to it since.
  await ownerSocket.next(itemFrame('INSERT', third.body?.eventId));
  await platform.settled(otherSocket, handshake);
  expect(otherSocket.frames.some(itemFrame('INSERT', third.body?.eventId))).toBe(false);
  expect(handshake.frames.some(itemFrame('INSERT', third.body?.eventId))).toBe(false);
  expect((await http(other, 'GET', events(owner))).status).toBe(403);
  const framesBefore = otherSocket.frames.length;
  otherSocket.send({ action: 'subscribe', keys: [key] });
  const refusedAgain = await otherSocket.next((f) => otherSocket.frames.indexOf(f) >= framesBefore);
  expect(refusedAgain).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
  for (const socket of [ownerSocket, otherSocket, handshake]) socket.close();
});

test('a share taken back after the access decision: the subscribe and the $connect written on it are refused, nothing stored', async () => {
  // The race made deterministic at the logic level, on the platform's real tables: decide while shared, revoke
  // through the API, then write with the decision's requirements (the ConditionCheck on the share row).
  const owner = user('owner');
  const viewer = user('viewer');
  const key = `calendar:${owner}`;
  const documents = DynamoDBDocumentClient.from(ddb);
  const dataTable = { tableName: DATA_TABLE, keyAttribute: 'realTimeItemKey' };
  const keyAccess = createPlatformKeyAccess({
    documents,
    dataTableName: DATA_TABLE,
    keyAttribute: 'realTimeItemKey',
    presenceVisibility: 'all',
  });
  const connections = createConnectionRepository({
    ddb: documents,
    tableName: CONNECTIONS_TABLE,
    ttlSeconds: 600,
    dataTable,
  });
  const presence = createPresenceStore({
    ddb: documents,
    connectionsTable: CONNECTIONS_TABLE,
    dataTable: DATA_TABLE,
    keyAttribute: 'realTimeItemKey',
    ttlSeconds: 600,
  });
  const [live, late, lateConnect] = ['live', 'late', 'late-connect'].map((name) => `${name}-${randomUUID()}=`) as [
    string,
    string,
    string,
  ];

  expect((await http(owner, 'PUT', `/calendars/${owner}/shares/${viewer}`)).status).toBe(201);
  const decided = await authorizeKeys(keyAccess, { userId: viewer }, [key]);
  expect(decided).toMatchObject({ allowed: true, requirements: [{ key }] });
  const requirements = decided.allowed ? decided.requirements : [];
  // While shared, the same guarded write commits ($connect: connection row, subscription, presence, the check).
  expect(await presence.openConnection({ connectionId: live, userId: viewer }, [key], requirements)).toMatchObject({
    opened: true,
  });

  expect((await http(owner, 'DELETE', `/calendars/${owner}/shares/${viewer}`)).status).toBe(204);

  // The revoke ended the subscription that committed before it …
  expect(await connections.subscriptionsOf(live)).toEqual([]);
  // … and the writes decided before it are refused: nothing stored.
  expect(await connections.subscribe(late, [key, 'vehicle-1'], requirements)).toEqual({
    subscribed: false,
    refusedKey: key,
  });
  expect(await connections.subscriptionsOf(late)).toEqual([]);
  expect(await presence.openConnection({ connectionId: lateConnect, userId: viewer }, [key], requirements)).toEqual({
    opened: false,
    refusedKey: key,
  });
  expect(await connections.connectionOf(lateConnect)).toBeUndefined();
  expect(await presence.get(viewer)).toMatchObject({ connections: 1 });
  // And a fresh decision says FORBIDDEN.
  expect(await authorizeKeys(keyAccess, { userId: viewer }, [key])).toMatchObject({ allowed: false, key });

  await presence.closeConnection(live, viewer);
});

test('a range query returns exactly the events overlapping [from, to), by start, page by page', async () => {
  const owner = user('carol');
  const create = async (body: Json) => {
    const reply = await http(owner, 'POST', events(owner), body);
    expect(reply.status).toBe(201);
    return reply.body?.eventId as string;
  };
  const timed = (title: string, start: string, end: string) => create({ title, start, end });
  const allDay = (title: string, start: string, end: string) => create({ title, start, end, allDay: true });
  const spanningFrom = await timed('late night', '2026-11-30T22:00:00Z', '2026-12-01T02:00:00Z');
  const inside = await timed('standup', '2026-12-01T10:00:00+01:00', '2026-12-01T10:15:00+01:00');
  const theDay = await allDay('holiday', '2026-12-01', '2026-12-02');
  const longRunning = await allDay('project', '2026-06-01', '2027-01-01');
  await timed('starts at to', '2026-12-02T00:00:00Z', '2026-12-02T01:00:00Z');
  await allDay('the day before', '2026-11-30', '2026-12-01');
  await timed('ends at from', '2026-11-30T23:00:00Z', '2026-12-01T00:00:00Z');
  await timed('a year earlier', '2025-12-01T09:00:00Z', '2025-12-01T10:00:00Z');
  const farFuture = await timed('2031', '2031-12-01T09:00:00Z', '2031-12-01T10:00:00Z');

  const window = 'from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z';
  const all = await http(owner, 'GET', `${events(owner)}?${window}`);
  expect(all.status).toBe(200);
  expect(all.body?.events.map((e: Json) => e.eventId)).toEqual([longRunning, spanningFrom, theDay, inside]);
  expect(all.body?.nextToken).toBeUndefined();

  const first = await http(owner, 'GET', `${events(owner)}?${window}&limit=3`);
  expect(first.body?.events.map((e: Json) => e.eventId)).toEqual([longRunning, spanningFrom, theDay]);
  const second = await http(owner, 'GET', `${events(owner)}?${window}&limit=3&nextToken=${first.body?.nextToken}`);
  expect(second.body).toEqual({ events: [expect.objectContaining({ eventId: inside })] });
  // A token belongs to its window.
  const elsewhere = await http(
    owner,
    'GET',
    `${events(owner)}?from=2026-12-01&to=2026-12-03&nextToken=${first.body?.nextToken}`,
  );
  expect(elsewhere.status).toBe(400);

  const future = await http(owner, 'GET', `${events(owner)}?from=2031-12-01&to=2031-12-02`);
  expect(future.body?.events.map((e: Json) => e.eventId)).toEqual([farFuture]);
  const everything = await http(owner, 'GET', events(owner));
  expect(everything.body?.events).toHaveLength(9);

  for (const query of [
    'from=2026-12-02&to=2026-12-01',
    'from=2026-01-01&to=2027-06-01',
    'from=2026-12-01',
    'limit=0',
  ]) {
    const refused = await http(owner, 'GET', `${events(owner)}?${query}`);
    expect({ query, status: refused.status, code: refused.body?.error.code }).toEqual({
      query,
      status: 400,
      code: 'BAD_REQUEST',
    });
  }
});

test('two concurrent PATCHes of the same version: exactly one succeeds, the other gets 409', async () => {
  const owner = user('dave');
  for (let round = 0; round < 3; round++) {
    const created = await http(owner, 'POST', events(owner), standup);
    const path = `${events(owner)}/${created.body?.eventId}`;

    const replies = await Promise.all(
      ['Mine', 'Yours'].map((title) => http(owner, 'PATCH', path, { title }, { 'if-match': '"1"' })),
    );

    expect(replies.map((reply) => reply.status).sort()).toEqual([200, 409]);
    const winner = replies.find((reply) => reply.status === 200) as Reply;
    const loser = replies.find((reply) => reply.status === 409) as Reply;
    expect(loser.body?.error).toMatchObject({ code: 'CONFLICT', details: { currentVersion: 2 } });
    const stored = await http(owner, 'GET', path);
    expect(stored.body).toMatchObject({ version: 2, title: winner.body?.title });
  }
  const stale = await http(owner, 'PUT', `${events(owner)}/${'0'.repeat(26)}`, { ...standup, version: 1 });
  expect(stale.status).toBe(404);
});

test('bad input is answered 400 (or 428) with the reason, and nothing is written', async () => {
  const owner = user('erin');
  const key = `calendar:${owner}`;
  const socket = await connect(owner, [key]);
  const cases: [unknown, string][] = [
    [{ ...standup, end: '2026-12-01T08:00:00Z' }, 'end: end must not be before start'],
    [{ ...standup, start: '2026-02-30T09:00:00Z' }, 'start: start must be an ISO-8601 date-time'],
    [{ ...standup, start: '2026-12-01 09:00' }, 'start: start must be an ISO-8601 date-time'],
    [{ ...standup, timeZone: 'Paris' }, 'timeZone: timeZone "Paris" is not an IANA time zone name'],
    [{ ...standup, allDay: true }, 'start: start must be a date like 2026-12-01'],
    [{ title: 'x', allDay: true, start: '2026-12-01', end: '2026-12-01' }, 'end: end must be after start'],
    [{ ...standup, title: '' }, 'title: title must not be empty'],
    [{ ...standup, colour: 'red' }, 'Unrecognized key: "colour"'],
    ['{"title": "x",', 'the request body is not valid JSON'],
  ];
  for (const [body, message] of cases) {
    const reply = await http(owner, 'POST', events(owner), body);
    expect({ status: reply.status, message: reply.body?.error.message }).toEqual({
      status: 400,
      message: expect.stringContaining(message),
    });
  }
  expect(await storedItemIds(key)).toEqual([]);

  const created = await http(owner, 'POST', events(owner), standup);
  const path = `${events(owner)}/${created.body?.eventId}`;
  expect((await http(owner, 'PATCH', path, { end: '2026-12-01T08:00:00Z', version: 1 })).status).toBe(400);
  expect((await http(owner, 'PATCH', path, { title: 'No version' })).status).toBe(428);
  expect((await http(owner, 'PUT', path, { ...standup, title: 'No version' })).status).toBe(428);
  expect((await http(owner, 'GET', path)).body).toMatchObject({ version: 1, end: standup.end, title: 'Standup' });
  await socket.next(itemFrame('INSERT', created.body?.eventId));
  // Every write the refused requests could have made would have been fanned out and received by now.
  await platform.settled(socket);
  expect(socket.frames.filter((f) => f.type === 'item')).toHaveLength(1);
  socket.close();
});
