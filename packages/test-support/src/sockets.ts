import WebSocket from 'ws';

// Real WebSocket clients for the integration suites: a socket that records every frame it receives and lets a test
// wait for the one it expects, and the status of a refused handshake.

// biome-ignore lint/suspicious/noExplicitAny: frames are JSON the tests read field by field.
export type Frame = Record<string, any>;

export interface RecordingSocket {
  socket: WebSocket;
  /** Every frame received so far, parsed, in order; the elements of a `batch` frame count as frames of their own. */
  frames: Frame[];
  /** Every WebSocket message as it arrived (a `batch` frame is one message). */
  messages: Frame[];
  /** Sends a frame: objects as JSON, strings as they are (to test malformed input). */
  send(frame: unknown): void;
  close(): void;
  /** Settles when the socket closes, with the close code and when it happened. */
  closed: Promise<{ code: number; reason: string; at: number }>;
  /** The first frame (received already or later) matching, looking from index `from` of `frames`. */
  next(match: (frame: Frame) => boolean, timeoutMs?: number, from?: number): Promise<Frame>;
  /** Waits until `count` frames match; resolves with them. */
  count(match: (frame: Frame) => boolean, count: number, timeoutMs?: number): Promise<Frame[]>;
}

export interface RecordingSocketOptions {
  /** Send `{"action":"heartbeat"}` at this interval (a signed-in client must, or the presence sweep closes it). */
  heartbeatMs?: number;
}

/**
 * The socket's connection id, as the platform names it in a pong: the id @connections and the connection table use.
 * Costs one heartbeat.
 */
export async function connectionIdOf(socket: RecordingSocket, timeoutMs?: number): Promise<string> {
  socket.send({ action: 'heartbeat' });
  return String((await socket.next((frame) => frame.type === 'pong', timeoutMs)).connectionId);
}

/** Opens a socket; rejects with the status when the handshake is refused. */
export function openRecordingSocket(url: string, options: RecordingSocketOptions = {}): Promise<RecordingSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    const frames: Frame[] = [];
    const messages: Frame[] = [];
    const waiters = new Set<() => void>();
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as Frame;
      messages.push(message);
      // A client unwraps a batch and handles its frames in order, as if they had come alone.
      if (message.type === 'batch' && Array.isArray(message.messages)) frames.push(...(message.messages as Frame[]));
      else frames.push(message);
      for (const wake of waiters) wake();
    });
    if (options.heartbeatMs !== undefined) {
      const heartbeats = setInterval(() => {
        if (socket.readyState === WebSocket.OPEN) socket.send('{"action":"heartbeat"}');
      }, options.heartbeatMs);
      socket.on('close', () => clearInterval(heartbeats));
    }
    // How the socket ended, for a wait that times out: a socket the platform closed gets nothing more.
    let ending = '';
    const closed = new Promise<{ code: number; reason: string; at: number }>((done) =>
      socket.on('close', (code, reason) => {
        ending = `; the socket was closed ${new Date().toISOString()} with ${code} "${reason.toString()}"`;
        done({ code, reason: reason.toString(), at: Date.now() });
      }),
    );
    const wait = <T>(ready: () => T | undefined, timeoutMs: number, what: string, from: number) => {
      // Made now, thrown at the timeout: its stack names the test line that waited, not this module's timer.
      const timedOut = new Error(what);
      return new Promise<T>((found, fail) => {
        const check = () => {
          const value = ready();
          if (value === undefined) return;
          waiters.delete(check);
          clearTimeout(timer);
          found(value);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const seen = frames.slice(from);
          const errors = seen.filter((frame) => frame.type === 'error');
          timedOut.message =
            `${what} within ${timeoutMs} ms${ending}; got ${seen.length} frames ` +
            `(errors: ${JSON.stringify(errors)}): ${JSON.stringify(seen).slice(0, 2000)}`;
          fail(timedOut);
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    };
    const recording: RecordingSocket = {
      socket,
      frames,
      messages,
      closed,
      send: (frame) => socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
      close: () => socket.close(),
      // Defaults for answers that must come, not for how fast: CI's 2 cores, shared by two suites, a browser and the
      // README test's runtimes starting JVMs, once kept a first subscribe's answer waiting over 10 s. Tests about
      // latency pass their own bound.
      next: (match, timeoutMs = 20_000, from = 0) =>
        wait(() => frames.slice(from).find(match), timeoutMs, 'no matching frame', from),
      count: (match, count, timeoutMs = 30_000) =>
        wait(
          () => {
            const hits = frames.filter(match);
            return hits.length >= count ? hits : undefined;
          },
          timeoutMs,
          `fewer than ${count} matching frames`,
          0,
        ),
    };
    socket.once('open', () => resolve(recording));
    socket.once('unexpected-response', (_request, response) =>
      reject(new Error(`handshake refused: ${response.statusCode}`)),
    );
    socket.once('error', reject);
  });
}

/** The status and body of a handshake the platform refuses; rejects when it is accepted. */
export function refusedHandshake(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('open', () => {
      socket.close();
      reject(new Error('the handshake was accepted'));
    });
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    socket.once('error', () => undefined);
  });
}
