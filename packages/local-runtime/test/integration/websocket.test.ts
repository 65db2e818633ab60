import { request } from 'node:http';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  ForbiddenException,
  GetConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { WebSocket } from 'ws';
import { silentLogger, type WebSocketApiSpec } from '../../src/types';
import { startWebSocketGateway, type WebSocketGateway, type WebSocketGatewayLimits } from '../../src/websocket';
import { type FakeFunction, FakeInvoker } from '../helpers/fake-invoker';

// Conformance tests for the local API Gateway WebSocket emulation: real `ws` clients, the real management
// API SDK client, and plain functions behind a fake invoker.

const AWS_ID = /^[A-Za-z0-9_-]{15}=$/;
const REQUEST_TIME = /^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/;

const API: WebSocketApiSpec = {
  logicalId: 'RealTimeWebSocketApi',
  apiId: 'a1b2c3d4e5',
  name: 'real-time',
  stage: 'develop',
  routeSelectionExpression: '$request.body.action',
  routes: [
    { routeKey: '$connect', functionId: 'OnConnect' },
    { routeKey: '$disconnect', functionId: 'OnDisconnect' },
    { routeKey: '$default', functionId: 'OnDefault' },
    { routeKey: 'subscribe', functionId: 'OnSubscribe' },
  ],
};

const running: WebSocketGateway[] = [];
const clients: WebSocket[] = [];
const sdkClients: ApiGatewayManagementApiClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.terminate();
  for (const sdk of sdkClients.splice(0)) sdk.destroy();
  await Promise.all(running.splice(0).map((gateway) => gateway.close()));
});

/** A function that fails with `message` (which must never reach the client). */
const throwing =
  (message: string): FakeFunction =>
  () => {
    throw new Error(message);
  };

async function startGateway(
  options: {
    api?: Partial<WebSocketApiSpec>;
    functions?: Record<string, FakeFunction>;
    limits?: Partial<WebSocketGatewayLimits>;
  } = {},
) {
  const invoker = new FakeInvoker({
    OnConnect: () => ({ statusCode: 200 }),
    OnDisconnect: () => ({ statusCode: 200 }),
    OnDefault: () => ({ statusCode: 200 }),
    OnSubscribe: () => ({ statusCode: 200 }),
    ...options.functions,
  });
  const gateway = await startWebSocketGateway({
    host: '127.0.0.1',
    port: 0,
    api: { ...API, ...options.api },
    region: 'eu-west-1',
    accountId: '123456789012',
    invoker,
    logger: silentLogger,
    limits: options.limits,
  });
  running.push(gateway);
  const sdk = new ApiGatewayManagementApiClient({
    endpoint: gateway.managementEndpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'localSecretKey123' },
  });
  sdkClients.push(sdk);
  return { gateway, invoker, sdk };
}

interface ClientSocket {
  ws: WebSocket;
  messages: string[];
  nextMessage(): Promise<string>;
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens a client and collects what it receives; rejects with the HTTP status when the handshake is refused. */
function connect(url: string, options: { headers?: Record<string, string>; protocols?: string[] } = {}) {
  return new Promise<ClientSocket>((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers });
    clients.push(ws);
    const messages: string[] = [];
    const waiting: ((message: string) => void)[] = [];
    ws.on('message', (data) => {
      const text = String(data);
      const waiter = waiting.shift();
      if (waiter) waiter(text);
      else messages.push(text);
    });
    const closed = new Promise<{ code: number; reason: string }>((done) => {
      ws.on('close', (code, reason) => done({ code, reason: reason.toString() }));
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () =>
        reject(Object.assign(new Error('refused'), { status: res.statusCode, body, headers: res.headers })),
      );
    });
    ws.on('error', reject);
    ws.on('open', () =>
      resolve({
        ws,
        messages,
        closed,
        nextMessage: () => {
          const queued = messages.shift();
          if (queued !== undefined) return Promise.resolve(queued);
          return new Promise((done) => waiting.push(done));
        },
      }),
    );
  });
}

