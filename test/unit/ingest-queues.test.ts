import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, type BatchWriteCommandInput, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { createItemIngestor, type ItemPage, type ItemReader } from '../../src/adapters/item-store';
import { createItemsApiHandler } from '../../src/handlers/logic/items-api';
import { createSnsIngestHandler, type SnsEvent } from '../../src/handlers/logic/sns-ingest';
import { createSqsIngestHandler, type SqsEvent } from '../../src/handlers/logic/sqs-ingest';
import { MalformedEventError, StorageError } from '../../src/lib/errors';
import { captureLog } from '../helpers/fakes';

// The real ingestor over a mocked DynamoDB that records what was written; vehicleId "hot" stays unprocessed.
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
const mock = mockClient(documents);
const ingestor = createItemIngestor({
  ddb: documents,
  tableName: 'RealTimeData',
  keyAttribute: 'vehicleId',
  maxAttempts: 2,
  sleep: async () => undefined,
});
let stored: Record<string, unknown>[];
let logger: ReturnType<typeof captureLog>;

beforeEach(() => {
  mock.reset();
  stored = [];
  logger = captureLog();
  mock.on(BatchWriteCommand).callsFake((input: BatchWriteCommandInput) => {
    const requests = input.RequestItems?.RealTimeData ?? [];
    const hot = requests.filter((r) => r.PutRequest?.Item?.vehicleId === 'hot');
    for (const r of requests) if (r.PutRequest?.Item?.vehicleId !== 'hot') stored.push(r.PutRequest?.Item ?? {});
    return { UnprocessedItems: hot.length > 0 ? { RealTimeData: hot } : {} };
  });
});

const ARN = 'arn:aws:sqs:eu-west-1:123456789012:IngestQueue';
const sqsEvent = (bodies: Record<string, string>, arn = ARN): SqsEvent => ({
  Records: Object.entries(bodies).map(([messageId, body]) => ({ messageId, body, eventSourceARN: arn })),
});
const sqs = () => createSqsIngestHandler({ ingestor, logger });

describe('SQS ingest: batchItemFailures', () => {
  test('names exactly the poison messages and those with unwritten items', async () => {
    const response = await sqs()(
      sqsEvent({
        valid: JSON.stringify({ vehicleId: '1' }),
        array: JSON.stringify([{ vehicleId: '2' }, { vehicleId: '3', itemId: 'b' }]),
        partlyValid: JSON.stringify([{ vehicleId: '4' }, { noKey: true }]),
        badJson: '{"vehicleId":',
        nothingValid: JSON.stringify([{ vehicleId: 5 }, 'x']),
        throttled: JSON.stringify([{ vehicleId: '6' }, { vehicleId: 'hot' }]),
        empty: '[]',
      }),
    );
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: 'badJson' },
      { itemIdentifier: 'nothingValid' },
      { itemIdentifier: 'throttled' },
    ]);
    // Every valid item was written, including those of the partly valid and the throttled message.
    expect(stored.map((item) => item.vehicleId).sort()).toEqual(['1', '2', '3', '4', '6']);
  });

  test('rejections are logged with the message id and the position inside its body', async () => {
    await sqs()(sqsEvent({ m1: JSON.stringify({ vehicleId: '1' }), m2: JSON.stringify([{ vehicleId: '4' }, {}]) }));
    const warning = logger.lines.find((line) => line.message === 'Items rejected');
    expect(warning?.fields).toMatchObject({
      messageId: 'm2',
      rejected: 1,
      reasons: [{ index: 1, reason: 'the key attribute "vehicleId" is missing' }],
    });
  });

  test('messages share BatchWriteItem requests, and a key repeated across messages ends with the later one', async () => {
    await sqs()(sqsEvent({ a: JSON.stringify({ vehicleId: '1', v: 1 }), b: JSON.stringify({ vehicleId: '1', v: 2 }) }));
    expect(stored).toEqual([
      { vehicleId: '1', v: 1, itemId: 'latest' },
      { vehicleId: '1', v: 2, itemId: 'latest' },
    ]);
  });

  test('on a FIFO queue every message after the first reported one is reported too', async () => {
    const response = await sqs()(
      sqsEvent(
        { ok: JSON.stringify({ vehicleId: '1' }), bad: 'nope', later: JSON.stringify({ vehicleId: '2' }) },
        'arn:aws:sqs:eu-west-1:123456789012:IngestQueue.fifo',
      ),
    );
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'bad' }, { itemIdentifier: 'later' }]);
  });

  test('malformed events do not throw', async () => {
    expect(await sqs()({} as SqsEvent)).toEqual({ batchItemFailures: [] });
    expect(await sqs()({ Records: [{ body: '{}' }] })).toEqual({ batchItemFailures: [] });
    expect(await sqs()({ Records: [{ messageId: 'm' }] })).toEqual({ batchItemFailures: [{ itemIdentifier: 'm' }] });
  });

  test('fuzz: any bodies → a response naming only messages of the batch, never an exception', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.string(), fc.json()), { maxLength: 10 }), async (bodies) => {
        const event = sqsEvent(Object.fromEntries(bodies.map((body, i) => [`m${i}`, body])));
        const response = await sqs()(event);
        for (const failure of response.batchItemFailures) expect(failure.itemIdentifier).toMatch(/^m\d+$/);
      }),
      { numRuns: 200 },
    );
  });
});

