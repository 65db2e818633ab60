import { decodeServerFrame, type SingleServerFrame } from '@real-time-platform/protocol';
import { type Clock, Timer } from './clock';
import { AuthError, ConnectionError, ProtocolError, type RealtimeError } from './errors';

/**
 * The part of the browser's WebSocket the client uses. The `ws` package's WebSocket has it too, and so does the fake
 * socket of the unit tests.
 */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType?: string;
  // biome-ignore lint/suspicious/noExplicitAny: each implementation has its own event classes.
  onopen: ((event: any) => void) | null;
  // biome-ignore lint/suspicious/noExplicitAny: see onopen.
  onmessage: ((event: any) => void) | null;
  // biome-ignore lint/suspicious/noExplicitAny: see onopen.
  onclose: ((event: any) => void) | null;
  // biome-ignore lint/suspicious/noExplicitAny: see onopen.
  onerror: ((event: any) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

const OPEN = 1;
const HEARTBEAT = '{"action":"heartbeat"}';

export interface ConnectionTimings {
  heartbeatIntervalMs: number;
  pongTimeoutMs: number;
  connectTimeoutMs: number;
}

/** What a connection tells the client. `lost` comes exactly once, after which nothing else does. */
export interface ConnectionHandlers {
  open(connection: Connection): void;
  frame(connection: Connection, frame: SingleServerFrame): void;
  problem(connection: Connection, error: RealtimeError): void;
  lost(connection: Connection, error: ConnectionError | AuthError): void;
}

let connectionCount = 0;

/**
 * One socket: opening with a deadline, decoding frames (a `batch` becomes its frames, in order), heartbeats with a
 * pong deadline, and closing. It does not reconnect: the client decides what to do when it is lost.
 */
export class Connection {
  /** Tells connections apart in the client's bookkeeping (0, 1, 2 … per process). */
  readonly id = connectionCount++;
  /** When the socket opened (clock time), undefined until then. */
  openedAt: number | undefined;
  /** The platform's id for this connection, from the first pong. */
  connectionId: string | undefined;
  /** Whether a pong ever came back: the server is not just accepting sockets but answering. */
  answered = false;
  /** Settles once the connection is lost (closed, dropped or never opened). */
  readonly whenLost: Promise<void>;
  #markLost: () => void = () => {};

  readonly #socket: WebSocketLike;
  readonly #timings: ConnectionTimings;
  readonly #clock: Clock;
  readonly #handlers: ConnectionHandlers;
  readonly #heartbeatTimer: Timer;
  readonly #pongTimer: Timer;
  readonly #openTimer: Timer;
  #handshakeStatus: number | undefined;
  #over = false;
  #closedByUs = false;

  constructor(
    Socket: WebSocketConstructor,
    url: string,
    readonly token: string | undefined,
    timings: ConnectionTimings,
    clock: Clock,
    handlers: ConnectionHandlers,
  ) {
    this.#timings = timings;
    this.#clock = clock;
    this.#handlers = handlers;
    this.#heartbeatTimer = new Timer(clock);
    this.#pongTimer = new Timer(clock);
    this.#openTimer = new Timer(clock);
    this.whenLost = new Promise((resolve) => {
      this.#markLost = resolve;
    });
    // May throw (a malformed URL): the caller handles it, nothing is set up yet.
    this.#socket = new Socket(url);
    this.#socket.binaryType = 'arraybuffer';
    this.#socket.onopen = () => this.#onOpen();
    this.#socket.onmessage = (event: { data?: unknown }) => this.#onMessage(event?.data);
    this.#socket.onerror = (event: { message?: unknown }) => {
      // Node's `ws` names the refused handshake's status in its error; browsers keep it to themselves.
      const status = /Unexpected server response: (\d{3})/.exec(String(event?.message ?? ''))?.[1];
      if (status !== undefined) this.#handshakeStatus = Number(status);
    };
    this.#socket.onclose = (event: { code?: unknown; reason?: unknown }) => this.#onClose(event);
    this.#openTimer.set(timings.connectTimeoutMs, () =>
      this.drop(new ConnectionError(`the socket did not open within ${timings.connectTimeoutMs} ms`)),
    );
  }

  get isOpen(): boolean {
    return !this.#over && this.openedAt !== undefined && this.#socket.readyState === OPEN;
  }

  /** Sends a text frame; false when the socket is not open. */
  send(text: string): boolean {
    if (!this.isOpen) return false;
    try {
      this.#socket.send(text);
      return true;
    } catch {
      return false;
    }
  }

  /** Sends a heartbeat now and expects a pong within pongTimeoutMs; then keeps sending them every interval. */
  heartbeat(): void {
    if (!this.isOpen) return;
    this.#heartbeatTimer.set(this.#timings.heartbeatIntervalMs, () => this.heartbeat());
    if (this.#pongTimer.pending) return;
    this.#pongTimer.set(this.#timings.pongTimeoutMs, () =>
      this.drop(new ConnectionError(`no pong within ${this.#timings.pongTimeoutMs} ms: the socket is dead`)),
    );
    this.send(HEARTBEAT);
  }

  /** Stops heartbeats (a connection being replaced needs none while it drains). */
  stopHeartbeats(): void {
    this.#heartbeatTimer.clear();
    this.#pongTimer.clear();
  }

  /** Closes normally; `lost` follows when the socket has closed, or at once if it does not within `graceMs`. */
  close(code = 1000, reason = 'client closed', graceMs = 1000): void {
    if (this.#over) return;
    this.#closedByUs = true;
    this.stopHeartbeats();
    this.#openTimer.set(graceMs, () => this.drop(new ConnectionError(reason, code)));
    try {
      this.#socket.close(code, reason);
    } catch {
      this.drop(new ConnectionError(reason, code));
    }
  }

  /** Gives up on the socket now (dead, or too slow to open): nothing more is read from it; `lost` fires at once. */
  drop(error: ConnectionError | AuthError): void {
    if (this.#over) return;
    this.#socket.onopen = this.#socket.onmessage = this.#socket.onclose = null;
    // Node's `ws` emits 'error' when a socket still connecting is terminated, and throws if nobody listens.
    this.#socket.onerror = () => {};
    const terminate = (this.#socket as { terminate?: () => void }).terminate;
    try {
      if (typeof terminate === 'function') terminate.call(this.#socket);
      else this.#socket.close(4000, 'unresponsive');
    } catch {
      // Already closed or never opened: nothing to release.
    }
    this.#finish(error);
  }

  /** Whether this side chose to close it. */
  get closedByClient(): boolean {
    return this.#closedByUs;
  }

  #onOpen(): void {
    if (this.#over) return;
    this.#openTimer.clear();
    this.openedAt = this.#clock.now();
    this.#handlers.open(this);
  }

  #onMessage(data: unknown): void {
    if (this.#over) return;
    let text: string;
    if (typeof data === 'string') text = data;
    else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data))
      text = new TextDecoder().decode(data as ArrayBuffer);
    else {
      this.#handlers.problem(this, new ProtocolError('a message that is neither text nor binary', data));
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.#handlers.problem(this, new ProtocolError('a message that is not JSON', text.slice(0, 200)));
      return;
    }
    const gateway = value as { type?: unknown; message?: unknown } | null;
    if (typeof gateway === 'object' && gateway?.type === undefined && typeof gateway?.message === 'string') {
      // API Gateway's own frame when a route's integration fails ({"message": "Internal server error", …}): it does
      // not say which action failed, so it reads as an INTERNAL_ERROR answer to whatever was in flight.
      this.#handlers.frame(this, { type: 'error', code: 'INTERNAL_ERROR', message: `API Gateway: ${gateway.message}` });
      return;
    }
    const decoded = decodeServerFrame(value);
    if (decoded.kind === 'unknown') {
      this.#handlers.problem(this, new ProtocolError(`a frame of unknown type ${JSON.stringify(decoded.type)}`, value));
      return;
    }
    if (decoded.kind === 'malformed') {
      this.#handlers.problem(this, new ProtocolError(`a malformed frame: ${decoded.problem}`, value));
      return;
    }
    const frames = decoded.frame.type === 'batch' ? decoded.frame.messages : [decoded.frame];
    for (const frame of frames as SingleServerFrame[]) {
      // A handler may have dropped the connection while handling the previous frame of a batch.
      if (this.#over) return;
      if (frame.type === 'pong') {
        this.#pongTimer.clear();
        this.answered = true;
        this.connectionId = frame.connectionId;
      }
      this.#handlers.frame(this, frame);
    }
  }

  #onClose(event: { code?: unknown; reason?: unknown }): void {
    const code = typeof event?.code === 'number' ? event.code : 1006;
    const reason = typeof event?.reason === 'string' && event.reason !== '' ? `: ${event.reason}` : '';
    const status = this.#handshakeStatus;
    if (this.openedAt === undefined && (status === 401 || status === 403)) {
      this.#finish(new AuthError(`the platform refused the connection (HTTP ${status})`, status));
      return;
    }
    const what =
      this.openedAt === undefined
        ? `the socket could not open${status === undefined ? '' : ` (HTTP ${status})`}`
        : this.#closedByUs
          ? 'closed by the client'
          : `the server closed the socket (${code}${reason})`;
    this.#finish(new ConnectionError(what, code));
  }

  #finish(error: ConnectionError | AuthError): void {
    if (this.#over) return;
    this.#over = true;
    this.#openTimer.clear();
    this.stopHeartbeats();
    this.#markLost();
    this.#handlers.lost(this, error);
  }
}
