import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  TransactionConflictException,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { createCalendarEventStore, createCalendarShareStore } from '../../src/adapters/calendar-store';
import { createHolidayCalendar } from '../../src/adapters/holidays';
import { newCalendarEvent, type StoredCalendarEvent } from '../../src/domain/calendar';
import { createCalendarApiHandler } from '../../src/handlers/logic/calendar-api';
import type { HttpEvent } from '../../src/handlers/logic/http';
import { captureLog } from '../helpers/fakes';

// The calendar API over the real DynamoDB stores, with the SDK mocked: what each request answers, what it writes,
// and how DynamoDB's own failures (a failed condition, throttling) come back to the client.

const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
const mock = mockClient(documents);
const table = { ddb: documents, tableName: 'RealTimeData', keyAttribute: 'realTimeItemKey' };
const NOW = new Date('2026-11-20T08:00:00.000Z');
const ID_A = '01KAAAAAAAAAAAAAAAAAAAAAAA';
const ID_B = '01KBBBBBBBBBBBBBBBBBBBBBBB';

const unsubscribed: [string, string[]][] = [];
/** connectionsByUser, as the index answers (may lag behind the connection rows). */
let userConnections: Record<string, string[]> = {};
/** subscribersByKey, as the index answers. */
let keySubscribers: Record<string, string[]> = {};
/** The connection rows (consistent reads): connectionId → userId. */
let connectionUsers: Record<string, string> = {};
/** The order of the revocation's steps. */
const steps: string[] = [];
let ids: string[] = [];
const logger = captureLog();
const api = createCalendarApiHandler({
  events: createCalendarEventStore(table),
  shares: createCalendarShareStore(table),
  connections: {
    connectionsOfUser: async (userId) => {
      steps.push('connectionsOfUser');
      return userConnections[userId] ?? [];
    },
    subscribersOf: async (key) => {
      steps.push('subscribersOf');
      return keySubscribers[key] ?? [];
    },
    connectionOf: async (connectionId) => {
      const userId = connectionUsers[connectionId];
      return userId === undefined ? undefined : { connectionId, userId };
    },
    unsubscribe: async (connectionId, keys) => {
      unsubscribed.push([connectionId, [...keys]]);
    },
  },
  logger,
  now: () => NOW,
  newEventId: () => ids.shift() ?? ID_A,
  // The real library: it computes offline, from rules and data it ships.
  holidays: createHolidayCalendar(),
});

const standup = {
  title: 'Standup',
  start: '2026-12-01T09:00:00Z',
  end: '2026-12-01T09:15:00Z',
  allDay: false,
  timeZone: 'Europe/Paris',
};

function request(
  routeKey: string,
  options: {
    caller?: string;
    path?: Record<string, string>;
    body?: unknown;
    headers?: Record<string, string>;
    query?: Record<string, string>;
  } = {},
): HttpEvent {
  return {
    routeKey,
    pathParameters: { userId: 'u1', ...options.path },
    headers: options.headers ?? {},
    queryStringParameters: options.query ?? null,
    body:
      options.body === undefined
        ? null
        : typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body),
    requestContext: {
      requestId: 'r1',
      ...(options.caller === undefined ? {} : { authorizer: { lambda: { userId: options.caller } } }),
    },
  };
}

async function call(event: HttpEvent) {
  const result = await api(event);
  return {
    status: result.statusCode,
    headers: result.headers ?? {},
    body: result.body ? JSON.parse(result.body) : undefined,
  };
}

function stored(eventId: string, version: number, fields: Partial<typeof standup> = {}): StoredCalendarEvent {
  const event = newCalendarEvent({ eventId, ownerId: 'u1', fields: { ...standup, ...fields }, by: 'u1', at: NOW });
  return { ...event, version };
}

const item = (event: StoredCalendarEvent) => ({
  realTimeItemKey: `calendar:${event.ownerId}`,
  itemId: event.eventId,
  ...event,
});

function conditionFailed(old?: StoredCalendarEvent) {
  return new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: { httpStatusCode: 400 },
    ...(old === undefined ? {} : { Item: marshall(item(old), { removeUndefinedValues: true }) }),
  });
}

const throttled = () =>
  new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });

