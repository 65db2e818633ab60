/**
 * PresenceApiFunction (HTTP API, payload format 2.0, JWT authorizer when AuthMode=jwt): GET /presence/{userId},
 * GET /presence?userIds=a,b,c, GET /friends, PUT /friends/{userId}, DELETE /friends/{userId}, GET /users/me/activity.
 * Routes, status codes and bodies are documented in logic/presence-api.ts and logic/activity.ts.
 */
import { loadConfig } from '../config/env';
import { createActivityRoute } from './logic/activity';
import { createPresenceApiHandler } from './logic/presence-api';
import { keyAccess, lambdaEntry, stores } from './wiring/dependencies';

const config = loadConfig([
  'TABLE_NAME',
  'DATA_TABLE_NAME',
  'REAL_TIME_ITEM_KEY',
  'CONNECTION_TTL_SECONDS',
  'PRESENCE_VISIBILITY',
  'ACTIVITY_RETENTION_DAYS',
]);

/** Lambda entry of PresenceApiFunction (template Handler: presence-api.handler). */
export const handler = lambdaEntry(({ logger }) =>
  createPresenceApiHandler({
    presence: stores.presence(config),
    friends: stores.friends(config),
    connections: stores.connections(config),
    keyAccess: keyAccess(config),
    visibility: config.presenceVisibility,
    activity: createActivityRoute({ store: stores.activity(config), retentionDays: config.activityRetentionDays }),
    logger,
  }),
);
