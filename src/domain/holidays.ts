import { z } from 'zod';

/**
 * Public holidays, computed offline (no holiday API to call: most machines we run on have no internet, and the
 * agenda we consolidate was hard-wired to one online API, one year and one country). Holidays are all-day events
 * with dates, like the calendar's own all-day events: `start` the first day, `end` the day after the last (exclusive,
 * as iCalendar does).
 */

/** Years holidays are computed for: the rules the data encodes are not meant for the far past or future. */
export const MIN_HOLIDAY_YEAR = 1970;
export const MAX_HOLIDAY_YEAR = 2100;

/** A public holiday as clients receive it, alone or merged into a calendar's events. */
export interface Holiday {
  holiday: true;
  /** ISO 3166-1 alpha-2, upper case. */
  country: string;
  /** The region (state, province …) code, when the holidays were asked for one. */
  region?: string;
  name: string;
  allDay: true;
  /** First day, YYYY-MM-DD. */
  start: string;
  /** The day after the last, YYYY-MM-DD (exclusive). */
  end: string;
  /** A day off in place of a holiday that fell on a weekend. */
  substitute?: true;
}

/** Where holidays come from: a country and optionally one of its regions. */
export interface HolidayPlace {
  country: string;
  region?: string;
}

const countryCode = z
  .string({ error: 'country is required, e.g. ?country=NZ' })
  .regex(/^[A-Za-z]{2}$/, { error: 'country must be an ISO 3166-1 alpha-2 code such as NZ' })
  .transform((code) => code.toUpperCase());
const regionCode = z
  .string()
  .regex(/^[A-Za-z0-9]{1,10}$/, { error: 'region must be a region code such as AUK (letters and digits)' })
  .transform((code) => code.toUpperCase());

/** GET /holidays?country=NZ[&region=AUK]&year=2026 */
export const holidayQuerySchema = z.object({
  country: countryCode,
  region: regionCode.optional(),
  year: z
    .string({ error: 'year is required, e.g. ?year=2026' })
    .regex(/^\d{1,4}$/, { error: `year must be a year from ${MIN_HOLIDAY_YEAR} to ${MAX_HOLIDAY_YEAR}` })
    .transform(Number)
    .refine((year) => year >= MIN_HOLIDAY_YEAR && year <= MAX_HOLIDAY_YEAR, {
      error: `year must be a year from ${MIN_HOLIDAY_YEAR} to ${MAX_HOLIDAY_YEAR}`,
    }),
});

/** `holidays=NZ` or `holidays=NZ-AUK` (a calendar listing's parameter). */
export function parseHolidayPlace(value: string): HolidayPlace | undefined {
  const match = /^([A-Za-z]{2})(?:-([A-Za-z0-9]{1,10}))?$/.exec(value);
  if (match === null) return undefined;
  const [, country, region] = match as unknown as [string, string, string | undefined];
  return { country: country.toUpperCase(), ...(region === undefined ? {} : { region: region.toUpperCase() }) };
}

/** The sortable start instant of a holiday (00:00Z of its first day), as calendar events' startsAt. */
export function holidayStartsAt(holiday: Holiday): string {
  return `${holiday.start}T00:00:00.000Z`;
}

/** Whether a holiday overlaps [from, to) (sortable instants): [start 00:00Z, end 00:00Z) as for all-day events. */
export function holidayOverlaps(holiday: Holiday, window: { from: string; to: string }): boolean {
  return holidayStartsAt(holiday) < window.to && `${holiday.end}T00:00:00.000Z` > window.from;
}

/** The calendar years a window [from, to) touches. */
export function yearsOf(window: { from: string; to: string }): number[] {
  const first = Number(window.from.slice(0, 4));
  const last = Number(new Date(Date.parse(window.to) - 1).toISOString().slice(0, 4));
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/**
 * Merges holidays into a page of events sorted by start (a holiday before an event starting at the same instant),
 * keeping both orders.
 */
export function mergeByStart<E>(
  events: readonly { startsAt: string; value: E }[],
  holidays: readonly Holiday[],
): (E | Holiday)[] {
  const merged: (E | Holiday)[] = [];
  let h = 0;
  for (const event of events) {
    while (h < holidays.length && holidayStartsAt(holidays[h] as Holiday) <= event.startsAt) {
      merged.push(holidays[h++] as Holiday);
    }
    merged.push(event.value);
  }
  while (h < holidays.length) merged.push(holidays[h++] as Holiday);
  return merged;
}
