import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Conversation } from '@real-time-platform/protocol';
import { type BackoffOptions, sleep as realSleep } from '../lib/backoff';
import { conversationRows } from './chat/conversations';
import { messageRows } from './chat/messages';
import type { ChatStore, ConversationCache } from './chat/port';
import { readMarkerRows } from './chat/read-markers';
import { chatTable } from './chat/table';

/**
 * Chat storage in RealTimeData (layout in src/domain/chat.ts): the ChatStore port and its DynamoDB implementation,
 * built from chat/ — conversations (description, counter, per-user index), messages (appended gap-free) and read
 * markers. Everything under `chat:<id>` reaches participants live through the stream fan-out; the counter, the
 * de-duplication rows and the per-user index live under `$` keys, which never fan out.
 */

export type {
  AppendResult,
  ChatStore,
  ConversationActivity,
  ConversationCache,
  CreateConversationResult,
  NewMessage,
} from './chat/port';

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

/** The DynamoDB-backed ChatStore, composed of its three kinds of rows. */
export function createChatStore(deps: ChatStoreDeps): ChatStore {
  const sleep = deps.sleep ?? realSleep;
  const table = chatTable({ ...deps, sleep });
  // Short delays: a loser only waits for the winner's commit (one transaction), not for a throttle to pass.
  const backoff = deps.backoff ?? { baseMs: 10, capMs: 200 };
  return {
    ...conversationRows({ table, cache: deps.cache ?? containerCache, sleep, random: deps.random, backoff }),
    ...messageRows({
      table,
      now: deps.now ?? Date.now,
      sleep,
      random: deps.random,
      backoff,
      maxAttempts: deps.maxAttempts ?? 60,
      appendBudgetMs: deps.appendBudgetMs ?? 8000,
    }),
    ...readMarkerRows(table),
  };
}
