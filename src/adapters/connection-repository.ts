import { createHash } from 'node:crypto';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { GuardedKey } from '../domain/key-access';
import { connectionRowKey } from '../domain/keys';
import { fullJitterDelay, sleep as realSleep } from '../lib/backoff';
import { StorageError } from '../lib/errors';
import {
  cancellationCodes,
  conditionCheckOf,
  type DataTableRef,
  refusedKeyOf,
  type TransactItem,
} from './access-checks';
import { type BatchWriteOptions, batchWriteAll } from './batch-write';
import { queryPages } from './paged-query';
import { storage, writtenUnlessConditionFails } from './storage';

/**
 * The WebSocketConnectionManager table: partition key `connectionId`, sort key `realTimeItemKey`. Each connection
 * has one row with sort key `$connection#<connectionId>` (connectedAt, lastSeenAt, expiresAt, sourceIp, userAgent) and one row per
 * subscribed key; the `subscribersByKey` GSI (realTimeItemKey → connectionId) finds a key's subscribers.
 * Connection rows of signed-in users also carry `userId` and `sweepShard`, which put them in two sparse GSIs:
 * `connectionsByUser` (a user's connections) and `silentConnections` (sweepShard, lastSeenAt: the presence sweep's
 * "who has been silent too long", without a Scan).
 */

/** Name of the GSI that lists a key's subscribers. */
export const SUBSCRIBERS_INDEX = 'subscribersByKey';
/** Name of the sparse GSI that lists a user's connections. */
export const CONNECTIONS_BY_USER_INDEX = 'connectionsByUser';
/** Name of the sparse GSI (sweepShard, lastSeenAt) that finds silent connections. */
export const SILENT_CONNECTIONS_INDEX = 'silentConnections';
/** Name of the sparse GSI (sweepShard, tokenExpiresAt) that finds connections whose token has expired. */
export const EXPIRING_CONNECTIONS_INDEX = 'expiringConnections';
/**
 * Shards of silentConnections: every signed-in connection row sits in one, chosen by a hash of its id, so heartbeat
 * writes spread over a few index partitions instead of one; the sweep queries each.
 */
export const SWEEP_SHARDS = 4;

/** The sweep shard of a connection ("0" … "3"), stable for its id. */
export function sweepShardOf(connectionId: string, shards = SWEEP_SHARDS): string {
  return String(createHash('sha256').update(connectionId).digest().readUInt32BE(0) % shards);
}

export interface NewConnection {
  connectionId: string;
  /** When API Gateway accepted the connection, epoch ms; defaults to now. */
  connectedAt?: number;
  sourceIp?: string;
  userAgent?: string;
  /** The authenticated user, when an authorizer ran. */
  userId?: string;
  /** When the user's token expires, epoch seconds (AuthMode=jwt); puts the row in `expiringConnections`. */
  tokenExpiresAt?: number;
}

/** A connection's own row, as the presence lifecycle reads it. */
export interface StoredConnection {
  connectionId: string;
  /** Set for signed-in users only. */
  userId?: string;
  /** Epoch ms of the last heartbeat (or the connect). */
  lastSeenAt?: number;
  /** Set by the presence sweep when it decided the connection timed out, before it closes the socket. */
  endReason?: 'TIMEOUT';
  /** When the connection's token expires, epoch seconds. */
  tokenExpiresAt?: number;
}

/** A connection the silentConnections index lists. */
export interface SilentConnection {
  connectionId: string;
  userId?: string;
  lastSeenAt: number;
}

/** What a subscribe did: stored every key, or nothing because a key's access was taken back meanwhile. */
export type SubscribeResult = { subscribed: true } | { subscribed: false; refusedKey: string };

/** DynamoDB refuses transactions over 100 items; a subscribe writes at most 20 keys + 20 checks. */
const MAX_TRANSACT_ITEMS = 100;
/** Transactions tried when another transaction touches the same rows at the same moment. */
const TRANSACT_ATTEMPTS = 3;

