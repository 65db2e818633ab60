import { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { createItemIngestor, type ItemReader } from '../../src/adapters/item-store';
import { createItemsApiHandler, type HttpApiEvent } from '../../src/handlers/logic/items-api';
import { captureLog } from '../helpers/fakes';

// Poison input through POST /items: whatever a producer sends, the answer is a 2xx or a 4xx naming what is wrong,
// never a 5xx for an item that can never be written. The ingestor runs over the real SDK document client, so the
// real marshaller sees every item; only the HTTP transport answers for DynamoDB (every write accepted).

/** The latest BatchWriteItem body the marshaller produced, and a transport that accepts every write. */
let lastSent = '';
const transport = {
  async handle(request: { body?: unknown }) {
    const body = request.body;
    lastSent = body instanceof Uint8Array ? new TextDecoder().decode(body) : String(body);
    return {
      response: {
        statusCode: 200,
        headers: { 'content-type': 'application/x-amz-json-1.0' },
        body: Readable.from([Buffer.from('{"UnprocessedItems":{}}')]),
      },
    };
  },
};
const documents = DynamoDBDocumentClient.from(
  new DynamoDBClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: transport as never,
  }),
);
const noReads: ItemReader = {
  get: async () => undefined,
  list: async () => ({ items: [] }),
  delete: async () => undefined,
};
const api = createItemsApiHandler({
  ingestor: createItemIngestor({
    ddb: documents,
    tableName: 'RealTimeData',
    keyAttribute: 'realTimeItemKey',
    sleep: async () => undefined,
  }),
  reader: noReads,
  logger: captureLog(),
  maxBodyBytes: 4 * 1024 * 1024,
});
const post = (body: string) => api({ routeKey: 'POST /items', body } as HttpApiEvent);

interface Result {
  index: number;
  status: string;
  reason?: string;
}
const resultsOf = (body: string | undefined): Result[] => {
  const parsed = JSON.parse(body ?? '{}') as { results?: Result[]; error?: { details?: { results?: Result[] } } };
  return parsed.results ?? parsed.error?.details?.results ?? [];
};

/** Names a hostile producer would try, plus ordinary ones. */
const attributeName = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 8 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'aws:rep:x', ''),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
);
const jsonValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ maxLength: 12 }),
    fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(2 ** 60)),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(attributeName, tie('value'), { maxKeys: 3 }),
  ),
})).value;
/** Nested `depth` maps deep: DynamoDB allows 32 levels. */
const deep = (depth: number): unknown => (depth === 0 ? 'bottom' : { d: deep(depth - 1) });
const item = fc
  .record({
    key: fc.oneof(fc.constantFrom('3', 'k', 'canary'), fc.string({ maxLength: 6 })),
    extra: fc.dictionary(attributeName, jsonValue, { maxKeys: 5 }),
    special: fc.constantFrom(
      {},
      { nested: deep(31) },
      { tooDeep: deep(40) },
      { ['n'.repeat(65_536)]: 1 },
      { huge: 1e300 },
      { tiny: 1e-200 },
    ),
  })
  .map(({ key, extra, special }) => {
    // Object.assign would treat "__proto__" as the prototype; defineProperty keeps it an attribute.
    const built: Record<string, unknown> = {};
    for (const [name, value] of [...Object.entries(extra), ...Object.entries(special)]) {
      Object.defineProperty(built, name, { value, enumerable: true, writable: true, configurable: true });
    }
    built.realTimeItemKey = key;
    return built;
  });

test('no item shape makes POST /items answer 5xx; each item is written or rejected with its reason', async () => {
  let items = 0;
  let rejected = 0;
  await fc.assert(
    // At least 440 × 23 = 10,120 items whatever the lengths drawn (fast-check favours short arrays: 20–25 per batch
    // drew 9,973 once).
    fc.asyncProperty(fc.array(item, { minLength: 23, maxLength: 25 }), async (batch) => {
      items += batch.length;
      const answer = await post(JSON.stringify(batch));
      expect([201, 207, 400]).toContain(answer.statusCode);
      const results = resultsOf(answer.body as string);
      expect(results).toHaveLength(batch.length);
      for (const result of results) {
        expect(['written', 'rejected']).toContain(result.status);
        if (result.status === 'rejected') {
          rejected++;
          expect(result.reason).toEqual(expect.any(String));
        }
      }
    }),
    { numRuns: 440 },
  );
  expect(items).toBeGreaterThanOrEqual(10_000);
  // The generator must reach both sides, or the property says nothing.
  expect(rejected).toBeGreaterThan(100);
  expect(rejected).toBeLessThan(items - 100);
}, 120_000);

test.each([
  ['a nested map key', { a: { b: { constructor: 1 } } }, 'a.b.constructor'],
  ['a top-level attribute', { constructor: { x: 1 } }, '"constructor"'],
  ['a map in a list', { a: [{ constructor: 'x' }] }, 'a[0].constructor'],
])('an item with "constructor" as %s is rejected with 400 and its path, never 503', async (_name, extra, path) => {
  // Prepare
  const body = JSON.stringify({ realTimeItemKey: '3', ...extra });
  // Act
  const answer = await post(body);
  // Assess
  expect(answer.statusCode).toBe(400);
  const [result] = resultsOf(answer.body as string);
  expect(result?.reason).toContain(path);
  expect(result?.reason).toContain('cannot be written by the AWS SDK');
});

test('an item with "__proto__" and "prototype" names in a map is written as data', async () => {
  // Prepare
  const body = '{"realTimeItemKey":"3","m":{"prototype":{"p":1},"toString":"t"}}';
  // Act
  const answer = await post(body);
  // Assess: the marshalled request carries both names as map keys.
  expect(answer.statusCode).toBe(201);
  const request = JSON.parse(lastSent);
  const written = request.RequestItems.RealTimeData[0].PutRequest.Item;
  expect(Object.keys(written.m.M)).toEqual(['prototype', 'toString']);
});
