import {
  CalendarEventInput,
  CalendarEventPatch,
  CalendarEventQuery,
  CalendarEventReplacement,
  decodeCalendarPageToken,
  encodeCalendarPageToken,
  eventRevision,
  instantsOf,
  mergePatch,
  newCalendarEvent,
  overlaps,
  publicEvent,
  startsAtBounds,
  timeZoneName,
} from '../../src/domain/calendar';
import { canReadCalendar } from '../../src/domain/calendar-access';

const standup = {
  title: 'Standup',
  start: '2026-12-01T09:00:00Z',
  end: '2026-12-01T09:15:00Z',
  allDay: false,
  timeZone: 'Europe/Paris',
  description: 'Daily',
  location: 'Room 1',
};

/** The first problem zod reports, as "path: message". */
function problemOf(schema: { safeParse(v: unknown): { success: boolean; error?: unknown } }, value: unknown): string {
  const result = schema.safeParse(value);
  if (result.success) return 'valid';
  const issue = (result.error as { issues: { path: PropertyKey[]; message: string }[] }).issues[0];
  return `${issue?.path.map(String).join('.')}: ${issue?.message}`;
}

describe('CalendarEventInput: timed events', () => {
  test('the PRODUCT.md body is valid and comes back in UTC', () => {
    expect(CalendarEventInput.parse(standup)).toEqual(standup);
  });

  test('offsets are normalised to UTC Z; minutes without seconds and milliseconds are accepted', () => {
    const parsed = CalendarEventInput.parse({
      title: '  Lunch  ',
      start: '2026-12-01T12:00+01:00',
      end: '2026-12-01T13:30:00.250+01:00',
    });
    expect(parsed).toEqual({
      title: 'Lunch',
      start: '2026-12-01T11:00:00Z',
      end: '2026-12-01T12:30:00.250Z',
      allDay: false,
    });
    expect(instantsOf(parsed)).toEqual({ startsAt: '2026-12-01T11:00:00.000Z', endsAt: '2026-12-01T12:30:00.250Z' });
  });

  test('any year works (the seed fixed dates to one year)', () => {
    expect(
      CalendarEventInput.parse({ ...standup, start: '2031-02-28T23:00:00Z', end: '2031-03-01T01:00:00Z' }).end,
    ).toBe('2031-03-01T01:00:00Z');
  });

  test('a zero-length event (a reminder) is allowed', () => {
    expect(problemOf(CalendarEventInput, { ...standup, end: standup.start })).toBe('valid');
  });

  test.each([
    ['end before start', { end: '2026-12-01T08:59:59Z' }, 'end: end must not be before start'],
    ['no offset', { start: '2026-12-01T09:00:00' }, 'start: start must be an ISO-8601 date-time'],
    ['not a date', { start: 'tomorrow' }, 'start: start must be an ISO-8601 date-time'],
    ['30 February', { start: '2026-02-30T09:00:00Z' }, 'start: start must be an ISO-8601 date-time'],
    ['29 February of a common year', { end: '2027-02-29T09:00:00Z' }, 'end: end must be an ISO-8601 date-time'],
    ['hour 24', { start: '2026-12-01T24:00:00Z' }, 'start: start must be an ISO-8601 date-time'],
    ['a date for a timed event', { start: '2026-12-01' }, 'start: start must be an ISO-8601 date-time'],
    ['longer than 366 days', { end: '2027-12-03T09:00:00Z' }, 'end: an event may last at most 366 days'],
    ['a number', { start: 1764579600000 }, 'start: Invalid input: expected string, received number'],
  ])('%s → refused', (_name, change, message) => {
    expect(problemOf(CalendarEventInput, { ...standup, ...change })).toContain(message);
  });
});

