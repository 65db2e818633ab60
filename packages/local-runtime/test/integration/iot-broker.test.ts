import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DeleteTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { freePort, localDynamoDb } from '@real-time-platform/test-support';
import mqtt, { type MqttClient } from 'mqtt';
import { deadLetterSink } from '../../src/dead-letters';
import { type IotBroker, type IotErrorActionMessage, MAX_PAYLOAD_BYTES, startIotBroker } from '../../src/iot/broker';
import { IotSqlError } from '../../src/iot/sql';
import { QUEUE_DEFAULTS, QueueStore } from '../../src/sqs/queues';
import { type IotRuleSpec, silentLogger } from '../../src/types';
import { eventually } from '../helpers/eventually';
import { FakeInvoker } from '../helpers/fake-invoker';
import { attributeDefinitions, keySchema } from '../helpers/key-schema';
import { type LogLine, recordingLogger } from '../helpers/recording-logger';

// The template's IotIngestRule SQL after !Sub (RealTimeItemKey=realTimeItemKey).
const TEMPLATE_SQL = `SELECT *,
CASE isUndefined(realTimeItemKey) WHEN true THEN topic(3) ELSE realTimeItemKey END AS realTimeItemKey,
CASE isUndefined(itemId) WHEN true THEN 'latest' ELSE itemId END AS itemId
FROM 'rtp/items/#'`;

let dynamodb: DynamoDBClient;
let table: string;
let deadLetterDir: string;
let broker: IotBroker;
let invoker: FakeInvoker;
const logs: LogLine[] = [];
const clients: MqttClient[] = [];

const rules = (): IotRuleSpec[] => [
  {
    logicalId: 'IotIngestRule',
    ruleName: 'rtp_items_test',
    sql: TEMPLATE_SQL,
    disabled: false,
    actions: [{ type: 'DynamoDBv2', tableName: table }],
    errorAction: { type: 'Sqs', queueUrl: 'https://sqs.local/IngestDeadLetterQueue', queueLogicalId: 'IngestDLQ' },
  },
  {
    logicalId: 'FastOnlyRule',
    ruleName: 'fast_only',
    sql: "SELECT *, topic(3) AS realTimeItemKey, 'fast' AS itemId FROM 'rtp/fast/+' WHERE speed > 100",
    disabled: false,
    actions: [{ type: 'DynamoDBv2', tableName: table }],
  },
  {
    logicalId: 'LambdaRule',
    ruleName: 'to_lambda',
    sql: "SELECT speed, topic(3) AS vehicle, clientid() AS device FROM 'rtp/lambda/+'",
    disabled: false,
    actions: [
      { type: 'Lambda', functionId: 'OnTelemetry' },
      { type: 'Sqs', queueUrl: 'https://sqs.local/Other', queueLogicalId: 'Other' },
      { type: 'Unsupported', name: 'Kinesis' },
    ],
  },
  {
    logicalId: 'MissingFunctionRule',
    ruleName: 'to_missing_lambda',
    sql: "SELECT * FROM 'rtp/nolambda/#'",
    disabled: false,
    actions: [{ type: 'Lambda', functionId: 'NoSuchFunction' }],
    errorAction: { type: 'Sqs', queueUrl: 'https://sqs.local/x' },
  },
  {
    logicalId: 'DisabledRule',
    ruleName: 'disabled',
    sql: "SELECT * FROM 'rtp/lambda/#'",
    disabled: true,
    actions: [{ type: 'Lambda', functionId: 'OnTelemetry' }],
  },
];

async function getItem(key: string, itemId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await dynamodb.send(
    new GetItemCommand({ TableName: table, Key: { realTimeItemKey: { S: key }, itemId: { S: itemId } } }),
  );
  return Item ? unmarshall(Item) : undefined;
}

async function client(options: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  clients.push(c);
  return c;
}

async function errorLines(file: string): Promise<IotErrorActionMessage[]> {
  const text = await readFile(join(deadLetterDir, file), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as IotErrorActionMessage);
}

async function errorLineFor(file: string, topic: string): Promise<IotErrorActionMessage> {
  return eventually(
    async () => (await errorLines(file)).find((line) => line.topic === topic),
    `an error action line for ${topic}`,
  );
}

