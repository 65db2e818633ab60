import { z } from 'zod';
import { decodePageToken, encodePageToken, InvalidPageTokenError } from '../lib/page-token';
import { instantParam, pageLimitParam } from './query-params';

/**
 * Calendar events: the rules every write obeys and the shapes clients share (the zod schemas below are exported for
 * browser and Node clients, so a form can be checked with exactly the rules the API applies).
 *
 * Times. A timed event's `start` and `end` are ISO-8601 date-times with an offset or `Z`
 * ("2026-12-01T10:00:00+01:00", "2026-12-01T09:00Z"); they are stored and returned in UTC
 * ("2026-12-01T09:00:00Z"; milliseconds only when not zero). An all-day event (`allDay: true`) takes dates
 * ("2026-12-01") and, as in iCalendar (DTEND of a VALUE=DATE event), its `end` is EXCLUSIVE: a one-day event on
 * 1 December is start "2026-12-01", end "2026-12-02". Timed events may last zero minutes (end = start, a reminder);
 * all-day events last at least one day. No event lasts longer than MAX_EVENT_DAYS, which also bounds how far back a
 * range query must look for events that began before its window.
 *
 * Every event also carries `startsAt` and `endsAt`: the same instants as fixed-width UTC strings
 * ("2026-12-01T09:00:00.000Z"; an all-day event's dates at 00:00Z), so that string order is time order. `startsAt`
 * is the sort key of the itemsByStart index the range queries use.
 */

export const MAX_TITLE_LENGTH = 200;
export const MAX_DESCRIPTION_LENGTH = 4000;
export const MAX_LOCATION_LENGTH = 500;
/** Longest event, in days (a leap year). */
export const MAX_EVENT_DAYS = 366;
/** Widest window of one range query (?from&to), in days. */
export const MAX_RANGE_DAYS = 366;
/** Events per page: default and maximum of ?limit. */
export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 100;

const DAY_MS = 24 * 60 * 60 * 1000;
export const MAX_EVENT_DURATION_MS = MAX_EVENT_DAYS * DAY_MS;
export const MAX_RANGE_MS = MAX_RANGE_DAYS * DAY_MS;

/** Rows of a calendar's shares (itemId = the viewer's user id). `$`: never fanned out, never readable by clients. */
export const CALENDAR_SHARES_KEY_PREFIX = '$calendar-shares:';

export function calendarSharesKey(ownerId: string): string {
  return `${CALENDAR_SHARES_KEY_PREFIX}${ownerId}`;
}

// ---------------------------------------------------------------- Instants

/** Earliest and latest instants we store: four-digit years keep the fixed-width strings sortable. */
const MIN_INSTANT_MS = Date.parse('0001-01-01T00:00:00.000Z');
const MAX_INSTANT_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** The fixed-width UTC form of an instant ("2026-12-01T09:00:00.000Z"): string order is time order. */
export function sortableInstant(ms: number): string {
  return new Date(Math.min(Math.max(ms, MIN_INSTANT_MS), MAX_INSTANT_MS)).toISOString();
}

/** The UTC form returned to clients: like sortableInstant, without ".000". */
export function displayInstant(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

// Seconds optional ("09:00Z" is valid ISO-8601); an offset or Z required, since "09:00" alone names no instant.
const isoDateTime = z.union([z.iso.datetime({ offset: true }), z.iso.datetime({ offset: true, precision: -1 })]);
const isoDate = z.iso.date();

/** Epoch ms of an ISO-8601 date-time with an offset or Z; undefined when it is not one (or out of range). */
export function parseDateTime(value: string): number | undefined {
  if (!isoDateTime.safeParse(value).success) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) && ms >= MIN_INSTANT_MS && ms <= MAX_INSTANT_MS ? ms : undefined;
}

/** Epoch ms of 00:00Z on an ISO-8601 calendar date ("2026-12-01"); undefined when it is not a real date. */
export function parseDate(value: string): number | undefined {
  if (!isoDate.safeParse(value).success) return undefined;
  const ms = Date.parse(`${value}T00:00:00.000Z`);
  return Number.isFinite(ms) ? ms : undefined;
}

// ---------------------------------------------------------------- Time zones