const snsEvent = (...messages: string[]): SnsEvent => ({
  Records: messages.map((Message, i) => ({ Sns: { MessageId: `sns-${i}`, Message } })),
});

describe('SNS ingest', () => {
  const sns = () => createSnsIngestHandler({ ingestor, logger });

  test('writes the valid items and logs the rejected ones', async () => {
    await expect(sns()(snsEvent(JSON.stringify([{ vehicleId: '1' }, { bad: 1 }])))).resolves.toBeUndefined();
    expect(stored).toEqual([{ vehicleId: '1', itemId: 'latest' }]);
    expect(logger.lines.some((line) => line.message === 'Items rejected')).toBe(true);
  });

  test('unwritten items throw a retryable StorageError (Lambda retries, then the DLQ)', async () => {
    const error = await sns()(snsEvent(JSON.stringify([{ vehicleId: '1' }, { vehicleId: 'hot' }]))).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).retryable).toBe(true);
    expect(stored).toEqual([{ vehicleId: '1', itemId: 'latest' }]);
  });

  test('a poison message (not JSON, or nothing valid) throws a MalformedEventError so it reaches the DLQ', async () => {
    await expect(sns()(snsEvent('not json'))).rejects.toBeInstanceOf(MalformedEventError);
    await expect(sns()(snsEvent('{"vehicleId":3}'))).rejects.toThrow(/1 messages hold nothing valid \(sns-0\)/);
    await expect(sns()({})).rejects.toBeInstanceOf(MalformedEventError);
  });
});

describe('sample events in events/ (npm run invoke)', () => {
  const sample = (name: string) =>
    JSON.parse(readFileSync(join(__dirname, '..', '..', 'events', `${name}.json`), 'utf8'));

  test('items-post.json writes both items: 201', async () => {
    const reader = {} as ItemReader;
    const result = await createItemsApiHandler({ ingestor, reader, logger })(sample('items-post'));
    expect(result.statusCode).toBe(201);
    expect(stored.map((item) => [item.vehicleId, item.itemId])).toEqual([
      ['3', 'latest'],
      ['7', 'trip-2026-11-22'],
    ]);
  });

  test('items-get.json lists key 3 with limit 10', async () => {
    let asked: unknown;
    const reader: ItemReader = {
      get: async () => undefined,
      delete: async () => undefined,
      list: async (key, page): Promise<ItemPage> => {
        asked = { key, ...page };
        return { items: [] };
      },
    };
    const result = await createItemsApiHandler({ ingestor, reader, logger })(sample('items-get'));
    expect(result.statusCode).toBe(200);
    expect(asked).toEqual({ key: '3', limit: 10 });
  });

  test('sqs-batch.json: the valid item and array are written, the poison body is reported', async () => {
    const event = sample('sqs-batch');
    const response = await sqs()(event);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[2].messageId }]);
    expect(stored.map((item) => item.vehicleId)).toEqual(['3', '7', '9']);
  });

  test('sns-message.json writes its two items', async () => {
    await createSnsIngestHandler({ ingestor, logger })(sample('sns-message'));
    expect(stored.map((item) => item.vehicleId)).toEqual(['3', '12']);
  });
});
