/**
 * The message routes ($default, subscribe, unsubscribe, heartbeat); `requestContext.routeKey` picks the action.
 * Replies go to the caller through the @connections management API at WS_ENDPOINT.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { createDynamoDbClients, createManagementApiClient } from '../adapters/aws-clients';
import { createConnectionRepository } from '../adapters/connection-repository';
import { createConnectionSender } from '../adapters/connection-sender';
import { createRealTimeDataReader } from '../adapters/real-time-data-reader';
import { loadConfig } from '../config/env';
import { createMessageHandler } from './logic/message';

const config = loadConfig([
  'TABLE_NAME',
  'DATA_TABLE_NAME',
  'REAL_TIME_ITEM_KEY',
  'CONNECTION_TTL_SECONDS',
  'WS_ENDPOINT',
]);
const logger = new Logger();
const { dynamodb, documents } = createDynamoDbClients();
// A reply goes to one connection at a time: a handful of sockets is plenty.
const management = createManagementApiClient({ endpoint: config.wsEndpoint, maxSockets: 8 });

const onMessage = createMessageHandler({
  connections: createConnectionRepository({
    ddb: documents,
    tableName: config.tableName,
    ttlSeconds: config.connectionTtlSeconds,
  }),
  data: createRealTimeDataReader({
    ddb: dynamodb,
    tableName: config.dataTableName,
    keyAttribute: config.realTimeItemKey,
  }),
  sender: createConnectionSender({ client: management }),
  logger,
});

/** Lambda entry of OnMessageLambdaFunction (template Handler: on-message.handler). */
export const handler = middy(onMessage).use(injectLambdaContext(logger));
