import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import type { ItemIngestor, ItemOutcome } from '../../src/adapters/item-store';
import {
  createS3Client,
  createS3ObjectStore,
  type ObjectStore,
  type StoredObject,
} from '../../src/adapters/object-store';
import { validateItem } from '../../src/domain/items';
import {
  createS3IngestHandler,
  decodeKey,
  type FileSummary,
  IncompleteIngestError,
  type S3IngestDeps,
} from '../../src/handlers/logic/s3-ingest';
import { MalformedEventError, StorageError } from '../../src/lib/errors';
import { captureLog } from '../helpers/fakes';

const root = join(__dirname, '..', '..');
const BUCKET = 'rtp-ingest-develop-123456789012-us-east-1';

/** An ObjectStore over a Map; bodies are streamed in small chunks, as S3 would. */
class MemoryObjects implements ObjectStore {
  readonly objects = new Map<string, { body: Buffer; contentType?: string }>();
  readonly puts: { key: string; body: string; contentType: string }[] = [];
  readonly gets: string[] = [];
  readonly bodies: Readable[] = [];
  /** Makes the body of this key fail after its first chunk. */
  breakKey?: string;

  add(key: string, body: string | Buffer, contentType?: string): this {
    this.objects.set(key, {
      body: Buffer.isBuffer(body) ? body : Buffer.from(body),
      ...(contentType === undefined ? {} : { contentType }),
    });
    return this;
  }
  async get(bucket: string, key: string): Promise<StoredObject | undefined> {
    this.gets.push(`${bucket}/${key}`);
    const object = this.objects.get(key);
    if (object === undefined) return undefined;
    let body: Readable;
    if (key === this.breakKey) {
      const broken = new PassThrough();
      broken.write(object.body.subarray(0, 20));
      setImmediate(() => broken.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })));
      body = broken;
    } else {
      const chunks: Buffer[] = [];
      for (let at = 0; at < object.body.length; at += 7) chunks.push(object.body.subarray(at, at + 7));
      body = Readable.from(chunks);
    }
    this.bodies.push(body);
    return { body, etag: 'abc123', ...(object.contentType === undefined ? {} : { contentType: object.contentType }) };
  }
  async put(bucket: string, key: string, body: string, contentType: string): Promise<void> {
    this.puts.push({ key: `${bucket}/${key}`, body, contentType });
  }
  summary(key: string): FileSummary {
    const put = this.puts.find((entry) => entry.key === `${BUCKET}/${key}`);
    if (put === undefined) throw new Error(`no summary at ${key}; puts: ${this.puts.map((p) => p.key).join(', ')}`);
    return JSON.parse(put.body) as FileSummary;
  }
}

/** An ingestor that validates like the real one and "writes" into a Map; keys in `throttled` fail. */
class MemoryIngestor implements ItemIngestor {
  readonly table = new Map<string, Record<string, unknown>>();
  readonly calls: number[] = [];
  throttled = new Set<string>();
  async ingest(rawItems: readonly unknown[]): Promise<ItemOutcome[]> {
    this.calls.push(rawItems.length);
    return rawItems.map((raw, index) => {
      const result = validateItem(raw, { keyAttribute: 'vehicleId' });
      if (!result.ok) return { index, status: 'rejected', reason: result.reason };
      if (this.throttled.has(result.key)) {
        return { index, status: 'failed', key: result.key, itemId: result.itemId, reason: 'not written: throttled' };
      }
      this.table.set(`${result.key}/${result.itemId}`, result.item);
      return { index, status: 'written', key: result.key, itemId: result.itemId };
    });
  }
}

function s3Event(keys: string[], eventName = 'ObjectCreated:Put'): S3Event {
  const sample = JSON.parse(readFileSync(join(root, 'events', 's3-object-created.json'), 'utf8')) as S3Event;
  const [template] = sample.Records;
  return {
    Records: keys.map((key) => ({
      ...template,
      eventName,
      s3: { ...template?.s3, object: { ...template?.s3.object, key } },
    })),
  } as S3Event;
}

function setup(overrides: Partial<S3IngestDeps> = {}) {
  const objects = new MemoryObjects();
  const ingestor = new MemoryIngestor();
  const logger = captureLog();
  const handle = createS3IngestHandler({
    objects,
    ingestor,
    logger,
    keyAttribute: 'vehicleId',
    now: () => new Date('2026-11-22T10:00:00.000Z'),
    ...overrides,
  });
  return { objects, ingestor, logger, handle };
}

