import { createHash } from 'node:crypto';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandOutput,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type ChatMessage,
  CONVERSATION_ITEM_ID,
  type Conversation,
  chatKey,
  MAX_MESSAGE_SEQ,
  messageIdOf,
  messageItemId,
  PRESENCE_ITEM_ID,
  presenceKey,
  READ_MARKER_ITEM_PREFIX,
  type ReadReceipt,
  readMarkerItemId,
} from '@real-time-platform/protocol';
import type { Order } from '../domain/chat';
import { type BackoffOptions, fullJitterDelay, sleep as realSleep } from '../lib/backoff';
import { StorageError } from '../lib/errors';
import { storage } from './storage';

/**
 * Chat storage in RealTimeData (layout in src/domain/chat.ts). Everything under `chat:<id>` reaches participants
 * live through the stream fan-out, so only the conversation's description, its messages and read markers go there;
 * the counter, the de-duplication rows and the per-user index live under `$` keys, which never fan out.
 */

/** How long a re-sent message (same sender, tempMessageId and content) is recognised. */
const SENT_ROW_TTL_SECONDS = 24 * 3600;
const STATE_ITEM_ID = 'state';
/** BatchGetItem's limit. */
const BATCH_GET_LIMIT = 100;

/** The result of appending a message. */
export type AppendResult =
  | { status: 'stored'; message: ChatMessage }
  /**
   * The sender already sent this content with this tempMessageId (within 24 h): nothing new was stored. `message` is
   * the one stored then, `item` the same as stored (key attribute and itemId included, like the stream's image).
   */
  | { status: 'duplicate'; message: ChatMessage; item: Record<string, unknown> };

/** The result of creating a conversation. */
export type CreateConversationResult =
  | { status: 'created'; conversation: Conversation }
  /** A conversation with this id existed already (direct ids derive from the pair): that one, unchanged. */
  | { status: 'exists'; conversation: Conversation }
  /** These participants have never connected (no presence item): nothing was written. */
  | { status: 'unknown-users'; userIds: string[] };

export interface NewMessage {
  conversationId: string;
  senderId: string;
  content: string;
  tempMessageId?: string;
}

/** A conversation's counter: how many messages it has and when the newest was sent. */
export interface ConversationActivity {
  lastSeq: number;
  lastMessageAt?: string;
}

export interface ChatStore {
  /**
   * Creates the conversation in one transaction (description, counter, one index row per participant, and a check
   * that every participant but the creator is a known user), unless one with its id exists: then that one is
   * returned (direct conversations have derived ids). A user is known once they have connected with a token: their
   * presence item exists (the rule friend requests use); presence items are never deleted.
   */
  createConversation(conversation: Conversation): Promise<CreateConversationResult>;
  /** The conversation, or undefined. Cached per container: participants never change after creation. */
  getConversation(conversationId: string): Promise<Conversation | undefined>;
  /** Stores the next message of the conversation (numbered gap-free, in commit order). */
  appendMessage(message: NewMessage, options?: { deadline?: number }): Promise<AppendResult>;
  /** The conversation's counter (a consistent read); undefined when the conversation does not exist. */
  activityOf(conversationId: string): Promise<ConversationActivity | undefined>;
  /** Moves the user's read marker forward to `upTo`; false when it already was there or beyond. */
  markRead(receipt: ReadReceipt): Promise<boolean>;
  /** Up to `limit` messages numbered from..to (inclusive), oldest first for asc, newest first for desc. */
  messages(
    conversationId: string,
    window: { from: number; to: number },
    order: Order,
    limit: number,
  ): Promise<ChatMessage[]>;
  /** Every read marker of the conversation. */
  readMarkers(conversationId: string): Promise<ReadReceipt[]>;
  /** The senders of messages numbered from..to (inclusive), for unread counting. */
  sendersBetween(conversationId: string, window: { from: number; to: number }): Promise<string[]>;
  /** Every conversation the user takes part in (from the per-user index). */
  conversationsOf(userId: string): Promise<Conversation[]>;
  /** The counters of many conversations (BatchGetItem); missing ones are left out. */
  activitiesOf(conversationIds: readonly string[]): Promise<Map<string, ConversationActivity>>;
  /** For each conversation: the message numbered `lastSeq` (when > 0) and the user's read marker (BatchGetItem). */
  latestAndMarkers(
    entries: readonly { conversationId: string; lastSeq: number }[],
    userId: string,
  ): Promise<{ latest: Map<string, ChatMessage>; markers: Map<string, ReadReceipt> }>;
}

