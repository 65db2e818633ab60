import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  NoSuchBucket,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { deadLetterSink } from '../../src/dead-letters';
import { type LocalS3, startLocalS3 } from '../../src/s3';
import { QUEUE_DEFAULTS, QueueStore } from '../../src/sqs/queues';
import { type S3EventSpec, silentLogger } from '../../src/types';
import { FakeInvoker } from '../helpers/fake-invoker';

const run = promisify(execFile);
const BUCKET = 'rtp-ingest-develop-123456789012-us-east-1';
const incoming: S3EventSpec = {
  functionId: 'S3IngestFunction',
  eventId: 'IncomingObjects',
  bucketLogicalId: 'IngestBucket',
  bucketName: BUCKET,
  events: ['s3:ObjectCreated:*'],
  prefix: 'incoming/',
};
const csvOnly: S3EventSpec = {
  functionId: 'CsvFunction',
  eventId: 'CsvObjects',
  bucketLogicalId: 'IngestBucket',
  bucketName: BUCKET,
  events: ['s3:ObjectCreated:Put'],
  suffix: '.csv',
};

const clientConfig = {
  forcePathStyle: true,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
};

let dir: string;
let s3: LocalS3;
let client: S3Client;
const invoker = new FakeInvoker({ S3IngestFunction: () => 'ok', CsvFunction: () => 'ok' });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-s3-'));
  s3 = await startLocalS3({
    host: '127.0.0.1',
    port: 0,
    dataDir: join(dir, 's3'),
    buckets: [{ logicalId: 'IngestBucket', bucketName: BUCKET }],
    s3Events: [incoming, csvOnly],
    invoker,
    logger: silentLogger,
    region: 'us-east-1',
    accountId: '123456789012',
    retryDelaysMs: [20, 20],
  });
  client = new S3Client({ ...clientConfig, endpoint: s3.url });
});

afterAll(async () => {
  client.destroy();
  await s3.close();
  await rm(dir, { recursive: true, force: true });
});

/** A PUT sent exactly as given (no URL normalisation, no signing). */
function rawPut(
  path: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(s3.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: hostname,
        port,
        path,
        method: 'PUT',
        headers: { 'content-length': String(Buffer.byteLength(body)), ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const text = async (body: unknown) => (body as { transformToString(): Promise<string> }).transformToString();

test('the template bucket exists from the start and ListBuckets shows it', async () => {
  const { Buckets } = await client.send(new ListBucketsCommand({}));
  expect(Buckets?.map((b) => b.Name)).toEqual([BUCKET]);
});

test('PutObject stores the bytes under dataDir/<bucket>/<key> and GetObject / HeadObject return them', async () => {
  const body = '{"realTimeItemKey":"1"}\n{"realTimeItemKey":"2"}\n';
  const put = await client.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: 'data/one.ndjson',
      Body: body,
      ContentType: 'application/x-ndjson',
      Metadata: { source: 'test' },
    }),
  );
  expect(put.ETag).toBe(`"${createHash('md5').update(body).digest('hex')}"`);
  expect(await readFile(join(dir, 's3', BUCKET, 'data', 'one.ndjson'), 'utf8')).toBe(body);

  const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'data/one.ndjson' }));
  expect(got.ContentLength).toBe(Buffer.byteLength(body));
  expect(got.ETag).toBe(put.ETag);
  expect(got.ContentType).toBe('application/x-ndjson');
  expect(got.LastModified).toBeInstanceOf(Date);
  expect(got.Metadata).toEqual({ source: 'test' });
  expect(await text(got.Body)).toBe(body);

  const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'data/one.ndjson' }));
  expect(head).toMatchObject({ ContentLength: Buffer.byteLength(body), ETag: put.ETag });

  const ranged = await client.send(
    new GetObjectCommand({ Bucket: BUCKET, Key: 'data/one.ndjson', Range: 'bytes=1-16' }),
  );
  expect(await text(ranged.Body)).toBe(body.slice(1, 17));
  expect(ranged.ContentRange).toBe(`bytes 1-16/${Buffer.byteLength(body)}`);
});

test('missing keys and buckets fail with S3 errors the SDK maps to its exception classes', async () => {
  const missing = client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'nope.json' }));
  await expect(missing).rejects.toBeInstanceOf(NoSuchKey);
  await expect(missing).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  await expect(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'nope.json' }))).rejects.toBeInstanceOf(
    NotFound,
  );
  await expect(client.send(new ListObjectsV2Command({ Bucket: 'no-such-bucket' }))).rejects.toBeInstanceOf(
    NoSuchBucket,
  );
  const raw = await fetch(`${s3.url}/${BUCKET}/nope.json`);
  expect(raw.status).toBe(404);
  expect(await raw.text()).toMatch(
    /<Error><Code>NoSuchKey<\/Code><Message>The specified key does not exist\.<\/Message>/,
  );
});

