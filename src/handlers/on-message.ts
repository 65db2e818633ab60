/**
 * The message routes ($default, subscribe, unsubscribe, heartbeat, update-presence); `requestContext.routeKey`
 * picks the action. Subscriptions are authorized per key; update-presence sets the caller's own page. Replies go to
 * the caller through the @connections management API at WS_ENDPOINT.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { createDynamoDbClients, createManagementApiClient } from '../adapters/aws-clients';
import { createConnectionRepository } from '../adapters/connection-repository';
import { createConnectionSender } from '../adapters/connection-sender';
import { createPresenceStore } from '../adapters/presence-store';
import { createRealTimeDataReader } from '../adapters/real-time-data-reader';
import { loadConfig } from '../config/env';
import { createMessageHandler } from './logic/message';
import { createPlatformKeyAccess } from './wiring/key-access';

const config = loadConfig([
  'TABLE_NAME',
  'DATA_TABLE_NAME',
  'REAL_TIME_ITEM_KEY',
  'CONNECTION_TTL_SECONDS',
  'WS_ENDPOINT',
  'PRESENCE_VISIBILITY',
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
    // Subscriptions to shared calendars / friends' presence ConditionCheck the granting row here.
    dataTable: { tableName: config.dataTableName, keyAttribute: config.realTimeItemKey },
  }),
  data: createRealTimeDataReader({
    ddb: dynamodb,
    tableName: config.dataTableName,
    keyAttribute: config.realTimeItemKey,
  }),
  sender: createConnectionSender({ client: management }),
  keyAccess: createPlatformKeyAccess({
    documents,
    dataTableName: config.dataTableName,
    keyAttribute: config.realTimeItemKey,
    presenceVisibility: config.presenceVisibility,
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

/** Lambda entry of OnMessageLambdaFunction (template Handler: on-message.handler). */
export const handler = middy(onMessage).use(injectLambdaContext(logger));