/** The refusal of a handshake: status, body and headers. */
async function refusal(url: string, headers?: Record<string, string>) {
  try {
    await connect(url, { headers });
  } catch (err: unknown) {
    return err as { status: number; body: string; headers: Record<string, string> };
  }
  throw new Error('the handshake was accepted');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('$connect', () => {
  test('the event has the shape API Gateway sends, with headers and query string', async () => {
    const { gateway, invoker } = await startGateway();

    await connect(`${gateway.url}?vehicleId=3&vehicleId=4&name=a%20b`, { headers: { 'User-Agent': 'jest-client' } });

    const { event, trigger } = await invoker.waitForCall('OnConnect');
    expect(trigger).toBe('ws $connect');
    const context = event.requestContext;
    expect(context).toMatchObject({
      routeKey: '$connect',
      eventType: 'CONNECT',
      messageDirection: 'IN',
      stage: 'develop',
      apiId: 'a1b2c3d4e5',
      identity: { sourceIp: '127.0.0.1', userAgent: 'jest-client' },
      domainName: `localhost:${gateway.port}`,
    });
    expect(context.connectionId).toMatch(AWS_ID);
    expect(context.requestId).toMatch(AWS_ID);
    expect(context.extendedRequestId).toBe(context.requestId);
    expect(context.requestTime).toMatch(REQUEST_TIME);
    expect(context.requestTimeEpoch).toBe(context.connectedAt);
    expect(Math.abs(context.connectedAt - Date.now())).toBeLessThan(5000);
    expect(context.messageId).toBeUndefined();
    expect(context.authorizer).toBeUndefined();
    expect(event.queryStringParameters).toEqual({ vehicleId: '4', name: 'a b' });
    expect(event.multiValueQueryStringParameters).toEqual({ vehicleId: ['3', '4'], name: ['a b'] });
    expect(event.headers).toMatchObject({ 'User-Agent': 'jest-client', 'X-Forwarded-For': '127.0.0.1' });
    expect(event.headers['Sec-WebSocket-Key']).toEqual(expect.any(String));
    expect(event.headers['X-Amzn-Trace-Id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    expect(event.multiValueHeaders['User-Agent']).toEqual(['jest-client']);
    expect(event.isBase64Encoded).toBe(false);
    expect(gateway.connectionCount()).toBe(1);
  });

  test('without a query string both query maps are null, like AWS', async () => {
    const { gateway, invoker } = await startGateway();

    await connect(gateway.url);

    const { event } = await invoker.waitForCall('OnConnect');
    expect(event.queryStringParameters).toBeNull();
    expect(event.multiValueQueryStringParameters).toBeNull();
  });

  test('upgrades are accepted on the stage path and on /, other paths get 404', async () => {
    const { gateway } = await startGateway();
    const root = `ws://127.0.0.1:${gateway.port}`;

    await connect(`${root}/develop`);
    await connect(`${root}/develop/?x=1`);
    await connect(`${root}/`);
    const wrong = await refusal(`${root}/staging`);

    expect(gateway.connectionCount()).toBe(3);
    expect(wrong.status).toBe(404);
  });

  test('a non-2xx statusCode refuses the handshake with that status and body; nothing is registered', async () => {
    const { gateway, invoker } = await startGateway({
      functions: {
        OnConnect: (event) =>
          event.queryStringParameters?.realTimeItemKey ? { statusCode: 200 } : { statusCode: 400, body: 'invalid key' },
      },
    });

    const refused = await refusal(`${gateway.url}?realTimeItemKey=`);

    expect(refused.status).toBe(400);
    expect(refused.body).toBe('invalid key');
    expect(gateway.connectionCount()).toBe(0);
    // A connection accepted after the refusal, then closed: once its $disconnect has run, one for the refused
    // handshake would have run before it.
    const accepted = await connect(`${gateway.url}?realTimeItemKey=3`);
    const acceptedCall = await invoker.waitForCall(
      'OnConnect',
      (call) => call.event.queryStringParameters?.realTimeItemKey === '3',
    );
    const acceptedId = acceptedCall.event.requestContext.connectionId;
    accepted.ws.close();
    await invoker.waitForCall('OnDisconnect', (call) => call.event.requestContext.connectionId === acceptedId);
    expect(invoker.callsTo('OnDisconnect').map((call) => call.event.requestContext.connectionId)).toEqual([acceptedId]);
  });

  test('a $connect handler that throws refuses the handshake with 500', async () => {
    const { gateway } = await startGateway({ functions: { OnConnect: throwing('boom') } });

    const refused = await refusal(gateway.url);

    expect(refused.status).toBe(500);
    expect(JSON.parse(refused.body)).toEqual({ message: 'Internal server error' });
    expect(refused.body).not.toContain('boom');
    expect(gateway.connectionCount()).toBe(0);
  });

  test('an API without a $connect route accepts every connection', async () => {
    const { gateway, invoker } = await startGateway({
      api: { routes: API.routes.filter((route) => route.routeKey !== '$connect') },
    });

    await connect(gateway.url);

    expect(gateway.connectionCount()).toBe(1);
    expect(invoker.callsTo('OnConnect')).toHaveLength(0);
  });

  test('the Sec-WebSocket-Protocol header returned by $connect selects the subprotocol', async () => {
    const { gateway } = await startGateway({
      functions: { OnConnect: () => ({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'graphql-ws' } }) },
    });

    const client = await connect(gateway.url, { protocols: ['other', 'graphql-ws'] });

    expect(client.ws.protocol).toBe('graphql-ws');
  });

  test('a client that gives up while $connect runs is not registered and gets $disconnect 1006', async () => {
    const { gateway, invoker } = await startGateway({
      functions: { OnConnect: () => sleep(300).then(() => ({ statusCode: 200 })) },
    });
    const ws = new WebSocket(gateway.url);
    clients.push(ws);
    ws.on('error', () => {});

    await sleep(50);
    ws.terminate();

    const { event } = await invoker.waitForCall('OnDisconnect');
    const { event: connectEvent } = await invoker.waitForCall('OnConnect');
    expect(event.requestContext).toMatchObject({
      connectionId: connectEvent.requestContext.connectionId,
      disconnectStatusCode: 1006,
    });
    expect(gateway.connectionCount()).toBe(0);
  });

  test('2,000 clients connecting at once are all accepted', async () => {
    const { gateway } = await startGateway({
      functions: { OnConnect: async () => ({ statusCode: 200 }) },
    });

    const results = await Promise.allSettled(Array.from({ length: 2000 }, () => connect(gateway.url)));

    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(0);
    expect(gateway.connectionCount()).toBe(2000);
  });
});

describe('REQUEST authorizer', () => {
  const authorized = (authorizer: FakeFunction) =>
    startGateway({
      api: { authorizer: { functionId: 'Authorizer', identitySource: ['route.request.querystring.token'] } },
      functions: { Authorizer: authorizer },
    });
  const policy = (effect: 'Allow' | 'Deny', resource: string) => ({
    Version: '2012-10-17',
    Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }],
  });

  test('a missing identity source answers 401 without calling the authorizer', async () => {
    const { gateway, invoker } = await authorized(() => ({ principalId: 'u1', policyDocument: policy('Allow', '*') }));

    const refused = await refusal(gateway.url);

    expect(refused.status).toBe(401);
    expect(refused.body).toBe('{"message":"Unauthorized"}');
    expect(invoker.callsTo('Authorizer')).toHaveLength(0);
    expect(invoker.callsTo('OnConnect')).toHaveLength(0);
  });

  test('a Deny policy answers 403 and $connect never runs', async () => {
    const { gateway, invoker } = await authorized((event) => ({
      principalId: 'u1',
      policyDocument: policy('Deny', event.methodArn),
    }));

    const refused = await refusal(`${gateway.url}?token=bad`);

    expect(refused.status).toBe(403);
    expect(refused.body).toBe('{"Message":"User is not authorized to access this resource with an explicit deny"}');
    expect(invoker.callsTo('OnConnect')).toHaveLength(0);
  });

  test('an authorizer throwing "Unauthorized" answers 401, any other error 500', async () => {
    const { gateway, invoker } = await authorized((event) => {
      throw new Error(event.queryStringParameters.token === 'expired' ? 'Unauthorized' : 'JWKS fetch failed');
    });

    const expired = await refusal(`${gateway.url}?token=expired`);
    const broken = await refusal(`${gateway.url}?token=x`);

    expect(expired.status).toBe(401);
    expect(broken.status).toBe(500);
    expect(broken.body).toBe('{"message":null}');
    expect(invoker.callsTo('OnConnect')).toHaveLength(0);
  });

  test('the authorizer gets a REQUEST event and its context reaches $connect, messages and $disconnect', async () => {
    const { gateway, invoker } = await authorized((event) => ({
      principalId: 'user-1',
      policyDocument: policy('Allow', event.methodArn),
      context: { userId: 'user-1', admin: false, level: 3 },
    }));

    const client = await connect(`${gateway.url}?token=good`);
    client.ws.send('{"action":"subscribe","keys":["3"]}');
    await invoker.waitForCall('OnSubscribe');
    client.ws.close(1000);
    await invoker.waitForCall('OnDisconnect');

    const auth = invoker.callsTo('Authorizer')[0]?.event;
    expect(auth).toMatchObject({
      type: 'REQUEST',
      methodArn: 'arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/develop/$connect',
      queryStringParameters: { token: 'good' },
      requestContext: { routeKey: '$connect', eventType: 'CONNECT', apiId: 'a1b2c3d4e5' },
    });
    expect(auth.headers['Sec-WebSocket-Key']).toEqual(expect.any(String));
    const expected = { principalId: 'user-1', userId: 'user-1', admin: false, level: 3 };
    for (const functionId of ['OnConnect', 'OnSubscribe', 'OnDisconnect']) {
      expect(invoker.callsTo(functionId)[0]?.event.requestContext.authorizer).toMatchObject(expected);
    }
  });
});

