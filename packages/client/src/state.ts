/**
 * The client's connection state: one union, one table of transitions, one function that reads it. The client changes
 * state only through `nextState`, so every transition it can make is listed here and tested here.
 *
 * - idle: created, not connected yet (`connect()`, `subscribe()` or `send()` start it);
 * - connecting: fetching a token and opening a socket;
 * - connected: a socket is open (subscriptions catch up on their own: see Subscription `synced`);
 * - reconnecting: the socket was lost or refused; waiting (backoff, or a new token after 401/403) to connect again;
 * - closed: `close()` was called; `connect()` starts again.
 */
export type ClientState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** What happens to the client: the app asks to connect or close, a socket opens or is lost, a wait ends. */
export type ClientEvent = 'connect' | 'open' | 'lost' | 'retry' | 'close';

const TRANSITIONS: Readonly<Record<ClientState, Partial<Record<ClientEvent, ClientState>>>> = {
  idle: { connect: 'connecting', close: 'closed' },
  connecting: { open: 'connected', lost: 'reconnecting', close: 'closed' },
  connected: { lost: 'reconnecting', close: 'closed' },
  reconnecting: { retry: 'connecting', close: 'closed' },
  closed: { connect: 'connecting' },
};

/** The state after `event`, or undefined when the event does not apply in `state` (nothing changes). */
export function nextState(state: ClientState, event: ClientEvent): ClientState | undefined {
  return TRANSITIONS[state][event];
}

/** Why the state changed, for `on('state', (state, detail) => …)`. */
export interface StateDetail {
  /** e.g. 'connect', 'open', 'closed-by-server', 'no-pong', 'unauthorized', 'token-error', 'close'. */
  reason: string;
  /** The error behind a `reconnecting`, when there is one. */
  error?: Error;
  /** The socket's close code, when it closed. */
  closeCode?: number;
  /** For `reconnecting`: how long until the next attempt (undefined while waiting for a new token). */
  delayMs?: number;
  /** For `reconnecting`: how many attempts in a row failed so far. */
  attempt?: number;
}
