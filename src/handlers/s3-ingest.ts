/**
 * S3IngestFunction: streams each file uploaded under incoming/ of the ingest bucket (JSON array, NDJSON or CSV)
 * into RealTimeData and writes its result to errors/<name>.json. What is retried and what is reported is
 * documented in logic/s3-ingest.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { createDynamoDbClients } from '../adapters/aws-clients';
import { createItemIngestor } from '../adapters/item-store';
import { createS3Client, createS3ObjectStore } from '../adapters/object-store';
import { loadConfig } from '../config/env';
import { createS3IngestHandler } from './logic/s3-ingest';

const config = loadConfig(['DATA_TABLE_NAME', 'REAL_TIME_ITEM_KEY']);
const logger = new Logger();
const { documents } = createDynamoDbClients();
// Honours AWS_ENDPOINT_URL_S3 (the local runtime's S3) with path-style addressing.
const s3 = createS3Client();

const s3Ingest = createS3IngestHandler({
  objects: createS3ObjectStore(s3),
  ingestor: createItemIngestor({
    ddb: documents,
    tableName: config.dataTableName,
    keyAttribute: config.realTimeItemKey,
  }),
  logger,
  keyAttribute: config.realTimeItemKey,
});

/** Lambda entry of S3IngestFunction (template Handler: s3-ingest.handler). */
export const handler = middy(s3Ingest).use(injectLambdaContext(logger));