beforeAll(async () => {
  dynamodb = localDynamoDb();
  table = `RealTimeData-iot-${randomUUID().slice(0, 8)}`;
  await dynamodb.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: attributeDefinitions({ realTimeItemKey: 'S', itemId: 'S' }),
      KeySchema: keySchema('realTimeItemKey', 'itemId'),
    }),
  );
  deadLetterDir = await mkdtemp(join(tmpdir(), 'rtp-iot-'));
  invoker = new FakeInvoker({ OnTelemetry: () => ({ ok: true }) });
  broker = await startIotBroker({
    host: '127.0.0.1',
    port: await freePort(),
    rules: rules(),
    dynamodb,
    invoker,
    logger: recordingLogger(logs),
    deadLetterDir,
  });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  await broker?.close();
  await dynamodb.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
  dynamodb.destroy();
  await rm(deadLetterDir, { recursive: true, force: true });
});

describe('the template rule through a real MQTT client and DynamoDB Local', () => {
  it('writes {"speed":42} on rtp/items/3 as {realTimeItemKey:"3", itemId:"latest", speed:42}', async () => {
    const c = await client();
    await c.publishAsync('rtp/items/3', JSON.stringify({ speed: 42 }), { qos: 1 });
    const item = await eventually(() => getItem('3', 'latest'), 'the item');
    expect(item).toEqual({ realTimeItemKey: '3', itemId: 'latest', speed: 42 });
  });

  it('writes every top-level attribute as its own DynamoDB attribute (numbers as N, objects as M, arrays as L)', async () => {
    const c = await client();
    const payload = { speed: 12.5, on: true, nothing: null, pos: { lat: 1, lon: 2 }, tags: ['a', 1], name: '' };
    await c.publishAsync('rtp/items/types', JSON.stringify(payload), { qos: 0 });
    await eventually(() => getItem('types', 'latest'), 'the typed item');
    const { Item } = await dynamodb.send(
      new GetItemCommand({ TableName: table, Key: { realTimeItemKey: { S: 'types' }, itemId: { S: 'latest' } } }),
    );
    expect(Item).toEqual({
      realTimeItemKey: { S: 'types' },
      itemId: { S: 'latest' },
      speed: { N: '12.5' },
      on: { BOOL: true },
      nothing: { NULL: true },
      pos: { M: { lat: { N: '1' }, lon: { N: '2' } } },
      tags: { L: [{ S: 'a' }, { N: '1' }] },
      name: { S: '' },
    });
  });

  it("lets the payload's own key and itemId win over the topic", async () => {
    const c = await client();
    await c.publishAsync('rtp/items/3', JSON.stringify({ realTimeItemKey: 'bus-7', itemId: 'gps', lat: 1 }), {
      qos: 1,
    });
    expect(await eventually(() => getItem('bus-7', 'gps'), 'the item')).toEqual({
      realTimeItemKey: 'bus-7',
      itemId: 'gps',
      lat: 1,
    });
  });

  it('writes nothing when WHERE is false, and writes when it is true', async () => {
    const c = await client();
    await c.publishAsync('rtp/fast/slowcar', JSON.stringify({ speed: 5 }), { qos: 1 });
    // A later message that is written proves the earlier one was evaluated (rules are evaluated in arrival order).
    await c.publishAsync('rtp/fast/fastcar', JSON.stringify({ speed: 150 }), { qos: 1 });
    expect(await eventually(() => getItem('fastcar', 'fast'), 'the fast item')).toMatchObject({ speed: 150 });
    expect(await getItem('slowcar', 'fast')).toBeUndefined();
    expect(logs.some((l) => l.message.includes('fast_only: WHERE is not true') && l.message.includes('slowcar'))).toBe(
      true,
    );
  });

  it('sends a non-JSON payload to the error action, in AWS error action message shape', async () => {
    const c = await client({ clientId: 'binary-device' });
    const raw = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x7b]);
    await c.publishAsync('rtp/items/binary', raw, { qos: 1 });
    const line = await errorLineFor('IngestDLQ.jsonl', 'rtp/items/binary');
    expect(line).toEqual({
      ruleName: 'rtp_items_test',
      topic: 'rtp/items/binary',
      cloudwatchTraceId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      clientId: 'binary-device',
      base64OriginalPayload: raw.toString('base64'),
      failures: [
        {
          failedAction: 'DynamoDBv2Action',
          failedResource: table,
          errorMessage: expect.stringMatching(/not a JSON object/),
        },
      ],
    });
    expect(await getItem('binary', 'latest')).toBeUndefined();
    expect(logs.some((l) => l.level === 'warn' && l.message.includes('IngestDLQ.jsonl'))).toBe(true);
  });

  it('treats a JSON payload that is not an object (an array, text) like AWS treats raw bytes', async () => {
    const c = await client();
    await c.publishAsync('rtp/items/array', '[1,2,3]', { qos: 1 });
    await c.publishAsync('rtp/items/text', 'hello', { qos: 1 });
    expect((await errorLineFor('IngestDLQ.jsonl', 'rtp/items/array')).failures[0]?.errorMessage).toMatch(/JSON object/);
    expect((await errorLineFor('IngestDLQ.jsonl', 'rtp/items/text')).failures[0]?.errorMessage).toMatch(/JSON object/);
  });

  it('sends a payload DynamoDB refuses to the error action with its reason', async () => {
    const c = await client();
    // A number where the table's partition key is a string.
    await c.publishAsync('rtp/items/wrongtype', JSON.stringify({ realTimeItemKey: 7, speed: 1 }), { qos: 1 });
    // No third topic level: the key is missing from the item.
    await c.publishAsync('rtp/items', JSON.stringify({ speed: 1 }), { qos: 1 });
    // An empty string is not a valid key value.
    await c.publishAsync('rtp/items/emptyid', JSON.stringify({ itemId: '' }), { qos: 1 });
    const wrongType = await errorLineFor('IngestDLQ.jsonl', 'rtp/items/wrongtype');
    expect(wrongType.failures[0]?.errorMessage).toMatch(/ValidationException/);
    expect(Buffer.from(wrongType.base64OriginalPayload, 'base64').toString()).toBe('{"realTimeItemKey":7,"speed":1}');
    const missingKey = await errorLineFor('IngestDLQ.jsonl', 'rtp/items');
    expect(missingKey.failures[0]?.errorMessage).toMatch(/ValidationException.*key/i);
    const emptyId = await errorLineFor('IngestDLQ.jsonl', 'rtp/items/emptyid');
    expect(emptyId.failures[0]?.errorMessage).toMatch(/ValidationException/);
  });

  it('logs a failure of a rule without an error action', async () => {
    const c = await client();
    // 1e200 is valid JSON but beyond DynamoDB's number range (1E+125).
    await c.publishAsync('rtp/fast/bad', '{"speed": 500, "huge": 1e200}', { qos: 1 });
    const line = await eventually(
      async () =>
        logs.find(
          (l) => l.level === 'error' && l.message.includes('fast_only') && l.message.includes('no error action'),
        ),
      'the error log',
    );
    expect(line.message).toMatch(/DynamoDBv2Action/);
  });
});

