/**
 * OnReceiveRealTimeItem: the RealTimeData stream fan-out. Pushes each item change to the connections subscribed to
 * its key, in per-key order, and reports undeliverable records in `batchItemFailures` (ReportBatchItemFailures).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { createDynamoDbClients, createManagementApiClient } from '../adapters/aws-clients';
import { createConnectionRepository } from '../adapters/connection-repository';
import { createConnectionSender } from '../adapters/connection-sender';
import { createPresenceStore } from '../adapters/presence-store';
import { loadConfig } from '../config/env';
import { presenceOrItemMessage } from '../domain/presence';
import { chatAudience } from './logic/chat-membership';
import { createConnectionEnder } from './logic/end-connection';
import { createFanoutHandler } from './logic/fanout';

const config = loadConfig([
  'TABLE_NAME',
  'DATA_TABLE_NAME',
  'REAL_TIME_ITEM_KEY',
  'CONNECTION_TTL_SECONDS',
  'FANOUT_CONCURRENCY',
  'WS_ENDPOINT',
]);
const logger = new Logger();
// Namespace and service come from POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME (template Globals).
const metrics = new Metrics();
const { documents } = createDynamoDbClients();
const management = createManagementApiClient({ endpoint: config.wsEndpoint, maxSockets: config.fanoutConcurrency });

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

const fanout = createFanoutHandler({
  connections,
  sender: createConnectionSender({ client: management }),
  keyAttribute: config.realTimeItemKey,
  concurrency: config.fanoutConcurrency,
  logger,
  metrics,
  // presence:<userId> changes reach watchers as `presence` join / leave / update frames.
  messageOf: presenceOrItemMessage,
  // A connection found gone (410) is ended like a $disconnect: its user's presence is settled too.
  endConnection: createConnectionEnder({ connections, presence }),
  // chat:<conversationId> changes also reach each participant's inbox:<userId> subscribers (every signed-in
  // connection), so nobody subscribes to conversations one by one.
  audienceOf: chatAudience({ documents, dataTableName: config.dataTableName, keyAttribute: config.realTimeItemKey }),
});

/**
 * Lambda entry of OnReceiveRealTimeItem (template Handler: on-receive-real-time-item.handler). Every batch adds its
 * summary metrics, so publishing never meets an empty set (which would only warn: throwOnEmptyMetrics stays off).
 */
export const handler = middy(fanout).use(injectLambdaContext(logger)).use(logMetrics(metrics));
