import { type AttributeValue, QueryCommand, type QueryCommandOutput } from '@aws-sdk/client-dynamodb';
import { PUBLIC_ITEM_ID_RANGES } from '../domain/reserved-items';

/**
 * A key's items in itemId order, page after page, without the platform's reserved "$" rows (snapshot markers):
 * the one way every reader of a whole key (GET /items/{key}, snapshots) walks RealTimeData, so none of them can
 * forget to skip the markers.
 */

/** Anything that sends the plain DynamoDB commands: the plain client, or a document client (which passes them on). */
export interface QuerySender {
  send(command: QueryCommand): Promise<QueryCommandOutput>;
}

export interface KeyItemsTable {
  ddb: QuerySender;
  tableName: string;
  /** RealTimeData's partition key attribute (REAL_TIME_ITEM_KEY). */
  keyAttribute: string;
}

export interface KeyItemsPage {
  /** Raw DynamoDB items, in itemId order. */
  items: Record<string, AttributeValue>[];
  /** The itemId to continue after, when more items may follow. */
  after?: string;
}

/**
 * Up to `limit` items of `key` after the itemId `after` (exclusive), reading both public ranges in turn. A page ends
 * early only at DynamoDB's 1 MB limit; `after` is then set even if nothing follows (as with LastEvaluatedKey).
 */
export async function queryKeyItems(
  table: KeyItemsTable,
  key: string,
  options: { limit: number; after?: string; consistentRead?: boolean },
): Promise<KeyItemsPage> {
  const items: Record<string, AttributeValue>[] = [];
  const startRange =
    options.after === undefined ? 0 : PUBLIC_ITEM_ID_RANGES.findIndex((r) => r.contains(options.after as string));
  // A token naming a reserved id cannot come from us; starting after the reserved range is the harmless reading.
  let rangeIndex = startRange === -1 ? 1 : startRange;
  let after = startRange === -1 ? undefined : options.after;
  while (rangeIndex < PUBLIC_ITEM_ID_RANGES.length) {
    const range = PUBLIC_ITEM_ID_RANGES[rangeIndex] as (typeof PUBLIC_ITEM_ID_RANGES)[number];
    const page = await table.ddb.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: `#key = :key AND ${range.condition}`,
        ExpressionAttributeNames: { '#key': table.keyAttribute },
        ExpressionAttributeValues: { ':key': { S: key }, ':bound': { S: range.bound } },
        Limit: options.limit - items.length,
        ...(options.consistentRead === true ? { ConsistentRead: true } : {}),
        ...(after === undefined
          ? {}
          : { ExclusiveStartKey: { [table.keyAttribute]: { S: key }, itemId: { S: after } } }),
      }),
    );
    items.push(...(page.Items ?? []));
    const lastEvaluated = page.LastEvaluatedKey?.itemId?.S;
    if (lastEvaluated !== undefined) {
      // The page stopped at the limit or at 1 MB: continue in the same range.
      if (items.length >= options.limit) return { items, after: lastEvaluated };
      after = lastEvaluated;
      continue;
    }
    rangeIndex++;
    after = undefined;
    if (items.length >= options.limit) {
      // Full, with a range still unread: whether it holds anything is the next page's question.
      const last = items[items.length - 1]?.itemId?.S;
      return rangeIndex < PUBLIC_ITEM_ID_RANGES.length && last !== undefined ? { items, after: last } : { items };
    }
  }
  return { items };
}
