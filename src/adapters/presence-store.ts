import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import {
  type PageInfo,
  PRESENCE_ITEM_ID,
  type Presence,
  presenceKey,
  userIdOfPresenceKey,
} from '@real-time-platform/protocol';
import type { GuardedKey } from '../domain/key-access';
import { connectionRowKey } from '../domain/keys';
import {
  type ConnectTransition,
  connectTransition,
  type DisconnectTransition,
  disconnectTransition,
  pageConnectionIdOf,
  presenceFromItem,
  samePage,
} from '../domain/presence';
import { type BackoffOptions, fullJitterDelay, sleep as realSleep } from '../lib/backoff';
import { StorageError } from '../lib/errors';
import { cancellationCodes, conditionCheckOf, refusedKeyOf } from './access-checks';
import { connectionRowItem, type NewConnection, subscriptionRowItem } from './connection-repository';
import { presenceUpdate } from './presence-updates';
import { storage, toStorageError } from './storage';

/**
 * Presence items (RealTimeData `presence:<userId>` / `state`) kept in step with the connection rows of the
 * WebSocketConnectionManager table. The invariant: a user's `connections` equals the number of their connection
 * rows, and `status` is online exactly when it is above zero. Every change of a row and of the counter happens in
 * one TransactWriteItems:
 * - opening: Put the row (attribute_not_exists) + the presence update;
 * - closing: Delete the row (attribute_exists) + the presence update — whoever deletes the row ($disconnect, the
 *   sweep, the fan-out on 410) settles presence, exactly once, however they race.
 * The presence update is the variant for the state just read, conditioned on that state; when another connection
 * of the same user changed it in between, the transaction is cancelled and redone with a fresh read. So two tabs
 * opening and closing in any interleaving end with the right count.
 *
 * The page is the user's, but the item remembers which connection set it (`pageConnectionId`): when that tab closes
 * while others stay open, its page goes with it (latestPage stays). A page is only written while its connection's
 * row exists (ConditionCheck), and a close is conditioned on who owns the page, so a page update racing the close of
 * its own tab, or of another tab, never leaves a closed tab's page on display.
 */