const writes = () => [
  ...mock.commandCalls(PutCommand),
  ...mock.commandCalls(UpdateCommand),
  ...mock.commandCalls(DeleteCommand),
];

beforeEach(() => {
  mock.reset();
  unsubscribed.length = 0;
  userConnections = {};
  keySubscribers = {};
  connectionUsers = {};
  steps.length = 0;
  ids = [];
  logger.lines.length = 0;
});

describe('POST /calendars/{userId}/events', () => {
  const route = 'POST /calendars/{userId}/events';

  test('201: the event with version 1, an ETag and a Location; one conditional Put under calendar:<owner>', async () => {
    mock.on(PutCommand).resolves({});

    const response = await call(
      request(route, { caller: 'u1', body: { ...standup, start: '2026-12-01T10:00:00+01:00' } }),
    );

    expect(response.status).toBe(201);
    expect(response.body).toEqual({
      eventId: ID_A,
      ownerId: 'u1',
      ...standup,
      version: 1,
      createdAt: NOW.toISOString(),
      updatedAt: NOW.toISOString(),
      createdBy: 'u1',
      updatedBy: 'u1',
    });
    expect(response.headers).toMatchObject({ etag: '"1"', location: `/calendars/u1/events/${ID_A}` });
    const [put] = mock.commandCalls(PutCommand);
    expect(put?.args[0].input).toMatchObject({
      TableName: 'RealTimeData',
      ConditionExpression: 'attribute_not_exists(itemId)',
      Item: { realTimeItemKey: 'calendar:u1', itemId: ID_A, startsAt: '2026-12-01T09:00:00.000Z', version: 1 },
    });
  });

  test('a colliding id is refused by the condition and the event stored under a new one', async () => {
    ids = [ID_A, ID_B];
    mock
      .on(PutCommand)
      .rejectsOnce(conditionFailed(stored(ID_A, 4)))
      .resolves({});

    const response = await call(request(route, { caller: 'u1', body: standup }));

    expect(response.status).toBe(201);
    expect(response.body.eventId).toBe(ID_B);
    expect(mock.commandCalls(PutCommand).map((c) => c.args[0].input.Item?.itemId)).toEqual([ID_A, ID_B]);
  });

  test.each([
    ['no signed-in caller', 401, 'UNAUTHORIZED', {}],
    ["another user's calendar", 403, 'FORBIDDEN', { caller: 'u2' }],
    ['end before start', 400, 'BAD_REQUEST', { caller: 'u1', body: { ...standup, end: '2026-12-01T08:00:00Z' } }],
    ['an invalid date', 400, 'BAD_REQUEST', { caller: 'u1', body: { ...standup, start: '2026-02-30T09:00:00Z' } }],
    ['a bad time zone', 400, 'BAD_REQUEST', { caller: 'u1', body: { ...standup, timeZone: 'Nowhere/Else' } }],
    ['broken JSON', 400, 'INVALID_JSON', { caller: 'u1', body: '{"title":' }],
    ['no body', 400, 'BAD_REQUEST', { caller: 'u1', body: undefined }],
    ['an invalid owner id', 400, 'BAD_REQUEST', { caller: 'u1', path: { userId: 'a,b' } }],
  ])('%s → %s %s, nothing written', async (_name, status, code, options) => {
    mock.on(PutCommand).resolves({});
    const response = await call(request(route, { body: standup, ...options }));
    expect({ status: response.status, code: response.body.error.code }).toEqual({ status, code });
    expect(writes()).toHaveLength(0);
  });

  test('the 400 names the field and says what is wrong', async () => {
    const response = await call(request(route, { caller: 'u1', body: { ...standup, end: '2026-12-01T08:00:00Z' } }));
    expect(response.body.error.message).toBe('end: end must not be before start');
    expect(response.body.error.details.issues).toEqual([{ path: 'end', message: 'end must not be before start' }]);
  });

  test('throttling → 503 with Retry-After; the cause is logged, not returned', async () => {
    mock.on(PutCommand).rejects(throttled());
    const response = await call(request(route, { caller: 'u1', body: standup }));
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('1');
    expect(JSON.stringify(response.body)).not.toContain('Rate exceeded');
    expect(logger.lines.some((line) => line.level === 'error')).toBe(true);
  });
});