/** Conversations by id, kept for a while per container (participants are immutable; see ChatStore). */
export interface ConversationCache {
  get(conversationId: string): Conversation | undefined;
  set(conversation: Conversation): void;
}

/** A bounded cache of found conversations (never of misses: a direct conversation may be created any moment). */
export function createConversationCache(
  options: { ttlMs?: number; maxEntries?: number; now?: () => number } = {},
): ConversationCache {
  const ttlMs = options.ttlMs ?? 5 * 60_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, { conversation: Conversation; until: number }>();
  return {
    get(conversationId) {
      const entry = entries.get(conversationId);
      if (entry === undefined) return undefined;
      if (entry.until <= now()) {
        entries.delete(conversationId);
        return undefined;
      }
      return entry.conversation;
    },
    set(conversation) {
      entries.delete(conversation.conversationId);
      // Maps iterate in insertion order: the first key is the oldest entry.
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string);
      entries.set(conversation.conversationId, { conversation, until: now() + ttlMs });
    },
  };
}

/** One cache per container, shared by every store the container creates. */
const containerCache = createConversationCache();

export interface ChatStoreDeps {
  ddb: DynamoDBDocumentClient;
  /** RealTimeData (DATA_TABLE_NAME). */
  tableName: string;
  /** REAL_TIME_ITEM_KEY: the table's partition key attribute. */
  keyAttribute: string;
  cache?: ConversationCache;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Attempts of a message append under contention (other senders of the same conversation). */
  maxAttempts?: number;
  /** Longest a message append keeps retrying, ms (the caller's deadline may cut it shorter). */
  appendBudgetMs?: number;
  backoff?: BackoffOptions;
}

