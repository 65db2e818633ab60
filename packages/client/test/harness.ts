import {
  type ClientState,
  RealtimeClient,
  type RealtimeClientOptions,
  type RealtimeError,
  type StateDetail,
} from '../src';
import { FakeSocket } from './fake-socket';

/** A client on fake sockets, recording its state changes and errors. Use with jest's fake timers. */
export function harness(options: Partial<RealtimeClientOptions> = {}) {
  FakeSocket.reset();
  const client = new RealtimeClient({
    url: 'ws://platform.test/develop',
    WebSocket: FakeSocket,
    // The middle of every backoff window: delays are exact and easy to read.
    random: () => 0.5,
    watchBrowserEvents: false,
    ...options,
  });
  const states: { state: ClientState; detail: StateDetail }[] = [];
  const errors: RealtimeError[] = [];
  client.on('state', (state, detail) => states.push({ state, detail }));
  client.on('error', (error) => errors.push(error));
  return {
    client,
    states,
    errors,
    /** The states entered so far, in order. */
    path: () => states.map((entry) => entry.state),
  };
}

/** Lets pending promises (the token provider, fetches) settle without moving the clock. */
export async function settle(): Promise<void> {
  await jest.advanceTimersByTimeAsync(0);
}

/** Connects and accepts the socket; answers the first heartbeat. */
export async function connected(h: ReturnType<typeof harness>): Promise<FakeSocket> {
  h.client.connect();
  await settle();
  const socket = FakeSocket.last();
  socket.accept();
  socket.pong();
  return socket;
}
