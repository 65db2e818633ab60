import { calendarKey, userIdProblem } from '@real-time-platform/protocol';
import { ulid } from 'ulid';
import type { CalendarEventStore, CalendarShareStore, WriteOutcome } from '../../adapters/calendar-store';
import type { HolidayCalendar } from '../../adapters/holidays';
import {
  CalendarEventInput,
  CalendarEventPatch,
  CalendarEventQuery,
  CalendarEventReplacement,
  CalendarShareInput,
  CalendarShareQuery,
  decodeCalendarPageToken,
  EventVersion,
  encodeCalendarPageToken,
  eventRevision,
  fieldsOf,
  isEventId,
  mergePatch,
  newCalendarEvent,
  publicEvent,
  type StoredCalendarEvent,
  startsAtBounds,
} from '../../domain/calendar';
import { canReadCalendar } from '../../domain/calendar-access';
import {
  type Holiday,
  type HolidayPlace,
  holidayOverlaps,
  holidayQuerySchema,
  holidayStartsAt,
  mergeByStart,
  parseHolidayPlace,
  yearsOf,
} from '../../domain/holidays';
import type { Caller } from '../../domain/identity';
import type { Log } from '../../lib/logging';
import {
  createHttpRouter,
  HttpError,
  type HttpEvent,
  type HttpResult,
  json,
  noContent,
  parseBody,
  pathParameter,
  type Route,
  requireCaller,
  validate,
} from './http';
import { endSubscriptionsOf, type RevocationConnections } from './revoke-subscriptions';

/**
 * The calendar HTTP API (payload format 2.0, caller from the JWT authorizer). Only the owner ({userId} = the caller)
 * writes; the owner and the users the owner shared the calendar with read. Every write to an event is a write of its
 * item under `calendar:<userId>`, which the stream fan-out pushes live (INSERT / MODIFY / REMOVE).
 *
 * POST   /calendars/{userId}/events             body CalendarEventInput → 201 the event (version 1), ETag, Location
 * GET    /calendars/{userId}/events?from&to&limit&nextToken[&holidays=NZ|NZ-AUK]
 *                                               → 200 {"events":[…],"nextToken"?} by start time; with from and to
 *                                                 only the events overlapping [from, to); with holidays (needs from
 *                                                 and to) that country's (region's) public holidays in the window
 *                                                 merged in by start, each {"holiday":true,…}, on the page whose
 *                                                 events surround them (they do not count toward limit)
 * GET    /calendars/{userId}/events/{eventId}   → 200 the event, ETag
 * PUT    /calendars/{userId}/events/{eventId}   body: a whole event (+ "version") → 200 the event (version + 1)
 * PATCH  /calendars/{userId}/events/{eventId}   body: the fields to change (+ "version") → 200 the event
 * DELETE /calendars/{userId}/events/{eventId}   → 204 (If-Match optional)
 * GET    /calendars/{userId}/shares             → 200 {"shares":[{"userId","access":"read","sharedAt"}],"nextToken"?}
 * PUT    /calendars/{userId}/shares/{otherUserId} → 201 the share (200 when it existed: idempotent)
 * DELETE /calendars/{userId}/shares/{otherUserId} → 204; the user's live subscriptions to the calendar end too
 * GET    /holidays?country=NZ[&region=AUK]&year=2026 → 200 {"country","region"?,"year","holidays":[…]} (no caller
 *                                                 needed: public data); 400 for an unknown country or region (the
 *                                                 message says where valid codes are listed) or a year outside
 *                                                 1970–2100
 * GET    /holidays/countries                    → 200 {"countries":[{"code","name","regions"?:[{"code","name"}]}]}
 *
 * Optimistic concurrency: PUT and PATCH need the version the client last read, as `If-Match: "3"` (or 3) or
 * `"version": 3` in the body: none → 428 PRECONDITION_REQUIRED; another version stored → 409 CONFLICT with
 * details.currentVersion (and details.current, the stored event); so of two concurrent edits of one version exactly
 * one wins. DELETE honours If-Match when given and deletes whatever is stored otherwise (deleting is what the user
 * wants even if the event just moved).
 *
 * Errors: 400 BAD_REQUEST / INVALID_JSON (the first problem in message, all in details.issues), 401 UNAUTHORIZED (no
 * signed-in caller), 403 FORBIDDEN (a write to another user's calendar, a read of one not shared with the caller),
 * 404 NOT_FOUND, 409 CONFLICT, 413 PAYLOAD_TOO_LARGE, 428 PRECONDITION_REQUIRED, 503 SERVICE_UNAVAILABLE
 * (throttling; Retry-After), 500 INTERNAL_ERROR. Nothing is written unless the whole request is valid.
 */