export interface PresenceStoreDeps {
  ddb: DynamoDBDocumentClient;
  /** WebSocketConnectionManager. */
  connectionsTable: string;
  /** RealTimeData. */
  dataTable: string;
  /** REAL_TIME_ITEM_KEY: RealTimeData's partition key attribute. */
  keyAttribute: string;
  /** CONNECTION_TTL_SECONDS, for the rows written when a connection opens. */
  ttlSeconds: number;
  now?: () => number;
  /** Transactions tried per operation before giving up (conflicting writers are other tabs of one user). */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export type OpenResult =
  | { opened: true; transition: ConnectTransition }
  /** The row already existed: a repeated $connect of the same connection; nothing changed. */
  | { opened: false }
  /** A key's access was taken back between the decision and the write (its ConditionCheck failed): nothing stored. */
  | { opened: false; refusedKey: string };

export type CloseResult =
  | { closed: true; transition: DisconnectTransition }
  /** The row was already gone: someone else closed it and settled presence. */
  | { closed: false };

/** The outcome of a page update. */
export type SetPageResult = 'changed' | 'unchanged' | 'offline';

export interface PresenceStore {
  /**
   * Stores a signed-in user's connection row and subscription rows and counts the connection in their presence,
   * in one transaction (nothing is half-written). `requirements`: the keys whose access rests on a revocable row;
   * each row is ConditionChecked in the same transaction, so a grant taken back after the access decision refuses
   * the connection (`refusedKey`) instead of leaving a live subscription.
   */
  openConnection(
    connection: NewConnection & { userId: string },
    keys: readonly string[],
    requirements?: readonly GuardedKey[],
  ): Promise<OpenResult>;
  /** Deletes the connection row and settles its user's presence, exactly once across concurrent callers. */
  closeConnection(connectionId: string, userId: string): Promise<CloseResult>;
  /** A user's presence (a consistent read); undefined when never seen. */
  get(userId: string): Promise<Presence | undefined>;
  /** Presence of many users (BatchGetItem, 100 a request, unprocessed keys retried); missing users are left out. */
  getMany(userIds: readonly string[]): Promise<Map<string, Presence>>;
  /**
   * Sets (or with undefined hides) the page of an online user, as set by `connectionId` (one of theirs); writes only
   * when it changes. 'offline' also when that connection has ended meanwhile (nothing written).
   */
  setPage(userId: string, connectionId: string, page: PageInfo | undefined): Promise<SetPageResult>;
}

/**
 * DynamoDB refuses transactions over 100 items; a connect writes at most 2 + 21 (20 keys and the inbox) and checks at
 * most 20 grants.
 */
const MAX_TRANSACT_ITEMS = 100;
const BATCH_GET_LIMIT = 100;

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** The DynamoDB-backed PresenceStore. */
export function createPresenceStore(deps: PresenceStoreDeps): PresenceStore {
  const now = deps.now ?? Date.now;
  const maxAttempts = deps.maxAttempts ?? 8;
  const backoff = deps.backoff ?? { baseMs: 20, capMs: 500 };
  const sleep = deps.sleep ?? realSleep;
  const presenceItemKey = (userId: string) => ({ [deps.keyAttribute]: presenceKey(userId), itemId: PRESENCE_ITEM_ID });

  /** The presence (a consistent read) and the connection that set its page. */
  const read = (userId: string) =>
    storage("read a user's presence", async () => {
      const { Item } = await deps.ddb.send(
        new GetCommand({ TableName: deps.dataTable, Key: presenceItemKey(userId), ConsistentRead: true }),
      );
      return { presence: presenceFromItem(userId, Item), pageConnectionId: pageConnectionIdOf(Item) };
    });
  const get = async (userId: string) => (await read(userId)).presence;
  const connectionRowCheck = (connectionId: string) => ({
    ConditionCheck: {
      TableName: deps.connectionsTable,
      Key: { connectionId, realTimeItemKey: connectionRowKey(connectionId) },
      ConditionExpression: 'attribute_exists(connectionId)',
    },
  });

  /**
   * Runs `attempt` until it settles: each attempt reads presence, picks the variant and runs the transaction; a
   * cancellation because presence changed meanwhile (or a conflicting transaction) is retried after a jittered wait.
   */
  const withRetries = async <T>(operation: string, attempt: () => Promise<T | typeof RETRY>): Promise<T> => {
    for (let n = 1; ; n++) {
      const result = await attempt();
      if (result !== RETRY) return result;
      if (n >= maxAttempts) {
        throw new StorageError(`Could not ${operation}: presence kept changing (${n} attempts)`, { retryable: true });
      }
      await sleep(fullJitterDelay(n, backoff, deps.random));
    }
  };

  return {
    get,

    openConnection: (connection, keys, requirements = []) =>
      withRetries<OpenResult>('open the connection', async () => {
        const current = await get(connection.userId);
        const transition = connectTransition(current);
        const at = now();
        const items: NonNullable<TransactWriteCommandInput['TransactItems']> = [
          presenceUpdate(deps, connection.userId, transition, at),
          {
            Put: {
              TableName: deps.connectionsTable,
              Item: connectionRowItem(connection, at, deps.ttlSeconds),
              ConditionExpression: 'attribute_not_exists(connectionId)',
            },
          },
          ...keys.map((key) => ({
            Put: {
              TableName: deps.connectionsTable,
              Item: subscriptionRowItem(connection.connectionId, key, at, deps.ttlSeconds),
            },
          })),
          ...requirements.map((guarded) =>
            conditionCheckOf(guarded.requires, { tableName: deps.dataTable, keyAttribute: deps.keyAttribute }),
          ),
        ];
        if (items.length > MAX_TRANSACT_ITEMS) {
          throw new StorageError(`Could not open the connection: ${keys.length} keys is too many`, {
            retryable: false,
          });
        }
        const outcome = await transact(deps.ddb, items, 'open the connection', {
          checks: requirements,
          offset: 2 + keys.length,
        });
        if (outcome === 'presence-changed') return RETRY;
        if (outcome === 'row-condition-failed') return { opened: false };
        if (typeof outcome === 'object') return { opened: false, refusedKey: outcome.refusedKey };
        return { opened: true, transition };
      }),

    closeConnection: (connectionId, userId) =>
      withRetries<CloseResult>('close the connection', async () => {
        const current = await read(userId);
        const transition = disconnectTransition(current.presence);
        // Chosen from this read and guarded by its condition: a page another tab sets meanwhile is never erased.
        const closing = { connectionId, setThePage: current.pageConnectionId === connectionId };
        const outcome = await transact(
          deps.ddb,
          [
            presenceUpdate(deps, userId, transition, now(), closing),
            {
              Delete: {
                TableName: deps.connectionsTable,
                Key: { connectionId, realTimeItemKey: connectionRowKey(connectionId) },
                ConditionExpression: 'attribute_exists(connectionId)',
              },
            },
          ],
          'close the connection',
        );
        if (outcome === 'presence-changed') return RETRY;
        if (outcome === 'row-condition-failed') return { closed: false };
        return { closed: true, transition };
      }),

    getMany: (userIds) =>
      storage("read users' presence", async () => {
        const found = new Map<string, Presence>();
        const unique = [...new Set(userIds)];
        for (let start = 0; start < unique.length; start += BATCH_GET_LIMIT) {
          let keys: Record<string, unknown>[] | undefined = unique
            .slice(start, start + BATCH_GET_LIMIT)
            .map(presenceItemKey);
          for (let attempt = 1; keys !== undefined && keys.length > 0; attempt++) {
            const output: BatchGetCommandOutput = await deps.ddb.send(
              new BatchGetCommand({ RequestItems: { [deps.dataTable]: { Keys: keys, ConsistentRead: true } } }),
            );
            for (const item of output.Responses?.[deps.dataTable] ?? []) {
              const key = item[deps.keyAttribute];
              const userId = typeof key === 'string' ? userIdOfPresenceKey(key) : undefined;
              const presence = userId === undefined ? undefined : presenceFromItem(userId, item);
              if (presence !== undefined) found.set(presence.userId, presence);
            }
            keys = output.UnprocessedKeys?.[deps.dataTable]?.Keys;
            if (keys === undefined || keys.length === 0) break;
            // Unprocessed keys mean throttling: back off before asking again, and give up after a few rounds.
            if (attempt >= maxAttempts) {
              throw new StorageError(`${keys.length} presence items stayed unprocessed`, { retryable: true });
            }
            await sleep(fullJitterDelay(attempt, { baseMs: 50, capMs: 1000 }, deps.random));
          }
        }
        return found;
      }),

    setPage: (userId, connectionId, page) =>
      withRetries<SetPageResult>('update the page', async () => {
        const names: Record<string, string> = {
          '#status': 'status',
          '#page': 'page',
          '#pageConnectionId': 'pageConnectionId',
          '#lastSeenAt': 'lastSeenAt',
          '#transition': 'transition',
        };
        const values: Record<string, unknown> = { ':online': 'online', ':now': now(), ':update': 'update' };
        let update: string;
        let condition: string;
        if (page === undefined) {
          // Hidden: the page goes, latestPage stays (watchers still see where the user was last).
          update = 'SET #lastSeenAt = :now, #transition = :update REMOVE #page, #pageConnectionId';
          condition = '#status = :online AND attribute_exists(#page)';
        } else {
          update =
            'SET #page = :page, #latestPage = :page, #pageConnectionId = :connectionId, #lastSeenAt = :now, ' +
            '#transition = :update';
          // Written only when it differs (domain follows from url), so a repeated update makes no stream record.
          condition =
            '#status = :online AND (attribute_not_exists(#page) OR #page.#url <> :url OR #page.#title <> :title)';
          Object.assign(names, { '#latestPage': 'latestPage', '#url': 'url', '#title': 'title' });
          Object.assign(values, {
            ':page': page,
            ':url': page.url,
            ':title': page.title,
            ':connectionId': connectionId,
          });
        }
        // With the connection row checked in the same transaction, a page update that arrives after its own tab
        // was closed writes nothing (the close already settled presence; the page would never be taken down).
        const write = (pageUpdate: Omit<NonNullable<TransactItem['Update']>, 'TableName' | 'Key'>) =>
          transact(
            deps.ddb,
            [
              { Update: { TableName: deps.dataTable, Key: presenceItemKey(userId), ...pageUpdate } },
              connectionRowCheck(connectionId),
            ],
            'update the page',
          );
        const outcome = await write({
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        });
        if (outcome === 'done') return 'changed';
        if (outcome === 'row-condition-failed') return 'offline';
        // The presence condition failed or a transaction of another tab got in the way: see which from a fresh read.
        const current = await read(userId);
        if (current.presence?.status !== 'online') return 'offline';
        if (page === undefined) return current.presence.page === undefined ? 'unchanged' : RETRY;
        if (!samePage(current.presence.page, page)) return RETRY;
        if (current.pageConnectionId === connectionId) return 'unchanged';
        // Another tab set the same page: this one takes it over (watchers see no change), so that closing the
        // other tab leaves the page on display while this one still shows it.
        const adopted = await write({
          UpdateExpression: 'SET #pageConnectionId = :connectionId, #transition = :update',
          ConditionExpression: '#status = :online AND #page.#url = :url AND #page.#title = :title',
          ExpressionAttributeNames: {
            '#status': 'status',
            '#page': 'page',
            '#url': 'url',
            '#title': 'title',
            '#pageConnectionId': 'pageConnectionId',
            '#transition': 'transition',
          },
          ExpressionAttributeValues: {
            ':online': 'online',
            ':url': page.url,
            ':title': page.title,
            ':connectionId': connectionId,
            ':update': 'update',
          },
        });
        if (adopted === 'row-condition-failed') return 'offline';
        return adopted === 'done' ? 'unchanged' : RETRY;
      }),
  };
}

/** Marker: redo the operation with a fresh read. */
const RETRY = Symbol('retry');

type TransactOutcome = 'done' | 'presence-changed' | 'row-condition-failed' | { refusedKey: string };

/**
 * Runs a transaction whose first item is the presence operation and whose second is the connection row (and, from
 * `access.offset` on, the ConditionChecks of access requirements). A cancellation is classified by
 * CancellationReasons (by Code, never by message): the row's condition → the row already existed / was already
 * gone; an access check → that key's grant is gone; the presence condition or a conflicting transaction → retry.
 */
async function transact(
  ddb: DynamoDBDocumentClient,
  items: NonNullable<TransactWriteCommandInput['TransactItems']>,
  operation: string,
  access: { checks: readonly GuardedKey[]; offset: number } = { checks: [], offset: items.length },
): Promise<TransactOutcome> {
  try {
    await ddb.send(new TransactWriteCommand({ TransactItems: items }));
    return 'done';
  } catch (error) {
    const codes = cancellationCodes(error);
    if (codes === undefined) throw toStorageError(operation, error);
    // A repeated $connect first: its subscriptions committed with the first one, before any later revoke.
    if (codes[1] === 'ConditionalCheckFailed') return 'row-condition-failed';
    const refusedKey = refusedKeyOf(codes, access.checks, access.offset);
    if (refusedKey !== undefined) return { refusedKey };
    if (codes[0] === 'ConditionalCheckFailed' || codes.includes('TransactionConflict')) return 'presence-changed';
    const throttled = codes.some((code) => code === 'ThrottlingError' || code === 'ProvisionedThroughputExceeded');
    throw new StorageError(`Could not ${operation}: transaction cancelled (${codes.join(', ')})`, {
      retryable: throttled,
      cause: error,
    });
  }
}
