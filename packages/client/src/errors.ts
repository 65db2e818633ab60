/**
 * What goes wrong, as classes an app can tell apart with `instanceof`. `retryable` says whether the client (or the
 * app) may try again as it is: the client retries those itself and stops on the others.
 */
export class RealtimeError extends Error {
  override name = 'RealtimeError';
  readonly retryable: boolean;

  constructor(message: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable;
  }
}

/** The app used the client wrongly (an invalid key, an action that is not an object …); fix the call. */
export class UsageError extends RealtimeError {
  override name = 'UsageError';
  constructor(message: string) {
    super(message, { retryable: false });
  }
}

/** A socket could not open, closed, or stopped answering heartbeats; the client reconnects. */
export class ConnectionError extends RealtimeError {
  override name = 'ConnectionError';
  /** The WebSocket close code, when the socket closed (1001 going away, 1006 abnormal, 1009 too big, 1011 …). */
  readonly closeCode: number | undefined;
  constructor(message: string, closeCode?: number, cause?: unknown) {
    super(message, { retryable: true, cause });
    this.closeCode = closeCode;
  }
}

/** The handshake was refused with 401 or 403: the client waits for a new token (see `setToken`). */
export class AuthError extends RealtimeError {
  override name = 'AuthError';
  /** 401 (no or bad token), 403 (not allowed), or undefined when the token was known to be expired. */
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message, { retryable: false });
    this.status = status;
  }
}

/** The token provider threw, or did not answer in time; the client tries again later. */
export class TokenError extends RealtimeError {
  override name = 'TokenError';
  constructor(message: string, cause?: unknown) {
    super(message, { retryable: true, cause });
  }
}

/** The server sent something this client cannot read (not JSON, a malformed or unknown frame); it is skipped. */
export class ProtocolError extends RealtimeError {
  override name = 'ProtocolError';
  /** What was received (parsed when it was JSON). */
  readonly received: unknown;
  constructor(message: string, received: unknown) {
    super(message, { retryable: false });
    this.received = received;
  }
}

/** An `error` frame: the platform refused an action. INTERNAL_ERROR is retryable, the other codes are not. */
export class ServerError extends RealtimeError {
  override name = 'ServerError';
  /** The frame's code: BAD_REQUEST, FORBIDDEN, UNAUTHORIZED, LIMIT_EXCEEDED, NOT_FOUND, INTERNAL_ERROR … */
  readonly code: string;
  /** The key of the subscription it refused, when it answers a subscribe. */
  readonly key: string | undefined;
  constructor(code: string, message: string, key?: string) {
    super(message, { retryable: code === 'INTERNAL_ERROR' });
    this.code = code;
    this.key = key;
  }
}

/** An HTTP request to the platform's HTTP API failed; 429, 5xx and network failures are retryable. */
export class HttpError extends RealtimeError {
  override name = 'HttpError';
  /** The response status; 0 when no response came. */
  readonly status: number;
  constructor(message: string, status: number, cause?: unknown) {
    super(message, { retryable: status === 0 || status === 429 || status >= 500, cause });
    this.status = status;
  }
}

/** The client was closed before an operation could finish. */
export class ClosedError extends RealtimeError {
  override name = 'ClosedError';
  constructor(message = 'the client was closed') {
    super(message, { retryable: false });
  }
}
