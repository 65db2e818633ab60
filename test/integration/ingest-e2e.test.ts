import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  type Frame,
  type RecordingSocket,
  startTestPlatform,
  type TestPlatform,
} from '@real-time-platform/test-support';
import mqtt from 'mqtt';

// Producers end to end through the local runtime, as `npm start -- --parameter-overrides RealTimeItemKey=vehicleId`
// runs them: HTTP POST /items, and the SQS and SNS functions invoked with their sample events → DynamoDB Local →
// the stream fan-out → a subscribed ws client receives the item.

jest.setTimeout(60_000);

let platform: TestPlatform;

beforeAll(async () => {
  platform = await startTestPlatform({ parameterOverrides: { Environment: 'prod', RealTimeItemKey: 'vehicleId' } });
});
afterAll(async () => platform?.stop());

/** The first item frame of `key` whose item satisfies `match`. */
const itemOf = (client: RecordingSocket, key: string, match: (item: Frame) => boolean = () => true) =>
  client.next((frame) => frame.type === 'item' && frame.key === key && match(frame.item));

const sample = (name: string) =>
  JSON.parse(readFileSync(join(__dirname, '..', '..', 'events', `${name}.json`), 'utf8'));

test('HTTP: POST /items reaches the subscriber; GET reads it back; mixed input is answered 207', async () => {
  const client = await platform.connect(['e2e-http']);
  try {
    const response = await fetch(`${platform.urls.httpApi}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        { vehicleId: 'e2e-http', lat: 52.1 },
        { lat: 1 },
        { vehicleId: 'e2e-http', itemId: 'big', blob: 'x'.repeat(410_000) },
      ]),
    });
    expect(response.status).toBe(207);
    const { results } = (await response.json()) as { results: { status: string; reason?: string }[] };
    expect(results.map((r) => r.status)).toEqual(['written', 'rejected', 'rejected']);
    expect(results[1]?.reason).toBe('the key attribute "vehicleId" is missing');
    expect(results[2]?.reason).toMatch(/the limit is 409600/);

    const frame = await itemOf(client, 'e2e-http');
    expect(frame).toMatchObject({ event: 'INSERT', itemId: 'latest', item: { vehicleId: 'e2e-http', lat: 52.1 } });

    const got = await fetch(`${platform.urls.httpApi}/items/e2e-http/latest`);
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual({ vehicleId: 'e2e-http', itemId: 'latest', lat: 52.1 });
    const missing = await fetch(`${platform.urls.httpApi}/items/e2e-http/big`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  } finally {
    client.close();
  }
});

test('SQS: the sample batch delivers its valid items and names exactly the poison message', async () => {
  const client = await platform.connect(['3', '7', '9']);
  try {
    const event = sample('sqs-batch');
    const outcome = await platform.runner.invoke('SqsIngestFunction', event, 'sqs IngestQueue');
    expect(outcome).toMatchObject({
      ok: true,
      result: { batchItemFailures: [{ itemIdentifier: event.Records[2].messageId }] },
    });
    await itemOf(client, '3', (item) => item.speedKmh === 38);
    await itemOf(client, '7', (item) => item.status === 'idle');
    await itemOf(client, '9', (item) => item.itemId === 'battery');
  } finally {
    client.close();
  }
});

test('SNS: the sample message delivers its items; a poison message fails the invocation (→ DLQ on AWS)', async () => {
  const client = await platform.connect(['12']);
  try {
    const outcome = await platform.runner.invoke('SnsIngestFunction', sample('sns-message'), 'sns IngestTopic');
    expect(outcome.ok).toBe(true);
    await itemOf(client, '12', (item) => item.lat === 51.5);

    const poison = sample('sns-message');
    poison.Records[0].Sns.Message = 'not json';
    const failed = await platform.runner.invoke('SnsIngestFunction', poison, 'sns IngestTopic');
    expect(failed).toMatchObject({ ok: false, error: { errorType: 'MalformedEventError' } });
  } finally {
    client.close();
  }
});

test('aws sqs send-message and aws sns publish against the local endpoint reach the subscriber through the functions', async () => {
  const client = await platform.connect(['e2e-sqs', 'e2e-sns']);
  try {
    const aws = (...args: string[]) =>
      promisify(execFile)('aws', [...args, '--endpoint-url', platform.urls.sqs ?? ''], {
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: 'local',
          AWS_SECRET_ACCESS_KEY: 'local',
          AWS_DEFAULT_REGION: 'us-east-1',
        },
      });
    const queueUrl =
      platform.model.functions.get('SqsIngestFunction') &&
      platform.model.queues.find((q) => q.logicalId === 'IngestQueue');
    await aws(
      'sqs',
      'send-message',
      '--queue-url',
      `${platform.urls.sqs}/${platform.model.accountId}/${queueUrl?.queueName}`,
      '--message-body',
      '{"vehicleId":"e2e-sqs","speedKmh":61}',
    );
    const topicArn = platform.model.topics.find((t) => t.logicalId === 'IngestTopic')?.topicArn ?? '';
    await aws('sns', 'publish', '--topic-arn', topicArn, '--message', '[{"vehicleId":"e2e-sns","lat":1.5}]');
    await itemOf(client, 'e2e-sqs', (item) => item.speedKmh === 61);
    await itemOf(client, 'e2e-sns', (item) => item.lat === 1.5);
  } finally {
    client.close();
  }
});

test('S3: an NDJSON upload under incoming/ reaches subscribers; bad lines land in errors/<object>.json', async () => {
  const client = await platform.connect(['s3-a', 's3-b']);
  const s3 = new S3Client({
    endpoint: platform.urls.s3,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    const bucket = platform.model.buckets[0]?.bucketName ?? '';
    const lines = [
      JSON.stringify({ vehicleId: 's3-a', speed: 10 }),
      '{"vehicleId": "s3-b", broken',
      JSON.stringify({ speed: 3 }),
      JSON.stringify({ vehicleId: 's3-b', itemId: 'pos', lat: 48.8 }),
    ];
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'incoming/e2e.ndjson', Body: `${lines.join('\n')}\n` }));
    await itemOf(client, 's3-a', (item) => item.speed === 10);
    await itemOf(client, 's3-b', (item) => item.lat === 48.8);

    const report = await waitForObject(s3, bucket, 'errors/e2e.ndjson.json');
    expect(report).toMatchObject({ written: 2, rejected: 2 });
    expect((report.errors as { line: number }[]).map((e) => e.line)).toEqual([2, 3]);
  } finally {
    s3.destroy();
    client.close();
  }
});

test('IoT: a device message published over MQTT to rtp/items/<key> reaches subscribers through the topic rule', async () => {
  const client = await platform.connect(['iot-7']);
  const device = await mqtt.connectAsync(platform.urls.mqtt ?? '', { protocolVersion: 4 });
  try {
    await device.publishAsync('rtp/items/iot-7', JSON.stringify({ speed: 77 }), { qos: 1 });
    const frame = await itemOf(client, 'iot-7', (item) => item.speed === 77);
    expect(frame).toMatchObject({ itemId: 'latest', item: { vehicleId: 'iot-7', itemId: 'latest', speed: 77 } });
  } finally {
    await device.endAsync();
    client.close();
  }
});

async function waitForObject(s3: S3Client, bucket: string, key: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return JSON.parse((await object.Body?.transformToString()) ?? '{}') as Record<string, unknown>;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

test('CLI: npm run produce against the running platform writes through the HTTP API to the subscriber', async () => {
  const client = await platform.connect(['cli-1']);
  try {
    const tsx = join(__dirname, '..', '..', 'node_modules', '.bin', 'tsx');
    // Asynchronously: the platform runs in this process, so a blocking spawn would stop it from answering.
    const result = await promisify(execFile)(
      tsx,
      [
        'scripts/produce.ts',
        '--url',
        platform.urls.httpApi,
        '--key-attribute',
        'vehicleId',
        '--quiet',
        JSON.stringify([{ vehicleId: 'cli-1', speed: 5 }, { speed: 1 }]),
      ],
      { cwd: join(__dirname, '..', '..'), encoding: 'utf8', timeout: 60_000 },
    ).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code?: number; stdout?: string }) => ({ code: error.code, stdout: error.stdout ?? '' }),
    );
    expect(result.code).toBe(2); // one written, one rejected
    expect(result.stdout).toMatch(/written\D+1/);
    await itemOf(client, 'cli-1', (item) => item.speed === 5);
  } finally {
    client.close();
  }
});