/** The DynamoDB-backed ChatStore. */
export function createChatStore(deps: ChatStoreDeps): ChatStore {
  const { ddb, tableName, keyAttribute: k } = deps;
  const cache = deps.cache ?? containerCache;
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? realSleep;
  const maxAttempts = deps.maxAttempts ?? 60;
  const appendBudgetMs = deps.appendBudgetMs ?? 8000;
  // Short delays: a loser only waits for the winner's commit (one transaction), not for a throttle to pass.
  const backoff = deps.backoff ?? { baseMs: 10, capMs: 200 };

  const names = { '#k': k };
  const conversationKey = (id: string) => ({ [k]: chatKey(id), itemId: CONVERSATION_ITEM_ID });
  const stateKey = (id: string) => ({ [k]: `$chat:${id}`, itemId: STATE_ITEM_ID });
  const sentKey = (id: string, senderId: string, tempMessageId: string) => ({
    // User ids contain no "#", so the first "#" separates the two parts.
    [k]: `$chat-sent:${id}`,
    itemId: `${senderId}#${tempMessageId}`,
  });
  const indexKey = (userId: string, id: string) => ({ [k]: `$user-conversations:${userId}`, itemId: id });

  async function readConversation(conversationId: string): Promise<Conversation | undefined> {
    const { Item } = await ddb.send(
      new GetCommand({ TableName: tableName, Key: conversationKey(conversationId), ConsistentRead: true }),
    );
    return Item === undefined ? undefined : toConversation(Item);
  }

  async function readActivity(conversationId: string): Promise<ConversationActivity | undefined> {
    const { Item } = await ddb.send(
      new GetCommand({ TableName: tableName, Key: stateKey(conversationId), ConsistentRead: true }),
    );
    return Item === undefined ? undefined : toActivity(Item);
  }

  /**
   * The message a re-send names: the de-duplication row says which one (it is written in the message's own
   * transaction, so the message exists whenever the row does; messages are never deleted).
   */
  async function storedBefore(
    conversationId: string,
    senderId: string,
    tempMessageId: string,
  ): Promise<Extract<AppendResult, { status: 'duplicate' }>> {
    const { Item: sent } = await ddb.send(
      new GetCommand({
        TableName: tableName,
        Key: sentKey(conversationId, senderId, tempMessageId),
        ConsistentRead: true,
      }),
    );
    const messageId = typeof sent?.messageId === 'string' ? sent.messageId : undefined;
    const seq = messageId === undefined ? Number.NaN : Number(messageId);
    const { Item } = Number.isSafeInteger(seq)
      ? await ddb.send(
          new GetCommand({
            TableName: tableName,
            Key: { [k]: chatKey(conversationId), itemId: messageItemId(seq) },
            ConsistentRead: true,
          }),
        )
      : { Item: undefined };
    const message = Item === undefined ? undefined : toMessage(Item);
    if (Item === undefined || message === undefined) {
      throw new StorageError(
        `the re-sent message ${tempMessageId} of conversation ${conversationId} names message ${messageId ?? '(none)'}, which was not found`,
        { retryable: false },
      );
    }
    return { status: 'duplicate', message, item: Item };
  }

  /** Every item of BatchGetItem over `keys`, retrying unprocessed keys with backoff. */
  async function batchGet(keys: Record<string, unknown>[]): Promise<Record<string, unknown>[]> {
    const chunks: Record<string, unknown>[][] = [];
    for (let i = 0; i < keys.length; i += BATCH_GET_LIMIT) chunks.push(keys.slice(i, i + BATCH_GET_LIMIT));
    const results = await Promise.all(
      chunks.map(async (chunk) => {
        const items: Record<string, unknown>[] = [];
        let pending = chunk;
        for (let attempt = 1; pending.length > 0; attempt++) {
          if (attempt > 1) {
            if (attempt > 6) {
              throw new StorageError(`${pending.length} keys stayed unprocessed (throttled)`, { retryable: true });
            }
            await sleep(fullJitterDelay(attempt - 1, { baseMs: 25, capMs: 500 }, deps.random));
          }
          const answer: BatchGetCommandOutput = await ddb.send(
            new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending } } }),
          );
          items.push(...(answer.Responses?.[tableName] ?? []));
          pending = (answer.UnprocessedKeys?.[tableName]?.Keys ?? []) as Record<string, unknown>[];
        }
        return items;
      }),
    );
    return results.flat();
  }

  /** Every item of a Query, all pages (callers bound the result by their key condition). */
  async function queryAll(input: ConstructorParameters<typeof QueryCommand>[0]): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: QueryCommandOutput['LastEvaluatedKey'];
    do {
      const page = await ddb.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }

  return {
    createConversation: (conversation) =>
      storage('create the conversation', async () => {
        const id = conversation.conversationId;
        const { title, ...rest } = conversation;
        const description = { ...rest, ...(title === undefined ? {} : { title }) };
        // The creator is the signed-in caller; everyone else must exist, or anyone could write index rows (and
        // conversations) for made-up ids. Checked in the transaction: nothing is written for an unknown user.
        const others = conversation.participants.filter((userId) => userId !== conversation.createdBy);
        const firstCheck = 2 + conversation.participants.length;
        for (let attempt = 1; ; attempt++) {
          try {
            await ddb.send(
              new TransactWriteCommand({
                TransactItems: [
                  {
                    Put: {
                      TableName: tableName,
                      Item: { ...conversationKey(id), ...description },
                      ConditionExpression: 'attribute_not_exists(itemId)',
                    },
                  },
                  {
                    Put: {
                      TableName: tableName,
                      Item: { ...stateKey(id), conversationId: id, lastSeq: 0 },
                      ConditionExpression: 'attribute_not_exists(itemId)',
                    },
                  },
                  ...conversation.participants.map((userId) => ({
                    Put: { TableName: tableName, Item: { ...indexKey(userId, id), ...description } },
                  })),
                  ...others.map((userId) => ({
                    ConditionCheck: {
                      TableName: tableName,
                      Key: { [k]: presenceKey(userId), itemId: PRESENCE_ITEM_ID },
                      ConditionExpression: 'attribute_exists(itemId)',
                    },
                  })),
                ],
              }),
            );
            cache.set(conversation);
            return { status: 'created', conversation };
          } catch (error) {
            const codes = cancellationCodes(error);
            if (codes?.[0] === 'ConditionalCheckFailed') {
              const existing = await readConversation(id);
              if (existing !== undefined) {
                cache.set(existing);
                return { status: 'exists', conversation: existing };
              }
            }
            const unknown = others.filter((_, i) => codes?.[firstCheck + i] === 'ConditionalCheckFailed');
            if (unknown.length > 0) return { status: 'unknown-users', userIds: unknown };
            // Two first requests for the same direct pair at once: DynamoDB cancels one as a conflict; the next
            // attempt finds the other's conversation.
            if (!isContention(error, codes) || attempt >= 5) throw error;
            await sleep(fullJitterDelay(attempt, backoff, deps.random));
          }
        }
      }),

    getConversation: (conversationId) =>
      storage('read the conversation', async () => {
        const cached = cache.get(conversationId);
        if (cached !== undefined) return cached;
        const conversation = await readConversation(conversationId);
        if (conversation !== undefined) cache.set(conversation);
        return conversation;
      }),

    /*
     * Ordering: each message is one transaction [counter: SET lastSeq = n IF lastSeq = n-1; PUT msg#n]. The
     * condition makes commits of one conversation strictly sequential, so message n+1 commits after message n: the
     * stream (and so every participant) sees messages in number order, the history is sorted by number, and numbers
     * have no gaps (a failed transaction writes nothing). A sender that loses the race learns the counter from the
     * cancellation (or re-reads it) and tries the next number after a short jittered delay, until the deadline: then
     * a retryable StorageError ("busy"; the client sends again, and the tempMessageId keeps it from being stored
     * twice). Contention costs retries only among senders of the same conversation at the same moment.
     */
    appendMessage: (input, options = {}) =>
      storage('store the message', async () => {
        const id = input.conversationId;
        const contentHash = createHash('sha256').update(input.content, 'utf8').digest('base64url');
        const giveUpAt = Math.min(now() + appendBudgetMs, options.deadline ?? Number.POSITIVE_INFINITY);
        // A lost race returns the counter as the winner left it (ReturnValuesOnConditionCheckFailure), which saves
        // the next attempt its read.
        let known: ConversationActivity | undefined;
        for (let attempt = 1; ; attempt++) {
          const activity = known ?? (await readActivity(id));
          known = undefined;
          if (activity === undefined) throw new StorageError(`conversation ${id} has no counter`, { retryable: false });
          const seq = activity.lastSeq + 1;
          if (seq > MAX_MESSAGE_SEQ) throw new StorageError(`conversation ${id} is full`, { retryable: false });
          // Server time, but never before the previous message: sentAt agrees with the order across clock skew.
          const clock = new Date(now()).toISOString();
          const sentAt =
            activity.lastMessageAt !== undefined && activity.lastMessageAt > clock ? activity.lastMessageAt : clock;
          const nowSeconds = Math.floor(now() / 1000);
          const message: ChatMessage = {
            messageId: messageIdOf(seq),
            conversationId: id,
            senderId: input.senderId,
            content: input.content,
            sentAt,
            ...(input.tempMessageId === undefined ? {} : { tempMessageId: input.tempMessageId }),
          };
          try {
            await ddb.send(
              new TransactWriteCommand({
                TransactItems: [
                  {
                    Update: {
                      TableName: tableName,
                      Key: stateKey(id),
                      UpdateExpression: 'SET lastSeq = :seq, lastMessageAt = :at',
                      ConditionExpression: 'lastSeq = :previous',
                      ExpressionAttributeValues: { ':seq': seq, ':at': sentAt, ':previous': activity.lastSeq },
                      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
                    },
                  },
                  {
                    Put: {
                      TableName: tableName,
                      Item: { [k]: chatKey(id), itemId: messageItemId(seq), ...message },
                      ConditionExpression: 'attribute_not_exists(itemId)',
                    },
                  },
                  // A re-sent message (same sender, tempMessageId and content within 24 h: the client did not see
                  // its echo and sent it again) fails here and is stored once. A tempMessageId reused for other
                  // content (a client whose counter restarted at "t-1") is a new message: the row is replaced.
                  ...(input.tempMessageId === undefined
                    ? []
                    : [
                        {
                          Put: {
                            TableName: tableName,
                            Item: {
                              ...sentKey(id, input.senderId, input.tempMessageId),
                              messageId: message.messageId,
                              contentHash,
                              expiresAt: nowSeconds + SENT_ROW_TTL_SECONDS,
                            },
                            ConditionExpression:
                              'attribute_not_exists(itemId) OR contentHash <> :hash OR expiresAt < :now',
                            ExpressionAttributeValues: { ':hash': contentHash, ':now': nowSeconds },
                          },
                        },
                      ]),
                ],
              }),
            );
            return { status: 'stored', message };
          } catch (error) {
            const codes = cancellationCodes(error);
            if (input.tempMessageId !== undefined && codes?.[2] === 'ConditionalCheckFailed') {
              return await storedBefore(id, input.senderId, input.tempMessageId);
            }
            if (!isContention(error, codes)) throw error;
            known = counterOf(error);
            const delay = fullJitterDelay(attempt, backoff, deps.random);
            if (attempt >= maxAttempts || now() + delay >= giveUpAt) {
              throw new StorageError(`conversation ${id} stayed busy for ${attempt} attempts`, {
                retryable: true,
                cause: error,
              });
            }
            await sleep(delay);
          }
        }
      }),

    activityOf: (conversationId) => storage('read the conversation counter', () => readActivity(conversationId)),

    markRead: (receipt) =>
      storage('store the read marker', async () => {
        try {
          await ddb.send(
            new UpdateCommand({
              TableName: tableName,
              Key: { [k]: chatKey(receipt.conversationId), itemId: readMarkerItemId(receipt.userId) },
              UpdateExpression: 'SET conversationId = :c, userId = :u, upTo = :upTo, readAt = :at',
              // Markers only move forward. Message ids are fixed-width digits, so string order is number order.
              ConditionExpression: 'attribute_not_exists(upTo) OR upTo < :upTo',
              ExpressionAttributeValues: {
                ':c': receipt.conversationId,
                ':u': receipt.userId,
                ':upTo': receipt.upTo,
                ':at': receipt.readAt,
              },
            }),
          );
          return true;
        } catch (error) {
          if ((error as { name?: unknown }).name === 'ConditionalCheckFailedException') return false;
          throw error;
        }
      }),

    messages: (conversationId, window, order, limit) =>
      storage('read messages', async () => {
        const items: Record<string, unknown>[] = [];
        let startKey: QueryCommandOutput['LastEvaluatedKey'];
        do {
          const page = await ddb.send(
            new QueryCommand({
              TableName: tableName,
              KeyConditionExpression: '#k = :k AND itemId BETWEEN :from AND :to',
              ExpressionAttributeNames: names,
              ExpressionAttributeValues: {
                ':k': chatKey(conversationId),
                ':from': messageItemId(window.from),
                ':to': messageItemId(window.to),
              },
              ScanIndexForward: order === 'asc',
              Limit: limit - items.length,
              // A page must include every message committed before it, or a client paging forward would skip one.
              ConsistentRead: true,
              ExclusiveStartKey: startKey,
            }),
          );
          items.push(...(page.Items ?? []));
          startKey = page.LastEvaluatedKey;
        } while (startKey !== undefined && items.length < limit);
        return items.map(toMessage).filter((m): m is ChatMessage => m !== undefined);
      }),

    readMarkers: (conversationId) =>
      storage('read the read markers', async () => {
        const items = await queryAll({
          TableName: tableName,
          KeyConditionExpression: '#k = :k AND begins_with(itemId, :prefix)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':k': chatKey(conversationId), ':prefix': READ_MARKER_ITEM_PREFIX },
        });
        return items.map(toReceipt).filter((r): r is ReadReceipt => r !== undefined);
      }),

    sendersBetween: (conversationId, window) =>
      storage('count unread messages', async () => {
        const items = await queryAll({
          TableName: tableName,
          KeyConditionExpression: '#k = :k AND itemId BETWEEN :from AND :to',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: {
            ':k': chatKey(conversationId),
            ':from': messageItemId(window.from),
            ':to': messageItemId(window.to),
          },
          ProjectionExpression: 'senderId',
        });
        return items.map((item) => (typeof item.senderId === 'string' ? item.senderId : ''));
      }),

    conversationsOf: (userId) =>
      storage("read the user's conversations", async () => {
        const items = await queryAll({
          TableName: tableName,
          KeyConditionExpression: '#k = :k',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':k': `$user-conversations:${userId}` },
        });
        return items.map(toConversation).filter((c): c is Conversation => c !== undefined);
      }),

    activitiesOf: (conversationIds) =>
      storage('read conversation counters', async () => {
        const items = await batchGet(conversationIds.map(stateKey));
        const activities = new Map<string, ConversationActivity>();
        for (const item of items) {
          const activity = toActivity(item);
          if (typeof item.conversationId === 'string' && activity !== undefined) {
            activities.set(item.conversationId, activity);
          }
        }
        return activities;
      }),

    latestAndMarkers: (entries, userId) =>
      storage('read the latest messages', async () => {
        const keys = entries.flatMap(({ conversationId, lastSeq }) => [
          ...(lastSeq > 0 ? [{ [k]: chatKey(conversationId), itemId: messageItemId(lastSeq) }] : []),
          { [k]: chatKey(conversationId), itemId: readMarkerItemId(userId) },
        ]);
        const latest = new Map<string, ChatMessage>();
        const markers = new Map<string, ReadReceipt>();
        for (const item of await batchGet(keys)) {
          const message = toMessage(item);
          if (message !== undefined) latest.set(message.conversationId, message);
          const receipt = toReceipt(item);
          if (receipt !== undefined) markers.set(receipt.conversationId, receipt);
        }
        return { latest, markers };
      }),
  };
}

