import { z } from 'zod';
import { PRESENCE_PREFIX, userIdOfKey } from './keys';

/**
 * Presence on the wire: a user's state as watchers of `presence:<userId>` see it, the `presence` frame a change
 * becomes and the `update-presence` action a user sends to share the page they look at.
 */

export type PresenceStatus = 'online' | 'offline';
/** What a change meant for watchers. */
export type PresenceEvent = 'join' | 'leave' | 'update';

/** A page a user looks at; `domain` is the registrable domain of `url` (or its host for localhost and IPs). */
export interface PageInfo {
  url: string;
  title: string;
  domain: string;
}

/** A user's presence as clients see it. */
export interface Presence {
  userId: string;
  status: PresenceStatus;
  /** Live connections (tabs, devices). */
  connections: number;
  /** When the status last changed, epoch ms. */
  since?: number;
  /** When the platform last saw a connect, disconnect or page change, epoch ms ("last seen" while offline). */
  lastSeenAt?: number;
  /** The page the user looks at now; absent when hidden or offline. */
  page?: PageInfo;
  /** The last page the user shared; kept when the page is hidden and after they go offline. */
  latestPage?: PageInfo;
}

/** `{"type":"presence","event":"join"|"leave"|"update",…}`: a presence change as watchers receive it. */
export interface PresenceMessage {
  type: 'presence';
  event: PresenceEvent;
  key: string;
  userId: string;
  presence: Omit<Presence, 'userId'>;
  seq: string;
  at: number;
}

/** `{"type":"presence-updated",…}`: the reply to update-presence. `changed: false` when the page was already set. */
export interface PresenceUpdatedMessage {
  type: 'presence-updated';
  changed: boolean;
  /** The page now shown; null when hidden. */
  page: PageInfo | null;
}

/** The user of a `presence:<userId>` key, or undefined for other keys. */
export function userIdOfPresenceKey(key: string): string | undefined {
  return userIdOfKey(PRESENCE_PREFIX, key);
}

/** Longest page URL accepted (browsers' practical limit). */
export const MAX_PAGE_URL_LENGTH = 2048;
/** Longest page title accepted. */
export const MAX_PAGE_TITLE_LENGTH = 300;

const pageUrlSchema = z
  .string({ error: 'url must be a string (an empty string hides the page)' })
  .max(MAX_PAGE_URL_LENGTH, { error: `url must be at most ${MAX_PAGE_URL_LENGTH} characters` })
  .refine((url) => url === '' || z.url({ protocol: /^https?$/ }).safeParse(url).success, {
    error: 'url must be an http(s) URL like https://example.com/page, or "" to hide the page',
  });

/**
 * `{"action":"update-presence","url":"https://example.com/a","title":"A page"}`. The user is always the caller:
 * there is no userId field, and a frame naming someone else is refused.
 */
export const updatePresenceActionSchema = z.object({
  action: z.literal('update-presence').optional(),
  url: pageUrlSchema,
  title: z
    .string({ error: 'title must be a string' })
    .max(MAX_PAGE_TITLE_LENGTH, { error: `title must be at most ${MAX_PAGE_TITLE_LENGTH} characters` })
    // Control characters would garble every watcher's UI; tabs and newlines included.
    .refine((title) => !/\p{Cc}/u.test(title), { error: 'title must not contain control characters' })
    .optional(),
  /** Accepted only when it names the caller. */
  userId: z.string({ error: 'userId must be a string' }).optional(),
});
export type UpdatePresenceAction = z.output<typeof updatePresenceActionSchema>;

/** The presence of a user the platform has never seen connect. */
export function offlinePresence(userId: string): Presence {
  return { userId, status: 'offline', connections: 0 };
}
