import {
  friendsKey,
  type ItemChange,
  itemMessage,
  offlinePresence,
  type PageInfo,
  PRESENCE_ITEM_ID,
  PRESENCE_PREFIX,
  type Presence,
  type PresenceEvent,
  type PresenceMessage,
  type PresenceStatus,
  presenceKey,
  type ServerMessage,
  type UpdatePresenceAction,
  userIdOfPresenceKey,
  userIdProblem,
} from '@real-time-platform/protocol';
import { getDomain } from 'tldts';
import { ALLOWED, forbidden, type KeyAccessRule, signInRequired } from './key-access';

/**
 * Presence: who is online, how many connections they hold and which page they look at. One item per user in
 * RealTimeData under `presence:<userId>` / `state`, so its changes reach subscribers through the normal stream
 * fan-out. This module is the pure part: the item's shape, the transitions a connection causes, the page rules and
 * the `presence` frame a change becomes.
 */

// ------------------------------------------------------------------ transitions

/**
 * How a new connection changes its user's presence: the first one (or the first after being offline) brings the
 * user online; any other adds to the count. A missing item counts as offline.
 */
export type ConnectTransition = 'come-online' | 'add-connection';

/**
 * How the end of a connection changes presence: the last one takes the user offline; others subtract one.
 * `settle-only` is for a presence that is not online (an item removed by hand, or a count that was repaired): the
 * connection row is deleted without touching presence.
 */
export type DisconnectTransition = 'go-offline' | 'remove-connection' | 'settle-only';

/** The transition a new connection causes, given the current presence (undefined: never seen). */
export function connectTransition(current: Presence | undefined): ConnectTransition {
  return current?.status === 'online' ? 'add-connection' : 'come-online';
}

/** The transition the end of a connection causes, given the current presence. */
export function disconnectTransition(current: Presence | undefined): DisconnectTransition {
  if (current?.status !== 'online') return 'settle-only';
  return current.connections > 1 ? 'remove-connection' : 'go-offline';
}

// ------------------------------------------------------------------ pages

/** The page a validated frame sets; undefined hides the page. */
export function pageOf(frame: Pick<UpdatePresenceAction, 'url' | 'title'>): PageInfo | undefined {
  if (frame.url === '') return undefined;
  const hostname = new URL(frame.url).hostname;
  // getDomain is null for hosts without a public suffix (localhost, IP addresses): the host is the best name then.
  const domain = getDomain(frame.url) ?? hostname;
  return { url: frame.url, title: frame.title ?? '', domain };
}

/** Whether two pages are the same (an update that changes nothing is not written). */
export function samePage(a: PageInfo | undefined, b: PageInfo | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.url === b.url && a.title === b.title && a.domain === b.domain;
}

// ------------------------------------------------------------------ items and frames

/** The presence item's attributes besides the table's key attributes. */
export interface PresenceAttributes {
  userId?: unknown;
  status?: unknown;
  connections?: unknown;
  since?: unknown;
  lastSeenAt?: unknown;
  page?: unknown;
  latestPage?: unknown;
  /** The PresenceEvent of the write that produced this image. */
  transition?: unknown;
  /**
   * Internal: the connection whose update-presence set `page`, so that closing that tab takes its page down while
   * the user's other tabs stay online. Never shown to clients (presenceFromItem leaves it out).
   */
  pageConnectionId?: unknown;
}

/** The connection that set the stored page (internal bookkeeping), or undefined when unknown or no page is set. */
export function pageConnectionIdOf(item: PresenceAttributes | undefined): string | undefined {
  const id = item?.pageConnectionId;
  return typeof id === 'string' && pageFromItem(item?.page) !== undefined ? id : undefined;
}

/** A stored presence item as clients may see it (e.g. in a snapshot): the internal attributes left out. */
export function publicPresenceItem<T extends Record<string, unknown>>(item: T): Omit<T, 'pageConnectionId'> {
  const { pageConnectionId: _internal, ...visible } = item;
  return visible;
}

/** What a snapshot shows of a key's stored item: presence items without their internal attributes, others as stored. */
export function snapshotItemOf(key: string, item: Record<string, unknown>): Record<string, unknown> {
  return userIdOfPresenceKey(key) === undefined ? item : publicPresenceItem(item);
}

