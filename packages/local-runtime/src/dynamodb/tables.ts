import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  type TableDescription,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { type LocalLogger, silentLogger, type TableSpec } from '../types';

/** A template table as it exists in DynamoDB Local. */
export interface EnsuredTable {
  logicalId: string;
  tableName: string;
  /** DescribeTable's LatestStreamArn: the stream the event sources follow (absent when the table has no stream). */
  latestStreamArn?: string;
  /** false when the table already existed (e.g. kept by --persist). */
  created: boolean;
}

const ACTIVE_TIMEOUT_MS = 30_000;

/**
 * Creates the template's tables (keys, indexes, stream, TTL; on-demand billing) and waits until they are ACTIVE.
 * Idempotent: a table that exists (persisted data) is kept as is, its stream and TTL switched on if missing.
 * @returns the tables keyed by logical id, each with its real LatestStreamArn.
 */
export async function ensureTables(
  client: DynamoDBClient,
  tables: TableSpec[],
  logger: LocalLogger = silentLogger,
): Promise<Map<string, EnsuredTable>> {
  const ensured = await Promise.all(tables.map((spec) => ensureTable(client, spec, logger)));
  return new Map(ensured.map((table) => [table.logicalId, table]));
}

async function ensureTable(client: DynamoDBClient, spec: TableSpec, logger: LocalLogger): Promise<EnsuredTable> {
  let created = false;
  let description = await describe(client, spec.tableName);
  if (!description) {
    try {
      await client.send(
        new CreateTableCommand({
          TableName: spec.tableName,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: spec.attributeDefinitions,
          KeySchema: spec.keySchema,
          GlobalSecondaryIndexes: spec.globalSecondaryIndexes,
          LocalSecondaryIndexes: spec.localSecondaryIndexes,
          StreamSpecification: spec.streamViewType
            ? { StreamEnabled: true, StreamViewType: spec.streamViewType }
            : undefined,
        }),
      );
      created = true;
      logger.info(`table ${spec.tableName} created`, { logicalId: spec.logicalId });
    } catch (error) {
      // Another process (a second runtime on the same DynamoDB Local) created it between Describe and Create.
      if (!(error instanceof ResourceInUseException)) throw error;
    }
  } else {
    logger.info(`table ${spec.tableName} exists; kept with its data`, { logicalId: spec.logicalId });
    warnOnSchemaDrift(spec, description, logger);
  }
  description = await waitUntilActive(client, spec.tableName);

  if (spec.streamViewType && !description.StreamSpecification?.StreamEnabled) {
    // A persisted table from before the template asked for a stream: turn it on so the fan-out has a source.
    await client.send(
      new UpdateTableCommand({
        TableName: spec.tableName,
        StreamSpecification: { StreamEnabled: true, StreamViewType: spec.streamViewType },
      }),
    );
    logger.info(`table ${spec.tableName}: stream enabled (${spec.streamViewType})`);
    description = await waitUntilActive(client, spec.tableName);
  }
  if (spec.ttlAttribute) await ensureTtl(client, spec.tableName, spec.ttlAttribute, logger);

  return {
    logicalId: spec.logicalId,
    tableName: spec.tableName,
    ...(description.LatestStreamArn && description.StreamSpecification?.StreamEnabled
      ? { latestStreamArn: description.LatestStreamArn }
      : {}),
    created,
  };
}

async function describe(client: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

async function waitUntilActive(client: DynamoDBClient, tableName: string): Promise<TableDescription> {
  const deadline = Date.now() + ACTIVE_TIMEOUT_MS;
  for (;;) {
    const table = await describe(client, tableName);
    const indexesActive = (table?.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE');
    if (table?.TableStatus === 'ACTIVE' && indexesActive) return table;
    if (Date.now() > deadline) {
      throw new Error(`Table ${tableName} is not ACTIVE after ${ACTIVE_TIMEOUT_MS / 1000} s (${table?.TableStatus}).`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function ensureTtl(client: DynamoDBClient, tableName: string, attribute: string, logger: LocalLogger) {
  const current = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  const status = current.TimeToLiveDescription?.TimeToLiveStatus;
  const enabledOn = current.TimeToLiveDescription?.AttributeName;
  if ((status === 'ENABLED' || status === 'ENABLING') && enabledOn === attribute) return;
  if (status === 'ENABLED' || status === 'ENABLING') {
    logger.warn(
      `table ${tableName}: TTL is on ${enabledOn}, the template says ${attribute}; delete the persisted table to change it`,
    );
    return;
  }
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: attribute, Enabled: true },
    }),
  );
  logger.debug(`table ${tableName}: TTL on ${attribute}`);
}

/** Keys and indexes cannot change in place; a persisted table that differs from the template is worth a warning. */
function warnOnSchemaDrift(spec: TableSpec, table: TableDescription, logger: LocalLogger): void {
  const keys = (schema: { AttributeName?: string; KeyType?: string }[] | undefined) =>
    (schema ?? []).map((key) => `${key.AttributeName}:${key.KeyType}`).join(',');
  const problems: string[] = [];
  if (keys(spec.keySchema) !== keys(table.KeySchema)) {
    problems.push(`key schema ${keys(table.KeySchema)} instead of ${keys(spec.keySchema)}`);
  }
  const existing = new Set((table.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  for (const index of spec.globalSecondaryIndexes ?? []) {
    if (!existing.has(index.IndexName)) problems.push(`no index ${index.IndexName}`);
  }
  if (problems.length > 0) {
    logger.warn(
      `table ${spec.tableName} (kept from --persist) differs from the template: ${problems.join('; ')}. ` +
        'Delete the persist folder (or the table) to recreate it.',
      { logicalId: spec.logicalId },
    );
  }
}