export interface CalendarApiDeps {
  events: CalendarEventStore;
  shares: CalendarShareStore;
  /** To end a viewer's live subscriptions when a share is taken back. */
  connections: RevocationConnections;
  logger: Log;
  now?: () => Date;
  /** Makes event ids (tests pass a fixed sequence). */
  newEventId?: () => string;
  /** Public holidays (GET /holidays, ?holidays= on listings). */
  holidays: HolidayCalendar;
}

/** Attempts to store a new event under a fresh id: a ULID collision is all but impossible, a second one more so. */
const CREATE_ATTEMPTS = 3;

/** Builds the calendar API handler (see the table above). Never throws. */
export function createCalendarApiHandler(deps: CalendarApiDeps): Route {
  const now = deps.now ?? (() => new Date());
  const newEventId = deps.newEventId ?? (() => ulid());

  /** The calendar's owner ({userId}), after checking the caller may read it. */
  async function readableCalendar(event: HttpEvent): Promise<{ caller: Caller; ownerId: string }> {
    const caller = requireCaller(event);
    const ownerId = ownerOf(event);
    const decision = await canReadCalendar(deps.shares, caller, ownerId);
    if (!decision.allowed)
      throw new HttpError(decision.code === 'UNAUTHORIZED' ? 401 : 403, decision.code, decision.message);
    return { caller, ownerId };
  }

  /** The calendar's owner ({userId}), after checking the caller is that owner. */
  function ownCalendar(event: HttpEvent): { caller: Caller; ownerId: string } {
    const caller = requireCaller(event);
    const ownerId = ownerOf(event);
    if (caller.userId !== ownerId) {
      throw new HttpError(403, 'FORBIDDEN', "only a calendar's owner may change it or its shares");
    }
    return { caller, ownerId };
  }

  async function createEvent(event: HttpEvent): Promise<HttpResult> {
    const { caller, ownerId } = ownCalendar(event);
    const fields = parseBody(event, CalendarEventInput);
    for (let attempt = 1; attempt <= CREATE_ATTEMPTS; attempt++) {
      const stored = newCalendarEvent({ eventId: newEventId(), ownerId, fields, by: caller.userId, at: now() });
      if (await deps.events.create(stored)) {
        deps.logger.info('calendar event created', { ownerId, eventId: stored.eventId });
        return eventResult(201, stored, {
          location: `/calendars/${encodeURIComponent(ownerId)}/events/${stored.eventId}`,
        });
      }
      deps.logger.warn('calendar event id collided; trying another', { ownerId, eventId: stored.eventId, attempt });
    }
    throw new Error(`no free event id after ${CREATE_ATTEMPTS} attempts`);
  }

  /** The place of `?holidays=`, checked; 400 for a bad or unknown one. */
  async function holidayPlace(value: string): Promise<HolidayPlace> {
    const place = parseHolidayPlace(value);
    if (place === undefined) {
      throw new HttpError(400, 'BAD_REQUEST', 'holidays must be a country code (NZ) or a country and region (NZ-AUK)');
    }
    const problem = await deps.holidays.problem(place);
    if (problem !== undefined) throw new HttpError(400, 'BAD_REQUEST', `holidays: ${problem.message}`, problem.details);
    return place;
  }

  async function listEvents(event: HttpEvent): Promise<HttpResult> {
    const { ownerId } = await readableCalendar(event);
    const query = validate(CalendarEventQuery, event.queryStringParameters ?? {}, 'query');
    const holidaysParam = event.queryStringParameters?.holidays;
    const place = holidaysParam === undefined ? undefined : await holidayPlace(holidaysParam);
    if (place !== undefined && query.window === undefined) {
      throw new HttpError(400, 'BAD_REQUEST', 'holidays needs a window: give from and to as well');
    }
    const scope = `events|${calendarKey(ownerId)}|${query.window?.from ?? ''}|${query.window?.to ?? ''}${
      holidaysParam === undefined ? '' : `|${holidaysParam}`
    }`;
    let after: { startsAt: string; itemId: string } | undefined;
    if (query.nextToken !== undefined) {
      const position = decodeCalendarPageToken(query.nextToken, scope, ['startsAt', 'itemId']);
      if (position === undefined || !isEventId(position.itemId ?? '') || !inQuery(position.startsAt ?? '', query)) {
        throw badToken();
      }
      after = { startsAt: position.startsAt as string, itemId: position.itemId as string };
    }
    const page = await deps.events.list(ownerId, {
      limit: query.limit,
      ...(query.window === undefined ? {} : { window: query.window }),
      ...(after === undefined ? {} : { after }),
    });
    const events = page.events.map((stored) => ({ startsAt: stored.startsAt, value: publicEvent(stored) }));
    let merged: unknown[] = events.map((e) => e.value);
    if (place !== undefined && query.window !== undefined) {
      // Each holiday goes on exactly one page: after the previous page's last start, up to this page's last start
      // (or to the end of the window on the last page). So pages neither repeat nor skip one.
      const window = query.window;
      const inWindow: Holiday[] = [];
      for (const year of yearsOf(window)) {
        for (const holiday of await deps.holidays.holidays(place, year)) {
          if (holidayOverlaps(holiday, window)) inWindow.push(holiday);
        }
      }
      const onPage = inWindow.filter(
        (holiday) =>
          (after === undefined || holidayStartsAt(holiday) > after.startsAt) &&
          (page.after === undefined || holidayStartsAt(holiday) <= page.after.startsAt),
      );
      merged = mergeByStart(events, onPage);
    }
    return json(200, {
      events: merged,
      ...(page.after === undefined
        ? {}
        : { nextToken: encodeCalendarPageToken(scope, { startsAt: page.after.startsAt, itemId: page.after.itemId }) }),
    });
  }

  async function getEvent(event: HttpEvent): Promise<HttpResult> {
    const { ownerId } = await readableCalendar(event);
    const eventId = eventIdOf(event);
    const stored = await deps.events.get(ownerId, eventId);
    if (stored === undefined) throw notFound(eventId);
    return eventResult(200, stored);
  }

  async function replaceEvent(event: HttpEvent): Promise<HttpResult> {
    const { caller, ownerId } = ownCalendar(event);
    const eventId = eventIdOf(event);
    const { fields, version } = parseBody(event, CalendarEventReplacement);
    const expected = requiredVersion(event, version);
    return writeResult(
      eventId,
      await deps.events.replace(ownerId, eventId, eventRevision(fields, expected, caller.userId, now()), expected),
    );
  }

  async function patchEvent(event: HttpEvent): Promise<HttpResult> {
    const { caller, ownerId } = ownCalendar(event);
    const eventId = eventIdOf(event);
    const patch = parseBody(event, CalendarEventPatch);
    const expected = requiredVersion(event, patch.version);
    const current = await deps.events.get(ownerId, eventId);
    if (current === undefined) throw notFound(eventId);
    // A stale version fails here already; the conditional write below still guards the race with a concurrent edit.
    if (current.version !== expected) return writeResult(eventId, { status: 'conflict', current });
    const fields = validate(CalendarEventInput, mergePatch(fieldsOf(current), patch), 'body');
    return writeResult(
      eventId,
      await deps.events.replace(ownerId, eventId, eventRevision(fields, expected, caller.userId, now()), expected),
    );
  }

  async function deleteEvent(event: HttpEvent): Promise<HttpResult> {
    const { ownerId } = ownCalendar(event);
    const eventId = eventIdOf(event);
    const expected = expectedVersion(event, undefined);
    const outcome = await deps.events.remove(ownerId, eventId, expected);
    if (outcome.status === 'written') deps.logger.info('calendar event deleted', { ownerId, eventId });
    return outcome.status === 'written' ? noContent() : writeResult(eventId, outcome);
  }

  async function listHolidays(event: HttpEvent): Promise<HttpResult> {
    const query = validate(holidayQuerySchema, event.queryStringParameters ?? {}, 'query');
    const place: HolidayPlace = {
      country: query.country,
      ...(query.region === undefined ? {} : { region: query.region }),
    };
    const problem = await deps.holidays.problem(place);
    if (problem !== undefined) throw new HttpError(400, 'BAD_REQUEST', problem.message, problem.details);
    return json(200, { ...place, year: query.year, holidays: await deps.holidays.holidays(place, query.year) });
  }

  async function listHolidayCountries(): Promise<HttpResult> {
    return json(200, { countries: await deps.holidays.countries() });
  }

  async function listShares(event: HttpEvent): Promise<HttpResult> {
    const { ownerId } = ownCalendar(event);
    const query = validate(CalendarShareQuery, event.queryStringParameters ?? {}, 'query');
    const scope = `shares|${calendarKey(ownerId)}`;
    let after: string | undefined;
    if (query.nextToken !== undefined) {
      const position = decodeCalendarPageToken(query.nextToken, scope, ['userId']);
      if (position?.userId === undefined || userIdProblem(position.userId) !== undefined) throw badToken();
      after = position.userId;
    }
    const page = await deps.shares.list(ownerId, { limit: query.limit, ...(after === undefined ? {} : { after }) });
    return json(200, {
      shares: page.shares,
      ...(page.after === undefined ? {} : { nextToken: encodeCalendarPageToken(scope, { userId: page.after }) }),
    });
  }

  async function putShare(event: HttpEvent): Promise<HttpResult> {
    const { ownerId } = ownCalendar(event);
    const viewerId = viewerOf(event, ownerId);
    // The body is optional; when there is one it may only say {"access":"read"}.
    if (typeof event.body === 'string' && event.body.length > 0) parseBody(event, CalendarShareInput);
    const { share, created } = await deps.shares.share(ownerId, viewerId, now());
    if (created) deps.logger.info('calendar shared', { ownerId, viewerId });
    return json(created ? 201 : 200, share);
  }

  async function deleteShare(event: HttpEvent): Promise<HttpResult> {
    const { ownerId } = ownCalendar(event);
    const viewerId = viewerOf(event, ownerId);
    const existed = await deps.shares.unshare(ownerId, viewerId);
    // Even when no share existed: a previous DELETE may have failed after removing the share but before this step.
    // Subscriptions are checked only when made, so the viewer's live ones must go with the share. After the share
    // row is gone no new subscription can commit (each ConditionChecks the row), so looking now finds every one
    // that did (see endSubscriptionsOf for the index lag that remains).
    const connectionIds = await endSubscriptionsOf(deps.connections, viewerId, calendarKey(ownerId));
    deps.logger.info('calendar share removed', { ownerId, viewerId, existed, connections: connectionIds.length });
    if (!existed) {
      throw new HttpError(404, 'NOT_FOUND', `the calendar is not shared with ${JSON.stringify(viewerId)}`);
    }
    return noContent();
  }

  return createHttpRouter(
    'Calendar API',
    {
      'POST /calendars/{userId}/events': createEvent,
      'GET /calendars/{userId}/events': listEvents,
      'GET /calendars/{userId}/events/{eventId}': getEvent,
      'PUT /calendars/{userId}/events/{eventId}': replaceEvent,
      'PATCH /calendars/{userId}/events/{eventId}': patchEvent,
      'DELETE /calendars/{userId}/events/{eventId}': deleteEvent,
      'GET /calendars/{userId}/shares': listShares,
      'PUT /calendars/{userId}/shares/{otherUserId}': putShare,
      'DELETE /calendars/{userId}/shares/{otherUserId}': deleteShare,
      'GET /holidays': listHolidays,
      'GET /holidays/countries': listHolidayCountries,
    },
    deps.logger,
  );
}