// Offsets ("+01:00") are refused on purpose even where the runtime's Intl accepts them (Node 22+): an IANA name
// follows daylight saving time, an offset does not.
const TIME_ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/;
let canonicalZones: Map<string, string> | undefined;

/** The IANA time zone name as the runtime spells it ("europe/paris" → "Europe/Paris"); undefined when unknown. */
export function timeZoneName(value: string): string | undefined {
  if (!TIME_ZONE_NAME.test(value)) return undefined;
  try {
    // Throws RangeError for names the runtime's tz database does not know.
    new Intl.DateTimeFormat('en-US', { timeZone: value });
  } catch {
    return undefined;
  }
  // supportedValuesOf lists canonical names only ("UTC" and links like "US/Eastern" are valid but absent), so it
  // fixes the spelling when it can and the name is kept as given otherwise.
  canonicalZones ??= new Map(Intl.supportedValuesOf('timeZone').map((zone) => [zone.toLowerCase(), zone]));
  return canonicalZones.get(value.toLowerCase()) ?? (value.toLowerCase() === 'utc' ? 'UTC' : value);
}

// ---------------------------------------------------------------- Schemas shared with clients

const title = z
  .string()
  .trim()
  .min(1, { error: 'title must not be empty' })
  .max(MAX_TITLE_LENGTH, { error: `title must be at most ${MAX_TITLE_LENGTH} characters` });
const description = z
  .string()
  .max(MAX_DESCRIPTION_LENGTH, { error: `description must be at most ${MAX_DESCRIPTION_LENGTH} characters` });
const location = z
  .string()
  .max(MAX_LOCATION_LENGTH, { error: `location must be at most ${MAX_LOCATION_LENGTH} characters` });
// Checked in detail with allDay (see normaliseTimes); the bound only keeps absurd strings out of the messages.
const when = z.string().max(64, { error: 'must be an ISO-8601 date or date-time' });
const timeZone = z
  .string()
  .max(64, { error: 'timeZone must be an IANA time zone name like Europe/Paris' })
  .transform((value, ctx) => {
    const name = timeZoneName(value);
    if (name !== undefined) return name;
    ctx.addIssue({
      code: 'custom',
      message: `timeZone ${JSON.stringify(value)} is not an IANA time zone name like Europe/Paris or UTC`,
    });
    return z.NEVER;
  });

/** An event's expected version, for optimistic concurrency (the `version` of the event the client last read). */
export const EventVersion = z
  .number({ error: 'version must be a positive integer' })
  .int({ error: 'version must be a positive integer' })
  .min(1, { error: 'version must be a positive integer' })
  .max(Number.MAX_SAFE_INTEGER, { error: 'version must be a positive integer' });

/** The fields of an event a client writes, validated and normalised. */
export interface CalendarEventFields {
  title: string;
  /** UTC date-time ("2026-12-01T09:00:00Z") or, for all-day events, a date ("2026-12-01"). */
  start: string;
  /** Same form as start; exclusive for all-day events. */
  end: string;
  allDay: boolean;
  timeZone?: string;
  description?: string;
  location?: string;
}

const inputShape = {
  title,
  start: when,
  end: when,
  allDay: z.boolean({ error: 'allDay must be true or false' }).default(false),
  timeZone: timeZone.optional(),
  description: description.optional(),
  location: location.optional(),
};

type RawFields = {
  title: string;
  start: string;
  end: string;
  allDay: boolean;
  timeZone?: string | undefined;
  description?: string | undefined;
  location?: string | undefined;
};

