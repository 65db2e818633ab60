/**
 * A browser tab as the platform sees it: a WebSocket that sends a heartbeat every few seconds, and that can stop
 * heartbeating without closing, as a frozen tab or a laptop whose lid was shut does. The client SDK cannot show this:
 * it notices the silence itself and reconnects. Here only the presence sweep can notice, which is the point.
 */

export interface BareTabState {
  status: 'connecting' | 'open' | 'closed';
  heartbeating: boolean;
  /** When the last heartbeat went out (epoch ms). */
  lastHeartbeatAt?: number;
  /** Why it closed, e.g. "closed by the server (1000)". */
  closed?: string;
}

export interface BareTab {
  stopHeartbeats(): void;
  close(): void;
}

const HEARTBEAT = '{"action":"heartbeat"}';

/** Opens a tab of the user whose token is in `url`; `onChange` gets every new state. */
export function openBareTab(url: string, heartbeatMs: number, onChange: (state: BareTabState) => void): BareTab {
  let state: BareTabState = { status: 'connecting', heartbeating: true };
  let timer: ReturnType<typeof setInterval> | undefined;
  let closedByUs = false;
  const update = (next: Partial<BareTabState>) => {
    state = { ...state, ...next };
    onChange(state);
  };
  const stopHeartbeats = () => {
    clearInterval(timer);
    if (state.heartbeating) update({ heartbeating: false });
  };
  const heartbeat = () => {
    socket.send(HEARTBEAT);
    update({ lastHeartbeatAt: Date.now() });
  };

  const socket = new WebSocket(url);
  socket.onopen = () => {
    update({ status: 'open' });
    heartbeat();
    timer = setInterval(heartbeat, heartbeatMs);
  };
  socket.onclose = (event) => {
    clearInterval(timer);
    const by = closedByUs ? 'by this tab' : `by the server (${event.code}${event.reason ? `: ${event.reason}` : ''})`;
    update({ status: 'closed', heartbeating: false, closed: `closed ${by}` });
  };
  onChange(state);
  return {
    stopHeartbeats,
    close() {
      closedByUs = true;
      stopHeartbeats();
      socket.close(1000, 'tab closed');
    },
  };
}

/** The WebSocket URL of a tab signed in with `token` (AuthMode=jwt takes it as `?token=`, as the SDK sends it). */
export function tabUrl(webSocketUrl: string, token: string | undefined): string {
  const url = new URL(webSocketUrl);
  if (token !== undefined) url.searchParams.set('token', token);
  return url.toString();
}
