import {
  DeleteTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { ensureTables } from '../../src/dynamodb/tables';
import { loadPlatformModel } from '../../src/template';
import type { TableSpec } from '../../src/types';
import { appTemplate } from '../helpers/paths';
import { recordingLogger } from '../helpers/recording-logger';

const client = new DynamoDBClient({
  endpoint: process.env.DYNAMODB_ENDPOINT,
  region: 'us-east-1',
  credentials: { accessKeyId: 'tablesTest', secretAccessKey: 'tablesTest' },
});

/** The real template's tables under a stack-unique environment, so parallel test files never share a table. */
function templateTables(environment: string): TableSpec[] {
  return loadPlatformModel({
    templatePath: appTemplate,
    verifyEntryPoints: false,
    parameterOverrides: { Environment: 'staging', RealTimeItemKey: environment },
  }).tables.map((table) => ({ ...table, tableName: `${table.tableName}-${environment}` }));
}

afterAll(() => client.destroy());

describe('ensureTables', () => {
  const tables = templateTables('tablesTest');

  afterAll(async () => {
    await Promise.all(tables.map((t) => client.send(new DeleteTableCommand({ TableName: t.tableName }))));
  });

  test("creates the template's tables with keys, the GSI, the stream and TTL, and returns the stream ARN", async () => {
    const logger = recordingLogger();

    const ensured = await ensureTables(client, tables, logger);

    const data = (await client.send(new DescribeTableCommand({ TableName: 'RealTimeData-staging-tablesTest' }))).Table;
    expect(data?.TableStatus).toBe('ACTIVE');
    expect(data?.KeySchema).toEqual([
      { AttributeName: 'tablesTest', KeyType: 'HASH' },
      { AttributeName: 'itemId', KeyType: 'RANGE' },
    ]);
    expect(data?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(data?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(ensured.get('RealTimeDataTable')).toEqual({
      logicalId: 'RealTimeDataTable',
      tableName: 'RealTimeData-staging-tablesTest',
      latestStreamArn: data?.LatestStreamArn,
      created: true,
    });
    expect(data?.LatestStreamArn).toMatch(/:table\/RealTimeData-staging-tablesTest\/stream\//);

    const connections = (
      await client.send(new DescribeTableCommand({ TableName: 'WebSocketConnectionManager-staging-tablesTest' }))
    ).Table;
    // DynamoDB Local lists indexes in no particular order.
    const indexes = [...(connections?.GlobalSecondaryIndexes ?? [])].sort((a, b) =>
      String(a.IndexName).localeCompare(String(b.IndexName)),
    );
    expect(indexes).toEqual([
      expect.objectContaining({
        IndexName: 'connectionsByUser',
        KeySchema: [
          { AttributeName: 'userId', KeyType: 'HASH' },
          { AttributeName: 'connectionId', KeyType: 'RANGE' },
        ],
        IndexStatus: 'ACTIVE',
      }),
      expect.objectContaining({
        IndexName: 'expiringConnections',
        KeySchema: [
          { AttributeName: 'sweepShard', KeyType: 'HASH' },
          { AttributeName: 'tokenExpiresAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
        IndexStatus: 'ACTIVE',
      }),
      expect.objectContaining({
        IndexName: 'silentConnections',
        KeySchema: [
          { AttributeName: 'sweepShard', KeyType: 'HASH' },
          { AttributeName: 'lastSeenAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['userId'] },
        IndexStatus: 'ACTIVE',
      }),
      expect.objectContaining({
        IndexName: 'subscribersByKey',
        KeySchema: [
          { AttributeName: 'realTimeItemKey', KeyType: 'HASH' },
          { AttributeName: 'connectionId', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
        IndexStatus: 'ACTIVE',
      }),
    ]);
    expect(data?.GlobalSecondaryIndexes?.map((index) => index.IndexName)).toEqual(['itemsByStart']);
    expect(connections?.StreamSpecification).toBeUndefined();
    expect(ensured.get('WebSocketConnectionManagerTable')?.latestStreamArn).toBeUndefined();

    for (const table of tables) {
      const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: table.tableName }));
      expect(ttl.TimeToLiveDescription).toEqual({ AttributeName: 'expiresAt', TimeToLiveStatus: 'ENABLED' });
    }
    expect(logger.messages()).toContain('table RealTimeData-staging-tablesTest created');
  });

  test('a second call keeps the existing tables (as with --persist) and returns the same stream', async () => {
    const first = await ensureTables(client, tables);
    const logger = recordingLogger();

    const second = await ensureTables(client, tables, logger);

    expect(second.get('RealTimeDataTable')).toEqual({ ...first.get('RealTimeDataTable'), created: false });
    expect(second.get('WebSocketConnectionManagerTable')?.created).toBe(false);
    expect(logger.messages()).toContain('table RealTimeData-staging-tablesTest exists; kept with its data');
  });

  test('a kept table without the stream the template asks for gets its stream switched on', async () => {
    const [data] = templateTables('streamLater');
    if (!data) throw new Error('the template has no data table');
    await ensureTables(client, [{ ...data, streamViewType: undefined }]);

    const ensured = await ensureTables(client, [data]);

    expect(ensured.get('RealTimeDataTable')?.latestStreamArn).toMatch(/\/stream\//);
    await client.send(new DeleteTableCommand({ TableName: data.tableName }));
  });
});