function ownerOf(event: HttpEvent): string {
  const ownerId = pathParameter(event, 'userId');
  const problem = userIdProblem(ownerId);
  if (problem !== undefined) throw new HttpError(400, 'BAD_REQUEST', `invalid userId in the path: ${problem}`);
  return ownerId;
}

function viewerOf(event: HttpEvent, ownerId: string): string {
  const viewerId = pathParameter(event, 'otherUserId');
  const problem = userIdProblem(viewerId);
  if (problem !== undefined) throw new HttpError(400, 'BAD_REQUEST', `invalid otherUserId in the path: ${problem}`);
  if (viewerId === ownerId) throw new HttpError(400, 'BAD_REQUEST', 'a calendar cannot be shared with its owner');
  return viewerId;
}

function eventIdOf(event: HttpEvent): string {
  const eventId = pathParameter(event, 'eventId');
  // Ids are ULIDs; anything else names no event (and is never sent to DynamoDB).
  if (!isEventId(eventId)) throw notFound(eventId);
  return eventId;
}

function notFound(eventId: string): HttpError {
  return new HttpError(404, 'NOT_FOUND', `no event ${JSON.stringify(eventId.slice(0, 64))} in this calendar`);
}

function badToken(): HttpError {
  return new HttpError(400, 'BAD_REQUEST', 'nextToken is not valid for this query; pass back the one a page returned');
}

