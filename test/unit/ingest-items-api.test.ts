import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, type BatchWriteCommandInput, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { createItemIngestor, type ItemPage, type ItemReader } from '../../src/adapters/item-store';
import { createItemsApiHandler, type HttpApiEvent, type HttpApiResult } from '../../src/handlers/logic/items-api';
import { StorageError, ValidationError } from '../../src/lib/errors';
import { captureLog } from '../helpers/fakes';

// The real ingestor over a mocked DynamoDB: items whose vehicleId is "hot" stay unprocessed (throttled).
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
const mock = mockClient(documents);
const ingestor = createItemIngestor({
  ddb: documents,
  tableName: 'RealTimeData',
  keyAttribute: 'vehicleId',
  maxAttempts: 2,
  sleep: async () => undefined,
});

class MemoryReader implements ItemReader {
  items = new Map<string, Record<string, unknown>>();
  failure: Error | undefined;
  lastList: { key: string; limit: number; nextToken?: string } | undefined;
  async get(key: string, itemId: string) {
    if (this.failure) throw this.failure;
    return this.items.get(`${key}/${itemId}`);
  }
  async list(key: string, page: { limit: number; nextToken?: string }): Promise<ItemPage> {
    if (this.failure) throw this.failure;
    this.lastList = { key, ...page };
    if (page.nextToken === 'forged') throw new ValidationError('nextToken is not valid for this key');
    return { items: [...this.items.values()].filter((item) => item.vehicleId === key), nextToken: 'tok' };
  }
  async delete(key: string, itemId: string) {
    if (this.failure) throw this.failure;
    const item = this.items.get(`${key}/${itemId}`);
    this.items.delete(`${key}/${itemId}`);
    return item;
  }
}

let reader: MemoryReader;
let logger: ReturnType<typeof captureLog>;
let api: (event: HttpApiEvent) => Promise<HttpApiResult>;

beforeEach(() => {
  mock.reset();
  mock.on(BatchWriteCommand).callsFake((input: BatchWriteCommandInput) => ({
    UnprocessedItems: {
      RealTimeData: (input.RequestItems?.RealTimeData ?? []).filter((r) => r.PutRequest?.Item?.vehicleId === 'hot'),
    },
  }));
  reader = new MemoryReader();
  logger = captureLog();
  api = createItemsApiHandler({ ingestor, reader, logger, maxBodyBytes: 10_000 });
});

const post = (body: unknown, extra: Partial<HttpApiEvent> = {}) =>
  api({ routeKey: 'POST /items', body: typeof body === 'string' ? body : JSON.stringify(body), ...extra });
const bodyOf = (result: HttpApiResult) => JSON.parse(result.body ?? 'null');

describe('POST /items', () => {
  test('201 with one result per item when every item is written (one item or an array)', async () => {
    const one = await post({ vehicleId: '3', lat: 1 });
    expect(one.statusCode).toBe(201);
    expect(one.headers?.['content-type']).toBe('application/json');
    expect(bodyOf(one)).toEqual({ results: [{ index: 0, status: 'written', key: '3', itemId: 'latest' }] });
    const many = await post([{ vehicleId: '3' }, { vehicleId: '4', itemId: 'x' }]);
    expect(many.statusCode).toBe(201);
    expect(bodyOf(many).results).toHaveLength(2);
  });

  test('207 when some are written and others rejected or failed; each result says why', async () => {
    const result = await post([{ vehicleId: '3' }, { lat: 1 }, { vehicleId: 'hot' }]);
    expect(result.statusCode).toBe(207);
    const { results } = bodyOf(result);
    expect(results[0]).toEqual({ index: 0, status: 'written', key: '3', itemId: 'latest' });
    expect(results[1]).toEqual({ index: 1, status: 'rejected', reason: 'the key attribute "vehicleId" is missing' });
    expect(results[2]).toMatchObject({
      index: 2,
      status: 'failed',
      key: 'hot',
      reason: expect.stringMatching(/retry later/),
    });
  });

  test('400 VALIDATION_FAILED with the per-item results when nothing is valid', async () => {
    const one = await post({ vehicleId: 3 });
    expect(one.statusCode).toBe(400);
    expect(bodyOf(one)).toEqual({
      error: {
        code: 'VALIDATION_FAILED',
        message: 'the item was rejected: the key attribute "vehicleId" must be a string; got a number',
        details: {
          results: [
            { index: 0, status: 'rejected', reason: 'the key attribute "vehicleId" must be a string; got a number' },
          ],
        },
      },
    });
    const many = await post([{}, 'x']);
    expect(bodyOf(many).error).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: 'none of the 2 items is valid; see details.results',
    });
    expect(mock.commandCalls(BatchWriteCommand)).toHaveLength(0);
  });

  test('503 SERVICE_UNAVAILABLE with Retry-After when valid items could not be written and none was', async () => {
    const result = await post([{ vehicleId: 'hot' }, { lat: 1 }]);
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['retry-after']).toBe('1');
    expect(bodyOf(result).error.code).toBe('SERVICE_UNAVAILABLE');
    expect(bodyOf(result).error.details.results.map((r: { status: string }) => r.status)).toEqual([
      'failed',
      'rejected',
    ]);
  });

  test.each([
    ['no body', { routeKey: 'POST /items' }, 400, 'BAD_REQUEST'],
    ['an empty body', { routeKey: 'POST /items', body: '' }, 400, 'BAD_REQUEST'],
    ['invalid JSON', { routeKey: 'POST /items', body: '{"vehicleId":' }, 400, 'INVALID_JSON'],
    ['an empty array', { routeKey: 'POST /items', body: '[]' }, 400, 'BAD_REQUEST'],
    [
      '26 items',
      { routeKey: 'POST /items', body: JSON.stringify(Array.from({ length: 26 }, (_, i) => ({ vehicleId: `${i}` }))) },
      400,
      'TOO_MANY_ITEMS',
    ],
    [
      'a body over the limit',
      { routeKey: 'POST /items', body: JSON.stringify({ vehicleId: '3', x: 'y'.repeat(10_000) }) },
      413,
      'PAYLOAD_TOO_LARGE',
    ],
  ])('%s → %i %s', async (_label, event, status, code) => {
    const result = await api(event);
    expect(result.statusCode).toBe(status);
    expect(bodyOf(result).error.code).toBe(code);
    expect(typeof bodyOf(result).error.message).toBe('string');
  });

  test('a base64-encoded body (API Gateway does that for binary content types) is decoded', async () => {
    const body = Buffer.from(JSON.stringify({ vehicleId: '3' })).toString('base64');
    expect((await post(body, { isBase64Encoded: true })).statusCode).toBe(201);
  });
});