describe('CalendarEventInput: all-day events (dates; end exclusive, as in iCalendar)', () => {
  const day = { title: 'Holiday', allDay: true, start: '2026-12-24', end: '2026-12-25' };

  test('a one-day event ends the next day; its instants are the dates at 00:00Z', () => {
    const parsed = CalendarEventInput.parse(day);
    expect(parsed).toEqual(day);
    expect(instantsOf(parsed)).toEqual({ startsAt: '2026-12-24T00:00:00.000Z', endsAt: '2026-12-25T00:00:00.000Z' });
  });

  test('366 days (a leap year) is the longest', () => {
    expect(problemOf(CalendarEventInput, { ...day, start: '2028-01-01', end: '2029-01-01' })).toBe('valid');
    expect(problemOf(CalendarEventInput, { ...day, start: '2028-01-01', end: '2029-01-02' })).toContain(
      'at most 366 days',
    );
  });

  test.each([
    ['end = start (the end is exclusive)', { end: '2026-12-24' }, 'end: end must be after start'],
    ['end before start', { end: '2026-12-23' }, 'end: end must be after start'],
    ['a time on an all-day event', { start: '2026-12-24T00:00:00Z' }, 'start: start must be a date like 2026-12-01'],
    ['an impossible date', { end: '2026-13-01' }, 'end: end must be a date like 2026-12-01'],
  ])('%s → refused', (_name, change, message) => {
    expect(problemOf(CalendarEventInput, { ...day, ...change })).toContain(message);
  });
});

describe('CalendarEventInput: other fields', () => {
  test.each([
    ['an empty title', { title: '   ' }, 'title: title must not be empty'],
    ['a title of 201 characters', { title: 'x'.repeat(201) }, 'title: title must be at most 200 characters'],
    ['a description of 4001 characters', { description: 'x'.repeat(4001) }, 'at most 4000 characters'],
    ['a location of 501 characters', { location: 'x'.repeat(501) }, 'at most 500 characters'],
    ['an unknown time zone', { timeZone: 'Mars/Olympus' }, 'timeZone: timeZone "Mars/Olympus" is not an IANA'],
    ['an offset as time zone', { timeZone: '+01:00' }, 'is not an IANA time zone name'],
    ['allDay as a string', { allDay: 'yes' }, 'allDay: allDay must be true or false'],
    ['a misspelt field', { titel: 'x' }, ': Unrecognized key: "titel"'],
    ['no title', { title: undefined }, 'title: Invalid input'],
  ])('%s → refused', (_name, change, message) => {
    expect(problemOf(CalendarEventInput, { ...standup, ...change })).toContain(message);
  });

  test('time zone names are checked with Intl and spelt canonically', () => {
    expect(timeZoneName('europe/paris')).toBe('Europe/Paris');
    expect(timeZoneName('UTC')).toBe('UTC');
    expect(timeZoneName('utc')).toBe('UTC');
    expect(timeZoneName('America/Argentina/Buenos_Aires')).toBe('America/Argentina/Buenos_Aires');
    expect(timeZoneName('Europe/Atlantis')).toBeUndefined();
    expect(CalendarEventInput.parse({ ...standup, timeZone: 'asia/tokyo' }).timeZone).toBe('Asia/Tokyo');
  });
});