describe('messages', () => {
  test('route selection picks the route named by $request.body.action and builds a MESSAGE event', async () => {
    const { gateway, invoker } = await startGateway();
    const client = await connect(gateway.url);
    const { event: connectEvent } = await invoker.waitForCall('OnConnect');

    client.ws.send('{"action":"subscribe","keys":["3"]}');

    const { event, trigger } = await invoker.waitForCall('OnSubscribe');
    expect(trigger).toBe('ws subscribe');
    expect(event.body).toBe('{"action":"subscribe","keys":["3"]}');
    expect(event.isBase64Encoded).toBe(false);
    expect(event.requestContext).toMatchObject({
      routeKey: 'subscribe',
      eventType: 'MESSAGE',
      messageDirection: 'IN',
      connectionId: connectEvent.requestContext.connectionId,
      connectedAt: connectEvent.requestContext.connectedAt,
      stage: 'develop',
    });
    expect(event.requestContext.messageId).toMatch(AWS_ID);
    expect(event.requestContext.requestTime).toMatch(REQUEST_TIME);
    expect(event.headers).toBeUndefined();
  });

  test('non-JSON bodies, unknown actions and reserved route keys go to $default', async () => {
    const { gateway, invoker } = await startGateway();
    const client = await connect(gateway.url);

    client.ws.send('hello');
    client.ws.send('{"action":"nope"}');
    client.ws.send('{"action":"$disconnect"}');
    client.ws.send('{"action":{"nested":true}}');

    await invoker.waitForCall('OnDefault', () => invoker.callsTo('OnDefault').length === 4);
    const routes = invoker.callsTo('OnDefault').map((call) => call.event.requestContext.routeKey);
    expect(routes).toEqual(['$default', '$default', '$default', '$default']);
    expect(invoker.callsTo('OnDisconnect')).toHaveLength(0);
  });

  test('a dotted selection expression reads nested fields', async () => {
    const { gateway, invoker } = await startGateway({ api: { routeSelectionExpression: '$request.body.meta.type' } });
    const client = await connect(gateway.url);

    client.ws.send('{"meta":{"type":"subscribe"}}');

    const { event } = await invoker.waitForCall('OnSubscribe');
    expect(event.requestContext.routeKey).toBe('subscribe');
  });

  test("without a matching route and no $default the client gets API Gateway's Forbidden reply", async () => {
    const { gateway, invoker } = await startGateway({
      api: { routes: API.routes.filter((route) => route.routeKey !== '$default') },
    });
    const client = await connect(gateway.url);
    const { event: connectEvent } = await invoker.waitForCall('OnConnect');

    client.ws.send('{"action":"unknown"}');

    const reply = await client.nextMessage();
    expect(reply).toMatch(/^\{"message": "Forbidden", "connectionId":"[^"]+", "requestId":"[^"]+"\}$/);
    expect(JSON.parse(reply).connectionId).toBe(connectEvent.requestContext.connectionId);
  });

  test('a handler error sends "Internal server error" to the client and the connection stays open', async () => {
    const { gateway } = await startGateway({ functions: { OnSubscribe: throwing('secret detail') } });
    const client = await connect(gateway.url);

    client.ws.send('{"action":"subscribe"}');

    const reply = JSON.parse(await client.nextMessage());
    expect(reply).toEqual({
      message: 'Internal server error',
      connectionId: expect.any(String),
      requestId: expect.any(String),
    });
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
  });

  test('binary frames arrive base64-encoded on $default', async () => {
    const { gateway, invoker } = await startGateway();
    const client = await connect(gateway.url);

    client.ws.send(Buffer.from([0, 1, 2, 255]));

    const { event } = await invoker.waitForCall('OnDefault');
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body, 'base64')).toEqual(Buffer.from([0, 1, 2, 255]));
  });

  test('invocations of one connection run concurrently, as on AWS', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { gateway, invoker } = await startGateway({
      functions: {
        OnSubscribe: () => gate,
        OnDefault: () => release(),
      },
    });
    const client = await connect(gateway.url);

    client.ws.send('{"action":"subscribe"}');
    client.ws.send('second');

    await invoker.waitForCall('OnSubscribe');
    expect(invoker.callsTo('OnDefault')).toHaveLength(1);
  });
});

