import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import {
  CONVERSATION_ITEM_ID,
  type Conversation,
  chatKey,
  PRESENCE_ITEM_ID,
  presenceKey,
} from '@real-time-platform/protocol';
import { type BackoffOptions, fullJitterDelay } from '../../lib/backoff';
import { StorageError } from '../../lib/errors';
import { queryPages } from '../paged-query';
import { type ConversationActivity, toActivity, toConversation } from './items';

/**
 * Where chat lives in RealTimeData (the layout is described in src/domain/chat.ts), and the reads every part of the
 * chat store shares. Everything under `chat:<id>` reaches participants live through the stream fan-out; the counter,
 * the de-duplication rows and the per-user index live under `$` keys, which never fan out.
 */

const STATE_ITEM_ID = 'state';
/** BatchGetItem's limit. */
const BATCH_GET_LIMIT = 100;

export interface ChatTableDeps {
  ddb: DynamoDBDocumentClient;
  /** RealTimeData (DATA_TABLE_NAME). */
  tableName: string;
  /** REAL_TIME_ITEM_KEY: the table's partition key attribute. */
  keyAttribute: string;
  sleep: (ms: number) => Promise<void>;
  random?: () => number;
}

export type ChatTable = ReturnType<typeof chatTable>;

/** The chat rows' keys and the shared reads, over one table. */
export function chatTable(deps: ChatTableDeps) {
  const { ddb, tableName, keyAttribute: k } = deps;
  const keys = {
    conversation: (id: string) => ({ [k]: chatKey(id), itemId: CONVERSATION_ITEM_ID }),
    message: (id: string, itemId: string) => ({ [k]: chatKey(id), itemId }),
    /** The message counter. */
    state: (id: string) => ({ [k]: `$chat:${id}`, itemId: STATE_ITEM_ID }),
    /** The de-duplication row of a re-sendable message. User ids contain no "#": the first "#" separates the two. */
    sent: (id: string, senderId: string, tempMessageId: string) => ({
      [k]: `$chat-sent:${id}`,
      itemId: `${senderId}#${tempMessageId}`,
    }),
    /** A user's row for one of their conversations. */
    index: (userId: string, id: string) => ({ [k]: `$user-conversations:${userId}`, itemId: id }),
    indexPartition: (userId: string) => `$user-conversations:${userId}`,
    /** A user's presence item: it exists once they have connected with a token (and is never deleted). */
    presence: (userId: string) => ({ [k]: presenceKey(userId), itemId: PRESENCE_ITEM_ID }),
  };

  async function get(key: Record<string, unknown>): Promise<Record<string, unknown> | undefined> {
    const { Item } = await ddb.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
    return Item;
  }

  return {
    ddb,
    tableName,
    /** `#k` names the partition key attribute in expressions. */
    names: { '#k': k },
    keys,
    get,

    async readConversation(conversationId: string): Promise<Conversation | undefined> {
      const item = await get(keys.conversation(conversationId));
      return item === undefined ? undefined : toConversation(item);
    },

    async readActivity(conversationId: string): Promise<ConversationActivity | undefined> {
      const item = await get(keys.state(conversationId));
      return item === undefined ? undefined : toActivity(item);
    },

    /** Every item of BatchGetItem over `keys`, retrying unprocessed keys with backoff. */
    async batchGet(keysToRead: Record<string, unknown>[]): Promise<Record<string, unknown>[]> {
      const chunks: Record<string, unknown>[][] = [];
      for (let i = 0; i < keysToRead.length; i += BATCH_GET_LIMIT) {
        chunks.push(keysToRead.slice(i, i + BATCH_GET_LIMIT));
      }
      const unprocessedBackoff: BackoffOptions = { baseMs: 25, capMs: 500 };
      const results = await Promise.all(
        chunks.map(async (chunk) => {
          const items: Record<string, unknown>[] = [];
          let pending = chunk;
          for (let attempt = 1; pending.length > 0; attempt++) {
            if (attempt > 1) {
              if (attempt > 6) {
                throw new StorageError(`${pending.length} keys stayed unprocessed (throttled)`, { retryable: true });
              }
              await deps.sleep(fullJitterDelay(attempt - 1, unprocessedBackoff, deps.random));
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
    },

    /** Every item of one partition, all pages; with `itemPrefix`, only the items whose itemId starts with it. */
    queryPartition(partition: string, itemPrefix?: string): Promise<Record<string, unknown>[]> {
      const byPrefix = itemPrefix !== undefined;
      return queryPages(ddb, {
        TableName: tableName,
        KeyConditionExpression: byPrefix ? '#k = :k AND begins_with(itemId, :prefix)' : '#k = :k',
        ExpressionAttributeNames: { '#k': k },
        ExpressionAttributeValues: { ':k': partition, ...(byPrefix ? { ':prefix': itemPrefix } : {}) },
      });
    },

    /** Every item of a Query, all pages (callers bound the result by their key condition). */
    queryAll(input: QueryCommandInput): Promise<Record<string, unknown>[]> {
      return queryPages(ddb, input);
    },
  };
}
