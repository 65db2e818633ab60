/**
 * PresenceApiFunction (HTTP API, payload format 2.0, JWT authorizer when AuthMode=jwt): GET /presence/{userId},
 * GET /presence?userIds=a,b,c, GET /friends, PUT /friends/{userId}, DELETE /friends/{userId}. Routes, status codes
 * and bodies are documented in logic/presence-api.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { createDynamoDbClients } from '../adapters/aws-clients';
import { createConnectionRepository } from '../adapters/connection-repository';
import { createFriendStore } from '../adapters/friend-store';
import { createPresenceStore } from '../adapters/presence-store';
import { loadConfig } from '../config/env';
import { createPresenceApiHandler } from './logic/presence-api';
import { createPlatformKeyAccess } from './wiring/key-access';

const config = loadConfig([
  'TABLE_NAME',
  'DATA_TABLE_NAME',
  'REAL_TIME_ITEM_KEY',
  'CONNECTION_TTL_SECONDS',
  'PRESENCE_VISIBILITY',
]);
const logger = new Logger();
const { documents } = createDynamoDbClients();

const presenceApi = createPresenceApiHandler({
  presence: createPresenceStore({
    ddb: documents,
    connectionsTable: config.tableName,
    dataTable: config.dataTableName,
    keyAttribute: config.realTimeItemKey,
    ttlSeconds: config.connectionTtlSeconds,
  }),
  friends: createFriendStore({ ddb: documents, dataTable: config.dataTableName, keyAttribute: config.realTimeItemKey }),
  connections: createConnectionRepository({
    ddb: documents,
    tableName: config.tableName,
    ttlSeconds: config.connectionTtlSeconds,
  }),
  keyAccess: createPlatformKeyAccess({
    documents,
    dataTableName: config.dataTableName,
    keyAttribute: config.realTimeItemKey,
    presenceVisibility: config.presenceVisibility,
  }),
  visibility: config.presenceVisibility,
  logger,
});

/** Lambda entry of PresenceApiFunction (template Handler: presence-api.handler). */
export const handler = middy(presenceApi).use(injectLambdaContext(logger));
