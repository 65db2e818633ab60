/**
 * Keys as the platform stores them. The key rules clients share (limits, reserved and domain prefixes) are in the
 * protocol package; this module holds what only the server needs.
 */

/**
 * Sort-key value of a connection's own row in the connection table. It carries the connection id so that these
 * rows do not all land in one partition of the subscribersByKey index (a hot partition under many connects).
 */
export function connectionRowKey(connectionId: string): string {
  return `$connection#${connectionId}`;
}

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
  // activity history
  'at',
  'url',
  'connectionId',
]);