describe('limits', () => {
  test('a frame over 32 KB closes the connection with 1009', async () => {
    const { gateway, invoker } = await startGateway();
    const client = await connect(gateway.url);

    client.ws.send('x'.repeat(33 * 1024));

    expect((await client.closed).code).toBe(1009);
    const { event } = await invoker.waitForCall('OnDisconnect');
    expect(event.requestContext).toMatchObject({ disconnectStatusCode: 1009, disconnectReason: 'Message too big' });
    expect(invoker.callsTo('OnDefault')).toHaveLength(0);
  });

  test('a message over 128 KB in frames under 32 KB closes with 1009; 96 KB in such frames is fine', async () => {
    const { gateway, invoker } = await startGateway();
    const client = await connect(gateway.url);
    const frame = 'y'.repeat(30 * 1024);

    for (let i = 0; i < 3; i++) client.ws.send(frame, { fin: false });
    client.ws.send(frame.slice(0, 6 * 1024), { fin: true });
    const accepted = await invoker.waitForCall('OnDefault');
    for (let i = 0; i < 5; i++) client.ws.send(frame, { fin: i === 4 });

    expect(accepted.event.body).toHaveLength(96 * 1024);
    expect((await client.closed).code).toBe(1009);
    const { event } = await invoker.waitForCall('OnDisconnect');
    expect(event.requestContext.disconnectStatusCode).toBe(1009);
    expect(invoker.callsTo('OnDefault')).toHaveLength(1);
  });

  test('an idle connection is closed with 1001 "Going away"', async () => {
    const { gateway, invoker } = await startGateway({ limits: { idleTimeoutMs: 300 } });
    const client = await connect(gateway.url);

    const closed = await client.closed;

    expect(closed).toEqual({ code: 1001, reason: 'Going away' });
    const { event } = await invoker.waitForCall('OnDisconnect');
    expect(event.requestContext).toMatchObject({
      eventType: 'DISCONNECT',
      disconnectStatusCode: 1001,
      disconnectReason: 'Going away',
    });
    expect(gateway.connectionCount()).toBe(0);
  });

  test('traffic keeps a connection alive until the hard maximum duration closes it with 1001', async () => {
    const { gateway, invoker } = await startGateway({ limits: { idleTimeoutMs: 200, maxConnectionMs: 700 } });
    const client = await connect(gateway.url);
    const started = Date.now();
    const ticker = setInterval(() => client.ws.send('tick'), 50);

    const closed = await client.closed;
    clearInterval(ticker);

    expect(closed.code).toBe(1001);
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    const { event } = await invoker.waitForCall('OnDisconnect');
    expect(event.requestContext.disconnectStatusCode).toBe(1001);
  });
});

