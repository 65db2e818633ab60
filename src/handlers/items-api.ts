/**
 * ItemsApiFunction: the items HTTP API (payload format 2.0) — POST /items, GET /items/{key},
 * GET and DELETE /items/{key}/{itemId}. Status codes and bodies are documented in logic/items-api.ts.
 */
import { loadConfig } from '../config/env';
import { createItemsApiHandler } from './logic/items-api';
import { lambdaEntry, stores } from './wiring/dependencies';

const config = loadConfig(['DATA_TABLE_NAME', 'REAL_TIME_ITEM_KEY']);

/** Lambda entry of ItemsApiFunction (template Handler: items-api.handler). */
export const handler = lambdaEntry(({ logger }) =>
  createItemsApiHandler({ ingestor: stores.itemIngestor(config), reader: stores.itemReader(config), logger }),
);
