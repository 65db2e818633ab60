import {
  type ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GoneException,
} from '@aws-sdk/client-apigatewaymanagementapi';

/** Closes WebSocket connections through the @connections management API (DELETE @connections/{id}). */
export type ConnectionCloser = (connectionId: string) => Promise<'closed' | 'gone'>;

/**
 * The management-API closer. `gone` (410) means the connection had already ended: fine for a caller that only
 * wants it closed. Classified by class and `name`, never by a `statusCode` (SDK v3 errors have none). Anything
 * else is thrown.
 */
export function createConnectionCloser(client: ApiGatewayManagementApiClient): ConnectionCloser {
  return async (connectionId) => {
    try {
      await client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
      return 'closed';
    } catch (error) {
      if (error instanceof GoneException || (error as { name?: unknown } | null)?.name === 'GoneException') {
        return 'gone';
      }
      throw error;
    }
  };
}
