import { type DynamoDBClient, QueryCommand, type QueryCommandOutput } from '@aws-sdk/client-dynamodb';
import { toPlainItem } from '../domain/attribute-values';
import { errorLabel, isTransientAwsError, StorageError } from '../lib/errors';

/** Reads current items of a key from RealTimeData (for `snapshot: true` subscriptions). */
export interface RealTimeDataReader {
  /** Up to `limit` items of `key`, in itemId order, as plain JSON. */
  itemsOf(key: string, limit: number): Promise<Record<string, unknown>[]>;
}

export interface RealTimeDataReaderDeps {
  /** The plain client: items are converted with our own lossless unmarshalling (big numbers, sets, binary). */
  ddb: DynamoDBClient;
  tableName: string;
  /** The table's partition key attribute (REAL_TIME_ITEM_KEY). */
  keyAttribute: string;
}

/** The DynamoDB-backed RealTimeDataReader: a Query on the partition key, paginated until `limit` items. */
export function createRealTimeDataReader(deps: RealTimeDataReaderDeps): RealTimeDataReader {
  return {
    async itemsOf(key, limit) {
      const items: Record<string, unknown>[] = [];
      let startKey: QueryCommandOutput['LastEvaluatedKey'];
      try {
        do {
          const page = await deps.ddb.send(
            new QueryCommand({
              TableName: deps.tableName,
              KeyConditionExpression: '#key = :key',
              ExpressionAttributeNames: { '#key': deps.keyAttribute },
              ExpressionAttributeValues: { ':key': { S: key } },
              Limit: limit - items.length,
              ExclusiveStartKey: startKey,
            }),
          );
          for (const item of page.Items ?? []) items.push(toPlainItem(item));
          startKey = page.LastEvaluatedKey;
          // A page also ends at 1 MB, so a short page does not mean the end.
        } while (startKey !== undefined && items.length < limit);
      } catch (error) {
        throw new StorageError(`Could not read items of a key: ${errorLabel(error)}`, {
          retryable: isTransientAwsError(error),
          cause: error,
        });
      }
      return items;
    },
  };
}
