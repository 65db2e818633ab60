import { z } from 'zod';
import { userIdProblem } from './identity';

/**
 * Chat: conversations (direct or group), messages and read markers. This module is the contract shared with
 * clients (zod schemas of the HTTP bodies, the WebSocket frames and the shapes the platform sends back) and the
 * pure rules (who may be in a conversation, what a message may hold, message ids, page windows, unread counting).
 *
 * Where things live in RealTimeData (partition attribute = REAL_TIME_ITEM_KEY, sort key `itemId`):
 * - `chat:<conversationId>` — everything participants receive live (the fan-out delivers it to their `inbox:`):
 *   `conversation` (the immutable description; its INSERT announces a new conversation), `msg#<messageId>` (the
 *   messages) and `read#<userId>` (read markers: their changes are the read receipts);
 * - `$chat:<conversationId>` / `state` — the message counter (`lastSeq`, `lastMessageAt`); `$` keys never fan out;
 * - `$chat-sent:<conversationId>` / `<senderId>#<tempMessageId>` — de-duplicates a re-sent message (24 h TTL);
 * - `$user-conversations:<userId>` / `<conversationId>` — a user's conversations (for GET /users/me/conversations).
 */

/** Key prefix of a conversation's public items. */
export const CHAT_PREFIX = 'chat:';
/** Item id of a conversation's description under `chat:<conversationId>`. */
export const CONVERSATION_ITEM_ID = 'conversation';
/** Item id prefix of messages (`msg#000000000042`). */
export const MESSAGE_ITEM_PREFIX = 'msg#';
/** Item id prefix of read markers (`read#u2`). */
export const READ_MARKER_ITEM_PREFIX = 'read#';

/** Longest message content, in UTF-8 bytes after trimming. */
export const MAX_CONTENT_BYTES = 4096;
/** Longest tempMessageId, in characters (printable ASCII). */
export const MAX_TEMP_MESSAGE_ID_LENGTH = 64;
/**
 * Most participants of a conversation, the creator included. Creation is one DynamoDB transaction of at most 100
 * items: the description, the counter, one index row per participant and one check per other participant that they
 * are a known user (2 + 49 + 48 = 99).
 */
export const MAX_PARTICIPANTS = 49;
/** Longest group title, in characters after trimming. */
export const MAX_TITLE_LENGTH = 100;
/** Page sizes of the list routes. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;
/**
 * Unread counting looks at no more than this many of the newest messages after the reader's marker, so a
 * conversation list costs a bounded read per conversation; beyond it the count is a lower bound (`unreadCountCapped`).
 */
export const UNREAD_COUNT_WINDOW = 100;

/** Messages are numbered 1, 2, 3 … per conversation; the id is the number, zero-padded so ids sort as strings. */
const MESSAGE_ID_DIGITS = 12;
export const MAX_MESSAGE_SEQ = 10 ** MESSAGE_ID_DIGITS - 1;

// Lone surrogates (possible from JSON "\ud800") are not valid UTF-8: DynamoDB would refuse them with a 500.
const LONE_SURROGATE = /\p{Cs}/u;
const utf8 = new TextEncoder();
const byteLength = (text: string) => utf8.encode(text).byteLength;

// ---------------------------------------------------------------------------------------------------------- ids

/** `d_` + 22 base64url characters (a hash of the pair, see chat-ids.ts) or `g_` + a ULID. */
const CONVERSATION_ID = /^(?:d_[A-Za-z0-9_-]{22}|g_[0-9A-HJKMNP-TV-Z]{26})$/;

export const conversationIdSchema = z
  .string({ error: 'conversationId must be a string' })
  .regex(CONVERSATION_ID, { error: 'conversationId is not a conversation id (d_… or g_…)' });

export const messageIdSchema = z
  .string({ error: 'a message id must be a string' })
  .regex(/^\d{12}$/, { error: 'a message id is 12 digits, e.g. "000000000042"' })
  .refine((id) => Number(id) > 0, { error: 'a message id is 12 digits, e.g. "000000000042"' });

