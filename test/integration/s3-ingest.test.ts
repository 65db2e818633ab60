import { Readable } from 'node:stream';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createTestTables, type TestTables } from '@real-time-platform/test-support';
import type { S3Event } from 'aws-lambda';
import { createItemIngestor } from '../../src/adapters/item-store';
import type { ObjectStore, StoredObject } from '../../src/adapters/object-store';
import { MAX_LINE_BYTES } from '../../src/domain/item-files';
import { createS3IngestHandler, type FileSummary, IncompleteIngestError } from '../../src/handlers/logic/s3-ingest';
import { captureLog } from '../helpers/fakes';

// The S3 producer against the real DynamoDB Local: files stream through the parsers and the shared ItemIngestor
// (BatchWriteItem) into a RealTimeData table created as the template defines it. S3 is an in-memory stand-in that
// serves bodies in 16 KB chunks, as an HTTP response would arrive.

jest.setTimeout(60_000);

const BUCKET = 'rtp-ingest-develop-123456789012-us-east-1';
let tables: TestTables;

/** Objects in memory; summaries written by the handler are kept as parsed JSON. */
class MemoryS3 implements ObjectStore {
  readonly objects = new Map<string, Buffer>();
  readonly summaries = new Map<string, FileSummary>();
  async get(_bucket: string, key: string): Promise<StoredObject | undefined> {
    const body = this.objects.get(key);
    if (body === undefined) return undefined;
    const chunks: Buffer[] = [];
    for (let at = 0; at < body.length; at += 16 * 1024) chunks.push(body.subarray(at, at + 16 * 1024));
    return { body: Readable.from(chunks), etag: 'etag-1' };
  }
  async put(_bucket: string, key: string, body: string): Promise<void> {
    this.summaries.set(key, JSON.parse(body) as FileSummary);
  }
}

function uploaded(key: string): S3Event {
  // As S3 sends it: the key form-URL-encoded.
  const encoded = encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+');
  return {
    Records: [
      {
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: BUCKET }, object: { key: encoded, size: 1, eTag: 'etag-1' } },
      },
    ],
  } as unknown as S3Event;
}

function handlerFor(s3: MemoryS3, tableName = tables.dataTable) {
  return createS3IngestHandler({
    objects: s3,
    ingestor: createItemIngestor({
      ddb: tables.documents,
      tableName,
      keyAttribute: 'vehicleId',
      sleep: async () => {},
    }),
    logger: captureLog(),
    keyAttribute: 'vehicleId',
    batchSize: 40,
  });
}

async function itemsOf(key: string): Promise<Record<string, unknown>[]> {
  const answer = await tables.documents.send(
    new QueryCommand({
      TableName: tables.dataTable,
      KeyConditionExpression: 'vehicleId = :key',
      ExpressionAttributeValues: { ':key': key },
    }),
  );
  return answer.Items ?? [];
}

beforeAll(async () => {
  tables = await createTestTables('s3ingest', 'vehicleId');
});

afterAll(async () => {
  await tables?.drop();
});

test('a mixed NDJSON file: valid lines reach the table, the others are listed in errors/ with reasons', async () => {
  const s3 = new MemoryS3();
  const lines = [
    /* 1 */ JSON.stringify({ vehicleId: 'v1', lat: 52.1, lng: 4.3, status: 'moving' }),
    /* 2 */ '{"vehicleId":"v2","lat":51.9,',
    /* 3 */ JSON.stringify({ vehicleId: 'v3', itemId: 'photo', blob: 'x'.repeat(500 * 1024) }),
    /* 4 */ JSON.stringify({ lat: 50.0, lng: 5.0 }),
    /* 5 */ '',
    /* 6 */ JSON.stringify({ vehicleId: 'v2', itemId: 'route', stops: ['A', 'B'], eta: { minutes: 12 } }),
    /* 7 */ JSON.stringify({ vehicleId: 'v4', huge: 'y'.repeat(MAX_LINE_BYTES) }),
    /* 8 */ JSON.stringify({ vehicleId: 7 }),
    /* 9 */ JSON.stringify({ vehicleId: 'v1', lat: 52.2, lng: 4.4, status: 'parked' }),
    // 120 more valid lines over several batches, so batching and the per-key last-write-wins are exercised.
    ...Array.from({ length: 120 }, (_, index) => JSON.stringify({ vehicleId: `fleet-${index % 30}`, seq: index })),
  ];
  s3.objects.set('incoming/day 1/mixed.ndjson', Buffer.from(`${lines.join('\r\n')}\r\n`));

  const [report] = await handlerFor(s3)(uploaded('incoming/day 1/mixed.ndjson'));

  expect(report?.summaryKey).toBe('errors/day 1/mixed.ndjson.json');
  const summary = s3.summaries.get('errors/day 1/mixed.ndjson.json');
  expect(summary).toMatchObject({
    source: { bucket: BUCKET, key: 'incoming/day 1/mixed.ndjson', etag: 'etag-1' },
    format: 'ndjson',
    lines: 128,
    written: 123,
    rejected: 5,
    failed: 0,
  });
  expect(summary?.errors).toEqual([
    { line: 2, reason: expect.stringMatching(/^invalid JSON/) },
    { line: 3, reason: expect.stringMatching(/the limit is 409600/) },
    { line: 4, reason: 'the key attribute "vehicleId" is missing' },
    { line: 7, reason: `line is longer than ${MAX_LINE_BYTES} bytes` },
    { line: 8, reason: 'the key attribute "vehicleId" must be a string; got a number' },
  ]);

  // The later line of v1 won; v2's route is there with its nested values; nothing of the rejected lines is.
  expect(await itemsOf('v1')).toEqual([{ vehicleId: 'v1', itemId: 'latest', lat: 52.2, lng: 4.4, status: 'parked' }]);
  expect(await itemsOf('v2')).toEqual([{ vehicleId: 'v2', itemId: 'route', stops: ['A', 'B'], eta: { minutes: 12 } }]);
  expect(await itemsOf('v3')).toEqual([]);
  expect(await itemsOf('v4')).toEqual([]);
  expect(await itemsOf('fleet-29')).toEqual([{ vehicleId: 'fleet-29', itemId: 'latest', seq: 119 }]);
});