describe('S3 ingest: the sample event and objects', () => {
  test('events/s3-object-created.json ingests the sample NDJSON: valid lines written, bad ones in errors/', async () => {
    const { objects, ingestor, handle } = setup();
    objects.add('incoming/sample-vehicles.ndjson', readFileSync(join(root, 'events/objects/sample-vehicles.ndjson')));
    const sample = JSON.parse(readFileSync(join(root, 'events', 's3-object-created.json'), 'utf8')) as S3Event;

    const [report] = await handle(sample);

    expect(report).toMatchObject({ outcome: 'ingested', summaryKey: 'errors/sample-vehicles.ndjson.json' });
    expect([...ingestor.table.keys()].sort()).toEqual(['1/latest', '2/latest', '3/latest', '3/route', '5/latest']);
    const summary = objects.summary('errors/sample-vehicles.ndjson.json');
    expect(summary).toEqual({
      source: { bucket: BUCKET, key: 'incoming/sample-vehicles.ndjson', etag: 'abc123' },
      format: 'ndjson',
      lines: 8,
      written: 5,
      rejected: 3,
      failed: 0,
      errors: [
        { line: 6, reason: expect.stringMatching(/^invalid JSON/) },
        { line: 7, reason: expect.stringContaining('vehicleId') },
        { line: 8, reason: 'line is an array, not a JSON object' },
      ],
      startedAt: '2026-11-22T10:00:00.000Z',
      finishedAt: '2026-11-22T10:00:00.000Z',
    });
    expect(objects.puts[0]?.contentType).toBe('application/json');
  });

  test('the sample CSV: typed cells, quoted commas and newlines, leading zeros kept', async () => {
    const { objects, ingestor, handle } = setup();
    objects.add('incoming/sample-vehicles.csv', readFileSync(join(root, 'events/objects/sample-vehicles.csv')));

    await handle(s3Event(['incoming/sample-vehicles.csv']));

    expect(objects.summary('errors/sample-vehicles.csv.json')).toMatchObject({ lines: 4, written: 4, errors: [] });
    expect(ingestor.table.get('2/latest')).toMatchObject({
      vehicleId: '2',
      lat: 52.0907,
      depot: '012',
      electric: false,
      note: 'charging, bay 4',
    });
    expect(ingestor.table.get('3/latest')).toMatchObject({ note: 'driver note:\nleft at 09:12' });
    expect(ingestor.table.get('1/latest')).not.toHaveProperty('note');
  });
});

