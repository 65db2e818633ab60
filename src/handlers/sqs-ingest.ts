/**
 * SqsIngestFunction: writes the items of IngestQueue messages (a body is an item or an array of items) and reports
 * the messages to retry in `batchItemFailures` (ReportBatchItemFailures). Which messages those are, and why poison
 * messages end in the DLQ, is documented in logic/sqs-ingest.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { createDynamoDbClients } from '../adapters/aws-clients';
import { createItemIngestor } from '../adapters/item-store';
import { loadConfig } from '../config/env';
import { createSqsIngestHandler } from './logic/sqs-ingest';

const config = loadConfig(['DATA_TABLE_NAME', 'REAL_TIME_ITEM_KEY']);
const logger = new Logger();
const { documents } = createDynamoDbClients();

const sqsIngest = createSqsIngestHandler({
  ingestor: createItemIngestor({
    ddb: documents,
    tableName: config.dataTableName,
    keyAttribute: config.realTimeItemKey,
  }),
  logger,
});

/** Lambda entry of SqsIngestFunction (template Handler: sqs-ingest.handler). */
export const handler = middy(sqsIngest).use(injectLambdaContext(logger));
