import type { ChatMessage, Conversation, ReadReceipt } from '@real-time-platform/protocol';
import type { Order } from '../../domain/chat';
import type { ConversationActivity } from './items';

/** The chat store as the chat functions and the fan-out use it (implemented over DynamoDB in chat-store.ts). */

export type { ConversationActivity };

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
  /** With requireKnownUsers: these participants have never connected (no presence item); nothing was written. */
  | { status: 'unknown-users'; userIds: string[] };

export interface NewMessage {
  conversationId: string;
  senderId: string;
  content: string;
  tempMessageId?: string;
}

export interface ChatStore {
  /**
   * Creates the conversation in one transaction (description, counter, one index row per participant), unless one
   * with its id exists: then that one is returned (direct conversations have derived ids). With `requireKnownUsers`
   * the transaction also checks that every participant but the creator is a known user: one who has connected with a
   * token (their presence item exists; presence items are never deleted), the rule friend requests use.
   */
  createConversation(
    conversation: Conversation,
    options?: { requireKnownUsers?: boolean },
  ): Promise<CreateConversationResult>;
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