test('operations the local S3 does not implement answer 501 NotImplemented, naming what was asked', async () => {
  const copy = client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy.json', CopySource: `${BUCKET}/a.json` }));
  await expect(copy).rejects.toMatchObject({
    name: 'NotImplemented',
    message: 'The local S3 does not implement PUT on CopyObject / UploadPartCopy.',
    $metadata: { httpStatusCode: 501 },
  });

  const versioning = await rawPut(`/${BUCKET}?versioning`, '');
  expect(versioning.status).toBe(501);
  expect(versioning.body).toContain(
    '<Code>NotImplemented</Code><Message>The local S3 does not implement PUT on bucket subresource versioning.</Message>',
  );
  const tagging = await rawPut(`/${BUCKET}/a.json?tagging`, '');
  expect(tagging.body).toContain('The local S3 does not implement PUT on object subresource tagging.');

  // A missing bucket is reported before an operation the local S3 lacks, as S3 checks the bucket first.
  const missing = await rawPut('/no-such-bucket?versioning', '');
  expect(missing.status).toBe(404);
  expect(missing.body).toContain('<Code>NoSuchBucket</Code>');
});

test('keys with ".." segments are refused, and odd characters stay inside the bucket folder', async () => {
  // fetch and the SDK normalise "..", so the request is sent raw, as a hostile client would.
  for (const path of [`/${BUCKET}/a/%2E%2E/%2E%2E/escape.txt`, `/${BUCKET}/../escape.txt`, `/${BUCKET}/a/./b`]) {
    const res = await rawPut(path, 'x');
    expect(res.status).toBe(400);
    expect(res.body).toMatch(/<Code>InvalidArgument<\/Code>/);
  }
  await expect(readFile(join(dir, 's3', 'escape.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
  const key = 'odd/a:b*c?%20"quoted"|//end/';
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'odd' }));
  const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  expect(await text(got.Body)).toBe('odd');
  const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'odd/' }));
  expect(listed.Contents?.map((c) => c.Key)).toEqual([key]);
  await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
});

test('ListObjectsV2 pages with max-keys and continuation tokens, and groups by delimiter', async () => {
  const keys = Array.from({ length: 7 }, (_, i) => `list/${String(i).padStart(2, '0')}.json`);
  for (const key of [...keys, 'list/sub/a.json', 'list/sub/b.json']) {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
  }
  const seen: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'list/', MaxKeys: 3, ContinuationToken: token }),
    );
    pages++;
    seen.push(...(page.Contents ?? []).map((c) => c.Key ?? ''));
    expect(page.KeyCount).toBe(page.Contents?.length);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  expect(pages).toBe(3);
  expect(seen).toEqual([...keys, 'list/sub/a.json', 'list/sub/b.json']);

  const grouped = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'list/', Delimiter: '/' }));
  expect(grouped.Contents?.map((c) => c.Key)).toEqual(keys);
  expect(grouped.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['list/sub/']);

  const groupedPages = await client.send(
    new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'list/', Delimiter: '/', MaxKeys: 7 }),
  );
  expect(groupedPages.IsTruncated).toBe(true);
  const rest = await client.send(
    new ListObjectsV2Command({
      Bucket: BUCKET,
      Prefix: 'list/',
      Delimiter: '/',
      ContinuationToken: groupedPages.NextContinuationToken,
    }),
  );
  expect(rest.Contents ?? []).toEqual([]);
  expect(rest.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['list/sub/']);
});

