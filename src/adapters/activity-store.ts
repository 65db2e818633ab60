import { DeleteCommand, type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type ActivityEntry, activityKey } from '@real-time-platform/protocol';
import { type ActivityWindow, activityEntryOf, activityItem, activityItemId, itemIdRange } from '../domain/activity';
import { storage } from './storage';

/**
 * A user's activity history in RealTimeData under `activity:<userId>` (layout in src/domain/activity.ts). Writing an
 * entry is what pushes it live: the stream fan-out delivers it to the owner's subscriptions of the key.
 */

export interface ActivityPageResult {
  entries: ActivityEntry[];
  /** The itemId of the last entry returned, when more may follow. */
  lastItemId?: string;
}

export interface ActivityStore {
  /** Appends an entry (idempotent: the same type, instant and connection is the same entry). */
  record(userId: string, entry: ActivityEntry): Promise<void>;
  /** Removes an entry recorded for something that then did not happen (a connect refused at the last moment). */
  remove(userId: string, entry: Pick<ActivityEntry, 'type' | 'at' | 'connectionId'>): Promise<void>;
  /** Up to `limit` entries of the window, newest first, continuing below `beforeItemId` when given. */
  list(
    userId: string,
    options: { window: ActivityWindow; limit: number; beforeItemId?: string },
  ): Promise<ActivityPageResult>;
}

export interface ActivityStoreDeps {
  ddb: DynamoDBDocumentClient;
  /** RealTimeData (DATA_TABLE_NAME). */
  tableName: string;
  /** REAL_TIME_ITEM_KEY: the partition key attribute. */
  keyAttribute: string;
  /** ACTIVITY_RETENTION_DAYS: how long entries are kept (DynamoDB TTL on expiresAt). */
  retentionDays: number;
}

/** The DynamoDB-backed ActivityStore. */
export function createActivityStore(deps: ActivityStoreDeps): ActivityStore {
  const { ddb, tableName, keyAttribute } = deps;
  return {
    record: (userId, entry) =>
      storage('record activity', async () => {
        await ddb.send(
          new PutCommand({ TableName: tableName, Item: activityItem(keyAttribute, userId, entry, deps.retentionDays) }),
        );
      }),

    remove: (userId, entry) =>
      storage('remove an activity entry', async () => {
        await ddb.send(
          new DeleteCommand({
            TableName: tableName,
            Key: { [keyAttribute]: activityKey(userId), itemId: activityItemId(entry) },
          }),
        );
      }),

    list: (userId, { window, limit, beforeItemId }) =>
      storage('read the activity history', async () => {
        const range = itemIdRange(window);
        const highest = beforeItemId === undefined ? range.highest : beforeItemId;
        const entries: ActivityEntry[] = [];
        let lastItemId: string | undefined;
        // One Query normally fills the page; more only if DynamoDB stops early (1 MB) or skips a malformed item.
        let startKey: Record<string, unknown> | undefined =
          beforeItemId === undefined ? undefined : { [keyAttribute]: activityKey(userId), itemId: beforeItemId };
        do {
          const page = await ddb.send(
            new QueryCommand({
              TableName: tableName,
              KeyConditionExpression: '#k = :k AND itemId BETWEEN :lowest AND :highest',
              ExpressionAttributeNames: { '#k': keyAttribute },
              ExpressionAttributeValues: {
                ':k': activityKey(userId),
                ':lowest': range.lowest,
                ':highest': highest,
              },
              ScanIndexForward: false,
              // One more than asked: says whether another page exists without returning an empty last page.
              Limit: limit + 1 - entries.length,
              ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
            }),
          );
          for (const item of page.Items ?? []) {
            const entry = activityEntryOf(item);
            if (entry === undefined) continue;
            if (entries.length === limit) return { entries, lastItemId };
            entries.push(entry);
            lastItemId = String(item.itemId);
          }
          startKey = page.LastEvaluatedKey;
        } while (startKey !== undefined && entries.length <= limit);
        return { entries };
      }),
  };
}
