import { type BackoffOptions, fullJitterDelay, sleep as wait } from './backoff';
import { isTransientAwsError } from './errors';

export interface RetryUntilDeadlineOptions {
  /** Epoch ms after which no new attempt starts. */
  deadline: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  backoff?: BackoffOptions;
  /** Which failures are worth another attempt; default: throttling, 5xx and network errors. */
  isRetryable?: (error: unknown) => boolean;
  /** Told before each pause (for logs and counters). */
  onRetry?: (error: unknown, attempt: number) => void;
}

/** 50 ms doubling to 2 s: a DynamoDB Local restart (about 5 s) is ridden out in a few attempts. */
const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 50, capMs: 2000 };

/**
 * Runs `operation` until it succeeds, fails for a reason retrying cannot fix, or the next pause would pass the
 * deadline; then the last error is thrown. Transient outages are ridden out inside the invocation, so the records
 * are reported to the event source (and its retry quota used) only when the outage outlasts the invocation.
 */
export async function retryUntilDeadline<T>(
  operation: () => Promise<T>,
  options: RetryUntilDeadlineOptions,
): Promise<T> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? wait;
  const isRetryable = options.isRetryable ?? isTransientAwsError;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const delay = fullJitterDelay(attempt, options.backoff ?? DEFAULT_BACKOFF);
      if (!isRetryable(error) || now() + delay >= options.deadline) throw error;
      options.onRetry?.(error, attempt);
      await sleep(delay);
    }
  }
}
