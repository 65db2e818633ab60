import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandOutput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { friendsKey, PRESENCE_ITEM_ID, presenceKey } from '@real-time-platform/protocol';
import { type Friendship, friendshipFromItem } from '../domain/friends';
import { fullJitterDelay, sleep } from '../lib/backoff';
import { StorageError } from '../lib/errors';
import { storage } from './storage';

/**
 * Friendship rows in RealTimeData (`friends:<userId>` / `<otherUserId>`, one per side; see src/domain/friends.ts).
 * Both sides change in one transaction, each conditioned on the state the decision was made on; a cancelled
 * transaction means someone else changed the pair first and the caller decides again.
 */

export interface FriendStoreDeps {
  ddb: DynamoDBDocumentClient;
  dataTable: string;
  /** REAL_TIME_ITEM_KEY. */
  keyAttribute: string;
  now?: () => number;
}

/** A transactional change's outcome. */
export type FriendChange = 'done' | 'conflict';

export interface FriendStore {
  /** My side of the pair (a consistent read); undefined when there is no relation. */
  get(userId: string, otherUserId: string): Promise<Friendship | undefined>;
  /** Every row of a user (all pages). */
  list(userId: string): Promise<Friendship[]>;
  /** Whether the two are accepted friends. */
  areFriends(userId: string, otherUserId: string): Promise<boolean>;
  /**
   * A new request: my row `requested`, theirs `pending`, provided neither exists and the other user is known (has
   * a presence item). `unknown-user` when they are not.
   */
  request(userId: string, otherUserId: string): Promise<FriendChange | 'unknown-user'>;
  /** Accepts their request: both rows `accepted`, provided mine is still `pending` and theirs `requested`. */
  accept(userId: string, otherUserId: string): Promise<FriendChange>;
  /** Deletes both rows, provided mine still exists; `conflict` when it was already gone. */
  remove(userId: string, otherUserId: string): Promise<FriendChange>;
}

/** The DynamoDB-backed FriendStore. */
export function createFriendStore(deps: FriendStoreDeps): FriendStore {
  const now = deps.now ?? Date.now;
  const rowKey = (userId: string, otherUserId: string) => ({
    [deps.keyAttribute]: friendsKey(userId),
    itemId: otherUserId,
  });
  const row = (userId: string, otherUserId: string, status: string, since: number) => ({
    ...rowKey(userId, otherUserId),
    status,
    since,
  });

  const get = (userId: string, otherUserId: string) =>
    storage('read a friendship', async () => {
      const { Item } = await deps.ddb.send(
        new GetCommand({ TableName: deps.dataTable, Key: rowKey(userId, otherUserId), ConsistentRead: true }),
      );
      return friendshipFromItem(otherUserId, Item);
    });

  const transact = (items: NonNullable<TransactWriteCommandInput['TransactItems']>, operation: string) =>
    storage(operation, async (): Promise<{ ok: true } | { ok: false; codes: string[] }> => {
      try {
        await deps.ddb.send(new TransactWriteCommand({ TransactItems: items }));
        return { ok: true };
      } catch (error) {
        if ((error as { name?: unknown }).name !== 'TransactionCanceledException') throw error;
        const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
        const codes = reasons.map((reason) => reason?.Code ?? 'None');
        if (codes.every((code) => ['None', 'ConditionalCheckFailed', 'TransactionConflict'].includes(code))) {
          return { ok: false, codes };
        }
        throw error;
      }
    });

  return {
    get,

    list: (userId) =>
      storage('list friendships', async () => {
        const rows: Friendship[] = [];
        let startKey: QueryCommandOutput['LastEvaluatedKey'];
        do {
          const page = await deps.ddb.send(
            new QueryCommand({
              TableName: deps.dataTable,
              KeyConditionExpression: '#key = :key',
              ExpressionAttributeNames: { '#key': deps.keyAttribute },
              ExpressionAttributeValues: { ':key': friendsKey(userId) },
              ExclusiveStartKey: startKey,
            }),
          );
          for (const item of page.Items ?? []) {
            const friendship = typeof item.itemId === 'string' ? friendshipFromItem(item.itemId, item) : undefined;
            if (friendship !== undefined) rows.push(friendship);
          }
          startKey = page.LastEvaluatedKey;
        } while (startKey !== undefined);
        return rows;
      }),

    async areFriends(userId, otherUserId) {
      return (await get(userId, otherUserId))?.status === 'accepted';
    },

    async request(userId, otherUserId) {
      const at = now();
      const absent = {
        ConditionExpression: 'attribute_not_exists(#key)',
        ExpressionAttributeNames: { '#key': deps.keyAttribute },
      };
      const result = await transact(
        [
          { Put: { TableName: deps.dataTable, Item: row(userId, otherUserId, 'requested', at), ...absent } },
          { Put: { TableName: deps.dataTable, Item: row(otherUserId, userId, 'pending', at), ...absent } },
          {
            // A user is known once they have connected with a token: their presence item exists.
            ConditionCheck: {
              TableName: deps.dataTable,
              Key: { [deps.keyAttribute]: presenceKey(otherUserId), itemId: PRESENCE_ITEM_ID },
              ConditionExpression: 'attribute_exists(#key)',
              ExpressionAttributeNames: { '#key': deps.keyAttribute },
            },
          },
        ],
        'request a friendship',
      );
      if (result.ok) return 'done';
      return result.codes[2] === 'ConditionalCheckFailed' ? 'unknown-user' : 'conflict';
    },

    async accept(userId, otherUserId) {
      const at = now();
      const set = (expected: string) => ({
        UpdateExpression: 'SET #status = :accepted, #since = :now',
        ConditionExpression: '#status = :expected',
        ExpressionAttributeNames: { '#status': 'status', '#since': 'since' },
        ExpressionAttributeValues: { ':accepted': 'accepted', ':now': at, ':expected': expected },
      });
      const result = await transact(
        [
          { Update: { TableName: deps.dataTable, Key: rowKey(userId, otherUserId), ...set('pending') } },
          { Update: { TableName: deps.dataTable, Key: rowKey(otherUserId, userId), ...set('requested') } },
        ],
        'accept a friendship',
      );
      return result.ok ? 'done' : 'conflict';
    },

    async remove(userId, otherUserId) {
      // A subscription to either one's presence ConditionChecks these rows in its own transaction; meeting one in
      // flight cancels this one with TransactionConflict although the pair exists: try again rather than say 404.
      for (let attempt = 1; ; attempt++) {
        const result = await removeOnce(userId, otherUserId);
        if (result.ok) return 'done';
        if (result.codes[0] === 'ConditionalCheckFailed' || !result.codes.includes('TransactionConflict')) {
          return 'conflict';
        }
        if (attempt >= REMOVE_ATTEMPTS) {
          throw new StorageError('Could not remove a friendship: it kept conflicting', { retryable: true });
        }
        await sleep(fullJitterDelay(attempt, { baseMs: 20, capMs: 200 }));
      }
    },
  };

  function removeOnce(userId: string, otherUserId: string) {
    return transact(
      [
        {
          Delete: {
            TableName: deps.dataTable,
            Key: rowKey(userId, otherUserId),
            ConditionExpression: 'attribute_exists(#key)',
            ExpressionAttributeNames: { '#key': deps.keyAttribute },
          },
        },
        // Their side goes too, whatever it says: a pair never keeps one half.
        { Delete: { TableName: deps.dataTable, Key: rowKey(otherUserId, userId) } },
      ],
      'remove a friendship',
    );
  }
}

/** Transactions tried to remove a friendship while subscriptions check its rows at the same moment. */
const REMOVE_ATTEMPTS = 3;
