import { randomUUID } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  connectionIdOf,
  refusedHandshake,
  signToken,
  startTestPlatform,
  type TestPlatform,
} from '@real-time-platform/test-support';

// AuthMode=jwt end to end: the real template (and, for the HTTP API, a fixture wired the same way) started as
// `RTP_JWT_SECRET=… npm start -- --auth jwt` starts it, driven by real WebSocket and HTTP clients and checked in
// DynamoDB Local.

const AUDIENCE = 'rtp-auth-test';
// Unique per run.
const run = randomUUID().slice(0, 8);
const now = () => Math.floor(Date.now() / 1000);
/** A token signed with a secret the platform does not know. */
const forged = (userId: string) => signToken(`another-secret-${randomUUID()}`, { sub: userId, aud: AUDIENCE });

describe('WebSocket $connect with AuthMode=jwt (template.yaml)', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform({ auth: 'jwt', parameterOverrides: { JwtAudience: AUDIENCE } });
  });

  afterAll(async () => {
    await platform?.stop();
  });

  /** The HTTP status a handshake with this query string is refused with. */
  async function refusedWith(query: string): Promise<number> {
    return (await refusedHandshake(`${platform.urls.webSocket}?${query}`)).status;
  }

  /** Connection ids subscribed to a key (the subscribersByKey index). */
  const subscribersOf = (key: string) => platform.connectionTable.subscribersOf(key);

  /** Connection ids of a user (the connectionsByUser index). */
  const connectionsOf = (userId: string) => platform.connectionTable.connectionsOf(userId);

  async function presenceRowOf(userId: string) {
    const { Item } = await platform.aws.dynamodb.send(
      new GetItemCommand({
        TableName: platform.tableName('RealTimeDataTable'),
        Key: { realTimeItemKey: { S: `presence:${userId}` }, itemId: { S: 'state' } },
        ConsistentRead: true,
      }),
    );
    return Item;
  }

  test('no token, a bad signature or an expired token: 401; another audience: 403; nothing is stored', async () => {
    const key = `auth-${run}-refused`;
    const user = `refused-${run}`;
    const expectations: [string, number][] = [
      [`realTimeItemKey=${key}`, 401],
      [`realTimeItemKey=${key}&token=`, 401],
      [`realTimeItemKey=${key}&token=not.a.jwt`, 401],
      [`realTimeItemKey=${key}&token=${await forged(user)}`, 401],
      [`realTimeItemKey=${key}&token=${(await platform.signIn(user, { exp: now() - 60 })).token}`, 401],
      [`realTimeItemKey=${key}&token=${(await platform.signIn(user, { aud: 'another-app' })).token}`, 403],
    ];
    const statuses: [string, number][] = [];
    for (const [query, _expected] of expectations) statuses.push([query, await refusedWith(query)]);
    expect(statuses).toEqual(expectations);

    expect(await subscribersOf(key)).toEqual([]);
    expect(await connectionsOf(user)).toEqual([]);
    expect(await presenceRowOf(user)).toBeUndefined();
  });

  test('a good token connects; the connection row carries the user, and later routes know the caller', async () => {
    const key = `auth-${run}-accepted`;
    const user = `accepted-${run}`;
    const socket = await (await platform.signIn(user)).connect([key]);

    const connectionId = await connectionIdOf(socket);

    const Items = await platform.connectionTable.rowsOf(connectionId);
    const own = Items.find((row) => row.realTimeItemKey?.S?.startsWith('$connection#'));
    expect(own?.userId).toEqual({ S: user });
    expect(await subscribersOf(key)).toEqual([connectionId]);
    expect(await connectionsOf(user)).toEqual([connectionId]);

    // The authorizer's answer reaches later routes: the user's own friends: key is theirs, someone else's is not.
    socket.send({ action: 'subscribe', keys: [`friends:${user}`] });
    expect(await socket.next((frame) => frame.type === 'subscribed')).toEqual({
      type: 'subscribed',
      keys: [`friends:${user}`],
    });
    socket.send({ action: 'subscribe', keys: [`friends:someone-else-${run}`] });
    expect(await socket.next((frame) => frame.type === 'error')).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
    socket.close();
  });

  test("the template's user routes refuse requests without a good Bearer token before their function runs", async () => {
    const presence = (authorization?: string) =>
      fetch(`${platform.urls.httpApi}/presence/u1`, { headers: authorization ? { authorization } : {} }).then(
        async (response) => ({ status: response.status, body: await response.json() }),
      );
    expect(await presence()).toEqual({ status: 401, body: { message: 'Unauthorized' } });
    expect(await presence(`Bearer ${await forged('u1')}`)).toEqual({
      status: 403,
      body: { message: 'Forbidden' },
    });
  });
});

describe('HTTP API user routes with the JWT authorizer (fixture wired as template.yaml)', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform({
      templatePath: 'test/fixtures/templates/http-authorizer.yaml',
      auth: 'jwt',
      parameterOverrides: { JwtAudience: AUDIENCE },
    });
  });

  afterAll(async () => {
    await platform?.stop();
  });

  async function get(path: string, authorization?: string) {
    const response = await fetch(`${platform.urls.httpApi}${path}`, {
      headers: authorization === undefined ? {} : { authorization },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  test('no Authorization header: 401; a bad, expired or foreign token: 403; a good one reaches the function', async () => {
    expect(await get('/me')).toEqual({ status: 401, body: { message: 'Unauthorized' } });
    for (const bad of [
      'Bearer not.a.jwt',
      `Bearer ${await forged('u1')}`,
      `Bearer ${(await platform.signIn('u1', { exp: now() - 60 })).token}`,
      `Bearer ${(await platform.signIn('u1', { aud: 'another-app' })).token}`,
      `Basic ${Buffer.from('u1:password').toString('base64')}`,
    ]) {
      expect(await get('/me', bad)).toEqual({ status: 403, body: { message: 'Forbidden' } });
    }
    expect(await get('/me', (await platform.signIn('u1')).headers.authorization)).toEqual({
      status: 200,
      body: { caller: { userId: 'u1' }, authorizer: { lambda: { userId: 'u1' } } },
    });
  });

  test('a route without authorization stays open and anonymous', async () => {
    expect(await get('/open')).toEqual({ status: 200, body: { caller: null, authorizer: null } });
  });
});