/** Checks start/end against allDay and each other, and returns the fields in their stored form. */
function normalise(raw: RawFields, ctx: z.RefinementCtx): CalendarEventFields {
  const problem = (path: string, message: string) => {
    ctx.addIssue({ code: 'custom', path: [path], message });
    return z.NEVER;
  };
  let start: string;
  let end: string;
  if (raw.allDay) {
    const startMs = parseDate(raw.start);
    const endMs = parseDate(raw.end);
    const form = 'a date like 2026-12-01 (all-day events take dates, no time)';
    if (startMs === undefined) return problem('start', `start must be ${form}`);
    if (endMs === undefined) return problem('end', `end must be ${form}`);
    if (endMs <= startMs) {
      return problem(
        'end',
        'end must be after start: the end of an all-day event is exclusive (one day: end = start + 1)',
      );
    }
    if (endMs - startMs > MAX_EVENT_DURATION_MS) {
      return problem('end', `an event may last at most ${MAX_EVENT_DAYS} days`);
    }
    start = raw.start;
    end = raw.end;
  } else {
    const startMs = parseDateTime(raw.start);
    const endMs = parseDateTime(raw.end);
    const form = 'an ISO-8601 date-time with an offset or Z, like 2026-12-01T09:00:00Z (or allDay: true with dates)';
    if (startMs === undefined) return problem('start', `start must be ${form}`);
    if (endMs === undefined) return problem('end', `end must be ${form}`);
    if (endMs < startMs) return problem('end', 'end must not be before start');
    if (endMs - startMs > MAX_EVENT_DURATION_MS) {
      return problem('end', `an event may last at most ${MAX_EVENT_DAYS} days`);
    }
    start = displayInstant(startMs);
    end = displayInstant(endMs);
  }
  return {
    title: raw.title,
    start,
    end,
    allDay: raw.allDay,
    ...(raw.timeZone === undefined ? {} : { timeZone: raw.timeZone }),
    ...(raw.description === undefined ? {} : { description: raw.description }),
    ...(raw.location === undefined ? {} : { location: raw.location }),
  };
}

/**
 * The body of POST /calendars/{userId}/events. Unknown fields are refused (a misspelt "titel" must not be dropped
 * silently). Output: the normalised fields.
 */
export const CalendarEventInput = z.strictObject(inputShape).transform(normalise);
export type CalendarEventInput = z.input<typeof CalendarEventInput>;

/** The body of PUT …/events/{eventId}: a whole event, plus the expected `version` unless If-Match carries it. */
export const CalendarEventReplacement = z
  .strictObject({ ...inputShape, version: EventVersion.optional() })
  .transform(({ version, ...raw }, ctx) => ({ fields: normalise(raw, ctx), version }));
export type CalendarEventReplacement = z.input<typeof CalendarEventReplacement>;

/**
 * The body of PATCH …/events/{eventId}: the fields to change (null removes timeZone, description or location), plus
 * the expected `version` unless If-Match carries it. The merged event is checked again (see applyPatch).
 */
export const CalendarEventPatch = z
  .strictObject({
    title: title.optional(),
    start: when.optional(),
    end: when.optional(),
    allDay: z.boolean({ error: 'allDay must be true or false' }).optional(),
    timeZone: timeZone.nullable().optional(),
    description: description.nullable().optional(),
    location: location.nullable().optional(),
    version: EventVersion.optional(),
  })
  .refine((patch) => Object.keys(patch).some((name) => name !== 'version'), {
    error: 'the patch changes nothing: name at least one of title, start, end, allDay, timeZone, description, location',
  });
export type CalendarEventPatch = z.input<typeof CalendarEventPatch>;

/**
 * The current fields with a patch applied (null removes a field), not yet validated: check the result with
 * CalendarEventInput, since a patch valid on its own may break the whole (an end before the current start).
 */
export function mergePatch(
  current: CalendarEventFields,
  patch: z.output<typeof CalendarEventPatch>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...current };
  for (const [name, value] of Object.entries(patch)) {
    if (name === 'version' || value === undefined) continue;
    if (value === null) delete merged[name];
    else merged[name] = value;
  }
  return merged;
}

/** An event as the API returns it (REST bodies) and as `item` frames carry it (with a few storage fields more). */
export const CalendarEvent = z.object({
  eventId: z.string(),
  ownerId: z.string(),
  title: z.string(),
  start: z.string(),
  end: z.string(),
  allDay: z.boolean(),
  timeZone: z.string().optional(),
  description: z.string().optional(),
  location: z.string().optional(),
  /** 1 on creation, +1 on every change: send it back (If-Match or "version") to change or delete the event. */
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  createdBy: z.string(),
  updatedBy: z.string(),
});
export type CalendarEvent = z.output<typeof CalendarEvent>;