/** Whether a token's startsAt lies within the query's startsAt bounds (DynamoDB refuses a start key outside them). */
function inQuery(startsAt: string, query: CalendarEventQuery): boolean {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(startsAt)) return false;
  if (query.window === undefined) return true;
  const { lowest, highest } = startsAtBounds(query.window);
  return startsAt >= lowest && startsAt <= highest;
}

/** The version the client expects, from If-Match ("3", W/"3" or 3) or the body's "version"; both given must agree. */
function expectedVersion(event: HttpEvent, bodyVersion: number | undefined): number | undefined {
  const header = headerOf(event, 'if-match');
  let fromHeader: number | undefined;
  if (header !== undefined) {
    const match = /^\s*(?:W\/)?"?(\d{1,16})"?\s*$/.exec(header);
    const parsed = EventVersion.safeParse(match === null ? Number.NaN : Number(match[1]));
    if (!parsed.success) {
      throw new HttpError(400, 'BAD_REQUEST', 'If-Match must be the version of the event, e.g. If-Match: "3"');
    }
    fromHeader = parsed.data;
  }
  if (fromHeader !== undefined && bodyVersion !== undefined && fromHeader !== bodyVersion) {
    throw new HttpError(400, 'BAD_REQUEST', `If-Match says version ${fromHeader} but the body says ${bodyVersion}`);
  }
  return fromHeader ?? bodyVersion;
}

