/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface BackoffOptions {
  /** Delay ceiling of the first retry. */
  baseMs: number;
  /** No single delay exceeds this. */
  capMs: number;
}

/**
 * "Full jitter" delay before retry number `attempt` (1 = first retry): uniform in [0, min(cap, base·2^(attempt-1))].
 * Jitter spreads the retries of many concurrent callers so a throttled API is not hit again in lockstep.
 */
export function fullJitterDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}
