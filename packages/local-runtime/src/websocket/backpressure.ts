/**
 * Backpressure for server → client messages. A client that stops reading (a frozen tab, a stalled mobile link)
 * leaves every @connections POST queued in the runtime's memory: ws accepts `send()` whatever the socket can take,
 * and with 10 such sockets fed 300 × 100 KB the runtime grew by 322 MB. So each connection may queue at most
 * `sendBufferBytes` (ws `bufferedAmount`: bytes accepted but not yet handed to the kernel); the message that would
 * go past it closes the connection instead.
 *
 * API Gateway behaves differently: when a client's buffer is full it answers the POST with 429
 * LimitExceededException ("the WebSocket client side buffer is full") and keeps the connection, so the message is
 * lost unless the poster retries. Here the connection is closed with 1008 "Policy Violation" (the RFC 6455 code for
 * "a message that violates the endpoint's policy", the closest fit: the client broke the read-what-you-subscribed
 * contract) and leaves the registry at once, so that POST and every later one answer 410 GoneException — the
 * fan-out deletes the row as for any departed client, and the client, which reconnects on any close, catches up
 * with a snapshot instead of silently missing changes.
 */
import type { WebSocket } from 'ws';

/** The close code and reason of a connection closed for not reading. */
export const SLOW_CONSUMER_CLOSE = Object.freeze({ code: 1008, reason: 'Slow consumer: send buffer full' });

/** Default per-connection cap on queued outgoing bytes: eight 128 KB messages. */
export const DEFAULT_SEND_BUFFER_BYTES = 1024 * 1024;

/**
 * How long a socket closed for being slow gets to flush its close frame before it is destroyed. Its queue is full
 * by definition, so the close handshake (ws waits 30 s for it) would hold the very memory the cap protects.
 */
export const SLOW_CONSUMER_TERMINATE_MS = 1000;

/**
 * Whether queueing `bytes` more on `socket` would take it past `capBytes`. A socket with nothing queued always takes
 * one message, so a cap below the message size cannot close a client that reads.
 */
export function overflowsSendBuffer(
  socket: Pick<WebSocket, 'bufferedAmount'>,
  bytes: number,
  capBytes: number,
): boolean {
  return socket.bufferedAmount > 0 && socket.bufferedAmount + bytes > capBytes;
}