/** The codes of a cancelled transaction, one per item ("None" for the ones that did not fail). */
function cancellationCodes(error: unknown): (string | undefined)[] | undefined {
  if ((error as { name?: unknown })?.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons;
  return Array.isArray(reasons) ? reasons.map((reason) => reason?.Code) : [];
}

/**
 * The counter as a cancelled transaction saw it (the state item is the transaction's first; DynamoDB returns it when
 * its condition failed). The SDK leaves items in errors marshalled.
 */
function counterOf(error: unknown): ConversationActivity | undefined {
  const reasons = (error as { CancellationReasons?: { Code?: string; Item?: Record<string, unknown> }[] })
    .CancellationReasons;
  const first = Array.isArray(reasons) ? reasons[0] : undefined;
  if (first?.Code !== 'ConditionalCheckFailed' || first.Item === undefined) return undefined;
  const plain = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    const attribute = value as { N?: unknown; S?: unknown };
    if (typeof attribute.N === 'string') return Number(attribute.N);
    if (typeof attribute.S === 'string') return attribute.S;
    return undefined;
  };
  return toActivity({ lastSeq: plain(first.Item.lastSeq), lastMessageAt: plain(first.Item.lastMessageAt) });
}

/** A transaction lost to a concurrent writer of the same items: worth another attempt with fresh reads. */
function isContention(error: unknown, codes: (string | undefined)[] | undefined): boolean {
  if (codes !== undefined)
    return codes.some((code) => code === 'ConditionalCheckFailed' || code === 'TransactionConflict');
  const name = (error as { name?: unknown })?.name;
  return name === 'TransactionConflictException' || name === 'TransactionInProgressException';
}

