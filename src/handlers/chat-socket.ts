/**
 * ChatMessageFunction: the WebSocket routes send-message and read-messages. They store messages and read markers
 * under `chat:<conversationId>`; the stream fan-out delivers them to the participants. Errors go back to the caller
 * as `error` frames through the @connections management API at WS_ENDPOINT. See logic/chat-socket.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { createDynamoDbClients, createManagementApiClient } from '../adapters/aws-clients';
import { createChatStore } from '../adapters/chat-store';
import { createConnectionSender } from '../adapters/connection-sender';
import { loadConfig } from '../config/env';
import { createChatSocketHandler } from './logic/chat-socket';

const config = loadConfig(['DATA_TABLE_NAME', 'REAL_TIME_ITEM_KEY', 'WS_ENDPOINT']);
const logger = new Logger();
const { documents } = createDynamoDbClients();
// Only error replies go out from here, one connection at a time.
const management = createManagementApiClient({ endpoint: config.wsEndpoint, maxSockets: 4 });

const chatSocket = createChatSocketHandler({
  store: createChatStore({ ddb: documents, tableName: config.dataTableName, keyAttribute: config.realTimeItemKey }),
  sender: createConnectionSender({ client: management }),
  logger,
});

/** Lambda entry of ChatMessageFunction (template Handler: chat-socket.handler). */
export const handler = middy(chatSocket).use(injectLambdaContext(logger));