test('DeleteObject removes the object and its file', async () => {
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'gone/x.txt', Body: 'x' }));
  const deleted = await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'gone/x.txt' }));
  expect(deleted.$metadata.httpStatusCode).toBe(204);
  await expect(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'gone/x.txt' }))).rejects.toBeInstanceOf(
    NoSuchKey,
  );
  await expect(readFile(join(dir, 's3', BUCKET, 'gone', 'x.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
});

test('PutObject under incoming/ invokes the function asynchronously with an event shaped like S3 sends', async () => {
  const put = await client.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: 'incoming/my file (1).ndjson', Body: '{"a":1}\n' }),
  );
  const call = await invoker.waitForCall('S3IngestFunction', (c) =>
    c.event.Records[0].s3.object.key.includes('my+file'),
  );
  expect(call.trigger).toBe('s3 IncomingObjects');
  const [record] = call.event.Records;
  expect(call.event.Records).toHaveLength(1);
  expect(record).toEqual({
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    eventName: 'ObjectCreated:Put',
    userIdentity: { principalId: 'AWS:local' },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: { 'x-amz-request-id': expect.stringMatching(/^[0-9A-F]{16}$/), 'x-amz-id-2': expect.any(String) },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: expect.any(String),
      bucket: { name: BUCKET, ownerIdentity: { principalId: expect.any(String) }, arn: `arn:aws:s3:::${BUCKET}` },
      object: {
        key: 'incoming/my+file+%281%29.ndjson',
        size: 8,
        eTag: put.ETag?.replace(/"/g, ''),
        sequencer: expect.stringMatching(/^[0-9A-F]{16,}$/),
      },
    },
  });
  expect(decodeURIComponent(record.s3.object.key.replace(/\+/g, ' '))).toBe('incoming/my file (1).ndjson');
});

test('keys outside the prefix invoke nothing; a suffix filter picks its keys', async () => {
  const before = invoker.callsTo('S3IngestFunction').length;
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'elsewhere/x.ndjson', Body: '{}' }));
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'reports/r.csv', Body: 'a,b\n1,2\n' }));
  const csv = await invoker.waitForCall('CsvFunction', (c) => c.event.Records[0].s3.object.key === 'reports/r.csv');
  expect(csv.event.Records[0].eventName).toBe('ObjectCreated:Put');
  await s3.settle();
  expect(invoker.callsTo('S3IngestFunction')).toHaveLength(before);
});

test('a multipart upload through the SDK is assembled, gets a multipart ETag and notifies CompleteMultipartUpload', async () => {
  const key = 'incoming/sdk-multipart.bin';
  const part1 = randomBytes(5 * 1024 * 1024);
  const part2 = randomBytes(1000);
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
  const p1 = await client.send(
    new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: part1 }),
  );
  const p2 = await client.send(
    new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 2, Body: part2 }),
  );
  const done = await client.send(
    new CompleteMultipartUploadCommand({
      Bucket: BUCKET,
      Key: key,
      UploadId,
      MultipartUpload: {
        Parts: [
          { PartNumber: 1, ETag: p1.ETag },
          { PartNumber: 2, ETag: p2.ETag },
        ],
      },
    }),
  );
  expect(done.ETag).toMatch(/^"[0-9a-f]{32}-2"$/);
  const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const bytes = Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
  expect(bytes.equals(Buffer.concat([part1, part2]))).toBe(true);
  const call = await invoker.waitForCall('S3IngestFunction', (c) => c.event.Records[0].s3.object.key === key);
  expect(call.event.Records[0].eventName).toBe('ObjectCreated:CompleteMultipartUpload');
  expect(call.event.Records[0].s3.object).toMatchObject({
    size: part1.length + part2.length,
    eTag: done.ETag?.replace(/"/g, ''),
  });
});

test('a multipart upload with a wrong part ETag or an unknown upload id fails like S3', async () => {
  const key = 'incoming/bad-multipart.bin';
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
  await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: 'x' }));
  await expect(
    client.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"00000000000000000000000000000000"' }] },
      }),
    ),
  ).rejects.toMatchObject({ name: 'InvalidPart' });
  await expect(
    client.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: 'f'.repeat(32), PartNumber: 1, Body: 'x' }),
    ),
  ).rejects.toMatchObject({ name: 'NoSuchUpload' });
});

test('a function that keeps failing is retried twice and then dead-lettered', async () => {
  let attempts = 0;
  invoker.set('S3IngestFunction', (event) => {
    if (event.Records[0].s3.object.key === 'incoming/poison.json') {
      attempts++;
      throw new Error('cannot parse');
    }
    return 'ok';
  });
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'incoming/poison.json', Body: '{' }));
  const file = join(dir, 'dead-letters', 'S3IngestFunction-async.jsonl');
  const deadline = Date.now() + 5000;
  let content = '';
  while (Date.now() < deadline) {
    content = await readFile(file, 'utf8').catch(() => '');
    if (content) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(attempts).toBe(3);
  const line = JSON.parse(content.trim());
  expect(line).toMatchObject({
    functionId: 'S3IngestFunction',
    attempts: 3,
    ErrorMessage: 'Error: cannot parse',
    event: { Records: [{ s3: { object: { key: 'incoming/poison.json' } } }] },
  });
  invoker.set('S3IngestFunction', () => 'ok');
});