test('a CSV file: numeric-looking keys stay strings, other cells are typed, bad rows are reported', async () => {
  const s3 = new MemoryS3();
  const csv = [
    'vehicleId,itemId,lat,speedKmh,electric,depot,note',
    '3,latest,52.37,42,true,007,"charging, bay 4"',
    '4,latest,51.92',
    '5,trip,51.44,0,false,012,"two',
    'lines"',
  ].join('\n');
  s3.objects.set('incoming/fleet.csv', Buffer.from(csv));

  await handlerFor(s3)(uploaded('incoming/fleet.csv'));

  expect(s3.summaries.get('errors/fleet.csv.json')).toMatchObject({
    format: 'csv',
    lines: 3,
    written: 2,
    rejected: 1,
    errors: [{ line: 3, reason: 'row has 3 cells, the header has 7' }],
  });
  const stored = await tables.documents.send(
    new GetCommand({ TableName: tables.dataTable, Key: { vehicleId: '3', itemId: 'latest' } }),
  );
  expect(stored.Item).toEqual({
    vehicleId: '3',
    itemId: 'latest',
    lat: 52.37,
    speedKmh: 42,
    electric: true,
    depot: '007',
    note: 'charging, bay 4',
  });
  expect(await itemsOf('5')).toEqual([
    { vehicleId: '5', itemId: 'trip', lat: 51.44, speedKmh: 0, electric: false, depot: '012', note: 'two\nlines' },
  ]);
});

test('a JSON array file is ingested element by element', async () => {
  const s3 = new MemoryS3();
  s3.objects.set(
    'incoming/batch.json',
    Buffer.from(JSON.stringify([{ vehicleId: 'j1', n: 1 }, 'oops', { vehicleId: 'j2', itemId: 'a' }], null, 2)),
  );
  await handlerFor(s3)(uploaded('incoming/batch.json'));
  expect(s3.summaries.get('errors/batch.json.json')).toMatchObject({
    written: 2,
    rejected: 1,
    errors: [{ line: 2, reason: 'element is a string, not a JSON object' }],
  });
  expect(await itemsOf('j2')).toEqual([{ vehicleId: 'j2', itemId: 'a' }]);
});

test('items DynamoDB does not take are "failed" in the summary and the invocation throws for a retry', async () => {
  const s3 = new MemoryS3();
  s3.objects.set('incoming/lost.ndjson', Buffer.from('{"vehicleId":"z1"}\n{"vehicleId":"z2"}\n'));

  // A table that does not exist: every BatchWriteItem fails, as under a long outage.
  const run = handlerFor(s3, `${tables.dataTable}-missing`)(uploaded('incoming/lost.ndjson'));

  await expect(run).rejects.toBeInstanceOf(IncompleteIngestError);
  expect(s3.summaries.get('errors/lost.ndjson.json')).toMatchObject({
    lines: 2,
    written: 0,
    failed: 2,
    errors: [
      { line: 1, reason: expect.stringMatching(/^not written/) },
      { line: 2, reason: expect.stringMatching(/^not written/) },
    ],
  });
});