export const userIdSchema = z.string({ error: 'a user id must be a string' }).superRefine((id, ctx) => {
  const problem = userIdProblem(id);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

/** The message id of sequence number `seq` (1 → "000000000001"). */
export function messageIdOf(seq: number): string {
  return String(seq).padStart(MESSAGE_ID_DIGITS, '0');
}

/** The sequence number of a message id. */
export function seqOf(messageId: string): number {
  return Number(messageId);
}

/** `chat:<conversationId>` */
export function chatKey(conversationId: string): string {
  return `${CHAT_PREFIX}${conversationId}`;
}

/** The conversation of a `chat:<conversationId>` key, or undefined for other keys and malformed ids. */
export function conversationIdOfKey(key: string): string | undefined {
  if (!key.startsWith(CHAT_PREFIX)) return undefined;
  const id = key.slice(CHAT_PREFIX.length);
  return CONVERSATION_ID.test(id) ? id : undefined;
}

/** `msg#000000000042` */
export function messageItemId(seq: number): string {
  return `${MESSAGE_ITEM_PREFIX}${messageIdOf(seq)}`;
}

/** `read#<userId>` */
export function readMarkerItemId(userId: string): string {
  return `${READ_MARKER_ITEM_PREFIX}${userId}`;
}

/** What an item of `chat:<conversationId>` is, from its itemId: how a client tells the `item` frames apart. */
export function chatItemKind(itemId: string): 'conversation' | 'message' | 'receipt' | undefined {
  if (itemId === CONVERSATION_ITEM_ID) return 'conversation';
  if (itemId.startsWith(MESSAGE_ITEM_PREFIX)) return 'message';
  if (itemId.startsWith(READ_MARKER_ITEM_PREFIX)) return 'receipt';
  return undefined;
}

// ------------------------------------------------------------------------------------------------ shapes sent

/** A message, as stored, listed and delivered (the `item` of its `item` frame, besides the key attributes). */
export const chatMessageSchema = z.object({
  messageId: messageIdSchema,
  conversationId: conversationIdSchema,
  senderId: z.string(),
  content: z.string(),
  /** Server time (ISO 8601). Never earlier than the previous message's. */
  sentAt: z.string(),
  /** The sender's own id for the message, echoed so a client can replace its pending copy. */
  tempMessageId: z.string().optional(),
});
export type ChatMessage = z.output<typeof chatMessageSchema>;

/**
 * The answer to a re-sent message (the same tempMessageId and content within 24 h: the client missed the echo of its
 * first send): the stored message, posted to the re-sending connection only, in the shape of the `item` frame the
 * participants got, so a client resolves its pending message with the code that handles echoes. Two differences say
 * it is a replay, not a change: `duplicate: true`, and no `seq` (no stream record stands behind it: a client that
 * de-duplicates on seq must not mistake it for a new change; it is the message `messageId` already names). `at` is
 * the message's sentAt (when it was stored).
 * `{"type":"item","event":"INSERT","key":"chat:<id>","itemId":"msg#…","item":{…,"tempMessageId"},"duplicate":true,"at":…}`
 */
export interface ResentMessageFrame {
  type: 'item';
  event: 'INSERT';
  key: string;
  itemId: string;
  /** The message item as stored (the key attribute and itemId included, like the stream's new image). */
  item: Record<string, unknown>;
  duplicate: true;
  at: number;
}

/** The ResentMessageFrame of a stored message (`item`: the stored item, `message`: the same, parsed). */
export function resentMessageFrame(message: ChatMessage, item: Record<string, unknown>): ResentMessageFrame {
  return {
    type: 'item',
    event: 'INSERT',
    key: chatKey(message.conversationId),
    itemId: messageItemId(seqOf(message.messageId)),
    item,
    duplicate: true,
    at: Date.parse(message.sentAt),
  };
}

/** A read marker: `userId` has read the conversation up to `upTo` (a messageId). Its changes are read receipts. */
export const readReceiptSchema = z.object({
  conversationId: conversationIdSchema,
  userId: z.string(),
  upTo: messageIdSchema,
  readAt: z.string(),
});
export type ReadReceipt = z.output<typeof readReceiptSchema>;

export const conversationTypeSchema = z.enum(['direct', 'group']);
export type ConversationType = z.output<typeof conversationTypeSchema>;

/** A conversation. Participants never change after creation. */
export const conversationSchema = z.object({
  conversationId: conversationIdSchema,
  type: conversationTypeSchema,
  /** Groups only. */
  title: z.string().optional(),
  /** Sorted user ids, the creator included. */
  participants: z.array(z.string()),
  createdBy: z.string(),
  createdAt: z.string(),
});
export type Conversation = z.output<typeof conversationSchema>;

/** An entry of GET /users/me/conversations. */
export const conversationSummarySchema = conversationSchema.extend({
  /** The newest message, null when there is none yet. */
  lastMessage: chatMessageSchema.nullable(),
  /** lastMessage.sentAt, or createdAt for a conversation without messages: the list is sorted on it, newest first. */
  lastActivityAt: z.string(),
  /** Messages after the caller's read marker sent by others (see UNREAD_COUNT_WINDOW). */
  unreadCount: z.number().int().min(0),
  /** true: more unread messages exist than `unreadCount` says (show "99+"). */
  unreadCountCapped: z.boolean(),
  /** The caller's read marker, absent when they have read nothing. */
  readUpTo: messageIdSchema.optional(),
});
export type ConversationSummary = z.output<typeof conversationSummarySchema>;

/** GET /conversations/{id}/participants: each participant with their read marker. */
export const participantSchema = z.object({
  userId: z.string(),
  readUpTo: messageIdSchema.optional(),
  readAt: z.string().optional(),
});
export type Participant = z.output<typeof participantSchema>;

// ------------------------------------------------------------------------------------------ input: HTTP bodies

const unknownField = (what: string) => (issue: { code?: string; keys?: string[] }) =>
  issue.code === 'unrecognized_keys'
    ? `unknown field${(issue.keys?.length ?? 0) > 1 ? 's' : ''} ${(issue.keys ?? []).map((k) => JSON.stringify(k)).join(', ')} in ${what}`
    : undefined;

const titleSchema = z
  .string({ error: 'a group conversation needs a title' })
  .trim()
  .min(1, { error: 'a group conversation needs a title' })
  .max(MAX_TITLE_LENGTH, { error: `title must be at most ${MAX_TITLE_LENGTH} characters` })
  .refine((title) => !LONE_SURROGATE.test(title), { error: 'title is not valid Unicode text' });

const participantsSchema = (max: number) =>
  z
    .array(userIdSchema, { error: 'participants must be an array of user ids' })
    .min(1, { error: 'participants must name the other user(s)' })
    .max(max, { error: `at most ${MAX_PARTICIPANTS} participants, yourself included` });

/** POST /conversations `{"type":"direct","participants":["u2"]}` */
export const createDirectConversationSchema = z.strictObject(
  {
    type: z.literal('direct'),
    // The caller may list themself too; exactly one other user must remain (planConversation says so clearly).
    participants: participantsSchema(MAX_PARTICIPANTS),
  },
  { error: unknownField('a direct conversation (a title is for groups)') },
);

/** POST /conversations `{"type":"group","participants":["u2","u3"],"title":"Team"}` */
export const createGroupConversationSchema = z.strictObject(
  {
    type: z.literal('group'),
    participants: participantsSchema(MAX_PARTICIPANTS),
    title: titleSchema,
  },
  { error: unknownField('a group conversation') },
);

export const createConversationBodySchema = z.discriminatedUnion(
  'type',
  [createDirectConversationSchema, createGroupConversationSchema],
  { error: 'type must be "direct" or "group"' },
);
export type CreateConversationBody = z.output<typeof createConversationBodySchema>;

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

// ---------------------------------------------------------------------------------------- input: WebSocket frames

/** The text of a message: trimmed; 1 to MAX_CONTENT_BYTES bytes of UTF-8. */
export const contentSchema = z
  .string({ error: 'content must be a string' })
  .trim()
  .min(1, { error: 'content must not be empty' })
  .refine((content) => byteLength(content) <= MAX_CONTENT_BYTES, {
    error: `content must be at most ${MAX_CONTENT_BYTES} bytes (UTF-8)`,
  })
  .refine((content) => !LONE_SURROGATE.test(content), { error: 'content is not valid Unicode text' });

export const tempMessageIdSchema = z.string({ error: 'tempMessageId must be a string' }).regex(/^[\x21-\x7e]{1,64}$/, {
  error: `tempMessageId must be 1 to ${MAX_TEMP_MESSAGE_ID_LENGTH} printable ASCII characters without spaces`,
});

/** `{"action":"send-message","conversationId":"g_…","content":"hi","tempMessageId":"t-1"}` */
export const sendMessageFrameSchema = z.strictObject(
  {
    action: z.literal('send-message').optional(),
    conversationId: conversationIdSchema,
    content: contentSchema,
    tempMessageId: tempMessageIdSchema.optional(),
  },
  { error: unknownField('send-message (the sender and time are set by the platform)') },
);
export type SendMessageFrame = z.output<typeof sendMessageFrameSchema>;

/** `{"action":"read-messages","conversationId":"g_…","upTo":"000000000042"}`; upTo defaults to the newest message. */
export const readMessagesFrameSchema = z.strictObject(
  {
    action: z.literal('read-messages').optional(),
    conversationId: conversationIdSchema,
    upTo: messageIdSchema.optional(),
  },
  { error: unknownField('read-messages') },
);
export type ReadMessagesFrame = z.output<typeof readMessagesFrameSchema>;

// ---------------------------------------------------------------------------------------- input: query strings

const limitSchema = z
  .string()
  .regex(/^\d{1,3}$/, { error: `limit must be an integer from 1 to ${MAX_PAGE_SIZE}` })
  .transform(Number)
  .refine((limit) => limit >= 1 && limit <= MAX_PAGE_SIZE, {
    error: `limit must be an integer from 1 to ${MAX_PAGE_SIZE}`,
  })
  .optional();

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