/** Reads a stored presence item (plain JSON) defensively; undefined when it is not one. */
export function presenceFromItem(userId: string, item: PresenceAttributes | undefined): Presence | undefined {
  if (item === undefined) return undefined;
  const status: PresenceStatus = item.status === 'online' ? 'online' : 'offline';
  const presence: Presence = {
    userId,
    status,
    connections: nonNegativeInteger(item.connections) ?? 0,
  };
  const since = nonNegativeInteger(item.since);
  if (since !== undefined) presence.since = since;
  const lastSeenAt = nonNegativeInteger(item.lastSeenAt);
  if (lastSeenAt !== undefined) presence.lastSeenAt = lastSeenAt;
  const page = pageFromItem(item.page);
  if (page !== undefined && status === 'online') presence.page = page;
  const latestPage = pageFromItem(item.latestPage);
  if (latestPage !== undefined) presence.latestPage = latestPage;
  return presence;
}

/** Whether a stream change is a user's presence item (and not some other item under a presence key). */
export function isPresenceChange(change: Pick<ItemChange, 'key' | 'itemId'>): boolean {
  return change.itemId === PRESENCE_ITEM_ID && userIdOfPresenceKey(change.key) !== undefined;
}

/**
 * What a presence change means: removing the item is a leave; otherwise the write said what it was (join, leave,
 * update). An image without that mark (written by hand) falls back to its status: online → update, offline → leave.
 */
export function presenceEventOf(change: Pick<ItemChange, 'event' | 'item'>): PresenceEvent {
  if (change.event === 'REMOVE') return 'leave';
  const item = change.item as PresenceAttributes;
  const online = item.status === 'online';
  // A join image is always online and a leave image always offline; anything else is an update.
  if (item.transition === 'join' && online) return 'join';
  if (!online) return 'leave';
  if (change.event === 'INSERT') return 'join';
  return 'update';
}

/** The `presence` frame for a change of a `presence:<userId>` / `state` item (see isPresenceChange). */
export function presenceMessage(change: ItemChange): PresenceMessage {
  const userId = userIdOfPresenceKey(change.key) ?? change.key.slice(PRESENCE_PREFIX.length);
  const event = presenceEventOf(change);
  const presence = presenceFromItem(userId, change.item as PresenceAttributes) ?? offlinePresence(userId);
  const { userId: _omitted, ...state } = presence;
  // The last image of a removed item may say online; watchers must see the user gone.
  if (change.event === 'REMOVE') {
    state.status = 'offline';
    state.connections = 0;
    delete state.page;
  }
  return { type: 'presence', event, key: change.key, userId, presence: state, seq: change.seq, at: change.at };
}

/** The fan-out's `messageOf`: presence items become `presence` frames, every other change an `item` frame. */
export function presenceOrItemMessage(change: ItemChange): ServerMessage {
  return isPresenceChange(change) ? presenceMessage(change) : itemMessage(change);
}

/** The EventBridge detail-type of a presence event. */
export function presenceDetailType(event: PresenceEvent): string {
  if (event === 'join') return 'presence.connected';
  if (event === 'leave') return 'presence.disconnected';
  return 'presence.updated';
}

function nonNegativeInteger(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function pageFromItem(value: unknown): PageInfo | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { url, title, domain } = value as Record<string, unknown>;
  if (typeof url !== 'string' || typeof title !== 'string' || typeof domain !== 'string') return undefined;
  return { url, title, domain };
}

// ------------------------------------------------------------------ who may watch whom

/**
 * The key access rule of `presence:<userId>` (subscribe, $connect keys, REST reads). Presence exists only for
 * signed-in users, so watching it needs one too. `all`: any signed-in user may watch anyone. `friends`: the user
 * and their accepted friends only.
 */
export function presenceAccessRule(options: {
  visibility: 'all' | 'friends';
  /** Whether `userId` and `otherUserId` are accepted friends (one read). */
  areFriends: (userId: string, otherUserId: string) => Promise<boolean>;
}): KeyAccessRule {
  return {
    prefix: PRESENCE_PREFIX,
    async canRead(caller, subject) {
      const key = presenceKey(subject);
      if (caller === undefined) return signInRequired(key);
      if (options.visibility === 'all' || caller.userId === subject) return ALLOWED;
      if (userIdProblem(subject) !== undefined) return forbidden(key, 'it names no valid user');
      if (!(await options.areFriends(caller.userId, subject))) {
        return forbidden(key, 'presence is visible to accepted friends only (PUT /friends/{userId})');
      }
      // The caller's side of the friendship grants it: a subscription checks it is still accepted when written.
      return {
        allowed: true,
        requires: {
          key: friendsKey(caller.userId),
          itemId: subject,
          condition: { attribute: 'status', equals: 'accepted' },
        },
      };
    },
  };
}