describe('Lambda actions', () => {
  it('invokes the function with the evaluated payload and an "iot <rule>" trigger', async () => {
    const c = await client({ clientId: 'truck-1' });
    await c.publishAsync('rtp/lambda/v9', JSON.stringify({ speed: 77, ignored: true }), { qos: 1 });
    const call = await invoker.waitForCall('OnTelemetry');
    expect(call.event).toEqual({ speed: 77, vehicle: 'v9', device: 'truck-1' });
    expect(call.trigger).toBe('iot to_lambda');
    // A second message: once its call is here, a disabled rule's call for the first one would be here too (the
    // rules of a message are applied together, and messages in arrival order).
    await c.publishAsync('rtp/lambda/v10', JSON.stringify({ speed: 1 }), { qos: 1 });
    await invoker.waitForCall('OnTelemetry', (second) => second.event.vehicle === 'v10');
    // The disabled rule on the same topic never ran: one call per message.
    expect(invoker.callsTo('OnTelemetry').map((each) => each.event.vehicle)).toEqual(['v9', 'v10']);
    // The Sqs and unsupported actions of the rule are logged once, not run.
    expect(logs.filter((l) => l.message.includes('Sqs action (Other) is not run locally'))).toHaveLength(1);
    expect(logs.filter((l) => l.message.includes('Kinesis action is not run locally'))).toHaveLength(1);
  });

  it('does not send a handler error to the error action (AWS invokes asynchronously)', async () => {
    // A broker of its own, so that close() (which waits for every rule action and error action still running) says
    // when the rule is done with both messages; and a rule with an error action, which the shared Lambda rule lacks.
    const ownLogs: LogLine[] = [];
    const ownDeadLetters = join(deadLetterDir, 'handler-error');
    const ownInvoker = new FakeInvoker({
      OnTelemetry: (event) => {
        // The control: a failed Invoke call (no such function), which does reach the error action.
        if (event.vehicle === 'gone') {
          throw Object.assign(new Error('Function not found: OnTelemetry'), { name: 'ResourceNotFoundException' });
        }
        throw new Error('handler broke');
      },
    });
    const own = await startIotBroker({
      host: '127.0.0.1',
      port: 0,
      rules: [
        {
          logicalId: 'LambdaWithErrorActionRule',
          ruleName: 'to_lambda_with_error_action',
          sql: "SELECT speed, topic(3) AS vehicle FROM 'rtp/lambda/+'",
          disabled: false,
          actions: [{ type: 'Lambda', functionId: 'OnTelemetry' }],
          errorAction: { type: 'Sqs', queueUrl: 'https://sqs.local/LambdaErrors', queueLogicalId: 'LambdaErrors' },
        },
      ],
      dynamodb,
      invoker: ownInvoker,
      logger: recordingLogger(ownLogs),
      deadLetterDir: ownDeadLetters,
    });
    const c = await mqtt.connectAsync(own.url, { reconnectPeriod: 0 });
    await c.publishAsync('rtp/lambda/v11', JSON.stringify({ speed: 3 }), { qos: 1 });
    await c.publishAsync('rtp/lambda/gone', JSON.stringify({ speed: 4 }), { qos: 1 });
    await ownInvoker.waitForCall('OnTelemetry', (call) => call.event.vehicle === 'v11');
    await ownInvoker.waitForCall('OnTelemetry', (call) => call.event.vehicle === 'gone');
    await c.endAsync(true);
    await own.close();

    const errorLines = (await readFile(join(ownDeadLetters, 'LambdaErrors.jsonl'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as IotErrorActionMessage);
    expect(errorLines.map((line) => [line.topic, line.failures.map((failure) => failure.errorMessage)])).toEqual([
      ['rtp/lambda/gone', [expect.stringMatching(/^ResourceNotFoundException/)]],
    ]);
    expect(
      ownLogs.filter((l) => l.level === 'warn' && l.message.includes('OnTelemetry failed: handler broke')),
    ).toHaveLength(1);
  });

  it("runs Sqs actions and Sqs error actions on the template's queues in the local SQS, nothing to a file", async () => {
    const queues = new QueueStore({ region: 'us-east-1', accountId: '123456789012', baseUrl: 'http://localhost:9324' });
    const queue = queues.create({ ...QUEUE_DEFAULTS, queueName: 'stack-IotErrors-XYZ' });
    const telemetry = queues.create({ ...QUEUE_DEFAULTS, queueName: 'stack-Telemetry-XYZ' });
    const ownDeadLetters = join(deadLetterDir, 'to-sqs');
    const own = await startIotBroker({
      host: '127.0.0.1',
      port: 0,
      rules: [
        {
          logicalId: 'MissingFunctionRule',
          ruleName: 'to_missing_function',
          sql: "SELECT * FROM 'rtp/missing/+'",
          disabled: false,
          actions: [{ type: 'Lambda', functionId: 'NoSuchFunction' }],
          errorAction: { type: 'Sqs', queueUrl: queue.url, queueLogicalId: 'IotErrors' },
        },
        {
          logicalId: 'QueueRule',
          ruleName: 'to_queue',
          sql: "SELECT speed, topic(3) AS vehicle FROM 'rtp/queued/+'",
          disabled: false,
          actions: [
            { type: 'Sqs', queueUrl: telemetry.url, queueLogicalId: 'Telemetry' },
            { type: 'Sqs', queueUrl: telemetry.url, queueLogicalId: 'Telemetry', useBase64: true },
          ],
        },
      ],
      dynamodb,
      invoker,
      logger: silentLogger,
      deadLetterDir: ownDeadLetters,
      deadLetters: deadLetterSink({
        dir: ownDeadLetters,
        queues: () => queues,
        queueNames: { IotErrors: queue.name },
      }),
      queueOf: (logicalId) => ({ IotErrors: queue, Telemetry: telemetry })[logicalId],
    });
    const c = await mqtt.connectAsync(own.url, { reconnectPeriod: 0 });
    await c.publishAsync('rtp/missing/a', JSON.stringify({ speed: 5 }), { qos: 1 });
    await c.publishAsync('rtp/queued/v1', JSON.stringify({ speed: 6 }), { qos: 1 });
    await queue.waitForMessages(Date.now() + 5000);
    await telemetry.waitForMessages(Date.now() + 5000);
    await c.endAsync(true);
    await own.close();

    const messages = queue.receive(10);
    expect(messages.map((message) => JSON.parse(message.body))).toEqual([
      expect.objectContaining({
        ruleName: 'to_missing_function',
        topic: 'rtp/missing/a',
        failures: [expect.objectContaining({ failedAction: 'LambdaAction', failedResource: 'NoSuchFunction' })],
      }),
    ]);
    const sent = '{"speed":6,"vehicle":"v1"}';
    expect(
      telemetry
        .receive(10)
        .map((message) => message.body)
        .sort(),
    ).toEqual([sent, Buffer.from(sent).toString('base64')].sort());
    await expect(readdir(ownDeadLetters)).rejects.toThrow(/ENOENT/);
  });

  it('sends a missing function to the error action (iot-errors.jsonl without a queue logical id)', async () => {
    const c = await client();
    await c.publishAsync('rtp/nolambda/x', JSON.stringify({ a: 1 }), { qos: 1 });
    const line = await errorLineFor('iot-errors.jsonl', 'rtp/nolambda/x');
    expect(line.failures).toEqual([
      {
        failedAction: 'LambdaAction',
        failedResource: 'NoSuchFunction',
        errorMessage: expect.stringMatching(/ResourceNotFoundException/),
      },
    ]);
  });
});

describe('bad input never stops the broker', () => {
  it(`refuses a payload over ${MAX_PAYLOAD_BYTES} bytes, disconnects the client and keeps serving others`, async () => {
    const c = await client();
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    const huge = JSON.stringify({ blob: 'x'.repeat(MAX_PAYLOAD_BYTES) });
    c.publish('rtp/items/huge', huge, { qos: 0 });
    await closed;
    expect(
      logs.some((l) => l.level === 'warn' && /refused a \d+-byte message on rtp\/items\/huge/.test(l.message)),
    ).toBe(true);
    const other = await client();
    await other.publishAsync('rtp/items/after-huge', '{"ok":1}', { qos: 1 });
    expect(await eventually(() => getItem('after-huge', 'latest'), 'the next item')).toMatchObject({ ok: 1 });
    expect(await getItem('huge', 'latest')).toBeUndefined();
  });

  it('accepts a payload of exactly the limit', async () => {
    const c = await client();
    const filler = 'y'.repeat(MAX_PAYLOAD_BYTES - '{"blob":""}'.length);
    const payload = `{"blob":"${filler}"}`;
    expect(Buffer.byteLength(payload)).toBe(MAX_PAYLOAD_BYTES);
    await c.publishAsync('rtp/items/at-limit', payload, { qos: 1 });
    const item = await eventually(() => getItem('at-limit', 'latest'), 'the item at the limit');
    expect((item.blob as string).length).toBe(filler.length);
  });

  it('drops a connection that announces a huge packet before buffering it, and one that sends garbage', async () => {
    const send = (bytes: Buffer) =>
      new Promise<void>((resolve) => {
        const url = new URL(broker.url);
        const socket = connectTcp(Number(url.port), url.hostname, () => socket.write(bytes));
        socket.on('error', () => undefined);
        socket.on('close', () => resolve());
      });
    // PUBLISH with a remaining length of 268,435,455 (the MQTT maximum), then nothing.
    await send(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]));
    expect(logs.some((l) => l.message.includes('268435455-byte packet is over'))).toBe(true);
    // A remaining length with a fifth continuation byte is malformed.
    await send(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]));
    expect(logs.some((l) => l.message.includes('malformed remaining length'))).toBe(true);
    // Not MQTT at all: an HTTP request.
    await send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    const c = await client();
    await c.publishAsync('rtp/items/after-garbage', '{"ok":2}', { qos: 1 });
    expect(await eventually(() => getItem('after-garbage', 'latest'), 'the next item')).toMatchObject({ ok: 2 });
  });

  it('refuses an MQTT 5 connection (aedes speaks 3.1 / 3.1.1) and keeps serving; MQTT 3.1 works', async () => {
    await expect(client({ protocolVersion: 5 })).rejects.toThrow(/Unacceptable protocol version/);
    // The CONNACK reaches the client before aedes reports the refused connection.
    await eventually(
      async () => logs.find((l) => l.level === 'warn' && l.message.includes('refused a client asking for MQTT 5')),
      'the MQTT 5 warning',
    );
    const v31 = await client({ protocolVersion: 3, protocolId: 'MQIsdp' });
    await v31.publishAsync('rtp/items/v31', '{"v":3}', { qos: 1 });
    expect(await eventually(() => getItem('v31', 'latest'), 'the 3.1 item')).toMatchObject({ v: 3 });
  });

  it('still delivers to ordinary MQTT subscribers', async () => {
    const sub = await client();
    await sub.subscribeAsync('rtp/items/+', { qos: 1 });
    const received = new Promise<string>((resolve) =>
      sub.once('message', (_topic, payload) => resolve(payload.toString())),
    );
    const pub = await client();
    await pub.publishAsync('rtp/items/echo', '{"echo":true}', { qos: 1 });
    expect(await received).toBe('{"echo":true}');
  });
});