test("a function with a DeadLetterQueue of the template gets the failed event in that queue of the local SQS, with Lambda's attributes", async () => {
  const queues = new QueueStore({ region: 'us-east-1', accountId: '123456789012', baseUrl: 'http://localhost:9324' });
  const queue = queues.create({ ...QUEUE_DEFAULTS, queueName: 'stack-IngestDLQ-XYZ' });
  const ownDir = join(dir, 'with-sqs');
  const failing = new FakeInvoker({
    S3IngestFunction: () => {
      throw new Error('cannot parse');
    },
  });
  const own = await startLocalS3({
    host: '127.0.0.1',
    port: 0,
    dataDir: join(ownDir, 's3'),
    buckets: [{ logicalId: 'IngestBucket', bucketName: BUCKET }],
    s3Events: [incoming],
    invoker: failing,
    logger: silentLogger,
    region: 'us-east-1',
    accountId: '123456789012',
    retryDelaysMs: [20, 20],
    deadLetters: deadLetterSink({ dir: join(ownDir, 'dead-letters'), queues: () => queues }),
    deadLetterQueues: { S3IngestFunction: queue.name },
  });
  const ownClient = new S3Client({ ...clientConfig, endpoint: own.url });
  try {
    await ownClient.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'incoming/poison.json', Body: '{' }));
    await queue.waitForMessages(Date.now() + 5000);
    const [message, ...more] = queue.receive(10);
    expect(more).toEqual([]);
    expect(failing.callsTo('S3IngestFunction')).toHaveLength(3);
    expect(JSON.parse(message?.body ?? '{}')).toMatchObject({
      Records: [{ s3: { object: { key: 'incoming/poison.json' } } }],
    });
    expect(message?.messageAttributes).toMatchObject({
      ErrorCode: { DataType: 'Number', StringValue: '200' },
      ErrorMessage: { DataType: 'String', StringValue: 'Error: cannot parse' },
    });
    await expect(readFile(join(ownDir, 'dead-letters', 'S3IngestFunction-async.jsonl'))).rejects.toThrow(/ENOENT/);
  } finally {
    ownClient.destroy();
    await own.close();
  }
});

test('aws-chunked uploads (SigV4 streaming framing and unsigned payloads with a checksum trailer) are unframed', async () => {
  const content = randomBytes(200_000);
  // The SDK streams a body of known length with a CRC32 trailer: content-encoding aws-chunked.
  await client.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: 'chunked/sdk.bin',
      Body: Readable.from([content.subarray(0, 70_000), content.subarray(70_000)]),
      ContentLength: content.length,
      ChecksumAlgorithm: 'CRC32',
    }),
  );
  const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'chunked/sdk.bin' }));
  expect(
    Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()),
  ).toEqual(content);
  expect(got.ContentEncoding).toBeUndefined();

  // Hand-made SigV4 streaming body, as the CLI's older signers send it.
  const data = 'hello, chunked world';
  const sig = `;chunk-signature=${'0'.repeat(64)}`;
  const framed = `${(11).toString(16)}${sig}\r\n${data.slice(0, 11)}\r\n${(data.length - 11).toString(16)}${sig}\r\n${data.slice(11)}\r\n0${sig}\r\n\r\n`;
  const res = await rawPut(`/${BUCKET}/chunked/manual.txt`, framed, {
    'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': String(data.length),
  });
  expect(res.status).toBe(200);
  const manual = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'chunked/manual.txt' }));
  expect(await text(manual.Body)).toBe(data);
  const short = await rawPut(`/${BUCKET}/chunked/short.txt`, framed, {
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': '5',
  });
  expect(short.status).toBe(400);
  expect(short.body).toMatch(/<Code>IncompleteBody<\/Code>/);
});

test('DeleteObjects and AbortMultipartUpload', async () => {
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'batch/1', Body: '1' }));
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'batch/2', Body: '2' }));
  const deleted = await client.send(
    new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: 'batch/1' }, { Key: 'batch/2' }] } }),
  );
  expect(deleted.Deleted?.map((d) => d.Key)).toEqual(['batch/1', 'batch/2']);
  const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'batch/' }));
  expect(listed.KeyCount).toBe(0);

  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'incoming/aborted' }));
  await client.send(
    new UploadPartCommand({ Bucket: BUCKET, Key: 'incoming/aborted', UploadId, PartNumber: 1, Body: 'x' }),
  );
  await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'incoming/aborted', UploadId }));
  await expect(
    client.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: 'incoming/aborted',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"x"' }] },
      }),
    ),
  ).rejects.toMatchObject({ name: 'NoSuchUpload' });
  await s3.settle();
  expect(invoker.calls.some((c) => c.event.Records[0].s3.object.key === 'incoming/aborted')).toBe(false);
});

