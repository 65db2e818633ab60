import { randomUUID } from 'node:crypto';
import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { type LocalPlatform, silentLogger, startLocalPlatform } from '@real-time-platform/local-runtime';
import { freePort } from '@real-time-platform/test-support';
import { type JWTPayload, SignJWT } from 'jose';
import WebSocket from 'ws';

// AuthMode=jwt end to end: the real template (and, for the HTTP API, a fixture wired the same way) started as
// `npm start -- --auth jwt --jwt-secret …` starts it, driven by real WebSocket and HTTP clients and checked in
// DynamoDB Local.

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const SECRET = `it-secret-${randomUUID()}`;
const AUDIENCE = 'rtp-auth-test';
const CONNECTION_TABLE = 'WebSocketConnectionManager-develop';
const DATA_TABLE = 'RealTimeData-develop';
// Unique per run: the tables are shared with other suites.
const run = randomUUID().slice(0, 8);
const now = () => Math.floor(Date.now() / 1000);

function token(claims: JWTPayload, secret = SECRET): Promise<string> {
  return new SignJWT({ exp: now() + 600, aud: AUDIENCE, ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(secret));
}

function endpoint(): string {
  const value = process.env.DYNAMODB_ENDPOINT;
  if (!value) throw new Error('DYNAMODB_ENDPOINT is not set: run through jest (global setup starts DynamoDB Local)');
  return value;
}

async function start(templatePath: string, parameterOverrides: Record<string, string>): Promise<LocalPlatform> {
  return startLocalPlatform({
    templatePath,
    envJsonPath: 'env.json',
    parameterOverrides,
    functionEnvironment: { JwtAuthorizerFunction: { JWT_SECRET: SECRET } },
    wsPort: await freePort(),
    httpPort: await freePort(),
    dynamodbPort: 0,
    s3Port: 0,
    mqttPort: 0,
    dynamodbEndpoint: endpoint(),
    quietFunctions: true,
    workDir: `.local/test-auth-${run}`,
    logger: silentLogger,
  });
}

describe('WebSocket $connect with AuthMode=jwt (template.yaml)', () => {
  let platform: LocalPlatform;
  let ddb: DynamoDBClient;
  const open: WebSocket[] = [];

  beforeAll(async () => {
    platform = await start('template.yaml', { AuthMode: 'jwt', JwtAudience: AUDIENCE });
    ddb = new DynamoDBClient({ endpoint: endpoint(), region: 'us-east-1', credentials });
  });

  afterAll(async () => {
    for (const socket of open) socket.close();
    ddb?.destroy();
    await platform?.stop();
  });

  /** The handshake's outcome: the open socket, or the HTTP status and body it was refused with. */
  function handshake(query: string): Promise<{ socket: WebSocket } | { status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${platform.urls.webSocket}?${query}`, { perMessageDeflate: false });
      socket.once('open', () => {
        open.push(socket);
        resolve({ socket });
      });
      socket.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      socket.once('error', (error) => reject(error));
    });
  }

  async function refusedWith(query: string): Promise<number> {
    const outcome = await handshake(query);
    if ('socket' in outcome) throw new Error(`the handshake with ${query} was accepted`);
    return outcome.status;
  }

  /** Connection ids subscribed to a key (the subscribersByKey index). */
  async function subscribersOf(key: string): Promise<string[]> {
    const { Items = [] } = await ddb.send(
      new QueryCommand({
        TableName: CONNECTION_TABLE,
        IndexName: 'subscribersByKey',
        KeyConditionExpression: 'realTimeItemKey = :k',
        ExpressionAttributeValues: { ':k': { S: key } },
      }),
    );
    return Items.map((row) => row.connectionId?.S ?? '?');
  }

  /** Connection ids of a user (the connectionsByUser index). */
  async function connectionsOf(userId: string): Promise<string[]> {
    const { Items = [] } = await ddb.send(
      new QueryCommand({
        TableName: CONNECTION_TABLE,
        IndexName: 'connectionsByUser',
        KeyConditionExpression: 'userId = :u',
        ExpressionAttributeValues: { ':u': { S: userId } },
      }),
    );
    return Items.map((row) => row.connectionId?.S ?? '?');
  }

  async function presenceRowOf(userId: string) {
    const { Item } = await ddb.send(
      new GetItemCommand({
        TableName: DATA_TABLE,
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
      [`realTimeItemKey=${key}&token=${await token({ sub: user }, `another-${SECRET}`)}`, 401],
      [`realTimeItemKey=${key}&token=${await token({ sub: user, exp: now() - 60 })}`, 401],
      [`realTimeItemKey=${key}&token=${await token({ sub: user, aud: 'another-app' })}`, 403],
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
    const outcome = await handshake(`realTimeItemKey=${key}&token=${await token({ sub: user })}`);
    if (!('socket' in outcome)) throw new Error(`refused: ${outcome.status} ${outcome.body}`);
    const { socket } = outcome;
    const frames: Record<string, unknown>[] = [];
    socket.on('message', (data) => frames.push(JSON.parse(data.toString()) as Record<string, unknown>));
    const nextFrame = async (match: (frame: Record<string, unknown>) => boolean) => {
      for (let waited = 0; waited < 5000; waited += 20) {
        const index = frames.findIndex(match);
        if (index >= 0) return frames.splice(index, 1)[0] as Record<string, unknown>;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`no matching frame within 5 s; got ${JSON.stringify(frames)}`);
    };

    socket.send(JSON.stringify({ action: 'heartbeat' }));
    const pong = await nextFrame((frame) => frame.type === 'pong');
    const connectionId = String(pong.connectionId);

    const { Items = [] } = await ddb.send(
      new QueryCommand({
        TableName: CONNECTION_TABLE,
        KeyConditionExpression: 'connectionId = :c',
        ExpressionAttributeValues: { ':c': { S: connectionId } },
        ConsistentRead: true,
      }),
    );
    const own = Items.find((row) => row.realTimeItemKey?.S?.startsWith('$connection#'));
    expect(own?.userId).toEqual({ S: user });
    expect(await subscribersOf(key)).toEqual([connectionId]);
    expect(await connectionsOf(user)).toEqual([connectionId]);

    // The authorizer's answer reaches later routes: the user's own friends: key is theirs, someone else's is not.
    socket.send(JSON.stringify({ action: 'subscribe', keys: [`friends:${user}`] }));
    expect(await nextFrame((frame) => frame.type === 'subscribed')).toEqual({
      type: 'subscribed',
      keys: [`friends:${user}`],
    });
    socket.send(JSON.stringify({ action: 'subscribe', keys: [`friends:someone-else-${run}`] }));
    expect(await nextFrame((frame) => frame.type === 'error')).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
  });

  test("the template's user routes refuse requests without a good Bearer token before their function runs", async () => {
    const presence = (authorization?: string) =>
      fetch(`${platform.urls.httpApi}/presence/u1`, { headers: authorization ? { authorization } : {} }).then(
        async (response) => ({ status: response.status, body: await response.json() }),
      );
    expect(await presence()).toEqual({ status: 401, body: { message: 'Unauthorized' } });
    expect(await presence(`Bearer ${await token({ sub: 'u1' }, `another-${SECRET}`)}`)).toEqual({
      status: 403,
      body: { message: 'Forbidden' },
    });
  });
});

describe('HTTP API user routes with the JWT authorizer (fixture wired as template.yaml)', () => {
  let platform: LocalPlatform;

  beforeAll(async () => {
    platform = await start('test/fixtures/templates/http-authorizer.yaml', { JwtAudience: AUDIENCE });
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
      `Bearer ${await token({ sub: 'u1' }, `another-${SECRET}`)}`,
      `Bearer ${await token({ sub: 'u1', exp: now() - 60 })}`,
      `Bearer ${await token({ sub: 'u1', aud: 'another-app' })}`,
      `Basic ${Buffer.from('u1:password').toString('base64')}`,
    ]) {
      expect(await get('/me', bad)).toEqual({ status: 403, body: { message: 'Forbidden' } });
    }
    expect(await get('/me', `Bearer ${await token({ sub: 'u1' })}`)).toEqual({
      status: 200,
      body: { caller: { userId: 'u1' }, authorizer: { lambda: { userId: 'u1' } } },
    });
  });

  test('a route without authorization stays open and anonymous', async () => {
    expect(await get('/open')).toEqual({ status: 200, body: { caller: null, authorizer: null } });
  });
});