describe('PUT and PATCH bodies', () => {
  test('PUT: a whole event plus the expected version', () => {
    expect(CalendarEventReplacement.parse({ ...standup, version: 3 })).toEqual({ fields: standup, version: 3 });
    expect(problemOf(CalendarEventReplacement, { ...standup, version: 0 })).toContain('version must be a positive');
    expect(problemOf(CalendarEventReplacement, { ...standup, version: '3' })).toContain('version must be a positive');
  });

  test('PATCH: null removes an optional field; the merged event is checked as a whole', () => {
    const patch = CalendarEventPatch.parse({ title: 'Retro', description: null, version: 2 });
    expect(CalendarEventInput.parse(mergePatch(standup, patch))).toEqual({
      ...standup,
      title: 'Retro',
      description: undefined,
    });
    // Valid alone, but the end would fall before the event's start.
    const early = CalendarEventPatch.parse({ end: '2026-12-01T08:00:00Z' });
    expect(problemOf(CalendarEventInput, mergePatch(standup, early))).toBe('end: end must not be before start');
    // Turning an event all-day needs dates too.
    const allDay = CalendarEventPatch.parse({ allDay: true });
    expect(problemOf(CalendarEventInput, mergePatch(standup, allDay))).toContain('start must be a date');
  });

  test('PATCH refuses an empty change, a null title and unknown fields', () => {
    expect(problemOf(CalendarEventPatch, { version: 1 })).toContain('the patch changes nothing');
    expect(problemOf(CalendarEventPatch, { title: null })).toContain('title');
    expect(problemOf(CalendarEventPatch, { eventId: 'x', title: 'a' })).toContain('Unrecognized key: "eventId"');
  });
});

describe('event lifecycle', () => {
  test('a new event has version 1; a revision bumps it and keeps the creation fields out', () => {
    const at = new Date('2026-11-01T10:00:00.000Z');
    const created = newCalendarEvent({
      eventId: '01J0000000000000000000000A',
      ownerId: 'u1',
      fields: standup,
      by: 'u1',
      at,
    });
    expect(created).toMatchObject({
      version: 1,
      createdAt: '2026-11-01T10:00:00.000Z',
      updatedAt: '2026-11-01T10:00:00.000Z',
      startsAt: '2026-12-01T09:00:00.000Z',
      endsAt: '2026-12-01T09:15:00.000Z',
    });
    expect(publicEvent(created)).not.toHaveProperty('startsAt');
    const later = new Date('2026-11-02T10:00:00.000Z');
    const revision = eventRevision({ ...standup, title: 'Retro' }, 1, 'u1', later);
    expect(revision).toMatchObject({ title: 'Retro', version: 2, updatedAt: '2026-11-02T10:00:00.000Z' });
    expect(revision).not.toHaveProperty('createdAt');
  });
});

describe('range queries', () => {
  const window = { from: '2026-12-01T00:00:00.000Z', to: '2026-12-02T00:00:00.000Z' };
  const event = (startsAt: string, endsAt: string) => ({ startsAt, endsAt });

  test.each([
    ['inside', true, event('2026-12-01T09:00:00.000Z', '2026-12-01T10:00:00.000Z')],
    ['starting before, ending inside', true, event('2026-11-30T22:00:00.000Z', '2026-12-01T01:00:00.000Z')],
    ['spanning the whole window', true, event('2026-11-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z')],
    ['ending exactly at from', false, event('2026-11-30T23:00:00.000Z', '2026-12-01T00:00:00.000Z')],
    ['starting exactly at to', false, event('2026-12-02T00:00:00.000Z', '2026-12-02T01:00:00.000Z')],
    ['of zero length at from', true, event('2026-12-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z')],
    ['of zero length at to', false, event('2026-12-02T00:00:00.000Z', '2026-12-02T00:00:00.000Z')],
    ['all-day on the day before', false, event('2026-11-30T00:00:00.000Z', '2026-12-01T00:00:00.000Z')],
    ['all-day on the day itself', true, event('2026-12-01T00:00:00.000Z', '2026-12-02T00:00:00.000Z')],
  ])('an event %s overlaps the window: %s', (_name, expected, candidate) => {
    expect(overlaps(candidate, window)).toBe(expected);
  });

  test('the Query looks back by the longest event, and stops before `to`', () => {
    expect(startsAtBounds(window)).toEqual({
      lowest: '2025-11-30T00:00:00.000Z',
      highest: '2026-12-01T23:59:59.999Z',
    });
  });

  test('the query string: a window, a limit, dates as 00:00Z, an unencoded "+" repaired', () => {
    expect(CalendarEventQuery.parse({ from: '2026-12-01', to: '2026-12-02T01:00:00 01:00', limit: '10' })).toEqual({
      limit: 10,
      window: { from: '2026-12-01T00:00:00.000Z', to: '2026-12-02T00:00:00.000Z' },
    });
    expect(CalendarEventQuery.parse({})).toEqual({ limit: 50, window: undefined });
  });

  test.each([
    [{ from: '2026-12-01' }, 'from and to go together'],
    [{ from: '2026-12-02', to: '2026-12-01' }, 'to: to must be after from'],
    [{ from: '2026-12-01', to: '2026-12-01' }, 'to: to must be after from'],
    [{ from: '2026-01-01', to: '2027-01-03' }, 'to: a window may span at most 366 days'],
    [{ from: 'yesterday', to: '2026-12-01' }, 'from: from must be an ISO-8601 date-time'],
    [{ limit: '0' }, 'limit: limit must be an integer from 1 to 100'],
    [{ limit: '101' }, 'limit must be an integer from 1 to 100'],
    [{ limit: '5.5' }, 'limit must be an integer from 1 to 100'],
  ])('%j → 400 with "%s"', (query, message) => {
    expect(problemOf(CalendarEventQuery, query)).toContain(message);
  });
});

