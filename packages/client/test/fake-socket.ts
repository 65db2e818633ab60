import type { WebSocketLike } from '../src';

// A stand-in for the browser WebSocket that a test drives from the server's side: open it, push frames, close it,
// refuse its handshake. Every socket the client creates is recorded, in order.

// biome-ignore lint/suspicious/noExplicitAny: frames are JSON the tests read field by field.
export type Json = Record<string, any>;

export class FakeSocket implements WebSocketLike {
  static created: FakeSocket[] = [];
  /** Answer every heartbeat with a pong (a server that is alive), a moment later as a real one would. */
  static autoPong = false;

  readyState = 0;
  binaryType = 'blob';
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: { message?: string }) => void) | null = null;
  /** Every text the client sent. */
  readonly sent: string[] = [];
  /** The code of the client's close(), when it called it. */
  closedWith: number | undefined;
  terminated = false;

  constructor(readonly url: string) {
    FakeSocket.created.push(this);
  }

  static reset(): void {
    FakeSocket.created = [];
    FakeSocket.autoPong = false;
  }

  static last(): FakeSocket {
    const socket = FakeSocket.created.at(-1);
    if (socket === undefined) throw new Error('no socket was created');
    return socket;
  }

  /** The query parameter of the connect URL. */
  param(name: string): string[] {
    return new URL(this.url).searchParams.getAll(name);
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('not open');
    this.sent.push(data);
    if (FakeSocket.autoPong && data === '{"action":"heartbeat"}') {
      void Promise.resolve().then(() => {
        if (this.readyState === 1) this.pong();
      });
    }
  }

  close(code?: number): void {
    if (this.readyState === 3) return;
    this.closedWith = code ?? 1005;
    this.readyState = 3;
    this.onclose?.({ code: code ?? 1005, reason: '' });
  }

  /** As Node's `ws`: terminating a socket still connecting emits 'error' a tick later, thrown if nobody listens. */
  terminate(): void {
    const connecting = this.readyState === 0;
    this.terminated = true;
    this.readyState = 3;
    if (!connecting) return;
    const error = new Error('WebSocket was closed before the connection was established');
    process.nextTick(() => {
      if (this.onerror === null) throw new Error(`Unhandled error. (${error.message})`);
      this.onerror({ message: error.message });
    });
  }

  // ------------------------------------------------------------------------------------------- the server side

  /** The parsed actions the client sent, optionally only those named. */
  actions(name?: string): Json[] {
    const parsed = this.sent.map((text) => JSON.parse(text) as Json);
    return name === undefined ? parsed : parsed.filter((action) => action.action === name);
  }

  accept(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  /** Pushes a frame: objects as JSON, strings as they are. */
  push(frame: unknown): void {
    this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }

  pushRaw(data: unknown): void {
    this.onmessage?.({ data });
  }

  serverClose(code: number, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  /** A handshake refused with an HTTP status, as Node's `ws` reports it. */
  refuse(status: number): void {
    this.readyState = 3;
    this.onerror?.({ message: `Unexpected server response: ${status}` });
    this.onclose?.({ code: 1006, reason: '' });
  }

  /** Answers the pending heartbeats with pongs. */
  pong(connectionId = 'conn='): void {
    this.push({ type: 'pong', at: 1, connectionId });
  }

  /** Answers the last subscribe with `subscribed`. */
  confirmLastSubscribe(): Json {
    const action = this.actions('subscribe').at(-1);
    if (action === undefined) throw new Error('no subscribe was sent');
    this.push({ type: 'subscribed', keys: action.keys });
    return action;
  }
}
