import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { createConnectionRepository } from '../../src/adapters/connection-repository';
import { StorageError } from '../../src/lib/errors';

const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
const mock = mockClient(documents);
const now = () => 1_763_800_000_000;
const repository = createConnectionRepository({
  ddb: documents,
  tableName: 'Connections',
  ttlSeconds: 7800,
  now,
  batchWrite: { sleep: async () => undefined, maxAttempts: 3 },
});

beforeEach(() => mock.reset());

describe('connection repository (DynamoDB calls)', () => {
  test('saveConnection writes the connection row and one row per key with expiresAt computed per request', async () => {
    mock.on(BatchWriteCommand).resolves({});
    await repository.saveConnection({ connectionId: 'c1', connectedAt: 5, sourceIp: '203.0.113.7' }, ['3', '4']);
    const items = mock
      .commandCalls(BatchWriteCommand)[0]
      ?.args[0].input.RequestItems?.Connections?.map((r) => r.PutRequest?.Item);
    expect(items).toEqual([
      {
        connectionId: 'c1',
        realTimeItemKey: '$connection#c1',
        connectedAt: 5,
        lastSeenAt: now(),
        expiresAt: 1_763_800_000 + 7800,
        sourceIp: '203.0.113.7',
      },
      { connectionId: 'c1', realTimeItemKey: '3', subscribedAt: now(), expiresAt: 1_763_800_000 + 7800 },
      { connectionId: 'c1', realTimeItemKey: '4', subscribedAt: now(), expiresAt: 1_763_800_000 + 7800 },
    ]);
  });

  test('UnprocessedItems are re-sent until written', async () => {
    const leftover = [{ PutRequest: { Item: { connectionId: 'c1', realTimeItemKey: '4' } } }];
    mock
      .on(BatchWriteCommand)
      .resolvesOnce({ UnprocessedItems: { Connections: leftover } })
      .resolves({});
    await repository.subscribe('c1', ['3', '4']);
    const calls = mock.commandCalls(BatchWriteCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.args[0].input.RequestItems?.Connections).toEqual(leftover);
  });

  test('a guarded subscribe without the data table configured fails before writing anything', async () => {
    const requirements = [
      { key: 'calendar:u1', requires: { key: '$calendar-shares:u1', itemId: 'u2', condition: 'exists' as const } },
    ];
    await expect(repository.subscribe('c1', ['calendar:u1'], requirements)).rejects.toMatchObject({
      name: 'StorageError',
      retryable: false,
    });
    expect(mock.calls()).toHaveLength(0);
  });

  test('writes that stay unprocessed become a retryable StorageError', async () => {
    mock.on(BatchWriteCommand).resolves({
      UnprocessedItems: { Connections: [{ DeleteRequest: { Key: { connectionId: 'c1', realTimeItemKey: '3' } } }] },
    });
    const failure = repository.unsubscribe('c1', ['3']);
    await expect(failure).rejects.toBeInstanceOf(StorageError);
    await expect(failure).rejects.toMatchObject({ retryable: true });
    expect(mock.commandCalls(BatchWriteCommand)).toHaveLength(3);
  });

  test('deleteConnection queries every page of the connection and deletes in chunks of 25', async () => {
    const rows = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => ({ realTimeItemKey: `k${from + i}` }));
    mock
      .on(QueryCommand)
      .resolvesOnce({ Items: rows(0, 20), LastEvaluatedKey: { connectionId: 'c1', realTimeItemKey: 'k19' } })
      .resolvesOnce({ Items: rows(20, 10) });
    mock.on(BatchWriteCommand).resolves({});
    expect(await repository.deleteConnection('c1')).toBe(30);
    expect(mock.commandCalls(QueryCommand)[1]?.args[0].input.ExclusiveStartKey).toEqual({
      connectionId: 'c1',
      realTimeItemKey: 'k19',
    });
    expect(mock.commandCalls(BatchWriteCommand).map((c) => c.args[0].input.RequestItems?.Connections?.length)).toEqual([
      25, 5,
    ]);
  });

  test('subscribersOf pages through the GSI', async () => {
    mock
      .on(QueryCommand)
      .resolvesOnce({ Items: [{ connectionId: 'a', realTimeItemKey: '3' }], LastEvaluatedKey: { x: 1 } })
      .resolvesOnce({ Items: [{ connectionId: 'b', realTimeItemKey: '3' }] });
    expect(await repository.subscribersOf('3')).toEqual(['a', 'b']);
    expect(mock.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({ IndexName: 'subscribersByKey' });
  });

  test('touch is conditional on the row existing, so a heartbeat never creates a row without TTL', async () => {
    mock
      .on(UpdateCommand)
      .rejects(new ConditionalCheckFailedException({ $metadata: { httpStatusCode: 400 }, message: 'failed' }));
    expect(await repository.touch('c1')).toBe(false);
    mock.reset();
    mock.on(UpdateCommand).resolves({});
    expect(await repository.touch('c1')).toBe(true);
    expect(mock.commandCalls(UpdateCommand)[0]?.args[0].input.ConditionExpression).toBe(
      'attribute_exists(connectionId)',
    );
  });

  test('DynamoDB errors become StorageErrors that keep the SDK classification', async () => {
    mock
      .on(QueryCommand)
      .rejects(
        new ProvisionedThroughputExceededException({ $metadata: { httpStatusCode: 400 }, message: 'slow down' }),
      );
    await expect(repository.subscribersOf('3')).rejects.toMatchObject({
      name: 'StorageError',
      retryable: true,
      message: 'Could not look up subscribers: ProvisionedThroughputExceededException',
    });
  });
});
