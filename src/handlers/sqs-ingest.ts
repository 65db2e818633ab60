/**
 * SqsIngestFunction: writes the items of IngestQueue messages (a body is an item or an array of items) and reports
 * the messages to retry in `batchItemFailures` (ReportBatchItemFailures). Which messages those are, and why poison
 * messages end in the DLQ, is documented in logic/sqs-ingest.ts.
 */
import { loadConfig } from '../config/env';
import { createSqsIngestHandler } from './logic/sqs-ingest';
import { lambdaEntry, stores } from './wiring/dependencies';

const config = loadConfig(['DATA_TABLE_NAME', 'REAL_TIME_ITEM_KEY']);

/** Lambda entry of SqsIngestFunction (template Handler: sqs-ingest.handler). */
export const handler = lambdaEntry(({ logger }) =>
  createSqsIngestHandler({ ingestor: stores.itemIngestor(config), logger }),
);
