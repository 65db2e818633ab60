import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { toPlainItem } from '../domain/attribute-values';
import { errorLabel, isTransientAwsError, StorageError } from '../lib/errors';
import { queryKeyItems } from './key-items';

/** Reads a key's current items from RealTimeData, page by page (for the snapshots the fan-out sends). */
export interface RealTimeDataReader {
  /**
   * Up to `limit` items of `key` after the itemId `after`, in itemId order, as plain JSON, read consistently; the
   * platform's reserved "$" rows are never among them. `after` in the answer: where the next page starts, when one
   * may follow.
   */
  page(
    key: string,
    options: { limit: number; after?: string },
  ): Promise<{ items: Record<string, unknown>[]; after?: string }>;
}

export interface RealTimeDataReaderDeps {
  /** The plain client: items are converted with our own lossless unmarshalling (big numbers, sets, binary). */
  ddb: DynamoDBClient;
  tableName: string;
  /** The table's partition key attribute (REAL_TIME_ITEM_KEY). */
  keyAttribute: string;
}

/** The DynamoDB-backed RealTimeDataReader. */
export function createRealTimeDataReader(deps: RealTimeDataReaderDeps): RealTimeDataReader {
  return {
    async page(key, { limit, after }) {
      try {
        // Consistent: a snapshot must hold every change committed before the stream records that asked for it.
        const page = await queryKeyItems(deps, key, {
          limit,
          consistentRead: true,
          ...(after === undefined ? {} : { after }),
        });
        return {
          items: page.items.map((item) => toPlainItem(item)),
          ...(page.after === undefined ? {} : { after: page.after }),
        };
      } catch (error) {
        throw new StorageError(`Could not read items of a key: ${errorLabel(error)}`, {
          retryable: isTransientAwsError(error),
          cause: error,
        });
      }
    },
  };
}
