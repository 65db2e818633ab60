import type { Holiday, HolidayPlace } from '../domain/holidays';

/**
 * Public holidays from date-holidays (code ISC, holiday data CC-BY-3.0 — attribution in the README): rules for about
 * 200 countries and their regions, evaluated offline. The library and its data (with moment-timezone, about 1.5 MB
 * minified) are loaded on the first holiday request only, through a dynamic import: the calendar function's other
 * routes do not pay for parsing them at cold start.
 */

export interface HolidayCountry {
  code: string;
  name: string;
  regions?: { code: string; name: string }[];
}

export interface HolidayCalendar {
  /** Every country (and its regions) holidays can be computed for, by code. */
  countries(): Promise<HolidayCountry[]>;
  /** Why a place cannot be used (an unknown country or region), or undefined when it can. */
  problem(place: HolidayPlace): Promise<{ message: string; details: Record<string, unknown> } | undefined>;
  /** The public holidays of a year, in date order. */
  holidays(place: HolidayPlace, year: number): Promise<Holiday[]>;
}

type HolidaysClass = typeof import('date-holidays').default;

const DAY_MS = 24 * 3600 * 1000;

/** The date-holidays HolidayCalendar. */
export function createHolidayCalendar(): HolidayCalendar {
  let loading: Promise<HolidaysClass> | undefined;
  const library = () => {
    loading ??= import('date-holidays').then((module) => module.default);
    return loading;
  };
  let catalogue: Promise<Map<string, HolidayCountry>> | undefined;
  const countries = () => {
    catalogue ??= library().then((Holidays) => {
      const all = new Holidays();
      const byCode = new Map<string, HolidayCountry>();
      for (const [code, name] of Object.entries(all.getCountries('en'))) {
        const states = all.getStates(code, 'en') as Record<string, string> | undefined;
        const regions = Object.entries(states ?? {}).map(([regionCode, regionName]) => ({
          code: regionCode,
          name: regionName,
        }));
        byCode.set(code, { code, name, ...(regions.length > 0 ? { regions } : {}) });
      }
      return byCode;
    });
    return catalogue;
  };

  return {
    countries: async () => [...(await countries()).values()],

    async problem({ country, region }) {
      const known = (await countries()).get(country);
      if (known === undefined) {
        return {
          message: `unknown country ${JSON.stringify(country)}: use an ISO 3166-1 alpha-2 code; GET /holidays/countries lists the countries and regions supported`,
          details: { country },
        };
      }
      if (region !== undefined && !known.regions?.some((r) => r.code === region)) {
        const codes = (known.regions ?? []).map((r) => r.code);
        return {
          message:
            codes.length === 0
              ? `${country} has no regions with holidays of their own: leave region out`
              : `unknown region ${JSON.stringify(region)} of ${country}: one of ${codes.join(', ')} (GET /holidays/countries names them)`,
          details: { country, region, regions: codes },
        };
      }
      return undefined;
    },

    async holidays({ country, region }, year) {
      const Holidays = await library();
      // UTC so that start and end are the local dates' midnights, whatever the function's own time zone.
      const source = new Holidays(
        { country, ...(region === undefined ? {} : { state: region }) },
        { types: ['public'], languages: ['en'], timezone: 'UTC' },
      );
      const found = source.getHolidays(year) || [];
      return found.map((entry) => {
        const start = entry.date.slice(0, 10);
        // Whole days (a holiday starting at noon still takes its day): at least one.
        const days = Math.max(1, Math.round((entry.end.getTime() - Date.parse(`${start}T00:00:00Z`)) / DAY_MS));
        const end = new Date(Date.parse(`${start}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
        return {
          holiday: true,
          country,
          ...(region === undefined ? {} : { region }),
          name: entry.name,
          allDay: true,
          start,
          end,
          ...(entry.substitute === true ? { substitute: true } : {}),
        } satisfies Holiday;
      });
    },
  };
}
