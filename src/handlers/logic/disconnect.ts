import type { ConnectionRepository } from '../../adapters/connection-repository';
import type { PresenceStore } from '../../adapters/presence-store';
import { describeError } from '../../lib/errors';
import type { Log } from '../../lib/logging';
import { retryUntilDeadline } from '../../lib/retry-until-deadline';
import { createConnectionEnder } from './end-connection';
import { connectionIdOf, type InvocationContext, type WebSocketEvent, type WebSocketResult } from './websocket-event';

export interface DisconnectDeps {
  connections: Pick<ConnectionRepository, 'connectionOf' | 'deleteConnection'>;
  presence: Pick<PresenceStore, 'closeConnection'>;
  logger: Log;
  /** Waits between retries (tests pass a fast one). */
  retrySleep?: (ms: number) => Promise<void>;
}

/** Kept back from the invocation's remaining time so the failure is logged before Lambda's timeout. */
const SAFETY_MARGIN_MS = 1000;
/** Without a Lambda context (tests, scripts): how long to keep retrying. */
const DEFAULT_RETRY_WINDOW_MS = 5000;

/**
 * The $disconnect logic: end the connection (src/handlers/logic/end-connection.ts) — delete its rows and, for a
 * signed-in user, settle their presence (offline only when this was their last connection). Idempotent, and best
 * effort on AWS's side too ($disconnect can be missed), which is why the fan-out also ends connections on 410, the
 * presence sweep ends silent ones, and rows carry a TTL.
 */
export function createDisconnectHandler(
  deps: DisconnectDeps,
): (event: WebSocketEvent, invocation?: InvocationContext) => Promise<WebSocketResult> {
  const end = createConnectionEnder(deps);
  return async (event, invocation) => {
    const connectionId = connectionIdOf(event);
    if (connectionId === undefined) {
      deps.logger.error('Malformed $disconnect event: requestContext.connectionId is missing');
      return { statusCode: 400, body: 'Malformed $disconnect event: requestContext.connectionId is missing' };
    }
    const context = event.requestContext;
    const fields = {
      connectionId,
      disconnectStatusCode: context?.disconnectStatusCode,
      disconnectReason: context?.disconnectReason,
    };
    const remaining = invocation?.getRemainingTimeInMillis?.() ?? DEFAULT_RETRY_WINDOW_MS + SAFETY_MARGIN_MS;
    let retries = 0;
    try {
      // Nobody calls $disconnect again: a transient failure (throttling, DynamoDB restarting) is retried here, or the
      // rows would keep receiving posts until the first 410 or their TTL.
      const ended = await retryUntilDeadline(() => end(connectionId), {
        deadline: Date.now() + Math.max(0, remaining - SAFETY_MARGIN_MS),
        ...(deps.retrySleep === undefined ? {} : { sleep: deps.retrySleep }),
        onRetry: () => retries++,
      });
      deps.logger.info('Disconnected', {
        ...fields,
        rowsDeleted: ended.rowsDeleted,
        presence: ended.presence,
        ...(retries > 0 ? { retries } : {}),
        ...(ended.userId === undefined ? {} : { userId: ended.userId }),
        ...(ended.transition === undefined ? {} : { transition: ended.transition }),
      });
      return { statusCode: 200, body: 'Disconnected' };
    } catch (error) {
      // Past the retries the rows expire by TTL, the fan-out ends the connection on its first 410 and the presence
      // sweep ends it once it is silent for PresenceTimeoutSeconds.
      deps.logger.error('Could not end the connection', {
        ...fields,
        retries,
        error: describeError(error),
        cause: error,
      });
      return { statusCode: 500, body: 'Internal server error' };
    }
  };
}
