import { ACTIVITY_TYPES, type ActivityEntry, activityKey } from '@real-time-platform/protocol';
import { z } from 'zod';
import { decodePageToken, encodePageToken, InvalidPageTokenError } from '../lib/page-token';
import { parseDate, parseDateTime, sortableInstant } from './calendar';
import { instantParam, pageLimitParam } from './query-params';

/**
 * A user's activity history (the PageNow presence API's UserActivityHistoryTable, kept in RealTimeData so that its
 * owner can also watch it live): one item per connect, page update, close and timeout under `activity:<userId>`,
 * itemId `<UTC instant>#<type>#<connectionId>` so that a key's items sort by time and a range of time is one Query.
 * Each carries `expiresAt` (DynamoDB TTL) ActivityRetentionDays after it happened.
 */

/** Widest window of one query, in days (the calendar's bound). */
export const MAX_ACTIVITY_WINDOW_DAYS = 366;
const DAY_MS = 24 * 3600 * 1000;
export const DEFAULT_ACTIVITY_PAGE = 50;
export const MAX_ACTIVITY_PAGE = 100;

/** The itemId of an entry: string order is time order (fixed-width UTC instants), then type and connection. */
export function activityItemId(entry: Pick<ActivityEntry, 'type' | 'at' | 'connectionId'>): string {
  return `${sortableInstant(entry.at)}#${entry.type}#${entry.connectionId}`;
}

/** The stored item of an entry (`keyAttribute` is REAL_TIME_ITEM_KEY). */
export function activityItem(
  keyAttribute: string,
  userId: string,
  entry: ActivityEntry,
  retentionDays: number,
): Record<string, unknown> {
  return {
    [keyAttribute]: activityKey(userId),
    itemId: activityItemId(entry),
    type: entry.type,
    at: entry.at,
    connectionId: entry.connectionId,
    ...(entry.url === undefined ? {} : { url: entry.url }),
    ...(entry.title === undefined ? {} : { title: entry.title }),
    expiresAt: Math.floor((entry.at + retentionDays * DAY_MS) / 1000),
  };
}

const storedEntry = z.object({
  type: z.enum(ACTIVITY_TYPES),
  at: z.number().int(),
  connectionId: z.string(),
  url: z.string().optional(),
  title: z.string().optional(),
});

/** The entry of a stored item, as clients see it (keys and TTL left out); undefined for anything else. */
export function activityEntryOf(item: Record<string, unknown>): ActivityEntry | undefined {
  const parsed = storedEntry.safeParse(item);
  if (!parsed.success) return undefined;
  const { type, at, connectionId, url, title } = parsed.data;
  return { type, at, connectionId, ...(url === undefined ? {} : { url }), ...(title === undefined ? {} : { title }) };
}

/** The itemId range [lowest, highest] (inclusive, as BETWEEN wants it) of the entries in [from, to). */
export function itemIdRange(window: ActivityWindow): { lowest: string; highest: string } {
  // Types are upper-case letters: "#~" sorts after every "#TYPE#connectionId" of the last millisecond.
  return { lowest: sortableInstant(window.from), highest: `${sortableInstant(window.to - 1)}#~` };
}

/** A window of time [from, to), epoch ms. */
export interface ActivityWindow {
  from: number;
  to: number;
}

/** An instant of a query string: epoch ms, an ISO-8601 date-time with an offset or Z, or a date (00:00Z). */
function parseInstant(value: string): number | undefined {
  if (/^\d{1,15}$/.test(value)) return Number(value);
  // A "+" that was not percent-encoded arrives as a space ("…T09:00:00 01:00"): take it back.
  const repaired = value.replace(/ (\d{2}:\d{2})$/, '+$1');
  return parseDateTime(repaired) ?? parseDate(repaired);
}

const instant = (name: string) =>
  instantParam(name, parseInstant, 'epoch milliseconds, an ISO-8601 date-time with an offset or Z, or a date');

const limit = pageLimitParam(MAX_ACTIVITY_PAGE);

/** The query string of GET /users/me/activity, before defaults (which depend on the clock and the retention). */
export const activityQuerySchema = z.object({
  from: instant('from').optional(),
  to: instant('to').optional(),
  limit: limit.optional(),
  nextToken: z.string().min(1).max(2048, { error: 'nextToken is not valid' }).optional(),
});
export type ActivityQuery = z.output<typeof activityQuerySchema>;

/**
 * The window a query reads: `to` defaults to now, `from` to the oldest entry still kept (now − retention). Both
 * bounds are checked as given: `from` before `to`, at most MAX_ACTIVITY_WINDOW_DAYS apart. Entries older than the
 * retention are never returned, even while DynamoDB's TTL (which deletes within days, not at once) still holds them.
 * Returns a message for the caller when the bounds are wrong.
 */
export function activityWindow(
  query: Pick<ActivityQuery, 'from' | 'to'>,
  now: number,
  retentionDays: number,
): { ok: true; window: ActivityWindow } | { ok: false; message: string } {
  const to = query.to ?? now + 1;
  const oldestKept = now - retentionDays * DAY_MS;
  const from = query.from ?? Math.min(oldestKept, to - 1);
  if (from >= to) return { ok: false, message: 'to: to must be after from' };
  if (to - from > MAX_ACTIVITY_WINDOW_DAYS * DAY_MS) {
    return {
      ok: false,
      message: `to: a window may span at most ${MAX_ACTIVITY_WINDOW_DAYS} days; page through longer periods window by window`,
    };
  }
  return { ok: true, window: { from: Math.max(from, oldestKept), to } };
}

const bound = z.number().int().nullable();
const tokenSchema = z.strictObject({
  v: z.literal(1),
  u: z.string(),
  q: z.tuple([bound, bound]),
  w: z.tuple([z.number().int(), z.number().int()]),
  after: z.string().min(1).max(2048),
});

/** What a page token continues: the query's own bounds (as given), the window they meant then, and where. */
export interface ActivityCursor {
  query: Pick<ActivityQuery, 'from' | 'to'>;
  window: ActivityWindow;
  afterItemId: string;
}

/** A page token for `userId` (a token of another user or query is refused when it comes back). */
export function encodeActivityToken(userId: string, cursor: ActivityCursor): string {
  return encodePageToken({
    v: 1,
    u: userId,
    q: [cursor.query.from ?? null, cursor.query.to ?? null],
    w: [cursor.window.from, cursor.window.to],
    after: cursor.afterItemId,
  });
}

/**
 * The cursor of a token made for `userId`; throws InvalidPageTokenError for anything else, and for a token whose
 * position lies outside its window (a hand edit).
 */
export function decodeActivityToken(token: string, userId: string): ActivityCursor {
  const decoded = decodePageToken(tokenSchema, token);
  if (decoded.u !== userId) throw new InvalidPageTokenError('made for another user');
  const window = { from: decoded.w[0], to: decoded.w[1] };
  const range = itemIdRange(window);
  if (decoded.after < range.lowest || decoded.after > range.highest) throw new InvalidPageTokenError('out of range');
  const [from, to] = decoded.q;
  return {
    query: { ...(from === null ? {} : { from }), ...(to === null ? {} : { to }) },
    window,
    afterItemId: decoded.after,
  };
}
