import { CHAT_PREFIX } from './keys';

/**
 * The item ids of the platform's domains under their keys, and the shape of conversation ids: plain constants and
 * string checks, without zod, so that browser clients can tell items apart without the schemas.
 */

/** The item id of a user's presence item under `presence:<userId>`. */
export const PRESENCE_ITEM_ID = 'state';

/** Item id of a conversation's description under `chat:<conversationId>`. */
export const CONVERSATION_ITEM_ID = 'conversation';
/** Item id prefix of messages (`msg#000000000042`). */
export const MESSAGE_ITEM_PREFIX = 'msg#';
/** Item id prefix of read markers (`read#u2`). */
export const READ_MARKER_ITEM_PREFIX = 'read#';

/** `d_` + 22 base64url characters (a hash of the pair) or `g_` + a ULID. */
export const CONVERSATION_ID_PATTERN = /^(?:d_[A-Za-z0-9_-]{22}|g_[0-9A-HJKMNP-TV-Z]{26})$/;

/** Messages are numbered 1, 2, 3 … per conversation; the id is the number, zero-padded so ids sort as strings. */
const MESSAGE_ID_DIGITS = 12;
export const MAX_MESSAGE_SEQ = 10 ** MESSAGE_ID_DIGITS - 1;

/** The message id of sequence number `seq` (1 → "000000000001"). */
export function messageIdOf(seq: number): string {
  return String(seq).padStart(MESSAGE_ID_DIGITS, '0');
}

/** The sequence number of a message id. */
export function seqOf(messageId: string): number {
  return Number(messageId);
}

/** The conversation of a `chat:<conversationId>` key, or undefined for other keys and malformed ids. */
export function conversationIdOfKey(key: string): string | undefined {
  if (!key.startsWith(CHAT_PREFIX)) return undefined;
  const id = key.slice(CHAT_PREFIX.length);
  return CONVERSATION_ID_PATTERN.test(id) ? id : undefined;
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
