import type { ChatMessage, Conversation, ReadReceipt } from '@real-time-platform/protocol';

/**
 * Chat rows as plain JSON → the shapes the platform sends. Each reads defensively: a row that is not what it should
 * be (written by hand, or by an older version) is left out rather than sent half-formed.
 */

/** A conversation's counter: how many messages it has and when the newest was sent. */
export interface ConversationActivity {
  lastSeq: number;
  lastMessageAt?: string;
}

function str(item: Record<string, unknown>, field: string): string | undefined {
  const value = item[field];
  return typeof value === 'string' ? value : undefined;
}

export function toConversation(item: Record<string, unknown>): Conversation | undefined {
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

export function toActivity(item: Record<string, unknown>): ConversationActivity | undefined {
  const lastSeq = item.lastSeq;
  if (typeof lastSeq !== 'number') return undefined;
  const lastMessageAt = str(item, 'lastMessageAt');
  return { lastSeq, ...(lastMessageAt === undefined ? {} : { lastMessageAt }) };
}

export function toMessage(item: Record<string, unknown>): ChatMessage | undefined {
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

export function toReceipt(item: Record<string, unknown>): ReadReceipt | undefined {
  const conversationId = str(item, 'conversationId');
  const userId = str(item, 'userId');
  const upTo = str(item, 'upTo');
  const readAt = str(item, 'readAt');
  if (!conversationId || !userId || !upTo || !readAt) return undefined;
  return { conversationId, userId, upTo, readAt };
}

/**
 * The counter as a cancelled transaction saw it (the state item is the transaction's first; DynamoDB returns it when
 * its condition failed). The SDK leaves items in errors marshalled.
 */
export function counterOf(error: unknown): ConversationActivity | undefined {
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
export function isContention(error: unknown, codes: readonly string[] | undefined): boolean {
  if (codes !== undefined) {
    return codes.some((code) => code === 'ConditionalCheckFailed' || code === 'TransactionConflict');
  }
  const name = (error as { name?: unknown })?.name;
  return name === 'TransactionConflictException' || name === 'TransactionInProgressException';
}
