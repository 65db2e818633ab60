import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { createTestTables, type TestTables } from '@real-time-platform/test-support';
import { createItemIngestor, createItemReader } from '../../src/adapters/item-store';
import { itemSize, MAX_ITEM_BYTES } from '../../src/domain/items';
import { createItemsApiHandler, type HttpApiEvent, type HttpApiResult } from '../../src/handlers/logic/items-api';
import { createSqsIngestHandler } from '../../src/handlers/logic/sqs-ingest';
import { captureLog } from '../helpers/fakes';

// The items API and the SQS producer against the real DynamoDB Local: what a producer sends is what GET returns.

jest.setTimeout(30_000);

let tables: TestTables;
let api: (event: HttpApiEvent) => Promise<HttpApiResult>;
let sqs: ReturnType<typeof createSqsIngestHandler>;

beforeAll(async () => {
  tables = await createTestTables('ingest');
  const table = { ddb: tables.documents, tableName: tables.dataTable, keyAttribute: tables.keyAttribute };
  const ingestor = createItemIngestor(table);
  api = createItemsApiHandler({ ingestor, reader: createItemReader(table), logger: captureLog() });
  sqs = createSqsIngestHandler({ ingestor, logger: captureLog() });
});
afterAll(async () => tables?.drop());

const post = (body: unknown) => api({ routeKey: 'POST /items', body: JSON.stringify(body) });
const getItem = (key: string, itemId: string) =>
  api({ routeKey: 'GET /items/{key}/{itemId}', pathParameters: { key, itemId } });
const list = (key: string, query: Record<string, string> = {}) =>
  api({ routeKey: 'GET /items/{key}', pathParameters: { key }, queryStringParameters: query });
const json = (result: HttpApiResult) => JSON.parse(result.body ?? 'null');

test('POST then GET returns the item as sent, with itemId defaulted; DELETE removes it', async () => {
  const item = { vehicleId: 'car 1/ä', lat: 52.1, tags: ['a', 'b'], meta: { note: '', n: null, ok: true } };
  const posted = await post(item);
  expect(posted.statusCode).toBe(201);
  expect(json(posted).results).toEqual([{ index: 0, status: 'written', key: 'car 1/ä', itemId: 'latest' }]);

  const got = await getItem('car 1/ä', 'latest');
  expect(got.statusCode).toBe(200);
  expect(json(got)).toEqual({ ...item, itemId: 'latest' });

  const deleted = await api({
    routeKey: 'DELETE /items/{key}/{itemId}',
    pathParameters: { key: 'car 1/ä', itemId: 'latest' },
  });
  expect(deleted.statusCode).toBe(204);
  expect((await getItem('car 1/ä', 'latest')).statusCode).toBe(404);
  const again = await api({
    routeKey: 'DELETE /items/{key}/{itemId}',
    pathParameters: { key: 'car 1/ä', itemId: 'latest' },
  });
  expect(again.statusCode).toBe(404);
});

test('GET /items/{key} pages through every item once, in itemId order, with an opaque nextToken', async () => {
  const itemIds = Array.from({ length: 23 }, (_, i) => `trip-${String(i).padStart(2, '0')}`);
  expect((await post(itemIds.map((itemId) => ({ vehicleId: 'paged', itemId, n: itemId.length })))).statusCode).toBe(
    201,
  );
  // Another key's items must not leak into the pages.
  await post({ vehicleId: 'paged-other', itemId: 'trip-00' });

  const seen: string[] = [];
  let nextToken: string | undefined;
  let pages = 0;
  do {
    const page = await list('paged', { limit: '5', ...(nextToken === undefined ? {} : { nextToken }) });
    expect(page.statusCode).toBe(200);
    const body = json(page);
    expect(body.items.length).toBeLessThanOrEqual(5);
    seen.push(...body.items.map((item: { itemId: string }) => item.itemId));
    nextToken = body.nextToken;
    pages++;
  } while (nextToken !== undefined && pages < 20);
  expect(seen).toEqual(itemIds);

  const first = json(await list('paged', { limit: '5' }));
  const forged = await list('paged', { nextToken: `${first.nextToken}x` });
  expect(forged.statusCode).toBe(400);
  const otherKey = await list('paged-other', { nextToken: first.nextToken });
  expect(otherKey.statusCode).toBe(400);
  expect(json(await list('nobody')).items).toEqual([]);
});

test('mixed input: the valid items are written, an oversize item and one without a key are rejected with reasons', async () => {
  const result = await post([
    { vehicleId: 'mixed-1', speed: 10 },
    { vehicleId: 'mixed-2', blob: 'x'.repeat(MAX_ITEM_BYTES) },
    { speed: 3 },
    { vehicleId: 'mixed-3', itemId: 'b' },
  ]);
  expect(result.statusCode).toBe(207);
  const { results } = json(result);
  expect(results.map((r: { status: string }) => r.status)).toEqual(['written', 'rejected', 'rejected', 'written']);
  expect(results[1].reason).toMatch(/^the item is 409\d{3} bytes as DynamoDB counts them .* the limit is 409600$/);
  expect(results[2].reason).toBe('the key attribute "vehicleId" is missing');
  expect((await getItem('mixed-1', 'latest')).statusCode).toBe(200);
  expect((await getItem('mixed-3', 'b')).statusCode).toBe(200);
  expect((await getItem('mixed-2', 'latest')).statusCode).toBe(404);
});

