import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { freePort } from '@real-time-platform/test-support';
import { type RunningDynamoDbLocal, startDynamoDbLocal } from '../../src/dynamodb/dynamodb-local';
import { startStreamEventSource } from '../../src/streams';
import { type LocalLogger, silentLogger } from '../../src/types';
import { keyOf, RecordingInvoker, streamSpec, waitFor } from '../helpers/stream-fixtures';

// A DynamoDB Local restart (with --persist, so the stream survives) while the event source runs: one warning,
// then the source picks up where it left off, with nothing lost and nothing delivered twice.

test('survives a DynamoDB Local restart: warns once, then resumes after the last record read', async () => {
  // Prepare
  const root = mkdtempSync(join(tmpdir(), 'streams-restart-'));
  // Not created yet, as `npm start -- --persist .local/data` on a fresh clone: the launcher creates it.
  const dir = join(root, 'data', 'nested');
  const port = await freePort();
  let ddb: RunningDynamoDbLocal | undefined = await startDynamoDbLocal({ port, persistDir: dir });
  const config = {
    endpoint: ddb.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  };
  const dynamodb = new DynamoDBClient(config);
  const streams = new DynamoDBStreamsClient(config);
  const warnings: string[] = [];
  const logger: LocalLogger = { ...silentLogger, warn: (m) => warnings.push(m) };
  const invoker = new RecordingInvoker();
  const put = (pk: string) => dynamodb.send(new PutItemCommand({ TableName: 'restart', Item: { pk: { S: pk } } }));
  try {
    const created = await dynamodb.send(
      new CreateTableCommand({
        TableName: 'restart',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      }),
    );
    const source = startStreamEventSource({
      spec: streamSpec({ tableName: 'restart' }),
      streamArn: created.TableDescription?.LatestStreamArn ?? '',
      streamsClient: streams,
      region: 'us-east-1',
      accountId: '123456789012',
      invoker,
      logger,
      onFailure: () => undefined,
    });
    await put('before');
    await source.idle();
    // Act
    await ddb.stop();
    ddb = undefined;
    await new Promise((r) => setTimeout(r, 500));
    ddb = await startDynamoDbLocal({ port, persistDir: dir });
    await put('after');
    await waitFor(() => invoker.records.length >= 2, 'the record written after the restart', 15_000);
    await source.idle();
    await source.stop();
    // Assess
    expect(invoker.records.map(keyOf)).toEqual(['before', 'after']);
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(new Set(warnings).size).toBe(warnings.length);
  } finally {
    dynamodb.destroy();
    streams.destroy();
    await ddb?.stop();
    rmSync(root, { recursive: true, force: true });
  }
}, 90_000);