describe('PUT and PATCH: optimistic concurrency', () => {
  const put = 'PUT /calendars/{userId}/events/{eventId}';
  const patch = 'PATCH /calendars/{userId}/events/{eventId}';
  const path = { eventId: ID_A };

  test('PUT with If-Match: one conditional update; 200 with the next version', async () => {
    mock.on(UpdateCommand).resolves({ Attributes: item({ ...stored(ID_A, 3, { title: 'Retro' }) }) });

    const response = await call(
      request(put, { caller: 'u1', path, headers: { 'If-Match': '"2"' }, body: { ...standup, title: 'Retro' } }),
    );

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ eventId: ID_A, title: 'Retro', version: 3 });
    expect(response.headers.etag).toBe('"3"');
    const input = mock.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.ConditionExpression).toBe('attribute_exists(#itemId) AND #version = :expected');
    expect(input?.ExpressionAttributeValues).toMatchObject({ ':expected': 2, ':version': 3, ':title': 'Retro' });
    // PUT replaces the event: fields it leaves out are removed.
    expect(input?.UpdateExpression).toContain('REMOVE #description, #location');
    expect(input?.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
  });

  test('a stale version → 409 CONFLICT with the current version (from the failed condition, no extra read)', async () => {
    mock.on(UpdateCommand).rejects(conditionFailed(stored(ID_A, 5)));

    const response = await call(request(put, { caller: 'u1', path, body: { ...standup, version: 4 } }));

    expect(response.status).toBe(409);
    expect(response.body.error).toMatchObject({ code: 'CONFLICT', details: { currentVersion: 5 } });
    expect(response.body.error.details.current).toMatchObject({ eventId: ID_A, version: 5 });
    expect(mock.commandCalls(GetCommand)).toHaveLength(0);
  });

  test('an unknown event → 404 (the failed condition returns no item, and a read confirms it is gone)', async () => {
    mock.on(UpdateCommand).rejects(conditionFailed());
    mock.on(GetCommand).resolves({});

    const response = await call(request(put, { caller: 'u1', path, body: { ...standup, version: 1 } }));

    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('NOT_FOUND');
  });

  test.each([
    ['no version anywhere', 428, 'PRECONDITION_REQUIRED', {}, standup],
    ['If-Match and body disagree', 400, 'BAD_REQUEST', { 'if-match': '2' }, { ...standup, version: 3 }],
    ['If-Match is not a version', 400, 'BAD_REQUEST', { 'if-match': '*' }, standup],
  ])('PUT with %s → %s %s, nothing written', async (_name, status, code, headers, body) => {
    const response = await call(request(put, { caller: 'u1', path, headers, body }));
    expect({ status: response.status, code: response.body.error.code }).toEqual({ status, code });
    expect(writes()).toHaveLength(0);
  });

  test('PUT by someone else → 403; a malformed event id → 404; neither touches DynamoDB', async () => {
    const forbidden = await call(request(put, { caller: 'u2', path, body: { ...standup, version: 1 } }));
    const malformed = await call(
      request(put, { caller: 'u1', path: { eventId: 'x' }, body: { ...standup, version: 1 } }),
    );
    expect([forbidden.status, malformed.status]).toEqual([403, 404]);
    expect(mock.calls()).toHaveLength(0);
  });

  test('PATCH merges into the stored event and writes it conditionally on the version read', async () => {
    mock.on(GetCommand).resolves({ Item: item(stored(ID_A, 2)) });
    mock.on(UpdateCommand).callsFake((input) => ({
      Attributes: { ...item(stored(ID_A, 3)), title: input.ExpressionAttributeValues[':title'], timeZone: undefined },
    }));

    const response = await call(
      request(patch, { caller: 'u1', path, body: { title: 'Retro', timeZone: null, version: 2 } }),
    );

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ title: 'Retro', version: 3, start: standup.start });
    const input = mock.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.ExpressionAttributeValues).toMatchObject({
      ':expected': 2,
      ':title': 'Retro',
      ':start': standup.start,
    });
    expect(input?.UpdateExpression).toMatch(/REMOVE .*#timeZone/);
  });

  test('PATCH with a version already replaced → 409 before any write', async () => {
    mock.on(GetCommand).resolves({ Item: item(stored(ID_A, 3)) });
    const response = await call(
      request(patch, { caller: 'u1', path, headers: { 'if-match': '2' }, body: { title: 'x' } }),
    );
    expect(response.status).toBe(409);
    expect(response.body.error.details.currentVersion).toBe(3);
    expect(writes()).toHaveLength(0);
  });

  test('PATCH that loses the race to a concurrent edit → 409 (the condition, not the read, decides)', async () => {
    mock.on(GetCommand).resolves({ Item: item(stored(ID_A, 2)) });
    mock.on(UpdateCommand).rejects(conditionFailed(stored(ID_A, 3)));
    const response = await call(request(patch, { caller: 'u1', path, body: { title: 'x', version: 2 } }));
    expect(response.status).toBe(409);
    expect(response.body.error.details.currentVersion).toBe(3);
  });

  test('PATCH whose result breaks a rule → 400, nothing written', async () => {
    mock.on(GetCommand).resolves({ Item: item(stored(ID_A, 2)) });
    const response = await call(
      request(patch, { caller: 'u1', path, body: { end: '2026-12-01T08:00:00Z', version: 2 } }),
    );
    expect(response.status).toBe(400);
    expect(response.body.error.message).toBe('end: end must not be before start');
    expect(writes()).toHaveLength(0);
  });

  test('PATCH of an unknown event → 404; throttled read → 503', async () => {
    mock.on(GetCommand).resolves({});
    expect((await call(request(patch, { caller: 'u1', path, body: { title: 'x', version: 1 } }))).status).toBe(404);
    mock.on(GetCommand).rejects(throttled());
    expect((await call(request(patch, { caller: 'u1', path, body: { title: 'x', version: 1 } }))).status).toBe(503);
  });
});