describe('page tokens', () => {
  const scope = 'events|calendar:u1||';
  const position = { startsAt: '2026-12-01T09:00:00.000Z', itemId: '01J0000000000000000000000A' };
  const token = encodeCalendarPageToken(scope, position);

  test('a token round-trips for its own query and is opaque (base64url)', () => {
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCalendarPageToken(token, scope, ['startsAt', 'itemId'])).toEqual(position);
  });

  test('a token of another calendar or window, or a tampered one, is refused', () => {
    expect(decodeCalendarPageToken(token, 'events|calendar:u2||', ['startsAt', 'itemId'])).toBeUndefined();
    const json = Buffer.from(token, 'base64url').toString('utf8');
    const forged = Buffer.from(json.replace('calendar:u1', 'calendar:u2'), 'utf8').toString('base64url');
    expect(decodeCalendarPageToken(forged, 'events|calendar:u1||', ['startsAt', 'itemId'])).toBeUndefined();
    const extra = encodeCalendarPageToken(scope, { ...position, x: 'y' });
    expect(decodeCalendarPageToken(extra, scope, ['startsAt', 'itemId'])).toBeUndefined();
    expect(decodeCalendarPageToken(`${token}x`, scope, ['startsAt', 'itemId'])).toBeUndefined();
    expect(decodeCalendarPageToken('not a token!', scope, ['startsAt', 'itemId'])).toBeUndefined();
    expect(decodeCalendarPageToken(Buffer.from('[1]').toString('base64url'), scope, ['startsAt'])).toBeUndefined();
  });
});

describe('who may read a calendar', () => {
  const shares = { isSharedWith: async (owner: string, viewer: string) => owner === 'u1' && viewer === 'u2' };

  test('the owner and users it is shared with; nobody else; nobody anonymous', async () => {
    expect(await canReadCalendar(shares, { userId: 'u1' }, 'u1')).toEqual({ allowed: true });
    // A viewer's access rests on the share row, which a subscription ConditionChecks when written.
    expect(await canReadCalendar(shares, { userId: 'u2' }, 'u1')).toEqual({
      allowed: true,
      requires: { key: '$calendar-shares:u1', itemId: 'u2', condition: 'exists' },
    });
    expect(await canReadCalendar(shares, { userId: 'u3' }, 'u1')).toMatchObject({ allowed: false, code: 'FORBIDDEN' });
    expect(await canReadCalendar(shares, { userId: 'u1' }, 'u2')).toMatchObject({ allowed: false, code: 'FORBIDDEN' });
    expect(await canReadCalendar(shares, undefined, 'u1')).toMatchObject({ allowed: false, code: 'UNAUTHORIZED' });
  });
});
