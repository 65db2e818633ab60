import { createServer } from 'node:net';
import { freePort } from '@real-time-platform/test-support';
import { type HttpApiEventV2, type RunningHttpApi, startHttpApi } from '../../src/http';
import { PortInUseError } from '../../src/ports';
import type { HttpRouteSpec, InvocationOutcome, Invoker, LocalLogger } from '../../src/types';
import { silentLogger } from '../../src/types';

type Handler = (event: HttpApiEventV2) => Promise<unknown> | unknown;

/** A tiny in-process Invoker: runs the given handlers and reports throws as Lambda would. */
function fakeInvoker(handlers: Record<string, Handler>) {
  const events: { functionId: string; event: HttpApiEventV2; trigger: string }[] = [];
  const invoker: Invoker = {
    async invoke(functionId, event, trigger): Promise<InvocationOutcome> {
      events.push({ functionId, event: event as HttpApiEventV2, trigger });
      const handler = handlers[functionId];
      if (!handler) throw new Error(`no fake handler for ${functionId}`);
      try {
        return { ok: true, result: await handler(event as HttpApiEventV2), durationMs: 1, requestId: 'req-1' };
      } catch (error) {
        const e = error as Error;
        return {
          ok: false,
          error: { errorType: e.name, errorMessage: e.message, stack: e.stack?.split('\n') },
          durationMs: 1,
          requestId: 'req-1',
        };
      }
    },
  };
  return { invoker, events };
}

const routes: HttpRouteSpec[] = [
  { functionId: 'GetItem', eventId: 'GetItem', method: 'GET', path: '/items/{key}/{itemId}' },
  { functionId: 'GetItems', eventId: 'GetItems', method: 'GET', path: '/items/{key}' },
  { functionId: 'PutItems', eventId: 'PutItems', method: 'POST', path: '/items' },
  { functionId: 'Echo', eventId: 'Echo', method: 'ANY', path: '/echo/{proxy+}' },
  { functionId: 'Fail', eventId: 'Fail', method: 'GET', path: '/fail' },
  { functionId: 'Slow', eventId: 'Slow', method: 'GET', path: '/slow' },
  { functionId: 'Malformed', eventId: 'Malformed', method: 'GET', path: '/malformed' },
  { functionId: 'Legacy', eventId: 'Legacy', method: 'GET', path: '/v1/{id}', payloadFormatVersion: '1.0' },
];

const handlers: Record<string, Handler> = {
  GetItem: (event) => ({ key: event.pathParameters?.key, itemId: event.pathParameters?.itemId }),
  GetItems: () => 'plain text result',
  PutItems: (event) => ({
    statusCode: 201,
    headers: { 'content-type': 'application/json', 'x-created': '1' },
    cookies: ['seen=1; Path=/', 'lang=en'],
    body: JSON.stringify({ received: event.body, isBase64Encoded: event.isBase64Encoded }),
  }),
  Echo: (event) => ({
    statusCode: 200,
    headers: { 'content-type': 'application/octet-stream' },
    body: event.body ?? '',
    isBase64Encoded: event.isBase64Encoded,
  }),
  Fail: () => {
    throw new TypeError('handler blew up');
  },
  Slow: () => new Promise((resolve) => setTimeout(() => resolve({ late: true }), 500)),
  Malformed: () => ({ statusCode: 200, body: { forgot: 'to stringify' } }),
  Legacy: (event) => {
    const v1 = event as unknown as { version: string; pathParameters: { id: string } };
    return {
      statusCode: 200,
      multiValueHeaders: { 'Set-Cookie': ['a=1', 'b=2'] },
      body: `${v1.version} ${v1.pathParameters.id}`,
    };
  },
};

