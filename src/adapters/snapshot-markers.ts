import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { snapshotMarkerItem } from '../domain/reserved-items';
import { storage } from './storage';

/** Asks the fan-out for a key's snapshot, on behalf of a connection that just subscribed to it. */
export interface SnapshotRequester {
  /** Writes the key's snapshot marker (reserved-items.ts); throws a StorageError when it could not. */
  request(request: { connectionId: string; key: string; requestId: string }): Promise<void>;
}

export interface SnapshotRequesterDeps {
  ddb: DynamoDBDocumentClient;
  /** RealTimeData (DATA_TABLE_NAME). */
  tableName: string;
  /** REAL_TIME_ITEM_KEY. */
  keyAttribute: string;
  now?: () => number;
}

/**
 * The DynamoDB-backed SnapshotRequester: one PutItem of the marker under the key itself. The template lets the
 * message function put items with the marker's attributes only (dynamodb:Attributes), so it can write nothing else.
 */
export function createSnapshotRequester(deps: SnapshotRequesterDeps): SnapshotRequester {
  const now = deps.now ?? Date.now;
  return {
    request: ({ connectionId, key, requestId }) =>
      storage('request a snapshot', async () => {
        const item = snapshotMarkerItem({ keyAttribute: deps.keyAttribute, key, connectionId, requestId, now: now() });
        await deps.ddb.send(new PutCommand({ TableName: deps.tableName, Item: item }));
      }),
  };
}