describe('GET and DELETE', () => {
  beforeEach(() => {
    reader.items.set('3/latest', { vehicleId: '3', itemId: 'latest', lat: 1 });
    reader.items.set('a b/x/y', { vehicleId: 'a b', itemId: 'x/y' });
  });

  test('GET /items/{key} → 200 {items, nextToken}; limit defaults to 25', async () => {
    const result = await api({ routeKey: 'GET /items/{key}', pathParameters: { key: '3' } });
    expect(result.statusCode).toBe(200);
    expect(bodyOf(result)).toEqual({ items: [{ vehicleId: '3', itemId: 'latest', lat: 1 }], nextToken: 'tok' });
    expect(reader.lastList).toEqual({ key: '3', limit: 25 });
    await api({
      routeKey: 'GET /items/{key}',
      pathParameters: { key: '3' },
      queryStringParameters: { limit: '100', nextToken: 't' },
    });
    expect(reader.lastList).toEqual({ key: '3', limit: 100, nextToken: 't' });
  });

  test.each(['0', '101', '2.5', 'ten', '', '-1'])('limit=%j → 400 BAD_REQUEST', async (limit) => {
    const result = await api({
      routeKey: 'GET /items/{key}',
      pathParameters: { key: '3' },
      queryStringParameters: { limit },
    });
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result).error.code).toBe('BAD_REQUEST');
  });

  test('a forged nextToken → 400', async () => {
    const result = await api({
      routeKey: 'GET /items/{key}',
      pathParameters: { key: '3' },
      queryStringParameters: { nextToken: 'forged' },
    });
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result).error).toEqual({ code: 'BAD_REQUEST', message: 'nextToken is not valid for this key' });
  });

  test('GET /items/{key}/{itemId} → 200 the item (decoded path parameters), 404 when absent', async () => {
    const found = await api({ routeKey: 'GET /items/{key}/{itemId}', pathParameters: { key: 'a b', itemId: 'x/y' } });
    expect(found.statusCode).toBe(200);
    expect(bodyOf(found)).toEqual({ vehicleId: 'a b', itemId: 'x/y' });
    const missing = await api({ routeKey: 'GET /items/{key}/{itemId}', pathParameters: { key: '3', itemId: 'nope' } });
    expect(missing.statusCode).toBe(404);
    expect(bodyOf(missing).error.code).toBe('NOT_FOUND');
  });

  test('DELETE → 204 without a body, then 404', async () => {
    const event = { routeKey: 'DELETE /items/{key}/{itemId}', pathParameters: { key: '3', itemId: 'latest' } };
    const deleted = await api(event);
    expect(deleted).toEqual({ statusCode: 204 });
    expect((await api(event)).statusCode).toBe(404);
  });

  test.each([
    [{ key: '' }, 'invalid key: a key must not be empty'],
    [{ key: '$connection' }, 'invalid key: keys starting with "$" are reserved by the platform'],
    [{ key: 'k'.repeat(1025) }, 'invalid key: a key must be at most 1024 bytes (UTF-8); got 1025'],
    [{}, 'the path must name a key: /items/{key}'],
  ])('path %j → 400 %s', async (pathParameters, message) => {
    const result = await api({ routeKey: 'GET /items/{key}', pathParameters });
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result).error).toEqual({ code: 'BAD_REQUEST', message });
  });

  test.each([
    ['GET /items/{key}', { key: 'chat:c1' }],
    ['GET /items/{key}/{itemId}', { key: 'presence:u1', itemId: 'state' }],
    ['DELETE /items/{key}/{itemId}', { key: 'calendar:u1', itemId: 'e1' }],
  ])('%s on a platform domain key (%j) → 403 FORBIDDEN, nothing read or deleted', async (routeKey, pathParameters) => {
    reader.items.set('calendar:u1/e1', { vehicleId: 'calendar:u1', itemId: 'e1' });
    const result = await api({ routeKey, pathParameters });
    expect(result.statusCode).toBe(403);
    expect(bodyOf(result).error.code).toBe('FORBIDDEN');
    expect(reader.items.has('calendar:u1/e1')).toBe(true);
    expect(reader.lastList).toBeUndefined();
  });

  test('POST of an item under a platform domain key is rejected, the others written', async () => {
    const result = await post([
      { vehicleId: 'presence:u1', itemId: 'state', status: 'online' },
      { vehicleId: '7', lat: 1 },
    ]);
    expect(result.statusCode).toBe(207);
    const [forged, fine] = bodyOf(result).results;
    expect(forged).toMatchObject({ index: 0, status: 'rejected' });
    expect(forged.reason).toContain('producers cannot write them');
    expect(fine).toMatchObject({ index: 1, status: 'written' });
  });

  test('an oversize itemId → 400', async () => {
    const result = await api({
      routeKey: 'GET /items/{key}/{itemId}',
      pathParameters: { key: '3', itemId: 'i'.repeat(1025) },
    });
    expect(result.statusCode).toBe(400);
  });
});