/** expectedVersion, which PUT and PATCH cannot do without: 428 when the client gave none. */
function requiredVersion(event: HttpEvent, bodyVersion: number | undefined): number {
  const expected = expectedVersion(event, bodyVersion);
  if (expected === undefined) {
    throw new HttpError(
      428,
      'PRECONDITION_REQUIRED',
      'say which version you are changing: If-Match: "<version>" or "version" in the body (the version you last read)',
    );
  }
  return expected;
}

function headerOf(event: HttpEvent, name: string): string | undefined {
  // API Gateway lowercases header names in payload 2.0; other sources may not.
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === name && typeof value === 'string') return value;
  }
  return undefined;
}

function eventResult(
  statusCode: number,
  stored: StoredCalendarEvent,
  headers: Record<string, string> = {},
): HttpResult {
  return json(statusCode, publicEvent(stored), { etag: `"${stored.version}"`, ...headers });
}

function writeResult(eventId: string, outcome: WriteOutcome): HttpResult {
  switch (outcome.status) {
    case 'written':
      return eventResult(200, outcome.event);
    case 'not-found':
      throw notFound(eventId);
    case 'conflict':
      throw new HttpError(
        409,
        'CONFLICT',
        `the event was changed since you read it: it is at version ${outcome.current.version}; read it again and retry`,
        { currentVersion: outcome.current.version, current: publicEvent(outcome.current) },
      );
  }
}
