import { z } from 'zod';
import { CONVERSATION_ID_PATTERN, messageItemId, seqOf } from './domain-items';
import { chatKey, userIdProblem } from './keys';
import { LONE_SURROGATE, utf8ByteLength } from './text';

/**
 * Chat on the wire: conversation and message ids, the items participants receive under `chat:<conversationId>` —
 * `conversation` (the description; its INSERT announces a new conversation), `msg#<messageId>` (messages) and
 * `read#<userId>` (read markers: their changes are the read receipts) — the REST bodies that create conversations,
 * and the `send-message` / `read-messages` actions.
 */

/** Longest message content, in UTF-8 bytes after trimming. */
export const MAX_CONTENT_BYTES = 4096;
/** Longest tempMessageId, in characters (printable ASCII). */
export const MAX_TEMP_MESSAGE_ID_LENGTH = 64;
/**
 * Most participants of a conversation, the creator included. Creation is one DynamoDB transaction of at most 100
 * items: the description, the counter, one index row per participant and one check per other participant (2 + 49 + 48).
 */
export const MAX_PARTICIPANTS = 49;
/** Longest group title, in characters after trimming. */
export const MAX_CONVERSATION_TITLE_LENGTH = 100;

// ---------------------------------------------------------------------------------------------------------- ids

export const conversationIdSchema = z
  .string({ error: 'conversationId must be a string' })
  .regex(CONVERSATION_ID_PATTERN, { error: 'conversationId is not a conversation id (d_… or g_…)' });

export const messageIdSchema = z
  .string({ error: 'a message id must be a string' })
  .regex(/^\d{12}$/, { error: 'a message id is 12 digits, e.g. "000000000042"' })
  .refine((id) => Number(id) > 0, { error: 'a message id is 12 digits, e.g. "000000000042"' });

export const userIdSchema = z.string({ error: 'a user id must be a string' }).superRefine((id, ctx) => {
  const problem = userIdProblem(id);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

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
 * de-duplicates on seq must not mistake it for a new change). `at` is the message's sentAt (when it was stored).
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
  /** Messages after the caller's read marker sent by others, counted over a bounded window. */
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

/** A zod error map naming unknown fields ("unknown field "senderId" in send-message …"). */
export const unknownField = (what: string) => (issue: { code?: string; keys?: string[] }) =>
  issue.code === 'unrecognized_keys'
    ? `unknown field${(issue.keys?.length ?? 0) > 1 ? 's' : ''} ${(issue.keys ?? []).map((k) => JSON.stringify(k)).join(', ')} in ${what}`
    : undefined;

const titleSchema = z
  .string({ error: 'a group conversation needs a title' })
  .trim()
  .min(1, { error: 'a group conversation needs a title' })
  .max(MAX_CONVERSATION_TITLE_LENGTH, { error: `title must be at most ${MAX_CONVERSATION_TITLE_LENGTH} characters` })
  .refine((title) => !LONE_SURROGATE.test(title), { error: 'title is not valid Unicode text' });

const participantsSchema = z
  .array(userIdSchema, { error: 'participants must be an array of user ids' })
  .min(1, { error: 'participants must name the other user(s)' })
  .max(MAX_PARTICIPANTS, { error: `at most ${MAX_PARTICIPANTS} participants, yourself included` });

/** POST /conversations `{"type":"direct","participants":["u2"]}` */
export const createDirectConversationSchema = z.strictObject(
  {
    type: z.literal('direct'),
    // The caller may list themself too; exactly one other user must remain (the server says so clearly).
    participants: participantsSchema,
  },
  { error: unknownField('a direct conversation (a title is for groups)') },
);

/** POST /conversations `{"type":"group","participants":["u2","u3"],"title":"Team"}` */
export const createGroupConversationSchema = z.strictObject(
  {
    type: z.literal('group'),
    participants: participantsSchema,
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

// ---------------------------------------------------------------------------------------- input: WebSocket frames

/** The text of a message: trimmed; 1 to MAX_CONTENT_BYTES bytes of UTF-8. */
export const contentSchema = z
  .string({ error: 'content must be a string' })
  .trim()
  .min(1, { error: 'content must not be empty' })
  .refine((content) => utf8ByteLength(content) <= MAX_CONTENT_BYTES, {
    error: `content must be at most ${MAX_CONTENT_BYTES} bytes (UTF-8)`,
  })
  .refine((content) => !LONE_SURROGATE.test(content), { error: 'content is not valid Unicode text' });

export const tempMessageIdSchema = z.string({ error: 'tempMessageId must be a string' }).regex(/^[\x21-\x7e]{1,64}$/, {
  error: `tempMessageId must be 1 to ${MAX_TEMP_MESSAGE_ID_LENGTH} printable ASCII characters without spaces`,
});

/** `{"action":"send-message","conversationId":"g_…","content":"hi","tempMessageId":"t-1"}` */
export const sendMessageActionSchema = z.strictObject(
  {
    action: z.literal('send-message').optional(),
    conversationId: conversationIdSchema,
    content: contentSchema,
    tempMessageId: tempMessageIdSchema.optional(),
  },
  { error: unknownField('send-message (the sender and time are set by the platform)') },
);
export type SendMessageAction = z.output<typeof sendMessageActionSchema>;

/** `{"action":"read-messages","conversationId":"g_…","upTo":"000000000042"}`; upTo defaults to the newest message. */
export const readMessagesActionSchema = z.strictObject(
  {
    action: z.literal('read-messages').optional(),
    conversationId: conversationIdSchema,
    upTo: messageIdSchema.optional(),
  },
  { error: unknownField('read-messages') },
);
export type ReadMessagesAction = z.output<typeof readMessagesActionSchema>;
