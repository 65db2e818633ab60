/**
 * @real-time-platform/client — a client of the Real Time Platform for browsers and Node ≥ 20: reconnects, heartbeats,
 * make-before-break before API Gateway's cuts, subscriptions whose items equal the table after every reconnect.
 * Helpers for presence, chat and calendars are separate entry points (`/presence`, `/chat`, `/calendar`).
 */
export { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF, rotationDelay, tokenRefreshDelay } from './backoff';
export { type Action, type ClientEvents, RealtimeClient, type RealtimeClientOptions, type TokenSource } from './client';
export type { Clock } from './clock';
export type { WebSocketConstructor, WebSocketLike } from './connection';
export * from './errors';
export { tokenExpiresAt } from './jwt';
export { type ClientEvent, type ClientState, nextState, type StateDetail } from './state';
export type {
  Change,
  Item,
  LiveChange,
  SnapshotChange,
  Subscription,
  SubscriptionEvents,
  SubscriptionStatus,
} from './subscription';
