/**
 * OnReceiveRealTimeItem: the RealTimeData stream fan-out. Pushes each item change to the connections subscribed to
 * its key, in per-key order, and reports undeliverable records in `batchItemFailures` (ReportBatchItemFailures).
 */
import { loadConfig } from '../config/env';
import { RedeliveryLedger } from '../domain/redelivery-ledger';
import { createFanoutHandler } from './logic/fanout';
import { fanoutHooks, fanoutSender, lambdaEntry, stores } from './wiring/dependencies';

const config = loadConfig([
  'TABLE_NAME',
  'DATA_TABLE_NAME',
  'REAL_TIME_ITEM_KEY',
  'CONNECTION_TTL_SECONDS',
  'FANOUT_CONCURRENCY',
  'COALESCE_POSTS',
  'CONFLATE_CHANGES',
  'CONFLATE_KEY_PREFIXES',
  'WS_ENDPOINT',
  'ACTIVITY_RETENTION_DAYS',
]);
/** Lambda entry of OnReceiveRealTimeItem (template Handler: on-receive-real-time-item.handler). */
export const handler = lambdaEntry(
  ({ logger, metrics }) =>
    createFanoutHandler({
      connections: stores.connections(config),
      sender: fanoutSender(config, config.fanoutConcurrency),
      keyAttribute: config.realTimeItemKey,
      concurrency: config.fanoutConcurrency,
      coalesce: config.coalescePosts,
      // Made once per container, with the handler: a re-delivered record skips whom its failed attempt reached.
      redelivery: new RedeliveryLedger(),
      ...fanoutHooks(config, logger),
      logger,
      metrics,
    }),
  { publishMetrics: true },
);
