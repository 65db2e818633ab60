import { createHash } from 'node:crypto';
import { MAX_MESSAGE_SEQ } from '@real-time-platform/protocol';
import { ulid } from 'ulid';
import { z } from 'zod';
import { decodePageToken, encodePageToken, InvalidPageTokenError } from '../lib/page-token';
import type { MessageRange } from './chat';

/**
 * The server's side of chat identifiers: conversation ids and the opaque page tokens. Kept apart from chat.ts, which
 * clients import, because it needs Node's crypto.
 */

/**
 * The id of the direct conversation of two users: `d_` + 22 base64url characters of SHA-256 over the sorted pair.
 * Deterministic, so "create" is a conditional put of a known id and two concurrent requests (or both users asking at
 * once) cannot make two conversations; user ids contain no commas, so "a,b" names one pair only.
 */
export function directConversationId(userA: string, userB: string): string {
  const pair = [userA, userB].sort().join(',');
  return `d_${createHash('sha256').update(pair, 'utf8').digest('base64url').slice(0, 22)}`;
}

/** A new group conversation id: `g_` + a ULID (time-ordered, 80 random bits: not guessable). */
export function newGroupConversationId(now: number = Date.now()): string {
  return `g_${ulid(now)}`;
}

const seq = z
  .number()
  .int()
  .min(0)
  .max(MAX_MESSAGE_SEQ + 1);

const messagesTokenSchema = z.strictObject({
  v: z.literal(1),
  /** Conversation. */
  c: z.string(),
  o: z.enum(['asc', 'desc']),
  /** The range's exclusive bounds now (narrowed by the pages already returned). */
  a: seq,
  b: seq,
  /** The caller's original before/after, so that the same URL plus nextToken is accepted. */
  ob: z.string().optional(),
  oa: z.string().optional(),
});

const conversationsTokenSchema = z.strictObject({
  v: z.literal(1),
  /** User the list belongs to. */
  u: z.string(),
  /** The last entry returned: its lastActivityAt and conversationId (the list's sort key). */
  t: z.string(),
  c: z.string(),
});

/** What a messages page token continues. */
export interface MessagesCursor {
  conversationId: string;
  range: MessageRange;
  /** The before/after the first request gave (echoed back so repeated query parameters can be checked). */
  originalBefore?: string;
  originalAfter?: string;
}

/** An opaque token for the next page of messages. */
export function encodeMessagesToken(cursor: MessagesCursor): string {
  return encodePageToken({
    v: 1,
    c: cursor.conversationId,
    o: cursor.range.order,
    a: cursor.range.after,
    b: cursor.range.before,
    ...(cursor.originalBefore === undefined ? {} : { ob: cursor.originalBefore }),
    ...(cursor.originalAfter === undefined ? {} : { oa: cursor.originalAfter }),
  });
}

/** The cursor of a messages token made for `conversationId`; throws InvalidPageTokenError otherwise. */
export function decodeMessagesToken(token: string, conversationId: string): MessagesCursor {
  const value = decodePageToken(messagesTokenSchema, token);
  if (value.c !== conversationId) throw new InvalidPageTokenError('made for another conversation');
  if (value.a >= value.b) throw new InvalidPageTokenError('empty range');
  return {
    conversationId,
    range: { after: value.a, before: value.b, order: value.o },
    ...(value.ob === undefined ? {} : { originalBefore: value.ob }),
    ...(value.oa === undefined ? {} : { originalAfter: value.oa }),
  };
}

/** Where a conversation list page ended. */
export interface ConversationsCursor {
  userId: string;
  lastActivityAt: string;
  conversationId: string;
}

/** An opaque token for the next page of a user's conversations. */
export function encodeConversationsToken(cursor: ConversationsCursor): string {
  return encodePageToken({ v: 1, u: cursor.userId, t: cursor.lastActivityAt, c: cursor.conversationId });
}

/** The cursor of a conversations token made for `userId`; throws InvalidPageTokenError otherwise. */
export function decodeConversationsToken(token: string, userId: string): ConversationsCursor {
  const value = decodePageToken(conversationsTokenSchema, token);
  if (value.u !== userId) throw new InvalidPageTokenError('made for another user');
  return { userId, lastActivityAt: value.t, conversationId: value.c };
}
