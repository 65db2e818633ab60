/**
 * The message routes ($default, subscribe, unsubscribe, heartbeat, update-presence); `requestContext.routeKey`
 * picks the action. Subscriptions are authorized per key; update-presence sets the caller's own page. Replies go to
 * the caller through the @connections management API at WS_ENDPOINT.
 */
import { loadConfig } from '../config/env';
import { createMessageHandler } from './logic/message';
import { activityLog, connectionSender, keyAccess, lambdaEntry, stores } from './wiring/dependencies';

const config = loadConfig([
  'TABLE_NAME',
  'DATA_TABLE_NAME',
  'REAL_TIME_ITEM_KEY',
  'CONNECTION_TTL_SECONDS',
  'WS_ENDPOINT',
  'PRESENCE_VISIBILITY',
  'ACTIVITY_RETENTION_DAYS',
]);

/** Lambda entry of OnMessageLambdaFunction (template Handler: on-message.handler). */
export const handler = lambdaEntry(({ logger }) =>
  createMessageHandler({
    connections: stores.connections(config),
    snapshots: stores.snapshotRequests(config),
    // A reply goes to one connection at a time: a handful of sockets is plenty.
    sender: connectionSender(config, 8),
    keyAccess: keyAccess(config),
    presence: stores.presence(config),
    activity: activityLog(config, logger),
    logger,
  }),
);
