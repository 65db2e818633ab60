import type { ConnectionRepository } from '../../adapters/connection-repository';
import { describeError } from '../../lib/errors';
import type { Log } from '../../lib/logging';
import { connectionIdOf, type WebSocketEvent, type WebSocketResult } from './websocket-event';

export interface DisconnectDeps {
  connections: ConnectionRepository;
  logger: Log;
}

/**
 * The $disconnect logic: delete every row of the connection. Idempotent, and best effort on AWS's side too
 * ($disconnect can be missed), which is why the fan-out also cleans up on 410 and rows carry a TTL.
 */
export function createDisconnectHandler(deps: DisconnectDeps): (event: WebSocketEvent) => Promise<WebSocketResult> {
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
      const rows = await deps.connections.deleteConnection(connectionId);
      deps.logger.info('Disconnected', { ...fields, rowsDeleted: rows });
      return { statusCode: 200, body: 'Disconnected' };
    } catch (error) {
      // The rows expire by TTL and the fan-out deletes them on its first 410, so this is logged, not retried.
      deps.logger.error('Could not delete the connection rows', {
        ...fields,
        error: describeError(error),
        cause: error,
      });
      return { statusCode: 500, body: 'Internal server error' };
    }
  };
}
