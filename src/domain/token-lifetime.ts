/**
 * How long a signed-in WebSocket connection may live (AuthMode=jwt). API Gateway checks the token once, on
 * $connect; after that the connection would outlive it by up to two hours. So the authorizer hands the token's `exp`
 * to the connection (authorizer context `tokenExpiresAt`, epoch seconds), the message routes refuse work once it has
 * passed, and the presence sweep closes such connections (`expiringConnections` index). Both allow the same clock
 * skew as the token check itself, so a token accepted at $connect is not refused a second later by a clock that
 * runs ahead.
 */

/** Seconds of clock skew allowed past `exp`: the JWT verifier's clock tolerance. */
export const TOKEN_EXPIRY_SKEW_SECONDS = 5;

/** The token expiry (epoch seconds) the authorizer attached to a WebSocket event, or undefined when there is none. */
export function tokenExpiresAtOf(event: unknown): number | undefined {
  const authorizer = field(field(event, 'requestContext'), 'authorizer');
  const value = field(authorizer, 'tokenExpiresAt');
  // API Gateway may hand context values over as strings.
  const seconds = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof seconds === 'number' && Number.isFinite(seconds) ? seconds : undefined;
}

/** Whether a token expiring at `expiresAtSeconds` is past it (plus the skew) at `nowMs`. */
export function isTokenExpired(expiresAtSeconds: number | undefined, nowMs: number): boolean {
  return expiresAtSeconds !== undefined && nowMs > (expiresAtSeconds + TOKEN_EXPIRY_SKEW_SECONDS) * 1000;
}

/**
 * The bound for an index query `tokenExpiresAt < bound` that lists exactly the whole-second expiries
 * isTokenExpired(…, nowMs) calls expired: exp + skew < nowMs / 1000. Rounding now down instead would miss, for up
 * to a second, tokens the routes already refuse — and the sweep runs once a minute.
 */
export function expiredTokenBound(nowMs: number): number {
  return Math.ceil(nowMs / 1000) - TOKEN_EXPIRY_SKEW_SECONDS;
}

/** The `error` frame text for work refused on an expired connection. */
export function tokenExpiredMessage(expiresAtSeconds: number): string {
  return (
    `the token of this connection expired at ${new Date(expiresAtSeconds * 1000).toISOString()}; ` +
    'reconnect with a fresh token'
  );
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}
