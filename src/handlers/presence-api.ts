/**
 * PresenceApiFunction (HTTP API, payload format 2.0, JWT authorizer when AuthMode=jwt): GET /presence/{userId},
 * GET /presence?userIds=a,b,c, GET /friends, PUT /friends/{userId}, DELETE /friends/{userId}. Routes, status codes
 * and bodies are documented in logic/presence-api.ts.
 */
import { loadConfig } from '../config/env';
import { createPresenceApiHandler } from './logic/presence-api';
import { keyAccess, lambdaEntry, stores } from './wiring/dependencies';

const config = loadConfig([
  'TABLE_NAME',
  'DATA_TABLE_NAME',
  'REAL_TIME_ITEM_KEY',
  'CONNECTION_TTL_SECONDS',
  'PRESENCE_VISIBILITY',
]);

/** Lambda entry of PresenceApiFunction (template Handler: presence-api.handler). */
export const handler = lambdaEntry(({ logger }) =>
  createPresenceApiHandler({
    presence: stores.presence(config),
    friends: stores.friends(config),
    connections: stores.connections(config),
    keyAccess: keyAccess(config),
    visibility: config.presenceVisibility,
    logger,
  }),
);
