/**
 * PresenceSweepFunction (schedule PresenceSweepSchedule, every minute by default): closes signed-in connections
 * silent for longer than PRESENCE_TIMEOUT_SECONDS (DELETE @connections) and ends them, so their users go offline
 * when their last connection is gone. See logic/presence-sweep.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { createDynamoDbClients, createManagementApiClient } from '../adapters/aws-clients';
import { createConnectionCloser } from '../adapters/connection-closer';
import { createConnectionRepository } from '../adapters/connection-repository';
import { createPresenceStore } from '../adapters/presence-store';
import { loadConfig } from '../config/env';
import { createConnectionEnder } from './logic/end-connection';
import { createPresenceSweepHandler } from './logic/presence-sweep';

const config = loadConfig([
  'TABLE_NAME',
  'DATA_TABLE_NAME',
  'REAL_TIME_ITEM_KEY',
  'CONNECTION_TTL_SECONDS',
  'PRESENCE_TIMEOUT_SECONDS',
  'WS_ENDPOINT',
]);
const logger = new Logger();
const { documents } = createDynamoDbClients();
// maxAttempts 1: a DELETE that fails is retried by the next run, a minute later.
const management = createManagementApiClient({ endpoint: config.wsEndpoint, maxSockets: 16 });
const connections = createConnectionRepository({
  ddb: documents,
  tableName: config.tableName,
  ttlSeconds: config.connectionTtlSeconds,
});
const presence = createPresenceStore({
  ddb: documents,
  connectionsTable: config.tableName,
  dataTable: config.dataTableName,
  keyAttribute: config.realTimeItemKey,
  ttlSeconds: config.connectionTtlSeconds,
});

const sweep = createPresenceSweepHandler({
  connections,
  closeSocket: createConnectionCloser(management),
  end: createConnectionEnder({ connections, presence }),
  timeoutSeconds: config.presenceTimeoutSeconds,
  logger,
});

/** Lambda entry of PresenceSweepFunction (template Handler: presence-sweep.handler). */
export const handler = middy(sweep).use(injectLambdaContext(logger));
