/**
 * $disconnect: deletes every row of the connection (idempotent). AWS delivers $disconnect on a best-effort basis,
 * so the fan-out also cleans up on 410 and every row carries a TTL.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { createDynamoDbClients } from '../adapters/aws-clients';
import { createConnectionRepository } from '../adapters/connection-repository';
import { loadConfig } from '../config/env';
import { createDisconnectHandler } from './logic/disconnect';

const config = loadConfig(['TABLE_NAME', 'CONNECTION_TTL_SECONDS']);
const logger = new Logger();
const { documents } = createDynamoDbClients();

const disconnect = createDisconnectHandler({
  connections: createConnectionRepository({
    ddb: documents,
    tableName: config.tableName,
    ttlSeconds: config.connectionTtlSeconds,
  }),
  logger,
});

/** Lambda entry of OnDisconnectLambdaFunction (template Handler: on-disconnect.handler). */
export const handler = middy(disconnect).use(injectLambdaContext(logger));
