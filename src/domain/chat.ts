import {
  type Conversation,
  type ConversationType,
  type CreateConversationBody,
  MAX_MESSAGE_SEQ,
  MAX_PARTICIPANTS,
  messageIdSchema,
} from '@real-time-platform/protocol';
import { z } from 'zod';
import { pageLimitParam } from './query-params';

/**
 * Chat: conversations (direct or group), messages and read markers. The contract shared with clients (ids, the
 * shapes sent, the bodies and frames) is in the protocol package; this module holds the server's pure rules (who may
 * be in a conversation, page windows, unread counting).
 *
 * Where things live in RealTimeData (partition attribute = REAL_TIME_ITEM_KEY, sort key `itemId`):
 * - `chat:<conversationId>` — everything participants receive live (the fan-out delivers it to their `inbox:`):
 *   `conversation` (the immutable description; its INSERT announces a new conversation), `msg#<messageId>` (the
 *   messages) and `read#<userId>` (read markers: their changes are the read receipts);
 * - `$chat:<conversationId>` / `state` — the message counter (`lastSeq`, `lastMessageAt`); `$` keys never fan out;
 * - `$chat-sent:<conversationId>` / `<senderId>#<tempMessageId>` — de-duplicates a re-sent message (24 h TTL);
 * - `$user-conversations:<userId>` / `<conversationId>` — a user's conversations (for GET /users/me/conversations).
 */

/** Page sizes of the list routes. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;
/**
 * Unread counting looks at no more than this many of the newest messages after the reader's marker, so a
 * conversation list costs a bounded read per conversation; beyond it the count is a lower bound (`unreadCountCapped`).
 */
export const UNREAD_COUNT_WINDOW = 100;

/** What to create for a caller: the rules that depend on who asks. */
export type ConversationPlan =
  | { ok: true; type: ConversationType; participants: string[]; title?: string }
  | { ok: false; message: string };

/**
 * Applies the participant rules for `creatorId`: the creator is always a participant, duplicates count once; a
 * direct conversation has exactly one other user (not the creator), a group at least two others and at most
 * MAX_PARTICIPANTS in all. Participants come out sorted (a direct conversation is the same whoever creates it).
 */
export function planConversation(creatorId: string, body: CreateConversationBody): ConversationPlan {
  const others = [...new Set(body.participants)].filter((id) => id !== creatorId);
  const participants = [creatorId, ...others].sort();
  if (body.type === 'direct') {
    if (others.length === 0) {
      return { ok: false, message: 'a direct conversation needs one other user; you cannot start one with yourself' };
    }
    if (others.length > 1) {
      return { ok: false, message: 'a direct conversation has exactly one other user; create a group for more' };
    }
    return { ok: true, type: 'direct', participants };
  }
  if (others.length < 2) {
    return {
      ok: false,
      message: 'a group conversation needs at least two other users; use a direct conversation for one',
    };
  }
  if (participants.length > MAX_PARTICIPANTS) {
    return { ok: false, message: `at most ${MAX_PARTICIPANTS} participants, yourself included` };
  }
  return { ok: true, type: 'group', participants, title: body.title };
}

// ---------------------------------------------------------------------------------------- input: query strings

const limitSchema = pageLimitParam(MAX_PAGE_SIZE).optional();

const tokenSchema = z.string().min(1).max(1024, { error: 'nextToken is not valid' }).optional();

/**
 * GET /conversations/{id}/messages?limit&before&after&order&nextToken — `before`/`after` are message ids (exclusive
 * bounds); `order=desc` (default) gives the newest messages of the range first, `order=asc` the oldest first.
 */
export const messagesQuerySchema = z
  .object({
    limit: limitSchema,
    before: messageIdSchema.optional(),
    after: messageIdSchema.optional(),
    order: z.enum(['asc', 'desc'], { error: 'order must be "asc" or "desc"' }).optional(),
    nextToken: tokenSchema,
  })
  .refine((q) => q.before === undefined || q.after === undefined || q.after < q.before, {
    error: 'after must be lower than before',
    path: ['after'],
  });
export type MessagesQuery = z.output<typeof messagesQuerySchema>;

/** GET /users/me/conversations?limit&nextToken */
export const conversationsQuerySchema = z.object({ limit: limitSchema, nextToken: tokenSchema });

// ------------------------------------------------------------------------------------------------ page windows

export type Order = 'asc' | 'desc';

/** A page request over message numbers: the range (after, before) exclusive, and the end to start from. */
export interface MessageRange {
  /** Only messages with a number above this (0: from the first). */
  after: number;
  /** Only messages with a number below this (MAX_MESSAGE_SEQ + 1: to the newest). */
  before: number;
  order: Order;
}

/** The inclusive sequence numbers a Query reads for `range`, or undefined when the range is empty. */
export function seqWindow(range: MessageRange): { from: number; to: number } | undefined {
  const from = range.after + 1;
  const to = Math.min(range.before - 1, MAX_MESSAGE_SEQ);
  return from <= to ? { from, to } : undefined;
}

/**
 * The range that continues a page: desc pages walk towards older messages (before = the last one returned), asc pages
 * towards newer ones (after = the last one returned). Because numbers are gap-free and never reused, no message is
 * skipped or repeated across pages, whatever arrives meanwhile (new messages only extend the newest end).
 */
export function nextRange(range: MessageRange, lastReturnedSeq: number): MessageRange {
  return range.order === 'desc' ? { ...range, before: lastReturnedSeq } : { ...range, after: lastReturnedSeq };
}

/**
 * Which messages to count as unread for a reader whose marker is at `readSeq` when the newest is `lastSeq`: the
 * newest UNREAD_COUNT_WINDOW after the marker at most. Undefined when nothing is after the marker.
 */
export function unreadWindow(
  readSeq: number,
  lastSeq: number,
  window = UNREAD_COUNT_WINDOW,
): { from: number; to: number; capped: boolean } | undefined {
  if (lastSeq <= readSeq) return undefined;
  const from = Math.max(readSeq + 1, lastSeq - window + 1);
  return { from, to: lastSeq, capped: from > readSeq + 1 };
}

/** Messages in `senders` (the senderId of each message in the unread window) not sent by `readerId`. */
export function countUnread(senders: readonly string[], readerId: string): number {
  return senders.filter((sender) => sender !== readerId).length;
}

/** The time a conversation list is sorted on: its newest message's, or its creation's. */
export function lastActivityAt(conversation: Pick<Conversation, 'createdAt'>, lastMessageAt?: string): string {
  return lastMessageAt ?? conversation.createdAt;
}

/**
 * Orders conversation summaries newest first (by lastActivityAt, then conversationId descending so that equal
 * times still have one order, which keeps paging stable).
 */
export function compareByActivity(
  a: { lastActivityAt: string; conversationId: string },
  b: { lastActivityAt: string; conversationId: string },
): number {
  if (a.lastActivityAt !== b.lastActivityAt) return a.lastActivityAt < b.lastActivityAt ? 1 : -1;
  if (a.conversationId === b.conversationId) return 0;
  return a.conversationId < b.conversationId ? 1 : -1;
}