/** Connection and subscription storage, as the handlers see it. */
export interface ConnectionRepository {
  /** Stores the connection row and one row per key. */
  saveConnection(connection: NewConnection, keys: readonly string[]): Promise<void>;
  /**
   * Adds subscription rows (idempotent: a repeated subscribe refreshes the row). With `requirements` (the keys whose
   * access rests on a revocable row), the rows and a ConditionCheck per requirement go in one transaction: when a
   * grant is gone by then, nothing is written and the result names the key.
   */
  subscribe(
    connectionId: string,
    keys: readonly string[],
    requirements?: readonly GuardedKey[],
  ): Promise<SubscribeResult>;
  /** Removes subscription rows (idempotent). */
  unsubscribe(connectionId: string, keys: readonly string[]): Promise<void>;
  /** Sets lastSeenAt on the connection row; false when the row does not exist (expired or cleaned up). */
  touch(connectionId: string): Promise<boolean>;
  /** The keys a connection is subscribed to (a consistent Query of its rows). */
  subscriptionsOf(connectionId: string): Promise<string[]>;
  /** Every connection subscribed to `key`: a paginated Query on the GSI, never a Scan. */
  subscribersOf(key: string): Promise<string[]>;
  /**
   * Whether the connection holds a live subscription to `key` now: a consistent GetItem of the subscription row, so a
   * subscribe just written is seen and an unsubscribe, a revocation or an expired row (TTL pending) counts as none.
   */
  isSubscribed(connectionId: string, key: string): Promise<boolean>;
  /** Deletes every row of the connection; returns how many there were. Idempotent. */
  deleteConnection(connectionId: string): Promise<number>;
  /** The connection's own row (a consistent read), or undefined when it is gone. */
  connectionOf(connectionId: string): Promise<StoredConnection | undefined>;
  /**
   * Marks the connection row as timed out (endReason), on condition that it was last seen before `cutoff` (epoch
   * ms): false when a heartbeat came since, or the row is gone. Whoever then ends the connection — the sweep, or the
   * $disconnect that closing the socket fires — reads the reason from the row.
   */
  markTimedOut(connectionId: string, cutoff: number): Promise<boolean>;
  /** The ids of a user's connections (connectionsByUser, eventually consistent). */
  connectionsOfUser(userId: string): Promise<string[]>;
  /**
   * Signed-in connections of one sweep shard silent since before `before` (epoch ms), oldest first, at most
   * `limit` (silentConnections, eventually consistent: re-read a row before acting on it).
   */
  silentConnections(shard: string, before: number, limit: number): Promise<SilentConnection[]>;
  /**
   * Ids of the connections of one sweep shard whose token expired before `beforeSeconds` (epoch seconds), at most
   * `limit` (expiringConnections, eventually consistent).
   */
  expiredTokenConnections(shard: string, beforeSeconds: number, limit: number): Promise<string[]>;
}

/**
 * A connection's own row. Signed-in users' rows carry userId and sweepShard (the two sparse indexes); anonymous rows
 * carry neither, so the presence sweep never closes them (they have no presence to keep right).
 */
export function connectionRowItem(connection: NewConnection, at: number, ttlSeconds: number): Record<string, unknown> {
  return {
    connectionId: connection.connectionId,
    realTimeItemKey: connectionRowKey(connection.connectionId),
    connectedAt: connection.connectedAt ?? at,
    lastSeenAt: at,
    expiresAt: Math.floor(at / 1000) + ttlSeconds,
    // Absent fields are left out rather than written as undefined (which the marshaller refuses).
    ...(connection.sourceIp === undefined ? {} : { sourceIp: connection.sourceIp }),
    ...(connection.userAgent === undefined ? {} : { userAgent: connection.userAgent }),
    ...(connection.userId === undefined
      ? {}
      : {
          userId: connection.userId,
          sweepShard: sweepShardOf(connection.connectionId),
          ...(connection.tokenExpiresAt === undefined ? {} : { tokenExpiresAt: connection.tokenExpiresAt }),
        }),
  };
}

/** A subscription row. */
export function subscriptionRowItem(
  connectionId: string,
  key: string,
  at: number,
  ttlSeconds: number,
): Record<string, unknown> {
  return { connectionId, realTimeItemKey: key, subscribedAt: at, expiresAt: Math.floor(at / 1000) + ttlSeconds };
}

export interface ConnectionRepositoryDeps {
  ddb: DynamoDBDocumentClient;
  tableName: string;
  ttlSeconds: number;
  /** Epoch ms; read per request so TTLs are never computed at module load. */
  now?: () => number;
  /** Also paces the retries of a subscribe transaction that met a conflicting one. */
  batchWrite?: BatchWriteOptions;
  /** RealTimeData, where the rows of access requirements live; needed for subscribe with requirements. */
  dataTable?: DataTableRef;
}