describe('DELETE /calendars/{userId}/events/{eventId}', () => {
  const route = 'DELETE /calendars/{userId}/events/{eventId}';
  const path = { eventId: ID_A };

  test('without If-Match: deletes whatever is stored → 204', async () => {
    mock.on(DeleteCommand).resolves({ Attributes: item(stored(ID_A, 7)) });
    const response = await call(request(route, { caller: 'u1', path }));
    expect(response.status).toBe(204);
    expect(mock.commandCalls(DeleteCommand)[0]?.args[0].input.ConditionExpression).toBe('attribute_exists(#itemId)');
  });

  test('with a stale If-Match → 409; unknown → 404', async () => {
    mock.on(DeleteCommand).rejects(conditionFailed(stored(ID_A, 7)));
    const stale = await call(request(route, { caller: 'u1', path, headers: { 'if-match': '"6"' } }));
    expect(stale.status).toBe(409);
    expect(mock.commandCalls(DeleteCommand)[0]?.args[0].input.ExpressionAttributeValues).toEqual({ ':expected': 6 });

    mock.on(DeleteCommand).rejects(conditionFailed());
    mock.on(GetCommand).resolves({});
    expect((await call(request(route, { caller: 'u1', path }))).status).toBe(404);
  });
});

describe('reads: owner and shared users only', () => {
  const getOne = 'GET /calendars/{userId}/events/{eventId}';
  const list = 'GET /calendars/{userId}/events';

  test('the owner reads without a share lookup; a stranger gets 403 after one; a shared user reads', async () => {
    mock
      .on(GetCommand, { Key: { realTimeItemKey: 'calendar:u1', itemId: ID_A } })
      .resolves({ Item: item(stored(ID_A, 1)) });
    mock.on(GetCommand, { Key: { realTimeItemKey: '$calendar-shares:u1', itemId: 'u2' } }).resolves({});
    mock.on(GetCommand, { Key: { realTimeItemKey: '$calendar-shares:u1', itemId: 'u3' } }).resolves({
      Item: { itemId: 'u3' },
    });

    const owner = await call(request(getOne, { caller: 'u1', path: { eventId: ID_A } }));
    const stranger = await call(request(getOne, { caller: 'u2', path: { eventId: ID_A } }));
    const viewer = await call(request(getOne, { caller: 'u3', path: { eventId: ID_A } }));

    expect(owner.status).toBe(200);
    expect(owner.headers.etag).toBe('"1"');
    expect(stranger.status).toBe(403);
    expect(stranger.body.error.code).toBe('FORBIDDEN');
    expect(viewer.status).toBe(200);
    expect(viewer.body).toEqual(owner.body);
  });

  test('a range query reads itemsByStart between the look-back and `to`, and returns only overlapping events', async () => {
    const before = stored(ID_A, 1, { start: '2026-11-30T08:00:00Z', end: '2026-11-30T09:00:00Z' });
    const spanning = stored(ID_B, 1, { start: '2026-11-30T22:00:00Z', end: '2026-12-01T02:00:00Z' });
    mock.on(QueryCommand).resolves({ Items: [item(before), item(spanning)] });

    const response = await call(
      request(list, { caller: 'u1', query: { from: '2026-12-01T00:00:00Z', to: '2026-12-02T00:00:00Z' } }),
    );

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ events: [expect.objectContaining({ eventId: ID_B })] });
    expect(mock.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      IndexName: 'itemsByStart',
      KeyConditionExpression: '#key = :key AND #startsAt BETWEEN :lowest AND :highest',
      ExpressionAttributeValues: {
        ':key': 'calendar:u1',
        ':lowest': '2025-11-30T00:00:00.000Z',
        ':highest': '2026-12-01T23:59:59.999Z',
      },
    });
  });

  test('pages: limit + 1 tells whether more follow; the token continues after the last event; a forged one → 400', async () => {
    const events = [ID_A, ID_B].map((id, index) =>
      stored(id, 1, { start: `2026-12-0${index + 1}T09:00:00Z`, end: `2026-12-0${index + 1}T10:00:00Z` }),
    );
    mock.on(QueryCommand).resolves({ Items: events.map(item) });

    const first = await call(request(list, { caller: 'u1', query: { limit: '1' } }));

    expect(first.body.events.map((e: { eventId: string }) => e.eventId)).toEqual([ID_A]);
    expect(typeof first.body.nextToken).toBe('string');

    mock.on(QueryCommand).resolves({ Items: [item(events[1] as StoredCalendarEvent)] });
    const second = await call(request(list, { caller: 'u1', query: { limit: '1', nextToken: first.body.nextToken } }));
    expect(second.body).toEqual({ events: [expect.objectContaining({ eventId: ID_B })] });
    expect(mock.commandCalls(QueryCommand)[1]?.args[0].input.ExclusiveStartKey).toEqual({
      realTimeItemKey: 'calendar:u1',
      itemId: ID_A,
      startsAt: '2026-12-01T09:00:00.000Z',
    });

    const calls = mock.commandCalls(QueryCommand).length;
    const json = Buffer.from(first.body.nextToken, 'base64url').toString('utf8');
    const forged = Buffer.from(json.replace(ID_A, 'not-an-id'), 'utf8').toString('base64url');
    const windowed = { from: '2026-12-01', to: '2026-12-02' };
    for (const query of [
      { nextToken: forged },
      { nextToken: first.body.nextToken, ...windowed },
      { nextToken: 'garbage' },
    ]) {
      const response = await call(request(list, { caller: 'u1', query }));
      expect({ status: response.status, code: response.body.error.code }).toEqual({ status: 400, code: 'BAD_REQUEST' });
    }
    // A token of u1's calendar is no good for u2's (even for u2 itself).
    const other = await call(
      request(list, { caller: 'u2', path: { userId: 'u2' }, query: { nextToken: first.body.nextToken } }),
    );
    expect(other.status).toBe(400);
    expect(mock.commandCalls(QueryCommand)).toHaveLength(calls);
  });
});

