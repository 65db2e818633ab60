import { randomUUID } from 'node:crypto';
import {
  errorMessage,
  heartbeatActionSchema,
  MAX_SUBSCRIPTIONS_PER_CONNECTION,
  parseFrameBody,
  pongMessage,
  type ServerMessage,
  subscribeActionSchema,
  subscribedMessage,
  unknownActionMessage,
  unsubscribeActionSchema,
  unsubscribedMessage,
  updatePresenceActionSchema,
  validateFrame,
} from '@real-time-platform/protocol';
import type { ConnectionRepository } from '../../adapters/connection-repository';
import type { ConnectionSender } from '../../adapters/connection-sender';
import type { PresenceStore } from '../../adapters/presence-store';
import type { SnapshotRequester } from '../../adapters/snapshot-markers';
import { authorizeKeys, forbidden, type KeyAccessPolicy } from '../../domain/key-access';
import { encodeMessage } from '../../domain/messages';
import { pageOf } from '../../domain/presence';
import { isTokenExpired, tokenExpiredMessage, tokenExpiresAtOf } from '../../domain/token-lifetime';
import { describeError } from '../../lib/errors';
import type { Log } from '../../lib/logging';
import type { ActivityLog } from './activity';
import { callerOfWebSocketEvent } from './caller';
import { connectionIdOf, type InvocationContext, type WebSocketEvent, type WebSocketResult } from './websocket-event';

export interface MessageDeps {
  connections: ConnectionRepository;
  /** `subscribe` with `"snapshot":true`: the fan-out sends the snapshots, in stream order (see requestSnapshots). */
  snapshots: SnapshotRequester;
  sender: ConnectionSender;
  /** Who may read which key: checked before a subscription is stored (src/handlers/wiring/dependencies.ts). */
  keyAccess: KeyAccessPolicy;
  /** The caller's page (update-presence). */
  presence: Pick<PresenceStore, 'setPage'>;
  /** Signed-in users' activity history: an UPDATE_PRESENCE entry per page change (absent: none is kept). */
  activity?: ActivityLog;
  logger: Log;
  now?: () => number;
  /** Longest a reply may spend retrying (within the invocation's remaining time). */
  replyBudgetMs?: number;
}

const OK: WebSocketResult = { statusCode: 200 };
const INTERNAL: WebSocketResult = { statusCode: 500 };

/**
 * The message routes (subscribe, unsubscribe, heartbeat, update-presence, $default), chosen by
 * `requestContext.routeKey`. Replies go to the caller through the management API. Bad input gets an `error` frame
 * and a 200, so the connection stays open; nothing the client sends can make this throw. Subscriptions are
 * authorized per key (FORBIDDEN / UNAUTHORIZED naming the key, nothing stored); update-presence sets the caller's
 * own page and answers `{"type":"presence-updated","changed","page"}`.
 */
