/**
 * ChatApiFunction: conversations, participants, message history and the caller's conversation list over the HTTP
 * API (payload format 2.0). Routes, status codes and bodies are documented in logic/chat-api.ts.
 */
import { loadConfig } from '../config/env';
import { createChatApiHandler } from './logic/chat-api';
import { lambdaEntry, stores } from './wiring/dependencies';

const config = loadConfig(['DATA_TABLE_NAME', 'REAL_TIME_ITEM_KEY', 'CHAT_PARTICIPANT_CHECK']);

/** Lambda entry of ChatApiFunction (template Handler: chat-api.handler). */
export const handler = lambdaEntry(({ logger }) =>
  createChatApiHandler({ store: stores.chat(config), participantCheck: config.chatParticipantCheck, logger }),
);
