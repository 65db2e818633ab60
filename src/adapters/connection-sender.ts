import {
  type ApiGatewayManagementApiClient,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { type BackoffOptions, fullJitterDelay, sleep as realSleep } from '../lib/backoff';
import { httpStatusOf, isTransientAwsError } from '../lib/errors';
import type { Poster } from './signed-poster';

/** How a post to one connection ended. */
export type PostResult =
  | { status: 'sent'; attempts: number }
  /** 410: the connection is closed; its rows should be deleted. */
  | { status: 'gone'; attempts: number }
  /** 413: the message is over API Gateway's limit. */
  | { status: 'tooLarge'; attempts: number }
  /** Anything else, after retries when the error was transient. `retryable`: worth re-delivering later. */
  | { status: 'failed'; attempts: number; retryable: boolean; error: unknown };

export interface PostOptions {
  /** Epoch ms after which no retry starts (the invocation's remaining time, minus a margin). */
  deadline?: number;
  /** Aborts a request still in flight at the deadline. */
  signal?: AbortSignal;
}

/** Posts messages to WebSocket connections through the @connections management API. */
export interface ConnectionSender {
  post(connectionId: string, data: Uint8Array, options?: PostOptions): Promise<PostResult>;
}

export type PostErrorKind = 'gone' | 'tooLarge' | 'retry' | 'failed';

/**
 * Classifies a PostToConnection error by class and `name` (SDK v3 errors have no `statusCode`; the seeds that
 * tested `statusCode === 410` never cleaned anything up): 410 gone, 413 too large, 429/5xx/network retry.
 */
export function classifyPostError(error: unknown): PostErrorKind {
  if (typeof error !== 'object' || error === null) return 'failed';
  const name = (error as { name?: unknown }).name;
  if (error instanceof GoneException || name === 'GoneException') return 'gone';
  if (error instanceof PayloadTooLargeException || name === 'PayloadTooLargeException' || httpStatusOf(error) === 413) {
    return 'tooLarge';
  }
  // Our own deadline abort is final for this invocation; Lambda re-delivers the record later.
  if (name === 'AbortError') return 'failed';
  return isTransientAwsError(error) ? 'retry' : 'failed';
}

/** How each attempt goes out: through an SDK client, or a Poster (signed-poster.ts: the same request, leaner). */
export type ConnectionSenderTransport =
  | {
      /**
       * Created with `maxAttempts: 1`: this sender owns the retries, so they respect the invocation's deadline and
       * are counted, instead of hiding inside the SDK's own retry strategy.
       */
      client: ApiGatewayManagementApiClient;
    }
  | { poster: Poster };

export type ConnectionSenderDeps = ConnectionSenderTransport & {
  /** Attempts per post, the first included. */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
  /** The client's own per-request timeout (aws-clients.ts): attempts that could outlast the deadline get a shorter one. */
  requestTimeoutMs?: number;
};

/** The management-API ConnectionSender, with jittered retries of throttling and 5xx within the deadline. */
export function createConnectionSender(deps: ConnectionSenderDeps): ConnectionSender {
  const maxAttempts = deps.maxAttempts ?? 8;
  const backoff = deps.backoff ?? { baseMs: 25, capMs: 1000 };
  const sleep = deps.sleep ?? realSleep;
  const now = deps.now ?? Date.now;
  const requestTimeoutMs = deps.requestTimeoutMs ?? 5000;
  const attemptPost: Poster =
    'poster' in deps
      ? deps.poster
      : async (connectionId, data, abortSignal) => {
          await deps.client.send(
            new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }),
            abortSignal ? { abortSignal } : undefined,
          );
        };
  return {
    async post(connectionId, data, options = {}) {
      const deadline = options.deadline ?? Number.POSITIVE_INFINITY;
      for (let attempt = 1; ; attempt++) {
        try {
          await attemptPost(connectionId, data, attemptSignal(deadline - now(), requestTimeoutMs, options.signal));
          return { status: 'sent', attempts: attempt };
        } catch (error) {
          const kind = classifyPostError(error);
          if (kind === 'gone') return { status: 'gone', attempts: attempt };
          if (kind === 'tooLarge') return { status: 'tooLarge', attempts: attempt };
          if (kind === 'failed' || attempt >= maxAttempts || options.signal?.aborted) {
            return { status: 'failed', attempts: attempt, retryable: kind === 'retry', error };
          }
          const delay = fullJitterDelay(attempt, backoff, deps.random);
          if (now() + delay >= deadline) return { status: 'failed', attempts: attempt, retryable: true, error };
          await sleep(delay);
        }
      }
    },
  };
}

/**
 * The abort signal of one attempt: none when the client's request timeout ends it before the deadline anyway (a
 * signal per request costs CPU at thousands of posts), else one that fires at the deadline.
 */
function attemptSignal(msLeft: number, requestTimeoutMs: number, caller?: AbortSignal): AbortSignal | undefined {
  const timeout = msLeft < requestTimeoutMs ? AbortSignal.timeout(Math.max(1, Math.floor(msLeft))) : undefined;
  if (timeout && caller) return AbortSignal.any([timeout, caller]);
  return timeout ?? caller;
}