describe('public holidays', () => {
  const list = 'GET /calendars/{userId}/events';
  const holidays = (query: Record<string, string>) => call(request('GET /holidays', { query }));

  test("GET /holidays: a country's public holidays of a year, all-day, in date order; a region adds its own", async () => {
    const nz = await holidays({ country: 'nz', year: '2026' });
    expect(nz.status).toBe(200);
    expect(nz.body).toMatchObject({ country: 'NZ', year: 2026 });
    expect(nz.body.holidays[0]).toEqual({
      holiday: true,
      country: 'NZ',
      name: "New Year's Day",
      allDay: true,
      start: '2026-01-01',
      end: '2026-01-02',
    });
    expect(nz.body.holidays).toContainEqual(
      expect.objectContaining({ name: 'ANZAC Day (substitute day)', start: '2026-04-27', substitute: true }),
    );
    const starts = nz.body.holidays.map((h: { start: string }) => h.start);
    expect([...starts].sort()).toEqual(starts);
    const auckland = await holidays({ country: 'NZ', region: 'AUK', year: '2026' });
    expect(auckland.body.holidays.length).toBe(nz.body.holidays.length + 1);
    expect(auckland.body.holidays).toContainEqual(expect.objectContaining({ region: 'AUK', start: '2026-01-26' }));
  });

  test.each([
    ['an unknown country', { country: 'XX', year: '2026' }, /unknown country "XX".*GET \/holidays\/countries/],
    [
      'an unknown region',
      { country: 'NZ', region: 'ZZZ', year: '2026' },
      /unknown region "ZZZ" of NZ: one of AUK, BOP/,
    ],
    ['a year before 1970', { country: 'NZ', year: '1969' }, /year must be a year from 1970 to 2100/],
    ['a year after 2100', { country: 'NZ', year: '2101' }, /1970 to 2100/],
    ['no year', { country: 'NZ' }, /year is required/],
    ['a malformed country', { country: 'New Zealand', year: '2026' }, /ISO 3166-1 alpha-2/],
  ])('%s → 400', async (_name, query, message) => {
    const answer = await holidays(query);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(message) });
  });

  test('GET /holidays/countries lists the valid codes and their regions', async () => {
    const answer = await call(request('GET /holidays/countries'));
    expect(answer.body.countries.length).toBeGreaterThan(100);
    expect(answer.body.countries).toContainEqual(
      expect.objectContaining({
        code: 'NZ',
        name: 'New Zealand',
        regions: expect.arrayContaining([{ code: 'AUK', name: 'Auckland Province' }]),
      }),
    );
  });

  test("?holidays= merges the window's holidays by start, each on one page only", async () => {
    const events = [
      stored(ID_A, 1, { start: '2026-12-24T09:00:00Z', end: '2026-12-24T10:00:00Z' }),
      stored(ID_B, 1, { start: '2026-12-29T09:00:00Z', end: '2026-12-29T10:00:00Z' }),
    ];
    const window = { from: '2026-12-20', to: '2027-01-05', holidays: 'NZ' };
    mock.on(QueryCommand).resolves({ Items: events.map(item) });
    const first = await call(request(list, { caller: 'u1', query: { ...window, limit: '1' } }));
    expect(first.status).toBe(200);
    const names = (page: { body: { events: { eventId?: string; name?: string }[] } }) =>
      page.body.events.map((e) => e.eventId ?? e.name);
    expect(names(first)).toEqual([ID_A]);
    mock.on(QueryCommand).resolves({ Items: [item(events[1] as StoredCalendarEvent)] });
    const second = await call(request(list, { caller: 'u1', query: { ...window, nextToken: first.body.nextToken } }));
    // Christmas, Boxing Day and its substitute fall between the two events; 2027's New Year's days after the last
    // one (the window spans two years; 2 January 2027 is a Saturday, so Monday the 4th is off in its place).
    expect(names(second)).toEqual([
      'Christmas Day',
      'Boxing Day',
      'Boxing Day (substitute day)',
      ID_B,
      "New Year's Day",
      "Day after New Year's Day",
      "Day after New Year's Day (substitute day)",
    ]);
    expect(second.body.events[0]).toMatchObject({
      holiday: true,
      country: 'NZ',
      start: '2026-12-25',
      end: '2026-12-26',
    });
  });

  test('?holidays= without a window, or with an unknown country → 400, nothing read', async () => {
    const calls = mock.commandCalls(QueryCommand).length;
    const noWindow = await call(request(list, { caller: 'u1', query: { holidays: 'NZ' } }));
    expect(noWindow.body.error.message).toMatch(/needs a window/);
    const unknown = await call(
      request(list, { caller: 'u1', query: { from: '2026-12-01', to: '2026-12-31', holidays: 'XX' } }),
    );
    expect(unknown.body.error.message).toMatch(/holidays: unknown country "XX"/);
    const malformed = await call(
      request(list, { caller: 'u1', query: { from: '2026-12-01', to: '2026-12-31', holidays: 'N' } }),
    );
    expect(malformed.status).toBe(400);
    expect(mock.commandCalls(QueryCommand)).toHaveLength(calls);
  });
});

