import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ensureTables, loadPlatformModel, localCredentials } from '@real-time-platform/local-runtime';

export { localCredentials };

export interface TestTables {
  dynamodb: DynamoDBClient;
  documents: DynamoDBDocumentClient;
  /** WebSocketConnectionManager equivalent. */
  connectionsTable: string;
  /** RealTimeData equivalent. */
  dataTable: string;
  keyAttribute: string;
  /** DynamoDB requests sent (every attempt), by command name; reset freely. */
  requests: Map<string, number>;
  /** GSI queries (subscriber look-ups) among the requests. */
  subscriberQueries: () => number;
  drop(): Promise<void>;
}

/** A client for the DynamoDB Local the integration setup started (DYNAMODB_ENDPOINT). */
export function localDynamoDb(): DynamoDBClient {
  const endpoint = process.env.DYNAMODB_ENDPOINT;
  if (!endpoint) throw new Error('DYNAMODB_ENDPOINT is not set: run through the jest integration project');
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: localCredentials });
}

/**
 * Creates the two tables as template.yaml defines them (read from the template), under names unique to the caller
 * so test files never share rows.
 */
export async function createTestTables(prefix: string, keyAttribute = 'vehicleId'): Promise<TestTables> {
  const dynamodb = localDynamoDb();
  const requests = new Map<string, number>();
  let gsiQueries = 0;
  // Deserialize runs once per HTTP attempt (it sits inside the retry middleware), so this counts real requests.
  dynamodb.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      requests.set(name, (requests.get(name) ?? 0) + 1);
      const input = args.input as { IndexName?: string };
      if (name === 'QueryCommand' && input.IndexName === 'subscribersByKey') gsiQueries++;
      return next(args);
    },
    { step: 'deserialize', name: 'countRequests' },
  );
  const suffix = randomUUID().slice(0, 8);
  const connectionsTable = `WebSocketConnectionManager-${prefix}-${suffix}`;
  const dataTable = `RealTimeData-${prefix}-${suffix}`;

  // The tables come from template.yaml itself (keys, the subscribersByKey GSI, the stream, TTL), renamed per test.
  const model = loadPlatformModel({
    templatePath: join(__dirname, '..', '..', '..', 'template.yaml'),
    parameterOverrides: { RealTimeItemKey: keyAttribute },
    verifyEntryPoints: false,
  });
  const names: Record<string, string> = {
    WebSocketConnectionManagerTable: connectionsTable,
    RealTimeDataTable: dataTable,
  };
  const specs = model.tables.flatMap((table) => {
    const tableName = names[table.logicalId];
    return tableName ? [{ ...table, tableName }] : [];
  });
  await ensureTables(dynamodb, specs);
  requests.clear();

  return {
    dynamodb,
    documents: DynamoDBDocumentClient.from(dynamodb),
    connectionsTable,
    dataTable,
    keyAttribute,
    requests,
    subscriberQueries: () => gsiQueries,
    async drop() {
      for (const table of [connectionsTable, dataTable]) {
        await dynamodb.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
      }
      dynamodb.destroy();
    },
  };
}
