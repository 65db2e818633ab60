/** A local EventBridge PutEvents endpoint that logs each event (for PresenceEventsFunction and any other publisher). */
export {
  type LocalEventBridge,
  type LocalEventBridgeOptions,
  type ReceivedEvent,
  startLocalEventBridge,
} from './server';