export function createMessageHandler(
  deps: MessageDeps,
): (event: WebSocketEvent, context?: InvocationContext) => Promise<WebSocketResult> {
  const now = deps.now ?? Date.now;
  const replyBudgetMs = deps.replyBudgetMs ?? 3000;

  return async (event, context) => {
    const connectionId = connectionIdOf(event);
    if (connectionId === undefined) {
      deps.logger.error('Malformed message event: requestContext.connectionId is missing');
      return { statusCode: 400, body: 'Malformed message event: requestContext.connectionId is missing' };
    }
    const remaining = context?.getRemainingTimeInMillis?.() ?? replyBudgetMs;
    const deadline = now() + Math.min(replyBudgetMs, Math.max(0, remaining - 200));
    const reply = async (message: ServerMessage): Promise<void> => {
      const result = await deps.sender.post(connectionId, encodeMessage(message), { deadline });
      if (result.status === 'gone') deps.logger.info('Reply not sent: the caller is gone', { connectionId });
      else if (result.status !== 'sent') {
        const error = result.status === 'failed' ? describeError(result.error) : undefined;
        deps.logger.warn('Reply not sent', { connectionId, status: result.status, type: message.type, error });
      }
    };
    const badRequest = async (message: string): Promise<WebSocketResult> => {
      deps.logger.info('Bad request', { connectionId, reason: message });
      await reply(errorMessage('BAD_REQUEST', message));
      return OK;
    };

    const tokenExpiresAt = tokenExpiresAtOf(event);
    if (tokenExpiresAt !== undefined && isTokenExpired(tokenExpiresAt, now())) {
      // API Gateway checked the token on $connect only; the connection must not outlive it (the sweep closes it).
      deps.logger.info('Refused: the token expired', { connectionId, tokenExpiresAt });
      await reply(errorMessage('TOKEN_EXPIRED', tokenExpiredMessage(tokenExpiresAt)));
      return OK;
    }

    const routeKey = event.requestContext?.routeKey;
    const decoded = parseFrameBody(decodeBody(event));
    if (!decoded.ok) return badRequest(decoded.message);

    switch (routeKey) {
      case 'subscribe': {
        const frame = validateFrame(subscribeActionSchema, decoded.frame);
        if (!frame.ok) return badRequest(frame.message);
        const { keys, snapshot } = frame.frame;
        try {
          // Nothing is stored unless every key is allowed; the frame names the first refused key and why.
          const verdict = await authorizeKeys(deps.keyAccess, callerOfWebSocketEvent(event), keys);
          if (!verdict.allowed) {
            deps.logger.info('Subscription refused', { connectionId, key: verdict.key, code: verdict.decision.code });
            await reply(errorMessage(verdict.decision.code, verdict.decision.message));
            return OK;
          }
          const current = await deps.connections.subscriptionsOf(connectionId);
          const total = new Set([...current, ...keys]).size;
          if (total > MAX_SUBSCRIPTIONS_PER_CONNECTION) {
            deps.logger.info('Subscription limit', { connectionId, current: current.length, requested: keys.length });
            await reply(
              errorMessage(
                'LIMIT_EXCEEDED',
                `a connection can hold at most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions; it has ${current.length}, ` +
                  'unsubscribe from some first',
              ),
            );
            return OK;
          }
          // The rows that granted access are ConditionChecked in the same write: a grant taken back since the
          // decision above refuses the subscription (nothing stored) exactly like a refusal above.
          const stored = await deps.connections.subscribe(connectionId, keys, verdict.requirements);
          if (!stored.subscribed) {
            const refused = forbidden(stored.refusedKey, 'access was taken back');
            deps.logger.info('Subscription refused: access taken back meanwhile', {
              connectionId,
              key: stored.refusedKey,
              code: refused.code,
            });
            await reply(errorMessage(refused.code, refused.message));
            return OK;
          }
        } catch (error) {
          deps.logger.error('Could not subscribe', { connectionId, keys, error: describeError(error), cause: error });
          await reply(errorMessage('INTERNAL_ERROR', 'could not subscribe right now; please retry'));
          return INTERNAL;
        }
        deps.logger.info('Subscribed', { connectionId, keys, snapshot: snapshot === true });
        await reply(subscribedMessage(keys));
        if (snapshot === true) await requestSnapshots(keys);
        return OK;
      }
      case 'unsubscribe': {
        const frame = validateFrame(unsubscribeActionSchema, decoded.frame);
        if (!frame.ok) return badRequest(frame.message);
        try {
          await deps.connections.unsubscribe(connectionId, frame.frame.keys);
        } catch (error) {
          deps.logger.error('Could not unsubscribe', { connectionId, error: describeError(error), cause: error });
          await reply(errorMessage('INTERNAL_ERROR', 'could not unsubscribe right now; please retry'));
          return INTERNAL;
        }
        deps.logger.info('Unsubscribed', { connectionId, keys: frame.frame.keys });
        await reply(unsubscribedMessage(frame.frame.keys));
        return OK;
      }
      case 'heartbeat': {
        const frame = validateFrame(heartbeatActionSchema, decoded.frame);
        if (!frame.ok) return badRequest(frame.message);
        try {
          const found = await deps.connections.touch(connectionId);
          if (!found) deps.logger.warn('Heartbeat from a connection without a connection row', { connectionId });
        } catch (error) {
          // The pong still goes out: the client's liveness check should not fail because our bookkeeping did.
          deps.logger.error('Could not record the heartbeat', {
            connectionId,
            error: describeError(error),
            cause: error,
          });
        }
        await reply(pongMessage(now(), connectionId));
        return OK;
      }
      case 'update-presence': {
        const frame = validateFrame(updatePresenceActionSchema, decoded.frame);
        if (!frame.ok) return badRequest(frame.message);
        const caller = callerOfWebSocketEvent(event);
        if (caller === undefined) {
          await reply(errorMessage('UNAUTHORIZED', 'update-presence needs a signed-in user (AuthMode=jwt, ?token=)'));
          return OK;
        }
        // The caller's identity is the only input: a frame naming someone else is refused, never applied to them.
        if (frame.frame.userId !== undefined && frame.frame.userId !== caller.userId) {
          deps.logger.warn('update-presence for another user refused', { connectionId, userId: caller.userId });
          await reply(errorMessage('FORBIDDEN', 'a user can only set their own presence; leave out userId'));
          return OK;
        }
        const page = pageOf(frame.frame);
        // A page change is activity: it keeps the connection out of the presence sweep like a heartbeat does. Done
        // first, not alongside: the page write checks this connection's row in a transaction, which a concurrent
        // write of the same row would cancel.
        await deps.connections.touch(connectionId).catch((error: unknown) => {
          deps.logger.warn('Could not record activity', { connectionId, error: describeError(error) });
          return true;
        });
        let outcome: Awaited<ReturnType<MessageDeps['presence']['setPage']>>;
        try {
          // The connection is recorded as the page's setter: closing this tab takes its page down.
          outcome = await deps.presence.setPage(caller.userId, connectionId, page);
        } catch (error) {
          deps.logger.error('Could not update presence', { connectionId, error: describeError(error), cause: error });
          await reply(errorMessage('INTERNAL_ERROR', 'could not update presence right now; please retry'));
          return INTERNAL;
        }
        if (outcome === 'offline') {
          // Only possible when the connection was just ended (e.g. by the presence sweep): nothing was written.
          await reply(errorMessage('NOT_FOUND', 'you are offline: this connection has ended; reconnect'));
          return OK;
        }
        deps.logger.info('Presence updated', { connectionId, userId: caller.userId, changed: outcome === 'changed' });
        // Like the presence item, the history has a page change only when the page changed (a repeat is no news);
        // recorded while the reply goes out, and never failing it.
        await Promise.all([
          outcome === 'changed'
            ? deps.activity?.record(caller.userId, {
                type: 'UPDATE_PRESENCE',
                at: now(),
                connectionId,
                ...(page === undefined ? {} : { url: page.url, title: page.title }),
              })
            : undefined,
          reply({ type: 'presence-updated', changed: outcome === 'changed', page: page ?? null }),
        ]);
        return OK;
      }
      default:
        // $default, and any route this function is not meant for.
        deps.logger.info('Unknown action', { connectionId, routeKey });
        await reply(unknownActionMessage(decoded.frame.action));
        return OK;
    }

    /**
     * Snapshots are not read here: a marker per key goes into RealTimeData under the key itself, and the fan-out,
     * meeting it on the stream in order with the key's changes, sends the key's items with an exact position
     * (reserved-items.ts, fanout-snapshots.ts). A marker that cannot be written gets an error frame naming its key.
     */
    async function requestSnapshots(keys: readonly string[]): Promise<void> {
      const requestId = event.requestContext?.requestId ?? event.requestContext?.messageId ?? randomUUID();
      const failed: string[] = [];
      await Promise.all(
        keys.map(async (key) => {
          try {
            await deps.snapshots.request({
              connectionId: connectionId as string,
              key,
              requestId: requestId.slice(0, 64),
            });
          } catch (error) {
            failed.push(key);
            deps.logger.error('Could not request a snapshot', {
              connectionId,
              key,
              error: describeError(error),
              cause: error,
            });
          }
        }),
      );
      // In the order the client asked for them.
      for (const key of keys.filter((k) => failed.includes(k))) {
        await reply(
          errorMessage(
            'INTERNAL_ERROR',
            `the snapshot of ${JSON.stringify(key)} is unavailable; subscribe again with "snapshot":true to retry`,
          ),
        );
      }
    }
  };
}

function decodeBody(event: WebSocketEvent): string | undefined {
  const body = event.body;
  if (typeof body !== 'string') return undefined;
  // Binary frames arrive base64-encoded; the protocol is JSON text either way.
  return event.isBase64Encoded === true ? Buffer.from(body, 'base64').toString('utf8') : body;
}