test('objects and their ETags survive a restart on the same dataDir; files copied in by hand become objects', async () => {
  const dataDir = join(dir, 'restart');
  const options = {
    host: '127.0.0.1',
    port: 0,
    dataDir,
    buckets: [{ logicalId: 'B', bucketName: 'restart-bucket' }],
    s3Events: [],
    invoker,
    logger: silentLogger,
    region: 'us-east-1',
    accountId: '123456789012',
  };
  const first = await startLocalS3(options);
  const firstClient = new S3Client({ ...clientConfig, endpoint: first.url });
  const put = await firstClient.send(
    new PutObjectCommand({ Bucket: 'restart-bucket', Key: 'k/v.json', Body: '{}', ContentType: 'application/json' }),
  );
  firstClient.destroy();
  await first.close();
  await writeFile(join(dataDir, 'restart-bucket', 'dropped.csv'), 'a,b\n');

  const second = await startLocalS3(options);
  const secondClient = new S3Client({ ...clientConfig, endpoint: second.url });
  try {
    const head = await secondClient.send(new HeadObjectCommand({ Bucket: 'restart-bucket', Key: 'k/v.json' }));
    expect(head).toMatchObject({ ETag: put.ETag, ContentType: 'application/json' });
    const dropped = await secondClient.send(new HeadObjectCommand({ Bucket: 'restart-bucket', Key: 'dropped.csv' }));
    expect(dropped).toMatchObject({
      ETag: `"${createHash('md5').update('a,b\n').digest('hex')}"`,
      ContentType: 'text/csv',
    });
  } finally {
    secondClient.destroy();
    await second.close();
  }
});

describe('the AWS CLI against the local S3', () => {
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
  const aws = (...args: string[]) =>
    run('aws', [...args, '--endpoint-url', s3.url], { env, maxBuffer: 10 * 1024 * 1024 });
  // Progress output of `aws s3 cp` is noise here.
  const cp = (from: string, to: string) => aws('s3', 'cp', from, to, '--only-show-errors');

  test('aws s3 cp of a small file notifies the function', async () => {
    const file = join(dir, 'small.ndjson');
    await writeFile(file, '{"realTimeItemKey":"cli"}\n');
    await cp(file, `s3://${BUCKET}/incoming/x.ndjson`);
    const call = await invoker.waitForCall(
      'S3IngestFunction',
      (c) => c.event.Records[0].s3.object.key === 'incoming/x.ndjson',
    );
    expect(call.event.Records[0]).toMatchObject({ eventName: 'ObjectCreated:Put', s3: { object: { size: 26 } } });
    const { stdout } = await aws('s3', 'ls', `s3://${BUCKET}/incoming/`);
    expect(stdout).toMatch(/\s26 x\.ndjson/);
  });

  test('aws s3 cp of a file over 8 MB uses a multipart upload and notifies once; cp back gives the same bytes', async () => {
    const file = join(dir, 'big.ndjson');
    const content = randomBytes(9 * 1024 * 1024 + 123);
    await writeFile(file, content);
    await cp(file, `s3://${BUCKET}/incoming/big.ndjson`);
    const call = await invoker.waitForCall(
      'S3IngestFunction',
      (c) => c.event.Records[0].s3.object.key === 'incoming/big.ndjson',
    );
    expect(call.event.Records[0].eventName).toBe('ObjectCreated:CompleteMultipartUpload');
    expect(call.event.Records[0].s3.object.size).toBe(content.length);
    expect(call.event.Records[0].s3.object.eTag).toMatch(/-2$/);
    const back = join(dir, 'big.back');
    await cp(`s3://${BUCKET}/incoming/big.ndjson`, back);
    expect((await readFile(back)).equals(content)).toBe(true);
    await s3.settle();
    expect(
      invoker.callsTo('S3IngestFunction').filter((c) => c.event.Records[0].s3.object.key === 'incoming/big.ndjson'),
    ).toHaveLength(1);
  });

  test('aws s3 cp outside incoming/ invokes nothing; aws s3api head-object of a missing key is a 404', async () => {
    const before = invoker.callsTo('S3IngestFunction').length;
    const file = join(dir, 'other.ndjson');
    await writeFile(file, '{}\n');
    await cp(file, `s3://${BUCKET}/archive/other.ndjson`);
    await s3.settle();
    expect(invoker.callsTo('S3IngestFunction')).toHaveLength(before);
    await expect(aws('s3api', 'head-object', '--bucket', BUCKET, '--key', 'missing')).rejects.toMatchObject({
      stderr: expect.stringMatching(/\(404\)/),
    });
  });
});