test('the size estimate agrees with DynamoDB: exactly 400 KB is stored, one byte more is refused by DynamoDB too', async () => {
  // vehicleId(9) + "max"(3) + itemId(6) + "latest"(6) + blob(4) = 28 bytes around the blob.
  const blob = 'é'.repeat((MAX_ITEM_BYTES - 28) / 2);
  const result = await post({ vehicleId: 'max', blob });
  expect(json(result).results[0].status).toBe('written');
  const tooBig = { vehicleId: 'max', itemId: 'latest', blob: `${blob}x` };
  const refused = await post(tooBig);
  expect(refused.statusCode).toBe(400);
  expect(json(refused).error.details.results[0].reason).toMatch(/is 409601 bytes/);
  await expect(tables.documents.send(new PutCommand({ TableName: tables.dataTable, Item: tooBig }))).rejects.toThrow(
    /size/i,
  );
});

test('the estimate also agrees for numbers, lists, maps, booleans and null', async () => {
  const structured = {
    vehicleId: 'max-structured',
    itemId: 'latest',
    numbers: [0, 1, 12, 123, -1234.5, 0.001, 1e-100, 9007199254740991, 2.50159],
    nested: { a: { b: [true, false, null, { c: 'd' }] }, e: [] as unknown[], f: {} },
  };
  const filler = MAX_ITEM_BYTES - itemSize(structured) - 'filler'.length;
  const exact = { ...structured, filler: 'x'.repeat(filler) };
  expect(itemSize(exact)).toBe(MAX_ITEM_BYTES);
  await tables.documents.send(new PutCommand({ TableName: tables.dataTable, Item: exact }));
  const over = { ...structured, filler: 'x'.repeat(filler + 1) };
  await expect(tables.documents.send(new PutCommand({ TableName: tables.dataTable, Item: over }))).rejects.toThrow(
    /size/i,
  );
});

test('a key written twice in one request is written twice, in order: the last one stays', async () => {
  const result = await post([
    { vehicleId: 'dup', v: 1 },
    { vehicleId: 'dup', v: 2 },
    { vehicleId: 'dup', v: 3 },
  ]);
  expect(result.statusCode).toBe(201);
  expect(json(await getItem('dup', 'latest')).v).toBe(3);
});

test('items written by other producers with 38-digit numbers read back losslessly (as strings)', async () => {
  await tables.dynamodb.send(
    new PutItemCommand({
      TableName: tables.dataTable,
      Item: {
        vehicleId: { S: 'big' },
        itemId: { S: 'latest' },
        odometer: { N: '12345678901234567890123456789012345678' },
      },
    }),
  );
  expect(json(await getItem('big', 'latest'))).toEqual({
    vehicleId: 'big',
    itemId: 'latest',
    odometer: '12345678901234567890123456789012345678',
  });
});

test('SQS partial batch: only the poison message is reported; the other messages’ items are stored', async () => {
  const response = await sqs({
    Records: [
      { messageId: 'm-valid', body: JSON.stringify({ vehicleId: 'sqs-1', lat: 1 }) },
      { messageId: 'm-array', body: JSON.stringify([{ vehicleId: 'sqs-2' }, { vehicleId: 'sqs-3' }, { noKey: 1 }]) },
      { messageId: 'm-poison', body: '{"vehicleId": "sqs-4", ' },
      { messageId: 'm-invalid', body: JSON.stringify({ vehicleId: 4 }) },
    ],
  });
  expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-poison' }, { itemIdentifier: 'm-invalid' }]);
  for (const key of ['sqs-1', 'sqs-2', 'sqs-3']) expect((await getItem(key, 'latest')).statusCode).toBe(200);
});

test('reads of a key never show the platform’s "$" rows (snapshot markers), and producers cannot write them', async () => {
  // Markers as the message function writes them, around items whose ids sort below and above "$".
  const itemIds = ['!bang', '#hash', 'a', 'b', 'z', '~tilde', 'é'];
  expect((await post(itemIds.map((itemId) => ({ vehicleId: 'marked', itemId })))).statusCode).toBe(201);
  for (const connectionId of ['c1', 'c2', 'c3']) {
    await tables.documents.send(
      new PutCommand({
        TableName: tables.dataTable,
        Item: { vehicleId: 'marked', itemId: `$snapshot#${connectionId}#r`, connectionId, expiresAt: 1 },
      }),
    );
  }
  for (const limit of ['1', '2', '3', '100']) {
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = json(await list('marked', { limit, ...(nextToken === undefined ? {} : { nextToken }) }));
      seen.push(...page.items.map((item: { itemId: string }) => item.itemId));
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    // DynamoDB's order (UTF-8 bytes): "!" and "#" sort below "$", letters, "~" and "é" above it.
    expect(seen).toEqual(itemIds);
  }
  expect((await getItem('marked', '$snapshot#c1#r')).statusCode).toBe(400);
  const refused = await post({ vehicleId: 'marked', itemId: '$snapshot#victim#x', connectionId: 'victim' });
  expect(refused.statusCode).toBe(400);
  expect(json(refused).error.message).toMatch(/itemIds starting with "\$" are reserved/);
});
