import type { ConnectionRepository } from '../../adapters/connection-repository';
import type { PresenceStore } from '../../adapters/presence-store';
import type { DisconnectTransition } from '../../domain/presence';
import type { ActivityLog } from './activity';

/**
 * Ending a connection, the one way $disconnect, the presence sweep and the fan-out (on 410) all do it: a signed-in
 * connection's row is deleted in one transaction with its user's presence update (whoever deletes the row settles
 * presence, exactly once, however the three race); then the remaining rows (subscriptions) are deleted. Anonymous
 * connections have no presence: all their rows are simply deleted.
 *
 * The caller that settles presence also appends the close to the user's activity history, so each connection's end
 * is recorded once: TIMEOUT when the presence sweep marked the row (it does so before closing the socket, so the
 * $disconnect that closing fires records the timeout too), otherwise the reason the caller gives.
 */

export interface EndConnectionDeps {
  connections: Pick<ConnectionRepository, 'connectionOf' | 'deleteConnection'>;
  presence: Pick<PresenceStore, 'closeConnection'>;
  /** Signed-in users' activity history (absent: none is kept). */
  activity?: ActivityLog;
  now?: () => number;
}

/** Why a connection ends, as its user's activity history says. */
export type EndReason = 'CLOSE_CONNECTION' | 'TIMEOUT';

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

/** Ends a connection; `reason` (default CLOSE_CONNECTION) unless the row says it timed out. */
export type ConnectionEnder = (connectionId: string, reason?: EndReason) => Promise<EndedConnection>;

/** The connection ender over the repositories. Idempotent; throws StorageError when DynamoDB fails. */
export function createConnectionEnder(deps: EndConnectionDeps): ConnectionEnder {
  const now = deps.now ?? Date.now;
  return async (connectionId, reason = 'CLOSE_CONNECTION') => {
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
    const userId = ended.presence === 'settled' ? ended.userId : undefined;
    const [rowsDeleted] = await Promise.all([
      // Also after someone else settled: the subscription rows must go whoever deleted the connection row.
      deps.connections.deleteConnection(connectionId),
      userId === undefined
        ? undefined
        : deps.activity?.record(userId, { type: row?.endReason ?? reason, at: now(), connectionId }),
    ]);
    return { ...ended, rowsDeleted };
  };
}
