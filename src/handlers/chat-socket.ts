/**
 * ChatMessageFunction: the WebSocket routes send-message and read-messages. They store messages and read markers
 * under `chat:<conversationId>`; the stream fan-out delivers them to the participants. Errors go back to the caller
 * as `error` frames through the @connections management API at WS_ENDPOINT. See logic/chat-socket.ts.
 */
import { loadConfig } from '../config/env';
import { createChatSocketHandler } from './logic/chat-socket';
import { connectionSender, lambdaEntry, stores } from './wiring/dependencies';

const config = loadConfig(['DATA_TABLE_NAME', 'REAL_TIME_ITEM_KEY', 'WS_ENDPOINT']);

/** Lambda entry of ChatMessageFunction (template Handler: chat-socket.handler). */
export const handler = lambdaEntry(({ logger }) =>
  // Only error replies go out from here, one connection at a time.
  createChatSocketHandler({ store: stores.chat(config), sender: connectionSender(config, 4), logger }),
);
