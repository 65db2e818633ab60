import { type AttributeValue, type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';

// What the suites read back from the connection table (WebSocketConnectionManager) to see what the platform
// stored: a connection's rows, and the two indexes the fan-out and presence use.

export type ConnectionRow = Record<string, AttributeValue>;

export interface ConnectionTable {
  /** Every row of one connection (its `$connection#…` row and one a key), read consistently. */
  rowsOf(connectionId: string): Promise<ConnectionRow[]>;
  /** Ids of the connections subscribed to `key`, as the subscribersByKey index answers now (it may lag). */
  subscribersOf(key: string): Promise<string[]>;
  /** Ids of the connections of `userId`, as the connectionsByUser index answers now (it may lag). */
  connectionsOf(userId: string): Promise<string[]>;
}

export function connectionTable(client: DynamoDBClient, tableName: string): ConnectionTable {
  const query = async (index: string | undefined, attribute: string, value: string): Promise<ConnectionRow[]> => {
    const { Items = [] } = await client.send(
      new QueryCommand({
        TableName: tableName,
        ...(index === undefined ? { ConsistentRead: true } : { IndexName: index }),
        KeyConditionExpression: '#a = :v',
        ExpressionAttributeNames: { '#a': attribute },
        ExpressionAttributeValues: { ':v': { S: value } },
      }),
    );
    return Items;
  };
  const connectionIds = (rows: ConnectionRow[]) => rows.map((row) => row.connectionId?.S ?? '?');
  return {
    rowsOf: (connectionId) => query(undefined, 'connectionId', connectionId),
    subscribersOf: async (key) => connectionIds(await query('subscribersByKey', 'realTimeItemKey', key)),
    connectionsOf: async (userId) => connectionIds(await query('connectionsByUser', 'userId', userId)),
  };
}
