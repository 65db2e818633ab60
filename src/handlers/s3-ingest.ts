/**
 * S3IngestFunction: streams each file uploaded under incoming/ of the ingest bucket (JSON array, NDJSON or CSV)
 * into RealTimeData and writes its result to errors/<name>.json. What is retried and what is reported is
 * documented in logic/s3-ingest.ts.
 */
import { createS3Client, createS3ObjectStore } from '../adapters/object-store';
import { loadConfig } from '../config/env';
import { createS3IngestHandler } from './logic/s3-ingest';
import { lambdaEntry, stores } from './wiring/dependencies';

const config = loadConfig(['DATA_TABLE_NAME', 'REAL_TIME_ITEM_KEY']);

/** Lambda entry of S3IngestFunction (template Handler: s3-ingest.handler). */
export const handler = lambdaEntry(({ logger }) =>
  createS3IngestHandler({
    // Honours AWS_ENDPOINT_URL_S3 (the local runtime's S3) with path-style addressing.
    objects: createS3ObjectStore(createS3Client()),
    ingestor: stores.itemIngestor(config),
    keyAttribute: config.realTimeItemKey,
    logger,
  }),
);