describe('shares', () => {
  const put = 'PUT /calendars/{userId}/shares/{otherUserId}';
  const remove = 'DELETE /calendars/{userId}/shares/{otherUserId}';

  test('PUT → 201 when new, 200 when it existed (keeping the first sharedAt)', async () => {
    mock
      .on(UpdateCommand)
      .resolvesOnce({})
      .resolves({ Attributes: { sharedAt: '2026-01-01T00:00:00.000Z' } });

    const first = await call(request(put, { caller: 'u1', path: { otherUserId: 'u2' } }));
    const again = await call(request(put, { caller: 'u1', path: { otherUserId: 'u2' }, body: { access: 'read' } }));

    expect(first).toMatchObject({ status: 201, body: { userId: 'u2', access: 'read', sharedAt: NOW.toISOString() } });
    expect(again).toMatchObject({ status: 200, body: { userId: 'u2', sharedAt: '2026-01-01T00:00:00.000Z' } });
    expect(mock.commandCalls(UpdateCommand)[0]?.args[0].input.Key).toEqual({
      realTimeItemKey: '$calendar-shares:u1',
      itemId: 'u2',
    });
  });

  test.each([
    ['with oneself', 400, { caller: 'u1', path: { otherUserId: 'u1' } }],
    ['by someone else', 403, { caller: 'u2', path: { otherUserId: 'u3' } }],
    ['with write access', 400, { caller: 'u1', path: { otherUserId: 'u2' }, body: { access: 'write' } }],
  ])('sharing %s → %s, nothing written', async (_name, status, options) => {
    expect((await call(request(put, options))).status).toBe(status);
    expect(writes()).toHaveLength(0);
  });

  test("DELETE → 204 and the viewer's live subscriptions to the calendar end; again → 404", async () => {
    userConnections = { u2: ['c1', 'c2'] };
    mock
      .on(DeleteCommand)
      .resolvesOnce({ Attributes: { itemId: 'u2' } })
      .resolves({});

    const first = await call(request(remove, { caller: 'u1', path: { otherUserId: 'u2' } }));
    const again = await call(request(remove, { caller: 'u1', path: { otherUserId: 'u2' } }));

    expect([first.status, again.status]).toEqual([204, 404]);
    expect(unsubscribed).toContainEqual(['c1', ['calendar:u1']]);
    expect(unsubscribed).toContainEqual(['c2', ['calendar:u1']]);
  });

  test("DELETE also ends a viewer's subscription found only among the calendar's subscribers, after the share is gone", async () => {
    // c3 is u2's brand-new connection: not in connectionsByUser yet, but subscribed to calendar:u1. c1 is the owner's
    // own, c4 another viewer's: both stay.
    keySubscribers = { 'calendar:u1': ['c1', 'c3', 'c4', 'c-gone'] };
    connectionUsers = { c1: 'u1', c3: 'u2', c4: 'u3' };
    mock.on(DeleteCommand).callsFake(async () => {
      steps.push('delete share');
      return { Attributes: { itemId: 'u2' } };
    });

    const response = await call(request(remove, { caller: 'u1', path: { otherUserId: 'u2' } }));

    expect(response.status).toBe(204);
    expect(unsubscribed).toEqual([['c3', ['calendar:u1']]]);
    // The lookups come after the share row is gone: a subscription committed later would have failed its check.
    expect(steps[0]).toBe('delete share');
    expect(steps.slice(1).sort()).toEqual(['connectionsOfUser', 'subscribersOf']);
  });

  test('DELETE meeting a subscription that checks the share at that moment is retried, not answered 500', async () => {
    userConnections = { u2: ['c1'] };
    mock
      .on(DeleteCommand)
      .rejectsOnce(new TransactionConflictException({ $metadata: {}, message: 'ongoing transaction' }))
      .resolves({ Attributes: { itemId: 'u2' } });

    const response = await call(request(remove, { caller: 'u1', path: { otherUserId: 'u2' } }));

    expect(response.status).toBe(204);
    expect(mock.commandCalls(DeleteCommand)).toHaveLength(2);
    expect(unsubscribed).toEqual([['c1', ['calendar:u1']]]);
  });

  test('GET lists the shares, owner only', async () => {
    mock.on(QueryCommand).resolves({ Items: [{ itemId: 'u2', sharedAt: NOW.toISOString(), access: 'read' }] });
    const list = await call(request('GET /calendars/{userId}/shares', { caller: 'u1' }));
    expect(list).toMatchObject({ status: 200, body: { shares: [{ userId: 'u2', access: 'read' }] } });
    expect((await call(request('GET /calendars/{userId}/shares', { caller: 'u2' }))).status).toBe(403);
  });
});