describe('local HTTP API (payload format 2.0) over real HTTP', () => {
  let api: RunningHttpApi;
  let fake: ReturnType<typeof fakeInvoker>;
  const logged: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  const logger: LocalLogger = {
    debug: () => {},
    info: () => {},
    warn: (message, fields) => logged.push({ level: 'warn', message, fields }),
    error: (message, fields) => logged.push({ level: 'error', message, fields }),
  };

  beforeAll(async () => {
    fake = fakeInvoker(handlers);
    api = await startHttpApi({
      host: '127.0.0.1',
      port: 0,
      routes,
      invoker: fake.invoker,
      logger,
      region: 'eu-west-1',
      accountId: '123456789012',
      apiId: 'a1b2c3d4e5',
      health: () => ({ tables: 2 }),
      integrationTimeoutMs: 200,
    });
  });

  afterAll(async () => {
    await api.close();
  });

  beforeEach(() => {
    fake.events.length = 0;
    logged.length = 0;
  });

  it('answers GET /health without any template route', async () => {
    const res = await fetch(`${api.url}/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ status: 'ok', tables: 2 });
  });

  it('routes to the most specific route and sends an AWS-shaped event', async () => {
    // Act
    const res = await fetch(`${api.url}/items/presence%3Au1/latest?x=1&x=2`, {
      headers: { cookie: 'a=1; b=2', 'x-trace': 'on' },
    });

    // Assess: what the client sees
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('apigw-requestid')).toMatch(/^[A-Za-z0-9+/]{15}=$/);
    expect(await res.json()).toEqual({ key: 'presence:u1', itemId: 'latest' });

    // … and what the function got
    const [call] = fake.events;
    expect(call?.functionId).toBe('GetItem');
    expect(call?.trigger).toBe('GET /items/{key}/{itemId}');
    const event = call?.event as HttpApiEventV2;
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'GET /items/{key}/{itemId}',
      rawPath: '/items/presence%3Au1/latest',
      rawQueryString: 'x=1&x=2',
      cookies: ['a=1', 'b=2'],
      queryStringParameters: { x: '1,2' },
      pathParameters: { key: 'presence:u1', itemId: 'latest' },
      isBase64Encoded: false,
      requestContext: {
        accountId: '123456789012',
        apiId: 'a1b2c3d4e5',
        stage: '$default',
        routeKey: 'GET /items/{key}/{itemId}',
        requestId: res.headers.get('apigw-requestid'),
        http: { method: 'GET', path: '/items/presence%3Au1/latest', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1' },
      },
    });
    expect(event.headers['x-trace']).toBe('on');
    expect(event.headers).not.toHaveProperty('cookie');
    expect(event.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(Math.abs(event.requestContext.timeEpoch - Date.now())).toBeLessThan(5000);
    expect(event).not.toHaveProperty('body');
  });

  it('maps a string result to a 200 body', async () => {
    const res = await fetch(`${api.url}/items/3`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('plain text result');
  });

  it('maps statusCode, headers and cookies (one Set-Cookie each) and passes JSON bodies as text', async () => {
    const res = await fetch(`${api.url}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"realTimeItemKey":"3"}',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-created')).toBe('1');
    expect(res.headers.getSetCookie()).toEqual(['seen=1; Path=/', 'lang=en']);
    expect(await res.json()).toEqual({ received: '{"realTimeItemKey":"3"}', isBase64Encoded: false });
  });

  it('base64-encodes binary request bodies and decodes base64 responses', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252, 253, 254, 255]);
    const res = await fetch(`${api.url}/echo/deep/path`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(bytes);
    expect(fake.events[0]?.event).toMatchObject({
      routeKey: 'ANY /echo/{proxy+}',
      pathParameters: { proxy: 'deep/path' },
      isBase64Encoded: true,
      body: bytes.toString('base64'),
    });
  });

  it('sends format 1.0 events to routes that ask for them', async () => {
    const res = await fetch(`${api.url}/v1/42`);
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await res.text()).toBe('1.0 42');
  });

  it('answers 404 {"message":"Not Found"} when no route matches', async () => {
    const res = await fetch(`${api.url}/nowhere`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ message: 'Not Found' });
    // HTTP APIs do not answer HEAD from a GET route.
    expect((await fetch(`${api.url}/items/3`, { method: 'HEAD' })).status).toBe(404);
    expect(fake.events).toEqual([]);
  });

  it('answers 413 for bodies over 10 MB without invoking the function', async () => {
    const res = await fetch(`${api.url}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.alloc(10 * 1024 * 1024 + 1, 0x20),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ message: 'Request Entity Too Large' });
    expect(fake.events).toEqual([]);
  });

  it('answers 413 for a streamed (chunked) body that grows past 10 MB', async () => {
    // Prepare: no content-length, so the limit is found while reading.
    const chunk = new Uint8Array(1024 * 1024).fill(0x20);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 11) controller.enqueue(chunk);
        else controller.close();
      },
    });

    // Act
    const res = await fetch(`${api.url}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);

    // Assess
    expect(res.status).toBe(413);
    expect(fake.events).toEqual([]);
  });

  it('accepts a body of exactly 10 MB', async () => {
    const res = await fetch(`${api.url}/echo/big`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: Buffer.alloc(10 * 1024 * 1024, 0x61),
    });
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(10 * 1024 * 1024);
  });

  it('answers 500 Internal Server Error when the function throws, logs the stack, and keeps serving', async () => {
    const res = await fetch(`${api.url}/fail`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ message: 'Internal Server Error' });
    expect(logged[0]).toMatchObject({
      level: 'error',
      fields: { errorType: 'TypeError', errorMessage: 'handler blew up' },
    });
    expect(String(logged[0]?.fields?.stack)).toContain('handler blew up');

    expect((await fetch(`${api.url}/health`)).status).toBe(200);
  });

  it('answers 500 for a malformed response and says why in the log', async () => {
    const res = await fetch(`${api.url}/malformed`);
    expect(res.status).toBe(500);
    expect(logged[0]?.message).toContain('body must be a string');
  });

  it('answers 503 when the function outlives the integration timeout', async () => {
    const res = await fetch(`${api.url}/slow`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ message: 'Service Unavailable' });
  });

  it('says which port is taken and how to pick another', async () => {
    // Prepare: hold a port.
    const port = await freePort();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      // Act
      const starting = startHttpApi({
        host: '127.0.0.1',
        port,
        routes: [],
        invoker: fake.invoker,
        logger: silentLogger,
        region: 'eu-west-1',
        accountId: '123456789012',
      });

      // Assess
      await expect(starting).rejects.toThrow(PortInUseError);
      await expect(starting).rejects.toThrow(`Port ${port} (HTTP API) is already in use`);
      await expect(starting).rejects.toThrow('--http-port <port>');
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});

