import {
  DeleteItemCommand,
  DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  QueryCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, type BatchWriteCommandInput, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { createItemIngestor, createItemReader, decodeToken, encodeToken } from '../../src/adapters/item-store';
import { StorageError, ValidationError } from '../../src/lib/errors';

const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
const mock = mockClient(documents);
const table = { ddb: documents, tableName: 'RealTimeData', keyAttribute: 'vehicleId' };
const slept: number[] = [];
const ingestor = createItemIngestor({
  ...table,
  maxAttempts: 3,
  sleep: async (ms) => {
    slept.push(ms);
  },
});

type Input = BatchWriteCommandInput;
const itemsOf = (input: Input) => (input.RequestItems?.RealTimeData ?? []).map((r) => r.PutRequest?.Item);
const sentBatches = () => mock.commandCalls(BatchWriteCommand).map((call) => itemsOf(call.args[0].input));
const validation = (message: string) =>
  new DynamoDBServiceException({
    name: 'ValidationException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message,
  });

beforeEach(() => {
  mock.reset();
  slept.length = 0;
});

describe('item ingestor: writes', () => {
  test('valid items are written with itemId defaulted; invalid ones rejected with a reason and never sent', async () => {
    mock.on(BatchWriteCommand).resolves({});
    const outcomes = await ingestor.ingest([
      { vehicleId: '3', lat: 1 },
      { lat: 2 },
      { vehicleId: '4', itemId: 'trip' },
    ]);
    expect(outcomes).toEqual([
      { index: 0, status: 'written', key: '3', itemId: 'latest' },
      { index: 1, status: 'rejected', reason: 'the key attribute "vehicleId" is missing' },
      { index: 2, status: 'written', key: '4', itemId: 'trip' },
    ]);
    expect(sentBatches()).toEqual([
      [
        { vehicleId: '3', lat: 1, itemId: 'latest' },
        { vehicleId: '4', itemId: 'trip' },
      ],
    ]);
  });

  test('nothing valid → no request at all', async () => {
    const outcomes = await ingestor.ingest([{}, 3]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(mock.commandCalls(BatchWriteCommand)).toHaveLength(0);
  });

  test('60 items go out as chunks of 25, 25 and 10', async () => {
    mock.on(BatchWriteCommand).resolves({});
    const outcomes = await ingestor.ingest(Array.from({ length: 60 }, (_, i) => ({ vehicleId: `v${i}` })));
    expect(sentBatches().map((batch) => batch.length)).toEqual([25, 25, 10]);
    expect(outcomes.every((o, i) => o.status === 'written' && o.index === i)).toBe(true);
  });

  test('UnprocessedItems are re-sent (only them) after a jittered wait, and then count as written', async () => {
    mock
      .on(BatchWriteCommand)
      .resolvesOnce({
        UnprocessedItems: { RealTimeData: [{ PutRequest: { Item: { vehicleId: '4', itemId: 'latest' } } }] },
      })
      .resolves({});
    const outcomes = await ingestor.ingest([{ vehicleId: '3' }, { vehicleId: '4' }]);
    expect(outcomes.map((o) => o.status)).toEqual(['written', 'written']);
    expect(sentBatches()).toEqual([
      [
        { vehicleId: '3', itemId: 'latest' },
        { vehicleId: '4', itemId: 'latest' },
      ],
      [{ vehicleId: '4', itemId: 'latest' }],
    ]);
    expect(slept).toHaveLength(1);
  });

  test('an item still unprocessed after the attempts is failed (retryable); the rest of its chunk is written', async () => {
    mock.on(BatchWriteCommand).callsFake((input: Input) => ({
      UnprocessedItems: {
        RealTimeData: (input.RequestItems?.RealTimeData ?? []).filter((r) => r.PutRequest?.Item?.vehicleId === 'hot'),
      },
    }));
    const outcomes = await ingestor.ingest([{ vehicleId: '3' }, { vehicleId: 'hot', itemId: 'x' }]);
    expect(outcomes[0]).toEqual({ index: 0, status: 'written', key: '3', itemId: 'latest' });
    expect(outcomes[1]).toMatchObject({ index: 1, status: 'failed', key: 'hot', itemId: 'x' });
    expect(outcomes[1]?.reason).toMatch(/stayed unprocessed after 3 attempts; retry later/);
    expect(mock.commandCalls(BatchWriteCommand)).toHaveLength(3);
  });

  test('a repeated key goes to a later chunk, so both writes happen in input order (the last one wins)', async () => {
    mock.on(BatchWriteCommand).resolves({});
    const outcomes = await ingestor.ingest([
      { vehicleId: '3', v: 1 },
      { vehicleId: '4' },
      { vehicleId: '3', v: 2 },
      { vehicleId: '3', itemId: 'other' },
      { vehicleId: '3', v: 3 },
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['written', 'written', 'written', 'written', 'written']);
    expect(sentBatches()).toEqual([
      [
        { vehicleId: '3', v: 1, itemId: 'latest' },
        { vehicleId: '4', itemId: 'latest' },
      ],
      [
        { vehicleId: '3', v: 2, itemId: 'latest' },
        { vehicleId: '3', itemId: 'other' },
      ],
      [{ vehicleId: '3', v: 3, itemId: 'latest' }],
    ]);
  });

  test('a chunk that throws (throttled past the SDK retries) fails its items only; the next chunk is written', async () => {
    mock
      .on(BatchWriteCommand)
      .rejectsOnce(
        new ProvisionedThroughputExceededException({ $metadata: { httpStatusCode: 400 }, message: 'slow down' }),
      )
      .resolves({});
    const outcomes = await ingestor.ingest(Array.from({ length: 30 }, (_, i) => ({ vehicleId: `v${i}` })));
    expect(outcomes.slice(0, 25).every((o) => o.status === 'failed')).toBe(true);
    expect(outcomes[0]?.reason).toBe(
      'not written: DynamoDB was unavailable (ProvisionedThroughputExceededException); retry later',
    );
    expect(outcomes.slice(25).every((o) => o.status === 'written')).toBe(true);
  });

  test('a chunk refused as invalid is narrowed down item by item: the bad one is rejected, the others written', async () => {
    mock.on(BatchWriteCommand).callsFake((input: Input) => {
      if (itemsOf(input).some((item) => item?.vehicleId === 'bad'))
        throw validation('Item size has exceeded the maximum');
      return {};
    });
    const outcomes = await ingestor.ingest([{ vehicleId: '1' }, { vehicleId: 'bad' }, { vehicleId: '2' }]);
    expect(outcomes).toEqual([
      { index: 0, status: 'written', key: '1', itemId: 'latest' },
      {
        index: 1,
        status: 'rejected',
        key: 'bad',
        itemId: 'latest',
        reason: 'DynamoDB refused the item: Item size has exceeded the maximum',
      },
      { index: 2, status: 'written', key: '2', itemId: 'latest' },
    ]);
  });

  test('a non-retryable error (missing table) fails the items with its name', async () => {
    mock
      .on(BatchWriteCommand)
      .rejects(new ResourceNotFoundException({ $metadata: { httpStatusCode: 400 }, message: 'no table' }));
    const [outcome] = await ingestor.ingest([{ vehicleId: '1' }]);
    expect(outcome).toMatchObject({
      status: 'failed',
      reason: 'not written: DynamoDB error ResourceNotFoundException',
    });
  });

  test('an injected batchWrite replaces batchWriteAll', async () => {
    const calls: number[] = [];
    const custom = createItemIngestor({
      ...table,
      batchWrite: async (_ddb, _table, requests) => {
        calls.push(requests.length);
      },
    });
    expect((await custom.ingest([{ vehicleId: '1' }, { vehicleId: '2' }])).map((o) => o.status)).toEqual([
      'written',
      'written',
    ]);
    expect(calls).toEqual([2]);
  });
});

describe('item reader', () => {
  const reader = createItemReader(table);

  test('get returns the plain item (big numbers as strings), or undefined', async () => {
    mock
      .on(GetItemCommand)
      .resolvesOnce({
        Item: { vehicleId: { S: '3' }, itemId: { S: 'latest' }, big: { N: '123456789012345678901234567890' } },
      })
      .resolvesOnce({});
    expect(await reader.get('3', 'latest')).toEqual({
      vehicleId: '3',
      itemId: 'latest',
      big: '123456789012345678901234567890',
    });
    expect(await reader.get('3', 'nope')).toBeUndefined();
    expect(mock.commandCalls(GetItemCommand)[0]?.args[0].input).toMatchObject({
      TableName: 'RealTimeData',
      Key: { vehicleId: { S: '3' }, itemId: { S: 'latest' } },
      ConsistentRead: true,
    });
  });

  test('list returns an opaque nextToken that continues after the last itemId, and only for its key', async () => {
    mock
      .on(QueryCommand)
      .resolvesOnce({
        Items: [{ vehicleId: { S: '3' }, itemId: { S: 'a' } }],
        LastEvaluatedKey: { vehicleId: { S: '3' }, itemId: { S: 'a' } },
      })
      .resolvesOnce({ Items: [{ vehicleId: { S: '3' }, itemId: { S: 'b' } }] });
    const first = await reader.list('3', { limit: 1 });
    expect(first.items).toEqual([{ vehicleId: '3', itemId: 'a' }]);
    expect(first.nextToken).toMatch(/^[A-Za-z0-9_-]+$/);
    const second = await reader.list('3', { limit: 1, nextToken: first.nextToken as string });
    expect(second).toEqual({ items: [{ vehicleId: '3', itemId: 'b' }] });
    expect(mock.commandCalls(QueryCommand)[1]?.args[0].input.ExclusiveStartKey).toEqual({
      vehicleId: { S: '3' },
      itemId: { S: 'a' },
    });
    await expect(reader.list('4', { limit: 1, nextToken: first.nextToken as string })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  test.each([
    ['not base64url', 'a+b/c='],
    ['not JSON', Buffer.from('{oops').toString('base64url')],
    ['another key', encodeToken('4', 'a')],
    ['no itemId', Buffer.from(JSON.stringify({ k: '3' })).toString('base64url')],
    ['an empty itemId', Buffer.from(JSON.stringify({ k: '3', i: '' })).toString('base64url')],
    ['a JSON string', Buffer.from('"3"').toString('base64url')],
    ['far too long', 'A'.repeat(20_000)],
    ['a valid token with a stray character', `${encodeToken('3', 'a')}x`],
    ['a valid JSON with extra fields', Buffer.from(JSON.stringify({ k: '3', i: 'a', x: 1 })).toString('base64url')],
  ])('a forged token (%s) is a ValidationError', (_label, token) => {
    expect(() => decodeToken(token, '3')).toThrow(ValidationError);
  });

  test('delete returns the deleted item, or undefined when nothing was there', async () => {
    mock
      .on(DeleteItemCommand)
      .resolvesOnce({ Attributes: { vehicleId: { S: '3' }, itemId: { S: 'latest' } } })
      .resolvesOnce({});
    expect(await reader.delete('3', 'latest')).toEqual({ vehicleId: '3', itemId: 'latest' });
    expect(await reader.delete('3', 'latest')).toBeUndefined();
    expect(mock.commandCalls(DeleteItemCommand)[0]?.args[0].input.ReturnValues).toBe('ALL_OLD');
  });

  test('storage failures are StorageErrors, retryable when DynamoDB says so', async () => {
    mock
      .on(GetItemCommand)
      .rejects(new ProvisionedThroughputExceededException({ $metadata: { httpStatusCode: 400 }, message: 'x' }));
    const error = await reader.get('3', 'latest').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).retryable).toBe(true);
  });
});