/** The DynamoDB-backed ConnectionRepository. */
export function createConnectionRepository(deps: ConnectionRepositoryDeps): ConnectionRepository {
  const { ddb, tableName, ttlSeconds } = deps;
  const now = deps.now ?? Date.now;
  const subscriptionRow = (connectionId: string, key: string, at: number) => ({
    PutRequest: { Item: subscriptionRowItem(connectionId, key, at, ttlSeconds) },
  });
  const write = (requests: Parameters<typeof batchWriteAll>[2]) =>
    batchWriteAll(ddb, tableName, requests, deps.batchWrite);

  /** A conditional update of the connection's own row: false when its condition does not hold. */
  const updateConnectionRow = (
    connectionId: string,
    update: Pick<UpdateCommandInput, 'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeValues'>,
  ) =>
    writtenUnlessConditionFails(() =>
      ddb.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { connectionId, realTimeItemKey: connectionRowKey(connectionId) },
          ...update,
        }),
      ),
    );
  /** Sort keys of every row of a connection (its own row and its subscriptions), all pages. */
  const rowKeysOf = (connectionId: string): Promise<string[]> =>
    queryPages(
      ddb,
      {
        TableName: tableName,
        KeyConditionExpression: 'connectionId = :id',
        ExpressionAttributeValues: { ':id': connectionId },
        ProjectionExpression: 'realTimeItemKey',
        // A subscribe written just before must be seen, or its row would linger until TTL (or be miscounted).
        ConsistentRead: true,
      },
      { keep: (item) => (typeof item.realTimeItemKey === 'string' ? item.realTimeItemKey : undefined) },
    );

  /** The connection ids of every row an index lists under `value` (all pages; the indexes project connectionId). */
  const connectionIdsOnIndex = (indexName: string, attribute: string, value: string): Promise<string[]> =>
    queryPages(
      ddb,
      {
        TableName: tableName,
        IndexName: indexName,
        KeyConditionExpression: '#attribute = :value',
        ExpressionAttributeNames: { '#attribute': attribute },
        ExpressionAttributeValues: { ':value': value },
      },
      { keep: connectionIdOf },
    );

  return {
    saveConnection: (connection, keys) =>
      storage('store the connection', async () => {
        const at = now();
        const row = connectionRowItem(connection, at, ttlSeconds);
        // One BatchWriteItem for the common case (connection row + up to 20 keys ≤ 25 requests).
        await write([
          { PutRequest: { Item: row } },
          ...keys.map((key) => subscriptionRow(connection.connectionId, key, at)),
        ]);
      }),

    subscribe: (connectionId, keys, requirements = []) =>
      storage('store subscriptions', async (): Promise<SubscribeResult> => {
        const at = now();
        if (requirements.length === 0) {
          await write(keys.map((key) => subscriptionRow(connectionId, key, at)));
          return { subscribed: true };
        }
        const table = deps.dataTable;
        if (table === undefined) {
          throw new StorageError('guarded subscriptions need the data table (dataTable) configured', {
            retryable: false,
          });
        }
        const unique = [...new Set(keys)];
        const items: TransactItem[] = [
          ...unique.map((key) => ({
            Put: { TableName: tableName, Item: subscriptionRowItem(connectionId, key, at, ttlSeconds) },
          })),
          ...requirements.map((guarded) => conditionCheckOf(guarded.requires, table)),
        ];
        if (items.length > MAX_TRANSACT_ITEMS) {
          throw new StorageError(`${unique.length} keys and ${requirements.length} checks exceed one transaction`, {
            retryable: false,
          });
        }
        for (let attempt = 1; ; attempt++) {
          try {
            await ddb.send(new TransactWriteCommand({ TransactItems: items }));
            return { subscribed: true };
          } catch (error) {
            const codes = cancellationCodes(error);
            if (codes === undefined) throw error;
            const refusedKey = refusedKeyOf(codes, requirements, unique.length);
            if (refusedKey !== undefined) return { subscribed: false, refusedKey };
            // Another transaction on one of the rows (e.g. the owner changing the share): decide again shortly.
            const conflict = codes.includes('TransactionConflict');
            if (conflict && attempt < TRANSACT_ATTEMPTS) {
              await (deps.batchWrite?.sleep ?? realSleep)(
                fullJitterDelay(attempt, { baseMs: 20, capMs: 200 }, deps.batchWrite?.random),
              );
              continue;
            }
            const throttled = codes.some(
              (code) => code === 'ThrottlingError' || code === 'ProvisionedThroughputExceeded',
            );
            throw new StorageError(`Could not store subscriptions: transaction cancelled (${codes.join(', ')})`, {
              retryable: conflict || throttled,
              cause: error,
            });
          }
        }
      }),

    unsubscribe: (connectionId, keys) =>
      storage('delete subscriptions', () =>
        write(keys.map((key) => ({ DeleteRequest: { Key: { connectionId, realTimeItemKey: key } } }))),
      ),

    touch: (connectionId) =>
      storage('update lastSeenAt', () =>
        updateConnectionRow(connectionId, {
          // A heartbeat also clears a timeout mark the sweep left when it then failed to close the socket: the
          // connection is alive after all, and its eventual end is not a timeout.
          UpdateExpression: 'SET lastSeenAt = :at REMOVE endReason',
          // Without the condition an expired connection would get a new row with no expiresAt: never deleted.
          ConditionExpression: 'attribute_exists(connectionId)',
          ExpressionAttributeValues: { ':at': now() },
        }),
      ),

    subscribersOf: (key) =>
      storage('look up subscribers', () => connectionIdsOnIndex(SUBSCRIBERS_INDEX, 'realTimeItemKey', key)),

    isSubscribed: (connectionId, key) =>
      storage('read a subscription', async () => {
        // A connection's own row is no subscription, whatever a forged request names.
        if (key === connectionRowKey(connectionId)) return false;
        const { Item } = await ddb.send(
          new GetCommand({
            TableName: tableName,
            Key: { connectionId, realTimeItemKey: key },
            ProjectionExpression: 'expiresAt',
            ConsistentRead: true,
          }),
        );
        if (Item === undefined) return false;
        // DynamoDB deletes expired rows late (and DynamoDB Local never does): an expired row is no subscription.
        return typeof Item.expiresAt !== 'number' || Item.expiresAt * 1000 > now();
      }),

    subscriptionsOf: (connectionId) =>
      storage('read subscriptions', async () => {
        const keys = await rowKeysOf(connectionId);
        const own = connectionRowKey(connectionId);
        return keys.filter((key) => key !== own);
      }),

    deleteConnection: (connectionId) =>
      storage('delete the connection', async () => {
        const keys = await rowKeysOf(connectionId);
        await write(keys.map((key) => ({ DeleteRequest: { Key: { connectionId, realTimeItemKey: key } } })));
        return keys.length;
      }),

    connectionOf: (connectionId) =>
      storage('read the connection', async () => {
        const { Item } = await ddb.send(
          new GetCommand({
            TableName: tableName,
            Key: { connectionId, realTimeItemKey: connectionRowKey(connectionId) },
            ProjectionExpression: 'connectionId, userId, lastSeenAt, endReason, tokenExpiresAt',
            // $disconnect may follow $connect within milliseconds: a stale read would miss the row.
            ConsistentRead: true,
          }),
        );
        if (Item === undefined) return undefined;
        return {
          connectionId,
          ...(typeof Item.userId === 'string' ? { userId: Item.userId } : {}),
          ...(typeof Item.lastSeenAt === 'number' ? { lastSeenAt: Item.lastSeenAt } : {}),
          ...(Item.endReason === 'TIMEOUT' ? { endReason: 'TIMEOUT' as const } : {}),
          ...(typeof Item.tokenExpiresAt === 'number' ? { tokenExpiresAt: Item.tokenExpiresAt } : {}),
        };
      }),

    markTimedOut: (connectionId, cutoff) =>
      storage('mark the connection timed out', () =>
        updateConnectionRow(connectionId, {
          UpdateExpression: 'SET endReason = :timeout',
          ConditionExpression: 'attribute_exists(connectionId) AND lastSeenAt < :cutoff',
          ExpressionAttributeValues: { ':timeout': 'TIMEOUT', ':cutoff': cutoff },
        }),
      ),

    connectionsOfUser: (userId) =>
      storage("look up a user's connections", () => connectionIdsOnIndex(CONNECTIONS_BY_USER_INDEX, 'userId', userId)),

    silentConnections: (shard, before, limit) =>
      storage('look up silent connections', () =>
        queryPages<SilentConnection>(
          ddb,
          {
            TableName: tableName,
            IndexName: SILENT_CONNECTIONS_INDEX,
            KeyConditionExpression: 'sweepShard = :shard AND lastSeenAt < :before',
            ExpressionAttributeValues: { ':shard': shard, ':before': before },
          },
          {
            limit,
            keep: (item) =>
              typeof item.connectionId !== 'string' || typeof item.lastSeenAt !== 'number'
                ? undefined
                : {
                    connectionId: item.connectionId,
                    lastSeenAt: item.lastSeenAt,
                    ...(typeof item.userId === 'string' ? { userId: item.userId } : {}),
                  },
          },
        ),
      ),

    expiredTokenConnections: (shard, beforeSeconds, limit) =>
      storage('look up connections with expired tokens', () =>
        queryPages(
          ddb,
          {
            TableName: tableName,
            IndexName: EXPIRING_CONNECTIONS_INDEX,
            KeyConditionExpression: 'sweepShard = :shard AND tokenExpiresAt < :before',
            ExpressionAttributeValues: { ':shard': shard, ':before': beforeSeconds },
          },
          { limit, keep: connectionIdOf },
        ),
      ),
  };
}

const connectionIdOf = (item: Record<string, unknown>): string | undefined =>
  typeof item.connectionId === 'string' ? item.connectionId : undefined;
