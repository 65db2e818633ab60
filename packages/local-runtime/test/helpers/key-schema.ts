import type { AttributeDefinition, GlobalSecondaryIndex, KeySchemaElement, Projection } from '@aws-sdk/client-dynamodb';

/** A KeySchema as DynamoDB writes it: the partition key, then the sort key when there is one. */
export function keySchema(partitionKey: string, sortKey?: string): KeySchemaElement[] {
  const schema: KeySchemaElement[] = [{ AttributeName: partitionKey, KeyType: 'HASH' }];
  if (sortKey !== undefined) schema.push({ AttributeName: sortKey, KeyType: 'RANGE' });
  return schema;
}

/** AttributeDefinitions from `{ name: type }`, in the order written. */
export function attributeDefinitions(types: Record<string, 'S' | 'N' | 'B'>): AttributeDefinition[] {
  return Object.entries(types).map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType }));
}

/** A global secondary index as a template declares it. */
export function globalIndex(
  IndexName: string,
  [partitionKey, sortKey]: [string, string?],
  Projection: Projection,
): GlobalSecondaryIndex {
  return { IndexName, KeySchema: keySchema(partitionKey, sortKey), Projection };
}
