/**
 * $connect: validates the subscription keys from the query string (or header) named by REAL_TIME_ITEM_KEY,
 * authorizes each for the caller (per-key rules: presence, calendars, chat …), then stores the connection and its
 * subscriptions. A signed-in user (AuthMode=jwt) is also subscribed to their own `inbox:<userId>` and counted in
 * their presence, in the same transaction. An invalid key refuses the handshake with 400, a refused key with 401 /
 * 403; nothing is stored then.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { createDynamoDbClients } from '../adapters/aws-clients';
import { createConnectionRepository } from '../adapters/connection-repository';
import { createPresenceStore } from '../adapters/presence-store';
import { loadConfig } from '../config/env';
import { createConnectHandler } from './logic/connect';
import { createPlatformKeyAccess } from './wiring/key-access';

const config = loadConfig([
  'TABLE_NAME',
  'DATA_TABLE_NAME',
  'REAL_TIME_ITEM_KEY',
  'IS_QUERY_PARAM',
  'CONNECTION_TTL_SECONDS',
  'PRESENCE_VISIBILITY',
]);
const logger = new Logger();
const { documents } = createDynamoDbClients();

const connect = createConnectHandler({
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
  keyAccess: createPlatformKeyAccess({
    documents,
    dataTableName: config.dataTableName,
    keyAttribute: config.realTimeItemKey,
    presenceVisibility: config.presenceVisibility,
  }),
  keyName: config.realTimeItemKey,
  isQueryParam: config.isQueryParam,
  logger,
});

/** Lambda entry of OnConnectLambdaFunction (template Handler: on-connect.handler). */
export const handler = middy(connect).use(injectLambdaContext(logger));