describe('S3 ingest: records and keys', () => {
  test('keys are form-URL-decoded ("+" is a space, %2B a plus) for reading and for the summary name', async () => {
    const { objects, handle } = setup();
    objects.add('incoming/fleet 2026/day+1.json', '[{"vehicleId":"9"}]');

    const [report] = await handle(s3Event(['incoming/fleet+2026/day%2B1.json']));

    expect(objects.gets).toEqual([`${BUCKET}/incoming/fleet 2026/day+1.json`]);
    expect(report?.summaryKey).toBe('errors/fleet 2026/day+1.json.json');
    expect(objects.summary('errors/fleet 2026/day+1.json.json')).toMatchObject({ format: 'json', written: 1 });
  });

  test.each([
    ['errors/x.csv.json', 'ObjectCreated:Put', /only keys under incoming\//],
    ['incoming/', 'ObjectCreated:Put', /folder placeholder/],
    ['incoming/a.csv', 'ObjectRemoved:Delete', /ObjectRemoved:Delete is ignored/],
    ['incoming/%E0%A4%A.csv', 'ObjectCreated:Put', /not valid URL encoding/],
  ])('%s (%s) is skipped without reading it', async (key, eventName, note) => {
    const { objects, handle } = setup();
    const [report] = await handle(s3Event([key], eventName));
    expect(report).toMatchObject({ outcome: 'skipped', note: expect.stringMatching(note) });
    expect(objects.gets).toEqual([]);
    expect(objects.puts).toEqual([]);
  });

  test('decodeKey', () => {
    expect(decodeKey('incoming/a+b%2Bc%C3%A9.csv')).toBe('incoming/a b+cé.csv');
    expect(decodeKey('%')).toBeUndefined();
  });

  test('an S3 test event is a no-op; an event without Records is malformed', async () => {
    const { handle } = setup();
    expect(await handle({ Service: 'Amazon S3', Event: 's3:TestEvent' } as unknown as S3Event)).toEqual([]);
    await expect(handle({} as S3Event)).rejects.toBeInstanceOf(MalformedEventError);
  });

  test('an object deleted since the event is logged and skipped', async () => {
    const { objects, logger, handle } = setup();
    const [report] = await handle(s3Event(['incoming/gone.ndjson']));
    expect(report?.outcome).toBe('missing');
    expect(objects.puts).toEqual([]);
    expect(JSON.stringify(logger)).toContain('gone');
  });

  test('an unsupported format gets a summary saying why, without a retry, and its stream is released', async () => {
    const { objects, ingestor, handle } = setup();
    objects.add('incoming/notes.txt', 'vehicleId=1\n', 'text/plain');

    const [report] = await handle(s3Event(['incoming/notes.txt']));

    expect(report?.outcome).toBe('unsupported');
    expect(objects.summary('errors/notes.txt.json')).toMatchObject({
      format: null,
      lines: 0,
      errors: [{ line: 0, reason: expect.stringMatching(/unsupported file type.*notes\.txt.*text\/plain.*\.ndjson/) }],
    });
    expect(ingestor.calls).toEqual([]);
    expect(objects.bodies[0]?.destroyed).toBe(true);
  });

  test('the content type decides when the name has no known extension', async () => {
    const { objects, handle } = setup();
    objects.add('incoming/upload-7', '{"vehicleId":"1"}\n{"vehicleId":"2"}\n', 'application/x-ndjson');
    await handle(s3Event(['incoming/upload-7']));
    expect(objects.summary('errors/upload-7.json')).toMatchObject({ format: 'ndjson', written: 2 });
  });
});

describe('S3 ingest: batches, errors and retries', () => {
  test('items go to the ingestor in batches; errors are listed in line order across batches', async () => {
    const { objects, ingestor, handle } = setup({ batchSize: 2 });
    const lines = [
      '{"vehicleId":"1"}',
      '{"itemId":"no-key"}',
      '{"vehicleId":"2"}',
      'oops',
      '{"vehicleId":"3"}',
      '{"vehicleId":""}',
      '{"vehicleId":"4"}',
    ];
    objects.add('incoming/mixed.ndjson', lines.join('\n'));

    await handle(s3Event(['incoming/mixed.ndjson']));

    expect(ingestor.calls.every((size) => size <= 2)).toBe(true);
    const summary = objects.summary('errors/mixed.ndjson.json');
    expect(summary).toMatchObject({ lines: 7, written: 4, rejected: 3, failed: 0 });
    expect(summary.errors.map((error) => error.line)).toEqual([2, 4, 6]);
  });

  test('only the first maxErrorEntries errors are listed; the rest are counted', async () => {
    const { objects, handle } = setup({ batchSize: 3, maxErrorEntries: 4 });
    const lines = Array.from({ length: 30 }, (_, index) =>
      index % 3 === 0 ? `{"vehicleId":"${index}"}` : index % 2 === 0 ? 'not json' : '{"noKey":true}',
    );
    objects.add('incoming/many.ndjson', lines.join('\n'));

    await handle(s3Event(['incoming/many.ndjson']));

    const summary = objects.summary('errors/many.ndjson.json');
    expect(summary).toMatchObject({ lines: 30, written: 10, rejected: 20, truncatedErrors: 16 });
    expect(summary.errors.map((error) => error.line)).toEqual([2, 3, 5, 6]);
  });

  test('a clean file still gets a summary, with no errors', async () => {
    const { objects, handle } = setup();
    objects.add('incoming/clean.json', '[{"vehicleId":"1"},{"vehicleId":"2","itemId":"trip"}]');
    await handle(s3Event(['incoming/clean.json']));
    expect(objects.summary('errors/clean.json.json')).toMatchObject({ written: 2, rejected: 0, failed: 0, errors: [] });
  });

  test('items that failed to write are reported, then the invocation throws so Lambda retries the file', async () => {
    const { objects, ingestor, handle } = setup();
    ingestor.throttled.add('2');
    objects.add('incoming/a.ndjson', '{"vehicleId":"1"}\n{"vehicleId":"2"}\n');
    objects.add('incoming/b.ndjson', '{"vehicleId":"3"}\n');

    const run = handle(s3Event(['incoming/a.ndjson', 'incoming/b.ndjson']));

    await expect(run).rejects.toBeInstanceOf(IncompleteIngestError);
    await expect(run).rejects.toMatchObject({ retryable: true, message: expect.stringContaining('incoming/a.ndjson') });
    expect(objects.summary('errors/a.ndjson.json')).toMatchObject({
      written: 1,
      failed: 1,
      errors: [{ line: 2, reason: 'not written: throttled' }],
    });
    // The other file of the event was still ingested before the throw.
    expect(ingestor.table.has('3/latest')).toBe(true);
  });

  test('a read that breaks off midway throws (retry) and writes no summary', async () => {
    const { objects, handle } = setup();
    objects.add('incoming/big.ndjson', '{"vehicleId":"1"}\n'.repeat(100));
    objects.breakKey = 'incoming/big.ndjson';
    await expect(handle(s3Event(['incoming/big.ndjson']))).rejects.toThrow('ECONNRESET');
    expect(objects.puts).toEqual([]);
  });

  test('near the deadline reading stops and the summary says where, without a retry', async () => {
    const { objects, ingestor, handle } = setup({ batchSize: 10, safetyMarginMs: 20_000 });
    objects.add('incoming/long.ndjson', Array.from({ length: 100 }, (_, i) => `{"vehicleId":"${i}"}`).join('\n'));
    let remaining = 60_000;
    const context = { getRemainingTimeInMillis: () => (remaining -= 10_000) };

    await handle(s3Event(['incoming/long.ndjson']), context);

    const summary = objects.summary('errors/long.ndjson.json');
    expect(summary.incomplete).toMatch(/^stopped after line 50: the function's time limit was near/);
    expect(summary).toMatchObject({ lines: 50, written: 50 });
    expect(ingestor.table.size).toBe(50);
    expect(objects.bodies[0]?.destroyed).toBe(true);
  });
});

describe('S3 object store adapter', () => {
  const s3 = mockClient(S3Client);
  afterEach(() => s3.reset());

  test('a missing object (NoSuchKey) is undefined; other errors are StorageErrors classified by retryability', async () => {
    const store = createS3ObjectStore(new S3Client({ region: 'us-east-1' }));
    s3.on(GetObjectCommand, { Key: 'incoming/gone.csv' }).rejects(
      new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } }),
    );
    s3.on(GetObjectCommand, { Key: 'incoming/slow.csv' }).rejects(
      new S3ServiceException({
        name: 'SlowDown',
        $fault: 'server',
        message: 'Please reduce your request rate.',
        $metadata: { httpStatusCode: 503 },
      }),
    );
    expect(await store.get('b', 'incoming/gone.csv')).toBeUndefined();
    const failure = store.get('b', 'incoming/slow.csv');
    await expect(failure).rejects.toBeInstanceOf(StorageError);
    await expect(failure).rejects.toMatchObject({ retryable: true });
  });

  test('get returns the body stream and metadata; put sends the summary', async () => {
    const store = createS3ObjectStore(new S3Client({ region: 'us-east-1' }));
    const body = Readable.from([Buffer.from('{"vehicleId":"1"}\n')]);
    s3.on(GetObjectCommand).resolves({ Body: body as never, ContentType: 'application/x-ndjson', ETag: '"e1"' });
    s3.on(PutObjectCommand).resolves({});
    expect(await store.get('b', 'incoming/a.ndjson')).toEqual({
      body,
      contentType: 'application/x-ndjson',
      etag: 'e1',
    });
    await store.put('b', 'errors/a.ndjson.json', '{}', 'application/json');
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'b',
      Key: 'errors/a.ndjson.json',
      Body: '{}',
      ContentType: 'application/json',
    });
  });

  test('AWS_ENDPOINT_URL_S3 points the client at a local S3 with path-style addressing', async () => {
    const local = createS3Client({ AWS_ENDPOINT_URL_S3: 'http://localhost:4599' }, { region: 'us-east-1' });
    expect(local.config.forcePathStyle).toBe(true);
    expect(await local.config.endpoint?.()).toMatchObject({ hostname: 'localhost', port: 4599 });
    const aws = createS3Client({}, { region: 'us-east-1' });
    expect(aws.config.forcePathStyle).toBe(false);
  });
});