describe('$disconnect', () => {
  test('a client close reports its status code and reason', async () => {
    const { gateway, invoker } = await startGateway();
    const client = await connect(gateway.url);
    const { event: connectEvent } = await invoker.waitForCall('OnConnect');

    client.ws.close(1000, 'bye');

    const { event, trigger } = await invoker.waitForCall('OnDisconnect');
    expect(trigger).toBe('ws $disconnect');
    expect(event.requestContext).toMatchObject({
      routeKey: '$disconnect',
      eventType: 'DISCONNECT',
      disconnectStatusCode: 1000,
      disconnectReason: 'bye',
      connectionId: connectEvent.requestContext.connectionId,
      connectedAt: connectEvent.requestContext.connectedAt,
      identity: connectEvent.requestContext.identity,
    });
    expect(event.requestContext.messageId).toBeUndefined();
    expect(event.requestContext.requestTime).toMatch(REQUEST_TIME);
    expect(event.isBase64Encoded).toBe(false);
  });

  test('a close without a status code reports 1005, a dropped TCP connection 1006', async () => {
    const { gateway, invoker } = await startGateway();
    const quiet = await connect(gateway.url);
    const dropped = await connect(gateway.url);

    quiet.ws.close();
    await invoker.waitForCall('OnDisconnect');
    dropped.ws.terminate();
    await invoker.waitForCall('OnDisconnect', () => invoker.callsTo('OnDisconnect').length === 2);

    const codes = invoker.callsTo('OnDisconnect').map((call) => call.event.requestContext.disconnectStatusCode);
    expect(codes).toEqual([1005, 1006]);
  });

  test('close() closes every socket with 1001 "Going away" and fires $disconnect for each', async () => {
    const { gateway, invoker } = await startGateway();
    const a = await connect(gateway.url);
    const b = await connect(gateway.url);

    await gateway.close();

    expect(await a.closed).toEqual({ code: 1001, reason: 'Going away' });
    expect(await b.closed).toEqual({ code: 1001, reason: 'Going away' });
    const disconnects = invoker.callsTo('OnDisconnect').map((call) => call.event.requestContext);
    expect(disconnects).toHaveLength(2);
    for (const context of disconnects) {
      expect(context).toMatchObject({ disconnectStatusCode: 1001, disconnectReason: 'Going away' });
    }
  });
});

