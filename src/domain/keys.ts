/**
 * Subscription keys: what a client may subscribe to. The same rules hold on $connect, on subscribe/unsubscribe
 * and in the fan-out, so a key accepted in one place is never refused in another.
 */

/** Longest key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;
/** Most keys in one $connect or one subscribe/unsubscribe. */
export const MAX_KEYS_PER_REQUEST = 20;
/** Most subscriptions one connection may hold, so $disconnect can always delete them within its timeout. */
export const MAX_SUBSCRIPTIONS_PER_CONNECTION = 100;
/** Keys starting with this are the platform's own rows (see connectionRowKey); clients cannot use them. */
export const RESERVED_KEY_PREFIX = '$';

/**
 * Sort-key value of a connection's own row in the connection table. It carries the connection id so that these
 * rows do not all land in one partition of the subscribersByKey index (a hot partition under many connects).
 */
export function connectionRowKey(connectionId: string): string {
  return `$connection#${connectionId}`;
}

/**
 * Key prefixes owned by the platform's own domains. Their items keep invariants (presence counters, calendar
 * versions, chat sequence numbers) and access rules that only the domain APIs enforce, so the generic producers (the
 * items API, SQS, SNS, S3) may neither write nor read them. Clients still subscribe to them, subject to per-key
 * authorization.
 */
export const PLATFORM_KEY_PREFIXES = {
  'presence:': 'the presence API (update-presence, GET /presence)',
  'friends:': 'the friends API (PUT /friends/{userId})',
  'inbox:': 'the chat API',
  'calendar:': 'the calendar API (/calendars/{userId}/events)',
  'chat:': 'the chat API (/conversations, send-message)',
} as const;

/**
 * Attribute names the platform's own items use (presence, friendships, calendars, chat, TTL and the sort key). The
 * RealTimeItemKey parameter names RealTimeData's partition key, which every item also carries: it must not be one of
 * these, or a domain write would overwrite its own key (or a key with a domain field).
 */
export const DOMAIN_ATTRIBUTE_NAMES: ReadonlySet<string> = new Set([
  'itemId',
  'expiresAt',
  // presence and friends
  'userId',
  'status',
  'connections',
  'since',
  'lastSeenAt',
  'transition',
  'page',
  'pageConnectionId',
  'latestPage',
  // calendars
  'eventId',
  'ownerId',
  'viewerId',
  'title',
  'start',
  'end',
  'allDay',
  'timeZone',
  'description',
  'location',
  'startsAt',
  'endsAt',
  'version',
  'createdAt',
  'updatedAt',
  'createdBy',
  'updatedBy',
  'sharedAt',
  'access',
  // chat
  'conversationId',
  'type',
  'participants',
  'messageId',
  'senderId',
  'content',
  'sentAt',
  'tempMessageId',
  'upTo',
  'readAt',
  'lastSeq',
  'lastMessageAt',
  'contentHash',
]);

/** Which domain owns `key`, when a platform domain does (see PLATFORM_KEY_PREFIXES). */
export function platformKeyOwner(key: string): string | undefined {
  for (const [prefix, owner] of Object.entries(PLATFORM_KEY_PREFIXES)) {
    if (key.startsWith(prefix)) return owner;
  }
  return undefined;
}

/** keyProblem, plus: producers cannot use the platform domains' keys. */
export function producerKeyProblem(key: string): string | undefined {
  const problem = keyProblem(key);
  if (problem !== undefined) return problem;
  const owner = platformKeyOwner(key);
  return owner === undefined ? undefined : `keys like ${preview(key)} belong to ${owner}; producers cannot write them`;
}

// In a `u` regex a lone surrogate is a code point of category Cs; a valid pair is one astral code point instead.
// DynamoDB refuses strings that are not valid UTF-8, so a lone surrogate (possible from JSON "\ud800") is refused here.
const LONE_SURROGATE = /\p{Cs}/u;

/** What is wrong with one key, in words a client understands; undefined when the key is fine. */
export function keyProblem(key: string): string | undefined {
  if (key.length === 0) return 'a key must not be empty';
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) return `a key must be at most ${MAX_KEY_BYTES} bytes (UTF-8); got ${bytes}`;
  if (key.startsWith(RESERVED_KEY_PREFIX)) {
    return `keys starting with "${RESERVED_KEY_PREFIX}" are reserved by the platform`;
  }
  if (LONE_SURROGATE.test(key)) return 'a key must be valid Unicode text';
  return undefined;
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

/** A key quoted for an error message, shortened so a 1 MB key does not become a 1 MB reply. */
export function preview(key: string, max = 40): string {
  const quoted = JSON.stringify(key.length > max ? `${key.slice(0, max)}…` : key);
  return quoted;
}
