import { MAX_KEY_BYTES, MAX_KEYS_PER_REQUEST, MAX_USER_ID_BYTES } from './limits';
import { LONE_SURROGATE, preview, utf8ByteLength } from './text';

/**
 * Subscription keys and user ids: what a client may subscribe to and who it may name. The same rules hold on
 * $connect, on subscribe/unsubscribe, in the fan-out and in clients, so a key accepted in one place is never refused
 * in another.
 */

/** Keys starting with this are the platform's own rows; clients cannot use them. */
export const RESERVED_KEY_PREFIX = '$';

/** `presence:<userId>`: a user's presence (see presence.ts). */
export const PRESENCE_PREFIX = 'presence:';
/** `friends:<userId>`: a user's friendships (owner only). */
export const FRIENDS_PREFIX = 'friends:';
/** `inbox:<userId>`: every change of the user's conversations (owner only; each signed-in connection has it). */
export const INBOX_PREFIX = 'inbox:';
/** `calendar:<userId>`: a user's calendar events. */
export const CALENDAR_PREFIX = 'calendar:';
/** `chat:<conversationId>`: a conversation, its messages and read markers. */
export const CHAT_PREFIX = 'chat:';
/** `activity:<userId>`: a user's activity history (connects, page updates, closes, timeouts; owner only). */
export const ACTIVITY_PREFIX = 'activity:';

/**
 * Key prefixes owned by the platform's own domains, with the API that writes them. Their items keep invariants
 * (presence counters, calendar versions, chat sequence numbers) and access rules that only the domain APIs enforce,
 * so the generic producers (the items API, SQS, SNS, S3) may neither write nor read them. Clients still subscribe to
 * them, subject to per-key authorization.
 */
export const PLATFORM_KEY_PREFIXES = {
  [PRESENCE_PREFIX]: 'the presence API (update-presence, GET /presence)',
  [FRIENDS_PREFIX]: 'the friends API (PUT /friends/{userId})',
  [INBOX_PREFIX]: 'the chat API',
  [CALENDAR_PREFIX]: 'the calendar API (/calendars/{userId}/events)',
  [CHAT_PREFIX]: 'the chat API (/conversations, send-message)',
  [ACTIVITY_PREFIX]: 'the activity history (written on connect, update-presence, close and timeout)',
} as const;

/** `presence:<userId>` */
export const presenceKey = (userId: string): string => `${PRESENCE_PREFIX}${userId}`;
/** `friends:<userId>` */
export const friendsKey = (userId: string): string => `${FRIENDS_PREFIX}${userId}`;
/** `inbox:<userId>` */
export const inboxKey = (userId: string): string => `${INBOX_PREFIX}${userId}`;
/** `calendar:<userId>` */
export const calendarKey = (userId: string): string => `${CALENDAR_PREFIX}${userId}`;
/** `activity:<userId>` */
export const activityKey = (userId: string): string => `${ACTIVITY_PREFIX}${userId}`;
/** `chat:<conversationId>` */
export const chatKey = (conversationId: string): string => `${CHAT_PREFIX}${conversationId}`;

/** Which domain owns `key`, when a platform domain does (see PLATFORM_KEY_PREFIXES). */
export function platformKeyOwner(key: string): string | undefined {
  for (const [prefix, owner] of Object.entries(PLATFORM_KEY_PREFIXES)) {
    if (key.startsWith(prefix)) return owner;
  }
  return undefined;
}

/** What is wrong with one key, in words a client understands; undefined when the key is fine. */
export function keyProblem(key: string): string | undefined {
  if (key.length === 0) return 'a key must not be empty';
  const bytes = utf8ByteLength(key);
  if (bytes > MAX_KEY_BYTES) return `a key must be at most ${MAX_KEY_BYTES} bytes (UTF-8); got ${bytes}`;
  if (key.startsWith(RESERVED_KEY_PREFIX)) {
    return `keys starting with "${RESERVED_KEY_PREFIX}" are reserved by the platform`;
  }
  if (LONE_SURROGATE.test(key)) return 'a key must be valid Unicode text';
  return undefined;
}

/** keyProblem, plus: producers cannot use the platform domains' keys. */
export function producerKeyProblem(key: string): string | undefined {
  const problem = keyProblem(key);
  if (problem !== undefined) return problem;
  const owner = platformKeyOwner(key);
  return owner === undefined ? undefined : `keys like ${preview(key)} belong to ${owner}; producers cannot write them`;
}

export type KeyCheck = { ok: true; keys: string[] } | { ok: false; message: string };

/**
 * Validates a request's keys and removes repeats (keeping first-seen order): a repeated key is one subscription,
 * and DynamoDB refuses a batch that writes the same row twice.
 */
export function checkKeys(keys: readonly string[], label = 'key'): KeyCheck {
  const distinct = [...new Set(keys)];
  if (distinct.length > MAX_KEYS_PER_REQUEST) {
    return { ok: false, message: `at most ${MAX_KEYS_PER_REQUEST} keys per request; got ${distinct.length}` };
  }
  for (const key of distinct) {
    const problem = keyProblem(key);
    if (problem !== undefined) return { ok: false, message: `invalid ${label} ${preview(key)}: ${problem}` };
  }
  return { ok: true, keys: distinct };
}

/** What is wrong with a user id, in client words; undefined when it is fine. */
export function userIdProblem(userId: string): string | undefined {
  if (userId.length === 0) return 'a user id must not be empty';
  if (utf8ByteLength(userId) > MAX_USER_ID_BYTES) return `a user id must be at most ${MAX_USER_ID_BYTES} bytes`;
  // Ids end up inside keys ("presence:<userId>") and comma-separated query lists (?userIds=a,b).
  if (/[\s,:#$]|\p{C}/u.test(userId)) {
    return 'a user id must not contain spaces, commas, ":", "#", "$" or control characters';
  }
  return undefined;
}

/**
 * The user of a `<prefix><userId>` key (presence:, friends:, inbox:, calendar:, activity:), or undefined for other
 * keys.
 */
export function userIdOfKey(prefix: string, key: string): string | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const userId = key.slice(prefix.length);
  return userIdProblem(userId) === undefined ? userId : undefined;
}
