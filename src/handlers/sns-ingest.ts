/**
 * SnsIngestFunction: writes the items of IngestTopic messages (a message is an item or an array of items). SNS
 * invokes asynchronously, so a failure is thrown: Lambda retries twice, then the event goes to the function's DLQ
 * (see logic/sns-ingest.ts for which failures those are).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { createDynamoDbClients } from '../adapters/aws-clients';
import { createItemIngestor } from '../adapters/item-store';
import { loadConfig } from '../config/env';
import { createSnsIngestHandler } from './logic/sns-ingest';

const config = loadConfig(['DATA_TABLE_NAME', 'REAL_TIME_ITEM_KEY']);
const logger = new Logger();
const { documents } = createDynamoDbClients();

const snsIngest = createSnsIngestHandler({
  ingestor: createItemIngestor({
    ddb: documents,
    tableName: config.dataTableName,
    keyAttribute: config.realTimeItemKey,
  }),
  logger,
});

/** Lambda entry of SnsIngestFunction (template Handler: sns-ingest.handler). */
export const handler = middy(snsIngest).use(injectLambdaContext(logger));
