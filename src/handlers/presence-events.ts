/**
 * PresenceEventsFunction (only when PresenceEventBusName is set): publishes presence changes from the RealTimeData
 * stream to EventBridge as presence.connected / presence.disconnected / presence.updated. See
 * logic/presence-events.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import middy from '@middy/core';
import { loadConfig } from '../config/env';
import { createPresenceEventsHandler } from './logic/presence-events';

const config = loadConfig(['EVENT_BUS_NAME', 'REAL_TIME_ITEM_KEY']);
const logger = new Logger();
// The endpoint comes from AWS_ENDPOINT_URL_EVENTBRIDGE when set (the local runtime points it at its own PutEvents).
const client = new EventBridgeClient({});

const publish = createPresenceEventsHandler({
  client,
  eventBusName: config.eventBusName,
  keyAttribute: config.realTimeItemKey,
  logger,
});

/** Lambda entry of PresenceEventsFunction (template Handler: presence-events.handler). */
export const handler = middy(publish).use(injectLambdaContext(logger));
