/**
 * $connect: validates the keys from the query string (or header) named by REAL_TIME_ITEM_KEY, authorizes each for
 * the caller, then stores the connection and its subscriptions; a signed-in user also gets their `inbox:<userId>`
 * and is counted in their presence, in the same transaction. Invalid keys → 400, refused keys → 401 / 403.
 */
import { loadConfig } from '../config/env';
import { createConnectHandler } from './logic/connect';
import { activityLog, keyAccess, lambdaEntry, stores } from './wiring/dependencies';

const config = loadConfig([
  'TABLE_NAME',
  'DATA_TABLE_NAME',
  'REAL_TIME_ITEM_KEY',
  'IS_QUERY_PARAM',
  'CONNECTION_TTL_SECONDS',
  'PRESENCE_VISIBILITY',
  'ACTIVITY_RETENTION_DAYS',
]);

/** Lambda entry of OnConnectLambdaFunction (template Handler: on-connect.handler). */
export const handler = lambdaEntry(({ logger }) =>
  createConnectHandler({
    connections: stores.connections(config),
    presence: stores.presence(config),
    keyAccess: keyAccess(config),
    keyName: config.realTimeItemKey,
    isQueryParam: config.isQueryParam,
    activity: activityLog(config, logger),
    logger,
  }),
);