describe('start-up and shut-down', () => {
  it('refuses SQL outside the subset, naming the rule and the construct', async () => {
    const start = startIotBroker({
      host: '127.0.0.1',
      port: 0,
      rules: [{ ...rules()[0], ruleName: 'bad_rule', sql: "SELECT md5(a) AS h FROM 'x'" } as IotRuleSpec],
      dynamodb,
      invoker,
      logger: recordingLogger([]),
      deadLetterDir,
    });
    await expect(start).rejects.toThrow(IotSqlError);
    await expect(start).rejects.toThrow(/IoT rule bad_rule \(IotIngestRule\): function md5\(\) is not supported/);
  });

  it('reports a port in use', async () => {
    const port = Number(new URL(broker.url).port);
    await expect(
      startIotBroker({
        host: '127.0.0.1',
        port,
        rules: [],
        dynamodb,
        invoker,
        logger: recordingLogger([]),
        deadLetterDir,
      }),
    ).rejects.toThrow(/already in use.*--mqtt-port/);
  });

  it('close() disconnects clients, stops listening and is idempotent', async () => {
    const own = await startIotBroker({
      host: '127.0.0.1',
      port: 0,
      rules: rules(),
      dynamodb,
      invoker,
      logger: recordingLogger([]),
      deadLetterDir,
    });
    const c = await mqtt.connectAsync(own.url, { reconnectPeriod: 0 });
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    await Promise.all([own.close(), own.close()]);
    await closed;
    await expect(mqtt.connectAsync(own.url, { reconnectPeriod: 0, connectTimeout: 1000 })).rejects.toThrow();
    await c.endAsync(true);
  });

  it('scans only what the rules wrote', async () => {
    // Guards the tests above: nothing unexpected (e.g. a refused or filtered message) reached the table.
    const { Items = [] } = await dynamodb.send(new ScanCommand({ TableName: table }));
    const keys = Items.map((item) => unmarshall(item))
      .map((item) => `${item.realTimeItemKey}/${item.itemId}`)
      .sort();
    expect(keys).not.toContain('slowcar/fast');
    expect(keys).not.toContain('huge/latest');
    expect(keys).not.toContain('binary/latest');
  });
});
