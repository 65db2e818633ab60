/**
 * PresenceSweepFunction (schedule PresenceSweepSchedule, every minute by default): closes signed-in connections
 * silent for longer than PRESENCE_TIMEOUT_SECONDS (DELETE @connections) and ends them, so their users go offline
 * when their last connection is gone. See logic/presence-sweep.ts.
 */
import { createConnectionCloser } from '../adapters/connection-closer';
import { loadConfig } from '../config/env';
import { createPresenceSweepHandler } from './logic/presence-sweep';
import { connectionEnder, lambdaEntry, managementApi, stores } from './wiring/dependencies';

const config = loadConfig([
  'TABLE_NAME',
  'DATA_TABLE_NAME',
  'REAL_TIME_ITEM_KEY',
  'CONNECTION_TTL_SECONDS',
  'PRESENCE_TIMEOUT_SECONDS',
  'WS_ENDPOINT',
  'ACTIVITY_RETENTION_DAYS',
]);

/** Lambda entry of PresenceSweepFunction (template Handler: presence-sweep.handler). */
export const handler = lambdaEntry(({ logger }) =>
  createPresenceSweepHandler({
    connections: stores.connections(config),
    // A DELETE that fails is retried by the next run, a minute later.
    closeSocket: createConnectionCloser(managementApi(config, 16)),
    end: connectionEnder(config, logger),
    timeoutSeconds: config.presenceTimeoutSeconds,
    logger,
  }),
);
