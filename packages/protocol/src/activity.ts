import { z } from 'zod';

/**
 * A user's activity history on the wire: the entries `GET /users/me/activity` returns and subscribers of
 * `activity:<userId>` (its owner only) receive as `item` frames, one per connect, page update, close and timeout.
 */

/** What happened. */
export const ACTIVITY_TYPES = ['CONNECT', 'UPDATE_PRESENCE', 'CLOSE_CONNECTION', 'TIMEOUT'] as const;
export type ActivityType = (typeof ACTIVITY_TYPES)[number];
export const activityTypeSchema = z.enum(ACTIVITY_TYPES);

/** One entry of a user's activity history. */
export interface ActivityEntry {
  type: ActivityType;
  /** When it happened, epoch ms. */
  at: number;
  /** The connection (tab, device) it happened on. */
  connectionId: string;
  /** UPDATE_PRESENCE: the page shared (absent when the page was hidden). */
  url?: string;
  title?: string;
}

/** `GET /users/me/activity` → `{"items":[…],"nextToken"?}`, newest first. */
export interface ActivityPage {
  items: ActivityEntry[];
  nextToken?: string;
}
