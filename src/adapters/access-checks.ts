import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import type { AccessRequirement, GuardedKey } from '../domain/key-access';

/**
 * Access requirements as DynamoDB transaction items. A subscription to a key whose access rests on a revocable row (a
 * calendar share, an accepted friendship) is written in one TransactWriteItems with a ConditionCheck on that row:
 * either the row still grants access when the subscription commits, or nothing is written. Revoking deletes (or
 * changes) the row first, so a subscription decided before a revoke cannot commit after it.
 */

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
type ConditionParts = Omit<NonNullable<TransactItem['ConditionCheck']>, 'TableName' | 'Key'>;

/** Where the rows the requirements name live: RealTimeData and its partition key attribute (REAL_TIME_ITEM_KEY). */
export interface DataTableRef {
  tableName: string;
  keyAttribute: string;
}

/** The ConditionCheck that holds while `requirement` is met. */
export function conditionCheckOf(requirement: AccessRequirement, table: DataTableRef): TransactItem {
  const Key = { [table.keyAttribute]: requirement.key, itemId: requirement.itemId };
  const { condition } = requirement;
  const expression: ConditionParts =
    condition === 'exists'
      ? {
          ConditionExpression: 'attribute_exists(#key)',
          ExpressionAttributeNames: { '#key': table.keyAttribute },
        }
      : {
          ConditionExpression: '#attribute = :expected',
          ExpressionAttributeNames: { '#attribute': condition.attribute },
          ExpressionAttributeValues: { ':expected': condition.equals },
        };
  return { ConditionCheck: { TableName: table.tableName, Key, ...expression } };
}

/** The CancellationReasons codes of a TransactionCanceledException ('None' for an item that did not fail). */
export function cancellationCodes(error: unknown): string[] | undefined {
  if ((error as { name?: unknown } | null)?.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as { CancellationReasons?: ({ Code?: string } | undefined)[] }).CancellationReasons ?? [];
  return reasons.map((reason) => reason?.Code ?? 'None');
}

/**
 * The key whose ConditionCheck failed, when `checks` sit in the transaction from index `offset` on; undefined when
 * none did (the transaction failed for another reason).
 */
export function refusedKeyOf(
  codes: readonly string[],
  checks: readonly GuardedKey[],
  offset: number,
): string | undefined {
  const index = checks.findIndex((_, i) => codes[offset + i] === 'ConditionalCheckFailed');
  return index < 0 ? undefined : checks[index]?.key;
}
