import {
  buildHttpApiEvent,
  buildHttpApiEventV1,
  formatRequestTime,
  isTextContentType,
  mapOutcome,
} from '../../src/http';
import type { InvocationOutcome } from '../../src/types';

const ok = (result: unknown): InvocationOutcome => ({ ok: true, result, durationMs: 1, requestId: 'r' });

const request = (overrides: Partial<Parameters<typeof buildHttpApiEvent>[0]> = {}) => ({
  method: 'GET',
  url: '/items/3?a=1&a=2&b=x%20y&flag',
  rawHeaders: [
    'Host',
    'localhost:3000',
    'User-Agent',
    'curl/8.5.0',
    'X-Multi',
    'one',
    'X-Multi',
    'two',
    'Cookie',
    'session=abc; theme=dark',
    'Connection',
    'keep-alive',
  ],
  httpVersion: '1.1',
  sourceIp: '127.0.0.1',
  localPort: 3000,
  body: Buffer.alloc(0),
  receivedAt: new Date('2026-11-22T15:50:52.123Z'),
  ...overrides,
});

const context = {
  accountId: '123456789012',
  apiId: 'a1b2c3d4e5',
  stage: '$default',
  routeKey: 'GET /items/{key}',
  requestId: 'JKJaXmPLvHcESHA=',
  pathParameters: { key: '3' },
};

describe('buildHttpApiEvent (payload format 2.0)', () => {
  it('shapes a GET like API Gateway', () => {
    // Act
    const event = buildHttpApiEvent(request(), context);

    // Assess
    expect(event).toEqual({
      version: '2.0',
      routeKey: 'GET /items/{key}',
      rawPath: '/items/3',
      rawQueryString: 'a=1&a=2&b=x%20y&flag',
      cookies: ['session=abc', 'theme=dark'],
      headers: {
        host: 'localhost:3000',
        'user-agent': 'curl/8.5.0',
        'x-multi': 'one,two',
        'x-forwarded-for': '127.0.0.1',
        'x-forwarded-port': '3000',
        'x-forwarded-proto': 'http',
        'x-amzn-trace-id': expect.stringMatching(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/),
      },
      queryStringParameters: { a: '1,2', b: 'x y', flag: '' },
      pathParameters: { key: '3' },
      requestContext: {
        accountId: '123456789012',
        apiId: 'a1b2c3d4e5',
        domainName: 'localhost:3000',
        domainPrefix: 'localhost',
        http: { method: 'GET', path: '/items/3', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'curl/8.5.0' },
        requestId: 'JKJaXmPLvHcESHA=',
        routeKey: 'GET /items/{key}',
        stage: '$default',
        time: '22/Nov/2026:15:50:52 +0000',
        timeEpoch: Date.parse('2026-11-22T15:50:52.123Z'),
      },
      isBase64Encoded: false,
    });
  });

  it('leaves out empty cookies, query, path parameters and body', () => {
    const event = buildHttpApiEvent(request({ url: '/health', rawHeaders: ['Host', 'localhost:3000'] }), {
      ...context,
      routeKey: '$default',
      pathParameters: {},
    });
    expect(event).not.toHaveProperty('cookies');
    expect(event).not.toHaveProperty('queryStringParameters');
    expect(event).not.toHaveProperty('pathParameters');
    expect(event).not.toHaveProperty('body');
    expect(event.rawQueryString).toBe('');
  });

  it('passes JSON bodies as text and binary ones base64-encoded', () => {
    const json = buildHttpApiEvent(
      request({
        method: 'POST',
        rawHeaders: ['Content-Type', 'application/json; charset=utf-8'],
        body: Buffer.from('{"a":1}'),
      }),
      context,
    );
    expect(json).toMatchObject({ body: '{"a":1}', isBase64Encoded: false });

    const binary = buildHttpApiEvent(
      request({
        method: 'POST',
        rawHeaders: ['Content-Type', 'image/png'],
        body: Buffer.from([0x89, 0x50, 0x4e, 0x47]),
      }),
      context,
    );
    expect(binary).toMatchObject({ body: 'iVBORw==', isBase64Encoded: true });
  });

  it('gives a chunked upload its content-length and drops hop-by-hop headers', () => {
    const event = buildHttpApiEvent(
      request({
        method: 'POST',
        rawHeaders: ['Content-Type', 'text/plain', 'Transfer-Encoding', 'chunked'],
        body: Buffer.from('hello'),
      }),
      context,
    );
    expect(event.headers['content-length']).toBe('5');
    expect(event.headers).not.toHaveProperty('transfer-encoding');
  });

  it.each([
    ['text/plain', true],
    ['text/csv; charset=utf-8', true],
    ['application/json', true],
    ['application/xml', true],
    ['application/javascript', true],
    ['application/x-www-form-urlencoded', false],
    ['application/octet-stream', false],
    ['multipart/form-data; boundary=x', false],
    [undefined, false],
  ])('treats %s as text: %s', (contentType, text) => {
    expect(isTextContentType(contentType)).toBe(text);
  });

  it('formats request times like API Gateway', () => {
    expect(formatRequestTime(new Date('2026-01-05T03:04:05Z'))).toBe('05/Jan/2026:03:04:05 +0000');
  });
});

