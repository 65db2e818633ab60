/**
 * $connect: validates the subscription keys from the query string (or header) named by REAL_TIME_ITEM_KEY and
 * stores the connection row plus one row per key. An invalid key refuses the handshake with 400; nothing is stored.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { createDynamoDbClients } from '../adapters/aws-clients';
import { createConnectionRepository } from '../adapters/connection-repository';
import { loadConfig } from '../config/env';
import { createConnectHandler } from './logic/connect';

const config = loadConfig(['TABLE_NAME', 'REAL_TIME_ITEM_KEY', 'IS_QUERY_PARAM', 'CONNECTION_TTL_SECONDS']);
const logger = new Logger();
const { documents } = createDynamoDbClients();

const connect = createConnectHandler({
  connections: createConnectionRepository({
    ddb: documents,
    tableName: config.tableName,
    ttlSeconds: config.connectionTtlSeconds,
  }),
  keyName: config.realTimeItemKey,
  isQueryParam: config.isQueryParam,
  logger,
});

/** Lambda entry of OnConnectLambdaFunction (template Handler: on-connect.handler). */
export const handler = middy(connect).use(injectLambdaContext(logger));
