import { DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { ActivityEntry } from '@real-time-platform/protocol';
import { mockClient } from 'aws-sdk-client-mock';
import { createActivityStore } from '../../src/adapters/activity-store';
import { activityItem, activityItemId, activityWindow, itemIdRange } from '../../src/domain/activity';
import { createActivityLog, createActivityRoute } from '../../src/handlers/logic/activity';
import { createConnectHandler } from '../../src/handlers/logic/connect';
import { createConnectionEnder } from '../../src/handlers/logic/end-connection';
import { createHttpRouter, type HttpEvent } from '../../src/handlers/logic/http';
import { wsEvent } from '../helpers/events';
import { captureLog, MemoryConnections } from '../helpers/fakes';
import { MemoryPresence, publicKeys } from '../helpers/presence-fakes';

// The activity history: what the connection lifecycle records (and that a failed record never fails it), the item
// layout, and GET /users/me/activity's rules. The write path runs through the real DynamoDB adapter with the SDK
// mocked at the client, failing with the SDK's own exception classes; test/integration/activity-local.test.ts runs
// it all against DynamoDB Local and the local runtime.

const DAY = 24 * 3600 * 1000;
const NOW = Date.parse('2026-11-22T08:00:00.000Z');
const ddbMock = mockClient(DynamoDBDocumentClient);
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const store = createActivityStore({ ddb: documents, tableName: 'data', keyAttribute: 'vehicleId', retentionDays: 30 });

beforeEach(() => ddbMock.reset());

function signedIn(connectionId: string, userId: string) {
  const event = wsEvent({ routeKey: '$connect', connectionId });
  if (event.requestContext) event.requestContext.authorizer = { principalId: userId };
  return event;
}

function connectWith(presence?: (connections: MemoryConnections) => MemoryPresence) {
  const connections = new MemoryConnections();
  const logger = captureLog();
  const connect = createConnectHandler({
    connections,
    presence: presence?.(connections) ?? new MemoryPresence(connections),
    keyAccess: publicKeys,
    keyName: 'vehicleId',
    isQueryParam: true,
    activity: createActivityLog({ store, logger }),
    logger,
  });
  return { connections, logger, connect };
}

describe('recording', () => {
  test('a signed-in connect writes one CONNECT entry under activity:<userId>, kept for the retention', async () => {
    ddbMock.on(PutCommand).resolves({});
    const { connect } = connectWith();
    expect((await connect(signedIn('c1', 'u1'))).statusCode).toBe(200);
    const puts = ddbMock.commandCalls(PutCommand).map((call) => call.args[0].input.Item);
    expect(puts).toEqual([
      {
        vehicleId: 'activity:u1',
        itemId: '2025-11-22T08:26:40.000Z#CONNECT#c1',
        type: 'CONNECT',
        at: 1763800000000,
        connectionId: 'c1',
        expiresAt: Math.floor((1763800000000 + 30 * DAY) / 1000),
      },
    ]);
  });

  test('anonymous connections keep no history', async () => {
    const { connect } = connectWith();
    expect((await connect(wsEvent({ routeKey: '$connect', connectionId: 'c1' }))).statusCode).toBe(200);
    expect(ddbMock.commandCalls(PutCommand)).toHaveLength(0);
  });

  test('a failed history write never fails the connect: 200, the connection stored, a warning logged', async () => {
    ddbMock
      .on(PutCommand)
      .rejects(
        new ProvisionedThroughputExceededException({ $metadata: { httpStatusCode: 400 }, message: 'slow down' }),
      );
    const { connect, connections, logger } = connectWith();
    expect(await connect(signedIn('c1', 'u1'))).toEqual({ statusCode: 200, body: 'Connected' });
    expect(connections.connections.has('c1')).toBe(true);
    expect(logger.lines).toContainEqual(
      expect.objectContaining({ level: 'warn', message: 'Could not record activity; the entry is dropped' }),
    );
  });

  test('a connect refused at the last moment (grant taken back) or failing takes its entry back', async () => {
    ddbMock.on(PutCommand).resolves({});
    ddbMock.on(DeleteCommand).resolves({});
    const refusing = connectWith((connections) => {
      const presence = new MemoryPresence(connections);
      presence.openConnection = async () => ({ opened: false, refusedKey: 'calendar:u2' });
      return presence;
    });
    expect((await refusing.connect(signedIn('c1', 'u1'))).statusCode).toBe(403);
    const failing = connectWith((connections) => {
      const presence = new MemoryPresence(connections);
      presence.openConnection = async () => {
        throw new Error('DynamoDB is down');
      };
      return presence;
    });
    expect((await failing.connect(signedIn('c2', 'u1'))).statusCode).toBe(500);
    expect(ddbMock.commandCalls(DeleteCommand).map((call) => call.args[0].input.Key)).toEqual([
      { vehicleId: 'activity:u1', itemId: '2025-11-22T08:26:40.000Z#CONNECT#c1' },
      { vehicleId: 'activity:u1', itemId: '2025-11-22T08:26:40.000Z#CONNECT#c2' },
    ]);
  });

  test('the caller that settles presence records the close once; a row the sweep marked records TIMEOUT', async () => {
    const connections = new MemoryConnections();
    const presence = new MemoryPresence(connections);
    const recorded: [string, ActivityEntry][] = [];
    const activity = {
      record: async (userId: string, entry: ActivityEntry) => {
        recorded.push([userId, entry]);
        return true;
      },
      retract: async () => {},
    };
    const end = createConnectionEnder({ connections, presence, activity, now: () => NOW });
    await presence.openConnection({ connectionId: 'c1', userId: 'u1' }, []);
    await presence.openConnection({ connectionId: 'c2', userId: 'u1' }, []);
    // c2: the sweep marked it and closed its socket; $disconnect (default reason) got there first.
    expect(await connections.markTimedOut('c2')).toBe(true);
    await Promise.all([end('c1'), end('c2'), end('c2', 'TIMEOUT'), end('c1')]);
    expect(recorded).toEqual([
      ['u1', { type: 'CLOSE_CONNECTION', at: NOW, connectionId: 'c1' }],
      ['u1', { type: 'TIMEOUT', at: NOW, connectionId: 'c2' }],
    ]);
  });
});

describe('layout', () => {
  test('item ids sort by time, and a window covers exactly its milliseconds', () => {
    const at = (ms: number, type: ActivityEntry['type'] = 'CONNECT') =>
      activityItemId({ type, at: ms, connectionId: 'c' });
    const range = itemIdRange({ from: NOW, to: NOW + 1000 });
    expect(at(NOW - 1) < range.lowest).toBe(true);
    expect(at(NOW) >= range.lowest && at(NOW, 'UPDATE_PRESENCE') <= range.highest).toBe(true);
    expect(at(NOW + 999, 'UPDATE_PRESENCE') <= range.highest).toBe(true);
    expect(at(NOW + 1000) > range.highest).toBe(true);
    expect(
      activityItem(
        'k',
        'u1',
        { type: 'UPDATE_PRESENCE', at: NOW, connectionId: 'c', url: 'https://a.b/', title: 'A' },
        1,
      ),
    ).toMatchObject({
      k: 'activity:u1',
      url: 'https://a.b/',
      title: 'A',
      expiresAt: (NOW + DAY) / 1000,
    });
  });

  test('windows: defaults to the retention up to now; from ≥ to and more than 366 days are refused', () => {
    expect(activityWindow({}, NOW, 30)).toEqual({ ok: true, window: { from: NOW - 30 * DAY, to: NOW + 1 } });
    // Entries older than the retention are never shown, even while TTL has not deleted them yet.
    expect(activityWindow({ from: NOW - 100 * DAY, to: NOW }, NOW, 30)).toEqual({
      ok: true,
      window: { from: NOW - 30 * DAY, to: NOW },
    });
    expect(activityWindow({ from: NOW, to: NOW }, NOW, 30)).toMatchObject({ ok: false, message: /after from/ });
    expect(activityWindow({ from: NOW - 367 * DAY, to: NOW }, NOW, 30)).toMatchObject({ ok: false, message: /366/ });
    expect(activityWindow({ from: NOW - 367 * DAY }, NOW, 30)).toMatchObject({ ok: false, message: /366/ });
  });
});

describe('GET /users/me/activity', () => {
  const entries: ActivityEntry[] = Array.from({ length: 5 }, (_, i) => ({
    type: 'CONNECT',
    at: NOW - (i + 1) * 1000,
    connectionId: `c${i}`,
  }));
  const activityRoute = createActivityRoute({
    store: {
      // Newest first, below the position, like the Query.
      async list(_userId, { window, limit, beforeItemId }) {
        const inWindow = entries.filter(
          (e) =>
            e.at >= window.from && e.at < window.to && (beforeItemId === undefined || activityItemId(e) < beforeItemId),
        );
        const page = inWindow.slice(0, limit);
        const last = page.at(-1);
        return inWindow.length > limit && last !== undefined
          ? { entries: page, lastItemId: activityItemId(last) }
          : { entries: page };
      },
    },
    retentionDays: 30,
    now: () => NOW,
  });
  const route = createHttpRouter(
    'test',
    { 'GET /users/me/activity': activityRoute, 'GET /users/{userId}/activity': activityRoute },
    captureLog(),
  );
  const get = async (userId: string | undefined, query: Record<string, string> = {}, path?: Record<string, string>) => {
    const event: HttpEvent = {
      routeKey: path === undefined ? 'GET /users/me/activity' : 'GET /users/{userId}/activity',
      queryStringParameters: query,
      pathParameters: path ?? null,
      requestContext: userId === undefined ? {} : { authorizer: { lambda: { userId } } },
    };
    const result = await route(event);
    return { status: result.statusCode, body: JSON.parse(result.body ?? 'null') };
  };

  test('newest first, paged with opaque tokens that neither skip nor repeat', async () => {
    const first = await get('u1', { limit: '2' });
    expect(first.status).toBe(200);
    expect(first.body.items.map((e: ActivityEntry) => e.connectionId)).toEqual(['c0', 'c1']);
    const second = await get('u1', { limit: '2', nextToken: first.body.nextToken });
    const third = await get('u1', { limit: '2', nextToken: second.body.nextToken });
    expect([...second.body.items, ...third.body.items].map((e: ActivityEntry) => e.connectionId)).toEqual([
      'c2',
      'c3',
      'c4',
    ]);
    expect(third.body.nextToken).toBeUndefined();
  });

  test.each([
    ['from after to', { from: '2026-11-22T08:00:00Z', to: '2026-11-21' }, /to must be after from/],
    ['a window over 366 days', { from: '2025-01-01', to: '2026-11-22' }, /at most 366 days/],
    ['a bad bound', { from: 'yesterday' }, /from must be/],
    ['a bad limit', { limit: '0' }, /limit/],
    ['a forged token', { nextToken: 'eyJ2IjoxfQ' }, /nextToken is not valid/],
  ])('%s → 400', async (_name, query, message) => {
    const answer = await get('u1', query);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(message) });
  });

  test("another user's token, another user's history or nobody signed in are refused", async () => {
    const token = (await get('u1', { limit: '1' })).body.nextToken;
    expect((await get('u2', { nextToken: token })).status).toBe(400);
    expect((await get('u2', {}, { userId: 'u1' })).body.error.code).toBe('FORBIDDEN');
    expect((await get('u2', { userId: 'u1' })).status).toBe(403);
    expect((await get('u1', {}, { userId: 'u1' })).status).toBe(200);
    expect((await get(undefined)).status).toBe(401);
  });

  test('the store reads the window newest first, one more than the page', async () => {
    ddbMock.on(QueryCommand).resolves({ Items: [] });
    await store.list('u1', { window: { from: NOW - DAY, to: NOW }, limit: 10 });
    expect(ddbMock.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      ScanIndexForward: false,
      Limit: 11,
      ExpressionAttributeValues: { ':k': 'activity:u1', ...{ ':lowest': '2026-11-21T08:00:00.000Z' } },
    });
  });
});