describe('mapOutcome (payload format 2.0 responses)', () => {
  it('turns an object without statusCode into a 200 JSON body', () => {
    const mapped = mapOutcome(ok({ message: 'hi' }));
    expect(mapped.ok).toBe(true);
    expect(mapped.reply.statusCode).toBe(200);
    expect(mapped.reply.headers).toEqual({ 'content-type': 'application/json' });
    expect(mapped.reply.body.toString()).toBe('{"message":"hi"}');
  });

  it('uses a plain string result as the body', () => {
    const mapped = mapOutcome(ok('Hello from Lambda!'));
    expect(mapped.reply).toMatchObject({ statusCode: 200, headers: { 'content-type': 'application/json' } });
    expect(mapped.reply.body.toString()).toBe('Hello from Lambda!');
  });

  it('honours statusCode, headers, cookies and a base64 body', () => {
    const mapped = mapOutcome(
      ok({
        statusCode: 201,
        headers: { 'Content-Type': 'image/png', 'X-Count': 3 },
        cookies: ['a=1; Path=/', 'b=2'],
        body: Buffer.from([1, 2, 3]).toString('base64'),
        isBase64Encoded: true,
      }),
    );
    expect(mapped).toEqual({
      ok: true,
      reply: {
        statusCode: 201,
        headers: { 'content-type': 'image/png', 'x-count': '3' },
        cookies: ['a=1; Path=/', 'b=2'],
        body: Buffer.from([1, 2, 3]),
      },
    });
  });

  it.each([
    [{ statusCode: 200, body: { not: 'a string' } }, 'body must be a string'],
    [{ statusCode: '200', body: 'x' }, 'statusCode must be an integer'],
    [{ statusCode: 200, cookies: 'a=1' }, 'cookies must be an array'],
    [{ statusCode: 200, headers: { a: { b: 1 } } }, 'header "a"'],
  ])('answers 500 for a malformed response %o', (result, problem) => {
    const mapped = mapOutcome(ok(result));
    expect(mapped.ok).toBe(false);
    expect(mapped.reply.statusCode).toBe(500);
    expect(mapped.reply.body.toString()).toBe('{"message":"Internal Server Error"}');
    expect(mapped.ok === false && mapped.problem).toContain(problem);
  });

  it('answers 500 Internal Server Error when the function fails', () => {
    const mapped = mapOutcome({
      ok: false,
      error: { errorType: 'Error', errorMessage: 'Task timed out after 3.00 seconds', timedOut: true },
      durationMs: 3000,
      requestId: 'r',
    });
    expect(mapped.reply.statusCode).toBe(500);
    expect(JSON.parse(mapped.reply.body.toString())).toEqual({ message: 'Internal Server Error' });
  });
});

describe('payload format 1.0 routes', () => {
  it('keeps repeated headers and query parameters in multiValue maps and the cookie as a header', () => {
    const event = buildHttpApiEventV1(request(), context);
    expect(event).toMatchObject({
      version: '1.0',
      resource: '/items/{key}',
      path: '/items/3',
      httpMethod: 'GET',
      headers: { 'x-multi': 'two', cookie: 'session=abc; theme=dark', host: 'localhost:3000' },
      multiValueHeaders: { 'x-multi': ['one', 'two'] },
      queryStringParameters: { a: '2', b: 'x y', flag: '' },
      multiValueQueryStringParameters: { a: ['1', '2'], b: ['x y'], flag: [''] },
      pathParameters: { key: '3' },
      stageVariables: null,
      body: null,
      isBase64Encoded: false,
      requestContext: {
        requestId: 'JKJaXmPLvHcESHA=',
        requestTime: '22/Nov/2026:15:50:52 +0000',
        resourcePath: '/items/{key}',
        stage: '$default',
        identity: { sourceIp: '127.0.0.1', userAgent: 'curl/8.5.0' },
      },
    });
    expect(event.headers).not.toHaveProperty('connection');
  });

  it('answers 500 for a result without statusCode, since 1.0 makes no assumptions', () => {
    const mapped = mapOutcome(ok({ message: 'hi' }), '1.0');
    expect(mapped.ok).toBe(false);
    expect(mapped.reply.statusCode).toBe(500);
  });

  it('sends multiValueHeaders, with each Set-Cookie as its own header', () => {
    const mapped = mapOutcome(
      ok({ statusCode: 200, multiValueHeaders: { 'Set-Cookie': ['a=1', 'b=2'], 'X-Many': ['1', '2'] }, body: 'ok' }),
      '1.0',
    );
    expect(mapped.reply).toMatchObject({ statusCode: 200, cookies: ['a=1', 'b=2'], headers: { 'x-many': '1,2' } });
  });
});