/** An event as stored: the API's shape plus the sortable instants the range queries use. */
export const StoredCalendarEvent = CalendarEvent.extend({ startsAt: z.string(), endsAt: z.string() });
export type StoredCalendarEvent = z.output<typeof StoredCalendarEvent>;

/** The body of GET /calendars/{userId}/events. */
export const CalendarEventPage = z.object({ events: z.array(CalendarEvent), nextToken: z.string().optional() });
export type CalendarEventPage = z.output<typeof CalendarEventPage>;

/** One share of a calendar (GET /calendars/{userId}/shares, PUT …/shares/{otherUserId}). */
export const CalendarShare = z.object({ userId: z.string(), access: z.literal('read'), sharedAt: z.string() });
export type CalendarShare = z.output<typeof CalendarShare>;

/** The optional body of PUT …/shares/{otherUserId}: read access is the only kind there is. */
export const CalendarShareInput = z.strictObject({ access: z.literal('read').optional() });

// ---------------------------------------------------------------- Events

/** The sortable instants of an event's start and end (all-day dates at 00:00Z). */
export function instantsOf(fields: Pick<CalendarEventFields, 'start' | 'end' | 'allDay'>): {
  startsAt: string;
  endsAt: string;
} {
  const ms = (value: string) => (fields.allDay ? parseDate(value) : parseDateTime(value)) ?? Number.NaN;
  return { startsAt: sortableInstant(ms(fields.start)), endsAt: sortableInstant(ms(fields.end)) };
}

/** A new event (version 1) from validated fields. */
export function newCalendarEvent(options: {
  eventId: string;
  ownerId: string;
  fields: CalendarEventFields;
  by: string;
  at: Date;
}): StoredCalendarEvent {
  const at = options.at.toISOString();
  return {
    eventId: options.eventId,
    ownerId: options.ownerId,
    ...options.fields,
    ...instantsOf(options.fields),
    version: 1,
    createdAt: at,
    updatedAt: at,
    createdBy: options.by,
    updatedBy: options.by,
  };
}

/** What a replacement of an event writes: its new fields and instants, the next version and who changed it. */
export interface CalendarEventRevision extends CalendarEventFields {
  startsAt: string;
  endsAt: string;
  version: number;
  updatedAt: string;
  updatedBy: string;
}

/** The revision that replaces version `expectedVersion` of an event with `fields`. */
export function eventRevision(
  fields: CalendarEventFields,
  expectedVersion: number,
  by: string,
  at: Date,
): CalendarEventRevision {
  return { ...fields, ...instantsOf(fields), version: expectedVersion + 1, updatedAt: at.toISOString(), updatedBy: by };
}

/** The API's view of a stored event (storage-only attributes left out). */
export function publicEvent(event: StoredCalendarEvent): CalendarEvent {
  return CalendarEvent.parse(event);
}

/** The fields a client wrote, from a stored event. */
export function fieldsOf(event: StoredCalendarEvent): CalendarEventFields {
  return {
    title: event.title,
    start: event.start,
    end: event.end,
    allDay: event.allDay,
    ...(event.timeZone === undefined ? {} : { timeZone: event.timeZone }),
    ...(event.description === undefined ? {} : { description: event.description }),
    ...(event.location === undefined ? {} : { location: event.location }),
  };
}

// Event ids are ULIDs: 48 bits of time and 80 random bits in Crockford base32, so ids made in parallel on any number
// of Lambda instances cannot collide the way the seed's "max + 1" did.
const EVENT_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export function isEventId(value: string): boolean {
  return EVENT_ID.test(value);
}

// ---------------------------------------------------------------- Range queries

/** A query window [from, to) as sortable instants. */
export interface TimeWindow {
  from: string;
  to: string;
}

/**
 * Whether an event overlaps the window [from, to). Events are half-open intervals [startsAt, endsAt) too, so one
 * ending exactly at `from` is not in it; an event of zero length is the instant startsAt, in it when from ≤ startsAt
 * < to.
 */
export function overlaps(event: { startsAt: string; endsAt: string }, window: TimeWindow): boolean {
  if (event.startsAt === event.endsAt) return event.startsAt >= window.from && event.startsAt < window.to;
  return event.startsAt < window.to && event.endsAt > window.from;
}

