import { createServer } from 'node:http';
import {
  ApiGatewayManagementApiClient,
  ApiGatewayManagementApiServiceException,
  ForbiddenException,
  GoneException,
  LimitExceededException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { mockClient } from 'aws-sdk-client-mock';
import { createManagementApiClient } from '../../src/adapters/aws-clients';
import { classifyPostError, createConnectionSender } from '../../src/adapters/connection-sender';
import { exceptionOf } from '../../src/adapters/signed-poster';

const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });
const gone = () => new GoneException({ ...meta(410), message: 'Gone' });
const throttled = () => new LimitExceededException({ ...meta(429), message: 'Too Many Requests' });
const tooLarge = () => new PayloadTooLargeException({ ...meta(413), message: 'Message too long' });
const serverError = () =>
  new ApiGatewayManagementApiServiceException({
    name: 'InternalServerErrorException',
    $fault: 'server',
    ...meta(500),
    message: 'Internal',
  });

function senderWith(client: ApiGatewayManagementApiClient, now = () => 0) {
  return createConnectionSender({ client, sleep: async () => undefined, random: () => 0.5, now });
}

describe('classifying PostToConnection errors (by class and name, never statusCode)', () => {
  test.each([
    ['GoneException', gone(), 'gone'],
    ['PayloadTooLargeException', tooLarge(), 'tooLarge'],
    ['LimitExceededException', throttled(), 'retry'],
    ['a 5xx', serverError(), 'retry'],
    ['a socket reset', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'retry'],
    ['ForbiddenException', new ForbiddenException({ ...meta(403), message: 'Forbidden' }), 'failed'],
    ['our abort', Object.assign(new Error('aborted'), { name: 'AbortError' }), 'failed'],
    ['a string', 'weird', 'failed'],
  ])('%s → %s', (_name, error, kind) => {
    expect(classifyPostError(error)).toBe(kind);
  });

  test('an SDK v2-style statusCode alone does not count as gone', () => {
    expect(classifyPostError(Object.assign(new Error('x'), { statusCode: 410 }))).toBe('failed');
  });
});

describe('ConnectionSender', () => {
  const client = new ApiGatewayManagementApiClient({ region: 'eu-west-1', endpoint: 'http://localhost:3001/develop' });
  const mock = mockClient(client);
  const data = Buffer.from('{"type":"pong"}');
  beforeEach(() => mock.reset());

  test('posts the bytes to the connection', async () => {
    mock.on(PostToConnectionCommand).resolves({});
    expect(await senderWith(client).post('c1', data)).toEqual({ status: 'sent', attempts: 1 });
    expect(mock.commandCalls(PostToConnectionCommand)[0]?.args[0].input).toEqual({ ConnectionId: 'c1', Data: data });
  });

  test('429 then 500 then 200 → sent after retries', async () => {
    mock.on(PostToConnectionCommand).rejectsOnce(throttled()).rejectsOnce(serverError()).resolves({});
    expect(await senderWith(client).post('c1', data)).toEqual({ status: 'sent', attempts: 3 });
  });

  test('410 → gone at once; 413 → tooLarge at once', async () => {
    mock.on(PostToConnectionCommand).rejects(gone());
    expect(await senderWith(client).post('c1', data)).toEqual({ status: 'gone', attempts: 1 });
    mock.reset();
    mock.on(PostToConnectionCommand).rejects(tooLarge());
    expect(await senderWith(client).post('c1', data)).toEqual({ status: 'tooLarge', attempts: 1 });
  });

  test('throttled every time → failed (retryable) after the attempt limit', async () => {
    mock.on(PostToConnectionCommand).rejects(throttled());
    const result = await senderWith(client).post('c1', data);
    expect(result).toMatchObject({ status: 'failed', attempts: 8, retryable: true });
    expect(mock.commandCalls(PostToConnectionCommand)).toHaveLength(8);
  });

  test('no retry starts past the deadline', async () => {
    mock.on(PostToConnectionCommand).rejects(throttled());
    const result = await senderWith(client, () => 1000).post('c1', data, { deadline: 1001 });
    expect(result).toMatchObject({ status: 'failed', attempts: 1, retryable: true });
  });

  test('403 → failed without retry', async () => {
    mock.on(PostToConnectionCommand).rejects(new ForbiddenException({ ...meta(403), message: 'Forbidden' }));
    expect(await senderWith(client).post('c1', data)).toMatchObject({
      status: 'failed',
      attempts: 1,
      retryable: false,
    });
  });
});

describe('the deadline bounds every attempt, not only the pauses between them', () => {
  test('a throttled post followed by a slow answer gives up at the deadline', async () => {
    let calls = 0;
    const server = createServer((request, response) => {
      request.resume();
      calls++;
      if (calls === 1) {
        response.writeHead(429, { 'x-amzn-ErrorType': 'LimitExceededException', 'content-type': 'application/json' });
        response.end('{"message":"Too Many Requests"}');
        return;
      }
      setTimeout(() => response.writeHead(200).end(), 2000).unref();
    });
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', () => listening()));
    const { port } = server.address() as { port: number };
    const client = createManagementApiClient({
      endpoint: `http://127.0.0.1:${port}/develop`,
      maxSockets: 4,
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    try {
      const started = Date.now();
      const result = await createConnectionSender({ client }).post('c1', new Uint8Array([1]), {
        deadline: started + 300,
      });
      expect(result.status).toBe('failed');
      expect(calls).toBe(2);
      expect(Date.now() - started).toBeLessThan(800);
    } finally {
      client.destroy();
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('the signed poster maps answers to the SDK exception classes', () => {
  test.each([
    [410, undefined, GoneException, 'gone'],
    [413, 'PayloadTooLargeException', PayloadTooLargeException, 'tooLarge'],
    [429, 'LimitExceededException:http://internal.amazon.com/coral/', LimitExceededException, 'retry'],
    [403, 'ForbiddenException', ForbiddenException, 'failed'],
    [500, 'InternalServerErrorException', ApiGatewayManagementApiServiceException, 'retry'],
    [502, undefined, ApiGatewayManagementApiServiceException, 'retry'],
    [400, 'BadRequestException', ApiGatewayManagementApiServiceException, 'failed'],
  ] as const)('HTTP %i (%s) → %p, classified %s', (status, errorType, type, kind) => {
    const error = exceptionOf(status, errorType?.split(':')[0], '{"message":"from the server"}');
    expect(error).toBeInstanceOf(type);
    expect(error.message).toBe('from the server');
    expect((error as unknown as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(status);
    expect(classifyPostError(error)).toBe(kind);
  });
});