test('no request crashes the API: anything malformed gets a 4xx, never a 500', async () => {
  mock.on(GetCommand).resolves({});
  mock.on(QueryCommand).resolves({ Items: [] });
  mock.on(PutCommand).resolves({});
  mock.on(UpdateCommand).resolves({});
  const routes = [
    'POST /calendars/{userId}/events',
    'GET /calendars/{userId}/events',
    'PUT /calendars/{userId}/events/{eventId}',
    'PATCH /calendars/{userId}/events/{eventId}',
    'PUT /calendars/{userId}/shares/{otherUserId}',
  ];
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...routes),
      fc.oneof(
        fc.json(),
        fc.string(),
        fc.record({ title: fc.string(), start: fc.string(), end: fc.string() }).map((v) => JSON.stringify(v)),
      ),
      fc.dictionary(fc.constantFrom('from', 'to', 'limit', 'nextToken'), fc.string()),
      fc.option(fc.string(), { nil: undefined }),
      async (routeKey, body, query, ifMatch) => {
        const response = await api({
          ...request(routeKey, { caller: 'u1', path: { eventId: ID_A, otherUserId: 'u2' }, query }),
          body,
          headers: ifMatch === undefined ? {} : { 'if-match': ifMatch },
        });
        expect(response.statusCode).toBeLessThan(500);
      },
    ),
    { numRuns: 300 },
  );
});

