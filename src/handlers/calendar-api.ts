/**
 * CalendarApiFunction: calendar events (CRUD, range queries, optimistic concurrency) and calendar shares over the
 * HTTP API (payload format 2.0). Routes, status codes and bodies are documented in logic/calendar-api.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { createDynamoDbClients } from '../adapters/aws-clients';
import { createCalendarEventStore, createCalendarShareStore } from '../adapters/calendar-store';
import { createConnectionRepository } from '../adapters/connection-repository';
import { loadConfig } from '../config/env';
import { createCalendarApiHandler } from './logic/calendar-api';

const config = loadConfig(['DATA_TABLE_NAME', 'REAL_TIME_ITEM_KEY', 'TABLE_NAME', 'CONNECTION_TTL_SECONDS']);
const logger = new Logger();
const { documents } = createDynamoDbClients();
const table = { ddb: documents, tableName: config.dataTableName, keyAttribute: config.realTimeItemKey };

const calendarApi = createCalendarApiHandler({
  events: createCalendarEventStore(table),
  shares: createCalendarShareStore(table),
  connections: createConnectionRepository({
    ddb: documents,
    tableName: config.tableName,
    ttlSeconds: config.connectionTtlSeconds,
  }),
  logger,
});

/** Lambda entry of CalendarApiFunction (template Handler: calendar-api.handler). */
export const handler = middy(calendarApi).use(injectLambdaContext(logger));
