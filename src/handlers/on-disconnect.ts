/**
 * $disconnect: ends the connection — deletes its rows and, for a signed-in user, settles their presence (offline
 * only when this was their last connection). Idempotent. AWS delivers $disconnect on a best-effort basis, so the
 * fan-out also ends connections on 410, the presence sweep ends silent ones, and every row carries a TTL.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { createDynamoDbClients } from '../adapters/aws-clients';
import { createConnectionRepository } from '../adapters/connection-repository';
import { createPresenceStore } from '../adapters/presence-store';
import { loadConfig } from '../config/env';
import { createDisconnectHandler } from './logic/disconnect';

const config = loadConfig(['TABLE_NAME', 'DATA_TABLE_NAME', 'REAL_TIME_ITEM_KEY', 'CONNECTION_TTL_SECONDS']);
const logger = new Logger();
const { documents } = createDynamoDbClients();

const disconnect = createDisconnectHandler({
  connections: createConnectionRepository({
    ddb: documents,
    tableName: config.tableName,
    ttlSeconds: config.connectionTtlSeconds,
  }),
  presence: createPresenceStore({
    ddb: documents,
    connectionsTable: config.tableName,
    dataTable: config.dataTableName,
    keyAttribute: config.realTimeItemKey,
    ttlSeconds: config.connectionTtlSeconds,
  }),
  logger,
});

/** Lambda entry of OnDisconnectLambdaFunction (template Handler: on-disconnect.handler). */
export const handler = middy(disconnect).use(injectLambdaContext(logger));
