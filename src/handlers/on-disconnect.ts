/**
 * $disconnect: ends the connection — deletes its rows and, for a signed-in user, settles their presence (offline
 * only when this was their last connection). Idempotent. AWS delivers $disconnect on a best-effort basis, so the
 * fan-out also ends connections on 410, the presence sweep ends silent ones, and every row carries a TTL.
 */
import { loadConfig } from '../config/env';
import { createDisconnectHandler } from './logic/disconnect';
import { activityLog, lambdaEntry, stores } from './wiring/dependencies';

const config = loadConfig([
  'TABLE_NAME',
  'DATA_TABLE_NAME',
  'REAL_TIME_ITEM_KEY',
  'CONNECTION_TTL_SECONDS',
  'ACTIVITY_RETENTION_DAYS',
]);

/** Lambda entry of OnDisconnectLambdaFunction (template Handler: on-disconnect.handler). */
export const handler = lambdaEntry(({ logger }) =>
  createDisconnectHandler({
    connections: stores.connections(config),
    presence: stores.presence(config),
    activity: activityLog(config, logger),
    logger,
  }),
);