describe('the sample events in events/ (npm run invoke -- CalendarApiFunction events/calendar-….json)', () => {
  const sample = (name: string) =>
    JSON.parse(readFileSync(join(__dirname, '..', '..', 'events', `${name}.json`), 'utf8')) as HttpEvent;

  test('calendar-create-event.json creates the PRODUCT.md Standup', async () => {
    mock.on(PutCommand).resolves({});
    const response = await call(sample('calendar-create-event'));
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ title: 'Standup', version: 1, ownerId: 'u1', timeZone: 'Europe/Paris' });
  });

  test('calendar-list-events.json asks for one week', async () => {
    mock.on(QueryCommand).resolves({ Items: [] });
    expect(await call(sample('calendar-list-events'))).toMatchObject({ status: 200, body: { events: [] } });
    expect(mock.commandCalls(QueryCommand)[0]?.args[0].input.ExpressionAttributeValues?.[':highest']).toBe(
      '2026-12-07T23:59:59.999Z',
    );
  });

  test('calendar-patch-event.json moves version 1 of an event by half an hour', async () => {
    const event = sample('calendar-patch-event');
    const eventId = event.pathParameters?.eventId as string;
    mock.on(GetCommand).resolves({ Item: item(stored(eventId, 1)) });
    mock.on(UpdateCommand).callsFake((input) => ({
      Attributes: { ...item(stored(eventId, 2)), start: input.ExpressionAttributeValues[':start'] },
    }));
    expect(await call(event)).toMatchObject({ status: 200, body: { start: '2026-12-01T09:30:00Z', version: 2 } });
  });

  test('calendar-share.json shares u1’s calendar with u2', async () => {
    mock.on(UpdateCommand).resolves({});
    expect(await call(sample('calendar-share'))).toMatchObject({ status: 201, body: { userId: 'u2', access: 'read' } });
  });
});
