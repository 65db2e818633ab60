import type { ConnectionRepository } from '../../adapters/connection-repository';
import type { PresenceStore } from '../../adapters/presence-store';
import { describeError } from '../../lib/errors';
import type { Log } from '../../lib/logging';
import type { ActivityLog } from './activity';
import { createConnectionEnder } from './end-connection';
import { connectionIdOf, type WebSocketEvent, type WebSocketResult } from './websocket-event';

export interface DisconnectDeps {
  connections: Pick<ConnectionRepository, 'connectionOf' | 'deleteConnection'>;
  presence: Pick<PresenceStore, 'closeConnection'>;
  /** Signed-in users' activity history: a CLOSE_CONNECTION (or TIMEOUT) entry when this call settles presence. */
  activity?: ActivityLog;
  logger: Log;
}

/**
 * The $disconnect logic: end the connection (src/handlers/logic/end-connection.ts) — delete its rows and, for a
 * signed-in user, settle their presence (offline only when this was their last connection). Idempotent, and best
 * effort on AWS's side too ($disconnect can be missed), which is why the fan-out also ends connections on 410, the
 * presence sweep ends silent ones, and rows carry a TTL.
 */
export function createDisconnectHandler(deps: DisconnectDeps): (event: WebSocketEvent) => Promise<WebSocketResult> {
  const end = createConnectionEnder(deps);
  return async (event) => {
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
    try {
      const ended = await end(connectionId);
      deps.logger.info('Disconnected', {
        ...fields,
        rowsDeleted: ended.rowsDeleted,
        presence: ended.presence,
        ...(ended.userId === undefined ? {} : { userId: ended.userId }),
        ...(ended.transition === undefined ? {} : { transition: ended.transition }),
      });
      return { statusCode: 200, body: 'Disconnected' };
    } catch (error) {
      // The rows expire by TTL, the fan-out ends the connection on its first 410 and the presence sweep ends it once
      // it is silent for PresenceTimeoutSeconds, so this is logged, not retried.
      deps.logger.error('Could not end the connection', {
        ...fields,
        error: describeError(error),
        cause: error,
      });
      return { statusCode: 500, body: 'Internal server error' };
    }
  };
}
