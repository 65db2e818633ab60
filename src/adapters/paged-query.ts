import {
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';

type Item = Record<string, unknown>;

/**
 * A Query followed page after page until `limit` items are kept or the pages run out. Each page asks only for what is
 * still missing, so a bounded read never fetches much more than it returns. `keep` turns an item into what the caller
 * wants, or undefined to pass over a malformed row (which then does not count against the limit).
 */
export async function queryPages<T = Item>(
  ddb: DynamoDBDocumentClient,
  input: QueryCommandInput,
  options: { limit?: number; keep?: (item: Item) => T | undefined } = {},
): Promise<T[]> {
  const { limit, keep = (item: Item) => item as T } = options;
  const kept: T[] = [];
  let startKey: QueryCommandOutput['LastEvaluatedKey'];
  do {
    const page = await ddb.send(
      new QueryCommand({
        ...input,
        ...(limit === undefined ? {} : { Limit: limit - kept.length }),
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const value = keep(item);
      if (value !== undefined) kept.push(value);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined && (limit === undefined || kept.length < limit));
  return kept;
}
