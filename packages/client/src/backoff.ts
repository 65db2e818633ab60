/** How long to wait before reconnecting, and when to replace a connection before the server cuts it. */

export interface BackoffOptions {
  /** The cap of the first attempt's wait. Default 500 ms. */
  minMs: number;
  /** The largest cap. Default 20 s. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({ minMs: 500, maxMs: 20_000 });

/**
 * Full-jitter exponential backoff: attempt n (from 0) waits a uniformly random time in [0, min(maxMs, minMs·2ⁿ)),
 * so 0–0.5 s, 0–1 s, 0–2 s … and never more than 20 s by default. The jitter spreads the reconnects of many clients
 * cut at once (a deploy, a network blip) instead of sending them back in waves.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const cap = Math.min(options.maxMs, options.minMs * 2 ** Math.min(Math.max(0, attempt), 30));
  return Math.floor(random() * cap);
}

/**
 * When to open the replacement of a connection the server will close after `lifetimeMs` (API Gateway: 2 hours):
 * between 1 and 2 margins before the cut, where a margin is 5 minutes or a fifth of the lifetime if that is less.
 * Random within the window, so clients connected together do not all rotate together.
 */
export function rotationDelay(lifetimeMs: number, random: () => number): number {
  const margin = Math.min(300_000, lifetimeMs / 5);
  return Math.max(0, Math.floor(lifetimeMs - margin - random() * margin));
}

/**
 * When to replace a connection whose token expires at `expiresAt`: `marginMs` before it, or half way there when the
 * token has less than two margins left (so short-lived tokens do not make the client rotate without pause).
 * Undefined when the token has already expired: a new connection with it would be refused.
 */
export function tokenRefreshDelay(expiresAt: number, now: number, marginMs: number): number | undefined {
  const remaining = expiresAt - now;
  if (remaining <= 0) return undefined;
  return remaining > 2 * marginMs ? remaining - marginMs : Math.floor(remaining / 2);
}
