import {
  DeleteTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  type GlobalSecondaryIndex,
} from '@aws-sdk/client-dynamodb';
import { ensureTables } from '../../src/dynamodb/tables';
import { loadPlatformModel } from '../../src/template';
import type { TableSpec } from '../../src/types';
import { globalIndex, keySchema } from '../helpers/key-schema';
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
    expect(data?.KeySchema).toEqual(keySchema('tablesTest', 'itemId'));
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
    const active = (index: GlobalSecondaryIndex) => expect.objectContaining({ ...index, IndexStatus: 'ACTIVE' });
    const keysOnly = { ProjectionType: 'KEYS_ONLY' } as const;
    expect(indexes).toEqual([
      active(globalIndex('connectionsByUser', ['userId', 'connectionId'], keysOnly)),
      active(globalIndex('expiringConnections', ['sweepShard', 'tokenExpiresAt'], keysOnly)),
      active(
        globalIndex('silentConnections', ['sweepShard', 'lastSeenAt'], {
          ProjectionType: 'INCLUDE',
          NonKeyAttributes: ['userId'],
        }),
      ),
      active(globalIndex('subscribersByKey', ['realTimeItemKey', 'connectionId'], keysOnly)),
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