function str(item: Record<string, unknown>, field: string): string | undefined {
  const value = item[field];
  return typeof value === 'string' ? value : undefined;
}

function toConversation(item: Record<string, unknown>): Conversation | undefined {
  const conversationId = str(item, 'conversationId');
  const type = str(item, 'type');
  const createdBy = str(item, 'createdBy');
  const createdAt = str(item, 'createdAt');
  const participants = item.participants;
  if (conversationId === undefined || (type !== 'direct' && type !== 'group')) return undefined;
  if (createdBy === undefined || createdAt === undefined || !Array.isArray(participants)) return undefined;
  const title = str(item, 'title');
  return {
    conversationId,
    type,
    ...(title === undefined ? {} : { title }),
    participants: participants.filter((p): p is string => typeof p === 'string'),
    createdBy,
    createdAt,
  };
}

function toActivity(item: Record<string, unknown>): ConversationActivity | undefined {
  const lastSeq = item.lastSeq;
  if (typeof lastSeq !== 'number') return undefined;
  const lastMessageAt = str(item, 'lastMessageAt');
  return { lastSeq, ...(lastMessageAt === undefined ? {} : { lastMessageAt }) };
}

function toMessage(item: Record<string, unknown>): ChatMessage | undefined {
  const messageId = str(item, 'messageId');
  const conversationId = str(item, 'conversationId');
  const senderId = str(item, 'senderId');
  const content = str(item, 'content');
  const sentAt = str(item, 'sentAt');
  if (!messageId || !conversationId || senderId === undefined || content === undefined || !sentAt) return undefined;
  const tempMessageId = str(item, 'tempMessageId');
  return {
    messageId,
    conversationId,
    senderId,
    content,
    sentAt,
    ...(tempMessageId === undefined ? {} : { tempMessageId }),
  };
}

function toReceipt(item: Record<string, unknown>): ReadReceipt | undefined {
  const conversationId = str(item, 'conversationId');
  const userId = str(item, 'userId');
  const upTo = str(item, 'upTo');
  const readAt = str(item, 'readAt');
  if (!conversationId || !userId || !upTo || !readAt) return undefined;
  return { conversationId, userId, upTo, readAt };
}
