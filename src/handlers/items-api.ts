/**
 * ItemsApiFunction: the items HTTP API (payload format 2.0) — POST /items, GET /items/{key},
 * GET and DELETE /items/{key}/{itemId}. Status codes and bodies are documented in logic/items-api.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { createDynamoDbClients } from '../adapters/aws-clients';
import { createItemIngestor, createItemReader } from '../adapters/item-store';
import { loadConfig } from '../config/env';
import { createItemsApiHandler } from './logic/items-api';

const config = loadConfig(['DATA_TABLE_NAME', 'REAL_TIME_ITEM_KEY']);
const logger = new Logger();
const { documents } = createDynamoDbClients();
const table = { ddb: documents, tableName: config.dataTableName, keyAttribute: config.realTimeItemKey };

const itemsApi = createItemsApiHandler({
  ingestor: createItemIngestor(table),
  reader: createItemReader(table),
  logger,
});

/** Lambda entry of ItemsApiFunction (template Handler: items-api.handler). */
export const handler = middy(itemsApi).use(injectLambdaContext(logger));
