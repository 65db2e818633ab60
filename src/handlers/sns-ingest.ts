/**
 * SnsIngestFunction: writes the items of IngestTopic messages (a message is an item or an array of items). SNS
 * invokes asynchronously, so a failure is thrown: Lambda retries twice, then the event goes to the function's DLQ
 * (see logic/sns-ingest.ts for which failures those are).
 */
import { loadConfig } from '../config/env';
import { createSnsIngestHandler } from './logic/sns-ingest';
import { lambdaEntry, stores } from './wiring/dependencies';

const config = loadConfig(['DATA_TABLE_NAME', 'REAL_TIME_ITEM_KEY']);

/** Lambda entry of SnsIngestFunction (template Handler: sns-ingest.handler). */
export const handler = lambdaEntry(({ logger }) =>
  createSnsIngestHandler({ ingestor: stores.itemIngestor(config), logger }),
);
