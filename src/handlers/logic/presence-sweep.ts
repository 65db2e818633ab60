import type { ConnectionCloser } from '../../adapters/connection-closer';
import type { ConnectionRepository } from '../../adapters/connection-repository';
import { SWEEP_SHARDS } from '../../adapters/connection-repository';
import { expiredTokenBound } from '../../domain/token-lifetime';
import { runWithConcurrency } from '../../lib/concurrency';
import { describeError } from '../../lib/errors';
import type { Log } from '../../lib/logging';
import type { ConnectionEnder } from './end-connection';
import type { InvocationContext } from './websocket-event';

/**
 * The presence sweep (PresenceSweepFunction, on a schedule): finds signed-in connections silent for longer than
 * PresenceTimeoutSeconds — a Query per shard of the sparse `silentConnections` index (sweepShard, lastSeenAt), never a
 * Scan — closes each socket with DELETE @connections (so a vanished client's socket does not stay open, a seed
 * defect) and ends the connection: rows deleted, presence recomputed (offline with the last connection).
 *
 * With AuthMode=jwt it also ends connections whose token has expired (plus TOKEN_EXPIRY_SKEW_SECONDS), found the same
 * way on the sparse `expiringConnections` index (sweepShard, tokenExpiresAt), heartbeats or not.
 *
 * Safe to run twice at once and against a concurrent $disconnect: the row is re-read before acting (the index lags
 * heartbeats), and ending a connection settles presence exactly once whoever gets there first.
 */

export interface PresenceSweepDeps {
  connections: Pick<
    ConnectionRepository,
    'silentConnections' | 'expiredTokenConnections' | 'connectionOf' | 'markTimedOut'
  >;
  closeSocket: ConnectionCloser;
  end: ConnectionEnder;
  timeoutSeconds: number;
  logger: Log;
  shards?: number;
  /** Most connections handled per shard and run; the next run (a minute later) continues. */
  maxPerShard?: number;
  concurrency?: number;
  now?: () => number;
  /** Kept back from the invocation's remaining time so the summary is logged before Lambda's timeout. */
  safetyMarginMs?: number;
}

export interface SweepSummary {
  /** Listed by either index: silent, or holding an expired token. */
  found: number;
  /** Sockets closed by DELETE @connections. */
  closed: number;
  /** Already gone (410) when we tried to close them. */
  alreadyGone: number;
  /** Connections whose presence this run settled. */
  settled: number;
  /** Listed by the index as holding an expired token (AuthMode=jwt); ended whether silent or not. */
  tokenExpired: number;
  /** Not acted on: a heartbeat arrived since the index saw them, or the connection had ended already. */
  skipped: number;
  /** Left for the next run (closing or ending failed, or the deadline came). */
  failed: number;
}

/** The silence cutoff: connections last seen before this (epoch ms) are considered gone. */
export function silenceCutoff(now: number, timeoutSeconds: number): number {
  return now - timeoutSeconds * 1000;
}

/** One sweep. Never throws for a single connection; a failed index query of a shard is logged and skipped. */
export async function runPresenceSweep(deps: PresenceSweepDeps, context?: InvocationContext): Promise<SweepSummary> {
  const now = deps.now ?? Date.now;
  const shards = deps.shards ?? SWEEP_SHARDS;
  const maxPerShard = deps.maxPerShard ?? 500;
  const remaining = context?.getRemainingTimeInMillis?.() ?? 60_000;
  const deadline = now() + Math.max(0, remaining - (deps.safetyMarginMs ?? Math.min(5000, remaining * 0.2)));
  const cutoff = silenceCutoff(now(), deps.timeoutSeconds);
  const summary: SweepSummary = {
    found: 0,
    tokenExpired: 0,
    closed: 0,
    alreadyGone: 0,
    settled: 0,
    skipped: 0,
    failed: 0,
  };
  // A token counts as expired once past exp plus the skew the token check allows, as for the message routes.
  const expiredBefore = expiredTokenBound(now());

  // A shard whose lookup fails waits for the next run; the other shards are swept now.
  const perShard = async <T>(lookup: (shard: string) => Promise<T[]>, failure: string): Promise<T[][]> =>
    Promise.all(
      Array.from({ length: shards }, async (_, shard) => {
        try {
          return await lookup(String(shard));
        } catch (error) {
          deps.logger.error(failure, { shard, error: describeError(error) });
          return [];
        }
      }),
    );
  const lists = await perShard(
    (shard) => deps.connections.silentConnections(shard, cutoff, maxPerShard),
    'Silent-connection lookup failed; the shard waits for the next run',
  );
  const expiredLists = await perShard(
    (shard) => deps.connections.expiredTokenConnections(shard, expiredBefore, maxPerShard),
    'Expired-token lookup failed; the shard waits for the next run',
  );
  const expired = new Set(expiredLists.flat());
  summary.tokenExpired = expired.size;
  const candidates = [...new Set([...lists.flat().map((c) => c.connectionId), ...expired])];
  summary.found = candidates.length;

  await runWithConcurrency(candidates, deps.concurrency ?? 8, async (connectionId) => {
    if (now() >= deadline) {
      summary.failed++;
      return;
    }
    try {
      // The index is eventually consistent: a heartbeat a moment ago may not be in it yet.
      const row = await deps.connections.connectionOf(connectionId);
      const tokenExpired = row?.tokenExpiresAt !== undefined && row.tokenExpiresAt < expiredBefore;
      const silent = row?.lastSeenAt === undefined || row.lastSeenAt < cutoff;
      if (row === undefined || (!silent && !tokenExpired)) {
        summary.skipped++;
        return;
      }
      // A silent connection is marked before the socket closes: the $disconnect that closing fires may end it before
      // we do, and must record a timeout, not a close. The condition also spares one whose heartbeat just came. An
      // expired token ends the connection whether it heartbeats or not, so it is not marked.
      if (!tokenExpired && !(await deps.connections.markTimedOut(connectionId, cutoff))) {
        summary.skipped++;
        return;
      }
      const closed = await deps.closeSocket(connectionId);
      if (closed === 'closed') summary.closed++;
      else summary.alreadyGone++;
      const ended = await deps.end(connectionId, 'TIMEOUT');
      if (ended.presence === 'settled') summary.settled++;
      deps.logger.info(tokenExpired ? 'Connection with an expired token ended' : 'Silent connection ended', {
        connectionId,
        ...(tokenExpired ? { tokenExpiresAt: row.tokenExpiresAt } : {}),
        userId: ended.userId,
        silentForMs: row.lastSeenAt === undefined ? undefined : now() - row.lastSeenAt,
        socket: closed,
        presence: ended.presence,
        transition: ended.transition,
      });
    } catch (error) {
      // Left as it is: the row stays in the index and the next run tries again.
      summary.failed++;
      deps.logger.warn('Could not end a silent connection; the next sweep retries', {
        connectionId,
        error: describeError(error),
      });
    }
  });
  deps.logger.info('Presence sweep', { ...summary, timeoutSeconds: deps.timeoutSeconds });
  return summary;
}

/** The PresenceSweepFunction handler. */
export function createPresenceSweepHandler(
  deps: PresenceSweepDeps,
): (event: unknown, context?: InvocationContext) => Promise<SweepSummary> {
  return (_event, context) => runPresenceSweep(deps, context);
}