describe('@connections management API (real SDK client)', () => {
  async function connectedClient() {
    const started = await startGateway();
    const client = await connect(started.gateway.url, { headers: { 'User-Agent': 'sdk-test' } });
    const { event } = await started.invoker.waitForCall('OnConnect');
    return { ...started, client, connectionId: event.requestContext.connectionId as string };
  }

  test('PostToConnection delivers the bytes as one text frame', async () => {
    const { sdk, client, connectionId } = await connectedClient();

    const answer = await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: '{"type":"pong"}' }));

    expect(answer.$metadata.httpStatusCode).toBe(200);
    expect(await client.nextMessage()).toBe('{"type":"pong"}');
  });

  test('GetConnection returns connectedAt, identity and lastActiveAt', async () => {
    const { sdk, connectionId, invoker } = await connectedClient();
    const { event } = await invoker.waitForCall('OnConnect');

    const answer = await sdk.send(new GetConnectionCommand({ ConnectionId: connectionId }));

    expect(answer.ConnectedAt).toEqual(new Date(event.requestContext.connectedAt));
    expect(answer.Identity).toEqual({ SourceIp: '127.0.0.1', UserAgent: 'sdk-test' });
    expect(answer.LastActiveAt?.getTime()).toBeGreaterThanOrEqual(event.requestContext.connectedAt);
  });

  test('DeleteConnection closes the socket, fires $disconnect with 1000, and the id is gone afterwards', async () => {
    const { sdk, client, connectionId, invoker, gateway } = await connectedClient();

    const answer = await sdk.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));

    expect(answer.$metadata.httpStatusCode).toBe(204);
    expect((await client.closed).code).toBe(1000);
    const { event } = await invoker.waitForCall('OnDisconnect');
    expect(event.requestContext).toMatchObject({
      connectionId,
      disconnectStatusCode: 1000,
      disconnectReason: 'Connection Closed Normally',
    });
    expect(gateway.connectionCount()).toBe(0);
    await expect(sdk.send(new GetConnectionCommand({ ConnectionId: connectionId }))).rejects.toBeInstanceOf(
      GoneException,
    );
  });

  test('an unknown or closed connection id throws the real GoneException (410)', async () => {
    const { sdk, client, connectionId, invoker } = await connectedClient();
    client.ws.close(1000);
    await invoker.waitForCall('OnDisconnect');

    const errors = await Promise.all([
      sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'late' })).catch((err: unknown) => err),
      sdk
        .send(new PostToConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAAA=', Data: 'x' }))
        .catch((err: unknown) => err),
      sdk.send(new DeleteConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAAA=' })).catch((err: unknown) => err),
      sdk.send(new GetConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAAA=' })).catch((err: unknown) => err),
    ]);

    for (const error of errors) {
      expect(error).toBeInstanceOf(GoneException);
      expect((error as GoneException).$metadata.httpStatusCode).toBe(410);
    }
  });

  test('a payload over 128 KB throws PayloadTooLargeException (413); 128 KB exactly is delivered', async () => {
    const { sdk, client, connectionId } = await connectedClient();

    const tooLarge = await sdk
      .send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'z'.repeat(128 * 1024 + 1) }))
      .catch((err: unknown) => err);
    await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'z'.repeat(128 * 1024) }));

    expect(tooLarge).toBeInstanceOf(PayloadTooLargeException);
    expect((await client.nextMessage()).length).toBe(128 * 1024);
  });

  test('a body that arrives in pieces, cut inside a character, reaches the client whole while its pings get pongs', async () => {
    const { gateway, sdk, client, connectionId } = await connectedClient();
    const message = `{"text":"${'é€😀'.repeat(12_000)}"}`;
    const bytes = Buffer.from(message);
    const cuts = [1, 70_001, 70_002, 100_003, bytes.length];
    let pongs = 0;
    const everyPing = new Promise<void>((resolve) => {
      client.ws.on('pong', () => {
        if (++pongs === cuts.length + 1) resolve();
      });
    });

    const post = request(`http://127.0.0.1:${gateway.port}/develop/@connections/${encodeURIComponent(connectionId)}`, {
      method: 'POST',
      headers: { 'Content-Length': String(bytes.length) },
    });
    const answered = new Promise<number | undefined>((resolve, reject) => {
      post.on('response', (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      post.on('error', reject);
    });
    for (const [i, end] of cuts.entries()) {
      post.write(bytes.subarray(i === 0 ? 0 : cuts[i - 1], end));
      client.ws.ping();
      await sleep(20);
    }
    post.end();
    client.ws.ping();

    expect(await answered).toBe(200);
    expect(await client.nextMessage()).toBe(message);
    await everyPing;
    await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'after' }));
    expect(await client.nextMessage()).toBe('after');
  });

  test('a wrong stage answers ForbiddenException (403)', async () => {
    const { gateway, connectionId } = await connectedClient();
    const wrongStage = new ApiGatewayManagementApiClient({
      endpoint: gateway.managementEndpoint.replace('/develop', '/prod'),
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'localSecretKey123' },
    });
    sdkClients.push(wrongStage);

    const error = await wrongStage
      .send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'x' }))
      .catch((err: unknown) => err);

    expect(error).toBeInstanceOf(ForbiddenException);
  });

  test('other methods and paths answer ForbiddenException; a plain GET on the stage is no upgrade', async () => {
    const { gateway, connectionId } = await connectedClient();
    const base = `http://127.0.0.1:${gateway.port}`;

    const put = await fetch(`${base}/develop/@connections/${encodeURIComponent(connectionId)}`, { method: 'PUT' });
    const other = await fetch(`${base}/develop/somewhere`);
    const plain = await fetch(`${base}/develop`);

    expect(put.status).toBe(403);
    expect(put.headers.get('x-amzn-errortype')).toBe('ForbiddenException');
    expect(await put.json()).toEqual({ message: 'Forbidden' });
    expect(other.status).toBe(403);
    expect(plain.status).toBe(403);
    expect(gateway.connectionCount()).toBe(1);
  });

  test('posts keep a connection from going idle', async () => {
    const { gateway, invoker, sdk } = await startGateway({ limits: { idleTimeoutMs: 300 } });
    // Two clients connected together; only the first is posted to. When the idle timeout closes the second, it
    // would have closed the first too, had the posts not counted as activity.
    const client = await connect(`${gateway.url}?name=posted`);
    const idle = await connect(`${gateway.url}?name=idle`);
    const { event } = await invoker.waitForCall(
      'OnConnect',
      (call) => call.event.queryStringParameters?.name === 'posted',
    );
    const connectionId = event.requestContext.connectionId;
    let idleClosed = false;
    void idle.closed.then(() => {
      idleClosed = true;
    });

    const deadline = Date.now() + 5000;
    for (let i = 0; !idleClosed && Date.now() < deadline; i++) {
      await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: `m${i}` }));
      await sleep(100);
    }

    expect(idleClosed).toBe(true);
    expect(await idle.closed).toEqual({ code: 1001, reason: 'Going away' });
    expect(gateway.connectionCount()).toBe(1);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
  });

  test('connection ids look like AWS ids and are distinct', async () => {
    const { gateway, invoker } = await startGateway();

    await Promise.all(Array.from({ length: 50 }, () => connect(gateway.url)));

    const ids = invoker.callsTo('OnConnect').map((call) => call.event.requestContext.connectionId as string);
    expect(new Set(ids).size).toBe(50);
    for (const id of ids) expect(id).toMatch(AWS_ID);
  });
});
