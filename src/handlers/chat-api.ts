/**
 * ChatApiFunction: conversations, participants, message history and the caller's conversation list over the HTTP
 * API (payload format 2.0). Routes, status codes and bodies are documented in logic/chat-api.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { createDynamoDbClients } from '../adapters/aws-clients';
import { createChatStore } from '../adapters/chat-store';
import { loadConfig } from '../config/env';
import { createChatApiHandler } from './logic/chat-api';

const config = loadConfig(['DATA_TABLE_NAME', 'REAL_TIME_ITEM_KEY']);
const logger = new Logger();
const { documents } = createDynamoDbClients();

const chatApi = createChatApiHandler({
  store: createChatStore({ ddb: documents, tableName: config.dataTableName, keyAttribute: config.realTimeItemKey }),
  logger,
});

/** Lambda entry of ChatApiFunction (template Handler: chat-api.handler). */
export const handler = middy(chatApi).use(injectLambdaContext(logger));