describe('local HTTP API with CORS configured', () => {
  let api: RunningHttpApi;

  beforeAll(async () => {
    api = await startHttpApi({
      host: '127.0.0.1',
      port: 0,
      routes: [
        { functionId: 'Hello', eventId: 'Hello', method: 'GET', path: '/hello' },
        { functionId: 'OwnCors', eventId: 'OwnCors', method: 'DELETE', path: '/hello' },
      ],
      invoker: fakeInvoker({
        Hello: () => ({ hello: 'world' }),
        OwnCors: () => ({ statusCode: 204, headers: { 'access-control-allow-origin': '*' } }),
      }).invoker,
      logger: silentLogger,
      region: 'eu-west-1',
      accountId: '123456789012',
      cors: {
        allowOrigins: ['https://app.example.com', 'https://*.preview.example.com'],
        allowMethods: ['GET', 'POST'],
        allowHeaders: ['content-type', 'authorization'],
        exposeHeaders: ['x-request-id'],
        maxAge: 600,
      },
    });
  });

  afterAll(async () => {
    await api.close();
  });

  it('answers a preflight itself, even without an OPTIONS route', async () => {
    const res = await fetch(`${api.url}/hello`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://pr-7.preview.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://pr-7.preview.example.com');
    expect(res.headers.get('access-control-allow-methods')).toBe('GET,POST');
    expect(res.headers.get('access-control-allow-headers')).toBe('content-type,authorization');
    expect(res.headers.get('access-control-max-age')).toBe('600');
  });

  it('gives no CORS headers to an origin it does not allow', async () => {
    const res = await fetch(`${api.url}/hello`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.org', 'access-control-request-method': 'GET' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('adds CORS headers to ordinary responses for allowed origins', async () => {
    const res = await fetch(`${api.url}/hello`, { headers: { origin: 'https://app.example.com' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(res.headers.get('access-control-expose-headers')).toBe('x-request-id');
    expect(await res.json()).toEqual({ hello: 'world' });
  });

  it("replaces the function's own CORS headers with the configured ones, as API Gateway does", async () => {
    const res = await fetch(`${api.url}/hello`, { method: 'DELETE', headers: { origin: 'https://evil.example.org' } });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(await res.text()).toBe('');
  });
});

describe('local HTTP API with its own /health and a $default route', () => {
  it('lets a template GET /health win over the built-in one, and sends the rest to $default', async () => {
    // Prepare
    const fake = fakeInvoker({
      Health: () => ({ from: 'template' }),
      Default: (event) => ({ routeKey: event.routeKey }),
    });
    const api = await startHttpApi({
      host: '127.0.0.1',
      port: 0,
      routes: [
        { functionId: 'Health', eventId: 'Health', method: 'GET', path: '/health' },
        { functionId: 'Default', eventId: 'Default', method: 'ANY', path: '$default' },
      ],
      invoker: fake.invoker,
      logger: silentLogger,
      region: 'eu-west-1',
      accountId: '123456789012',
    });
    try {
      // Act
      const health = await (await fetch(`${api.url}/health`)).json();
      const other = await (await fetch(`${api.url}/anything/at/all`, { method: 'PATCH' })).json();

      // Assess
      expect(health).toEqual({ from: 'template' });
      expect(other).toEqual({ routeKey: '$default' });
      expect(fake.events[1]?.event.requestContext.routeKey).toBe('$default');
    } finally {
      await api.close();
    }
  });
});