describe('errors', () => {
  test.each([['GET /health'], ['PUT /items'], [''], ['constructor'], ['__proto__']])(
    'unknown route %j → 404 NOT_FOUND',
    async (routeKey) => {
      const result = await api({ routeKey });
      expect(result.statusCode).toBe(404);
      expect(bodyOf(result).error.code).toBe('NOT_FOUND');
    },
  );

  test('a retryable storage failure → 503 with Retry-After; anything else → 500 without the cause', async () => {
    const event = { routeKey: 'GET /items/{key}/{itemId}', pathParameters: { key: '3', itemId: 'latest' } };
    reader.failure = new StorageError('GetItem failed: ThrottlingException', { retryable: true });
    const busy = await api(event);
    expect(busy.statusCode).toBe(503);
    expect(busy.headers?.['retry-after']).toBe('1');
    reader.failure = new TypeError('secret internals');
    const broken = await api(event);
    expect(broken.statusCode).toBe(500);
    expect(bodyOf(broken)).toEqual({ error: { code: 'INTERNAL_ERROR', message: 'internal error' } });
    expect(broken.body).not.toContain('secret');
    expect(logger.lines.some((line) => line.level === 'error')).toBe(true);
  });

  test('fuzz: any event gets a JSON response with a valid status, never an exception', async () => {
    const routeKey = fc.constantFrom(
      'POST /items',
      'GET /items/{key}',
      'GET /items/{key}/{itemId}',
      'DELETE /items/{key}/{itemId}',
      'x',
    );
    const event = fc.record(
      {
        routeKey,
        body: fc.oneof(fc.string(), fc.json(), fc.constant(null)),
        isBase64Encoded: fc.boolean(),
        pathParameters: fc.oneof(fc.constant(null), fc.dictionary(fc.constantFrom('key', 'itemId'), fc.string())),
        queryStringParameters: fc.oneof(
          fc.constant(null),
          fc.dictionary(fc.constantFrom('limit', 'nextToken'), fc.string()),
        ),
      },
      { requiredKeys: ['routeKey'] },
    );
    await fc.assert(
      fc.asyncProperty(event, async (e) => {
        const result = await api(e as HttpApiEvent);
        expect([200, 201, 204, 207, 400, 404, 413, 503]).toContain(result.statusCode);
        if (result.statusCode !== 204) JSON.parse(result.body ?? '');
      }),
      { numRuns: 300 },
    );
  });
});