/**
 * The startsAt range a Query must read for a window: every event that starts before `to` and not so long before
 * `from` that it must have ended — no event lasts longer than MAX_EVENT_DAYS. The bounds are inclusive (BETWEEN).
 */
export function startsAtBounds(window: TimeWindow): { lowest: string; highest: string } {
  return {
    lowest: sortableInstant(Date.parse(window.from) - MAX_EVENT_DURATION_MS),
    highest: sortableInstant(Date.parse(window.to) - 1),
  };
}

/** One bound of a range query: a date-time with an offset or Z, or a date (meaning 00:00Z). */
function parseBound(value: string): number | undefined {
  // A "+" in a query string that was not percent-encoded arrives as a space ("…T09:00:00 01:00"): take it back.
  const repaired = value.replace(/ (\d{2}:\d{2})$/, '+$1');
  return parseDateTime(repaired) ?? parseDate(repaired);
}

const pageLimit = pageLimitParam(MAX_PAGE_LIMIT);
const pageToken = z.string().max(2048, { error: 'nextToken is not valid for this query' });

const bound = (name: string) =>
  instantParam(
    name,
    parseBound,
    'an ISO-8601 date-time with an offset or Z (2026-12-01T00:00:00Z) or a date (2026-12-01)',
  );

/**
 * The query string of GET /calendars/{userId}/events: `from` and `to` together (a window of at most MAX_RANGE_DAYS,
 * `to` after `from`) or neither (every event, by start); `limit` 1–100; `nextToken` from the previous page. Other
 * parameters are ignored (cache busters).
 */
export const CalendarEventQuery = z
  .object({
    from: bound('from').optional(),
    to: bound('to').optional(),
    limit: pageLimit.optional(),
    nextToken: pageToken.optional(),
  })
  .transform((query, ctx) => {
    const { from, to } = query;
    const limit = query.limit ?? DEFAULT_PAGE_LIMIT;
    const page = { limit, ...(query.nextToken === undefined ? {} : { nextToken: query.nextToken }) };
    if (from === undefined && to === undefined) return { ...page, window: undefined };
    if (from === undefined || to === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'from and to go together: give both (a window) or neither (all events)',
      });
      return z.NEVER;
    }
    if (to <= from) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'to must be after from' });
      return z.NEVER;
    }
    if (to - from > MAX_RANGE_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['to'],
        message: `a window may span at most ${MAX_RANGE_DAYS} days; page through longer periods window by window`,
      });
      return z.NEVER;
    }
    const window: TimeWindow = { from: sortableInstant(from), to: sortableInstant(to) };
    return { ...page, window };
  });
export type CalendarEventQuery = z.output<typeof CalendarEventQuery>;

/** The query string of GET /calendars/{userId}/shares: `limit` 1–100, `nextToken`. */
export const CalendarShareQuery = z
  .object({ limit: pageLimit.optional(), nextToken: pageToken.optional() })
  .transform(({ limit, nextToken }) => ({
    limit: limit ?? DEFAULT_PAGE_LIMIT,
    ...(nextToken === undefined ? {} : { nextToken }),
  }));

// ---------------------------------------------------------------- Page tokens

/**
 * A page token: {"v":1,"q":<the query it continues>,"p":<position>}. The position is the index key of the last
 * item returned (startsAt and itemId, or itemId alone). Tying it to the query means a token from another calendar,
 * another window or a hand edit is refused rather than starting a page somewhere unexpected.
 */
export function encodeCalendarPageToken(query: string, position: Record<string, string>): string {
  return encodePageToken({ v: 1, q: query, p: position });
}

const positionValue = z.string().min(1).max(1024);

/** The position a token continues after, or undefined when the token is not one made for `query`. */
export function decodeCalendarPageToken(
  token: string,
  query: string,
  fields: readonly string[],
): Record<string, string> | undefined {
  const schema = z.strictObject({
    v: z.literal(1),
    q: z.literal(query),
    p: z.strictObject(Object.fromEntries(fields.map((name) => [name, positionValue]))),
  });
  try {
    return decodePageToken(schema, token).p as Record<string, string>;
  } catch (error) {
    if (error instanceof InvalidPageTokenError) return undefined;
    throw error;
  }
}
