/**
 * CalendarApiFunction: calendar events (CRUD, range queries, optimistic concurrency) and calendar shares over the
 * HTTP API (payload format 2.0), and public holidays (GET /holidays, merged into listings with ?holidays=). Routes,
 * status codes and bodies are documented in logic/calendar-api.ts.
 */
import { createHolidayCalendar } from '../adapters/holidays';
import { loadConfig } from '../config/env';
import { createCalendarApiHandler } from './logic/calendar-api';
import { lambdaEntry, stores } from './wiring/dependencies';

const config = loadConfig(['DATA_TABLE_NAME', 'REAL_TIME_ITEM_KEY', 'TABLE_NAME', 'CONNECTION_TTL_SECONDS']);

/** Lambda entry of CalendarApiFunction (template Handler: calendar-api.handler). */
export const handler = lambdaEntry(({ logger }) =>
  createCalendarApiHandler({
    events: stores.calendarEvents(config),
    shares: stores.calendarShares(config),
    connections: stores.connections(config),
    holidays: createHolidayCalendar(),
    logger,
  }),
);
