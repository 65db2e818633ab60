import type { ConnectionRepository } from '../../adapters/connection-repository';
import type { PresenceStore } from '../../adapters/presence-store';
import type { DisconnectTransition } from '../../domain/presence';

/**
 * Ending a connection, the one way $disconnect, the presence sweep and the fan-out (on 410) all do it: a signed-in
 * connection's row is deleted in one transaction with its user's presence update (whoever deletes the row settles
 * presence, exactly once, however the three race); then the remaining rows (subscriptions) are deleted. Anonymous
 * connections have no presence: all their rows are simply deleted.
 */

export interface EndConnectionDeps {
  connections: Pick<ConnectionRepository, 'connectionOf' | 'deleteConnection'>;
  presence: Pick<PresenceStore, 'closeConnection'>;
}

export interface EndedConnection {
  /** The user, for signed-in connections whose row still existed. */
  userId?: string;
  /**
   * `settled`: this call deleted the row and updated presence (`transition` says how); `elsewhere`: another caller
   * got there first; `anonymous`: no presence to settle; `gone`: no connection row was left.
   */
  presence: 'settled' | 'elsewhere' | 'anonymous' | 'gone';
  transition?: DisconnectTransition;
  /** Other rows (subscriptions, an anonymous connection's row) deleted. */
  rowsDeleted: number;
}

export type ConnectionEnder = (connectionId: string) => Promise<EndedConnection>;

/** The connection ender over the repositories. Idempotent; throws StorageError when DynamoDB fails. */
export function createConnectionEnder(deps: EndConnectionDeps): ConnectionEnder {
  return async (connectionId) => {
    const row = await deps.connections.connectionOf(connectionId);
    let ended: Omit<EndedConnection, 'rowsDeleted'>;
    if (row === undefined) ended = { presence: 'gone' };
    else if (row.userId === undefined) ended = { presence: 'anonymous' };
    else {
      const closed = await deps.presence.closeConnection(connectionId, row.userId);
      ended = closed.closed
        ? { userId: row.userId, presence: 'settled', transition: closed.transition }
        : { userId: row.userId, presence: 'elsewhere' };
    }
    // Also after someone else settled: the subscription rows must go whoever deleted the connection row.
    const rowsDeleted = await deps.connections.deleteConnection(connectionId);
    return { ...ended, rowsDeleted };
  };
}
