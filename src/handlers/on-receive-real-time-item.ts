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
import { loadConfig } from '../config/env';
import { createFanoutHandler } from './logic/fanout';

const config = loadConfig([
  'TABLE_NAME',
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

const fanout = createFanoutHandler({
  connections: createConnectionRepository({
    ddb: documents,
    tableName: config.tableName,
    ttlSeconds: config.connectionTtlSeconds,
  }),
  sender: createConnectionSender({ client: management }),
  keyAttribute: config.realTimeItemKey,
  concurrency: config.fanoutConcurrency,
  logger,
  metrics,
});

/**
 * Lambda entry of OnReceiveRealTimeItem (template Handler: on-receive-real-time-item.handler). Every batch adds its
 * summary metrics, so publishing never meets an empty set (which would only warn: throwOnEmptyMetrics stays off).
 */
export const handler = middy(fanout).use(injectLambdaContext(logger)).use(logMetrics(metrics));
