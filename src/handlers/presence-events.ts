/**
 * PresenceEventsFunction (only when PresenceEventBusName is set): publishes presence changes from the RealTimeData
 * stream to EventBridge as presence.connected / presence.disconnected / presence.updated. See
 * logic/presence-events.ts.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { createEventBus } from '../adapters/event-bus';
import { loadConfig } from '../config/env';
import { createPresenceEventsHandler } from './logic/presence-events';
import { lambdaEntry } from './wiring/dependencies';

const config = loadConfig(['EVENT_BUS_NAME', 'REAL_TIME_ITEM_KEY']);

/** Lambda entry of PresenceEventsFunction (template Handler: presence-events.handler). */
export const handler = lambdaEntry(({ logger }) =>
  createPresenceEventsHandler({
    // The endpoint comes from AWS_ENDPOINT_URL_EVENTBRIDGE when set (the local runtime's own PutEvents).
    events: createEventBus(new EventBridgeClient({})),
    eventBusName: config.eventBusName,
    keyAttribute: config.realTimeItemKey,
    logger,
  }),
);
