import { type ActivityEntry, checkKeys, inboxKey } from '@real-time-platform/protocol';
import type { ConnectionRepository, NewConnection } from '../../adapters/connection-repository';
import type { OpenResult, PresenceStore } from '../../adapters/presence-store';
import { authorizeKeys, forbidden, type KeyAccessPolicy } from '../../domain/key-access';
import { tokenExpiresAtOf } from '../../domain/token-lifetime';
import { describeError } from '../../lib/errors';
import type { Log } from '../../lib/logging';
import type { ActivityLog } from './activity';
import { callerOfWebSocketEvent } from './caller';
import { connectionIdOf, stringField, type WebSocketEvent, type WebSocketResult } from './websocket-event';

export interface ConnectDeps {
  /** Anonymous connections (AuthMode=none). */
  connections: Pick<ConnectionRepository, 'saveConnection'>;
  /** Signed-in connections: the row, the subscriptions and the user's presence in one transaction. */
  presence: Pick<PresenceStore, 'openConnection'>;
  /** Who may read which key (src/handlers/wiring/dependencies.ts). */
  keyAccess: KeyAccessPolicy;
  /** REAL_TIME_ITEM_KEY: the query parameter (or header) that carries keys, e.g. vehicleId. */
  keyName: string;
  /** IS_QUERY_PARAM: keys from the query string (true) or from the header of the same name (false). */
  isQueryParam: boolean;
  /** Signed-in users' activity history: a CONNECT entry per connection (absent: none is kept). */
  activity?: ActivityLog;
  logger: Log;
  now?: () => number;
}

/**
 * The keys a $connect asks for. Query string: every value of the parameter (repeats allowed). Header: matched
 * case-insensitively, repeats via multiValueHeaders and comma-separated lists (so header keys cannot contain commas).
 */
export function keysFromConnectEvent(event: WebSocketEvent, keyName: string, isQueryParam: boolean): string[] {
  if (isQueryParam) {
    const many = valuesOf(event.multiValueQueryStringParameters, (name) => name === keyName);
    if (many.length > 0) return many;
    const one = valuesOf(event.queryStringParameters, (name) => name === keyName);
    return one;
  }
  const wanted = keyName.toLowerCase();
  const matches = (name: string) => name.toLowerCase() === wanted;
  let raw = valuesOf(event.multiValueHeaders, matches);
  if (raw.length === 0) raw = valuesOf(event.headers, matches);
  return raw.flatMap((value) => value.split(',').map((part) => part.trim()));
}

/**
 * The $connect logic:
 * 1. validate the keys (400, nothing stored);
 * 2. authorize every key for the caller with the key access policy (401 when a key needs a signed-in user, 403
 *    when the caller may not read it; the body names the key and why; nothing stored);
 * 3. store the connection and its subscriptions. A signed-in user's connection also subscribes to their own
 *    `inbox:<userId>` and counts in their presence, all in one transaction (see PresenceStore.openConnection),
 *    which also ConditionChecks the rows that granted access (a calendar share, a friendship): a grant taken back
 *    between step 2 and this write answers 403 like a refusal in step 2, with nothing stored. Anonymous
 *    connections can only read keys no grant guards, so they are stored as before.
 * A signed-in connection also gets a CONNECT entry in its user's activity history, written at the same time as the
 * transaction (so the connect waits for the slower of the two writes, not for both in turn) and never failing it:
 * a failed entry is logged and dropped; an entry of a connect that then failed or was refused is taken back.
 */
export function createConnectHandler(deps: ConnectDeps): (event: WebSocketEvent) => Promise<WebSocketResult> {
  const now = deps.now ?? Date.now;
  return async (event) => {
    const connectionId = connectionIdOf(event);
    if (connectionId === undefined) {
      deps.logger.error('Malformed $connect event: requestContext.connectionId is missing');
      return { statusCode: 400, body: 'Malformed $connect event: requestContext.connectionId is missing' };
    }
    const requested = keysFromConnectEvent(event, deps.keyName, deps.isQueryParam);
    const checked = checkKeys(requested, deps.keyName);
    if (!checked.ok) {
      deps.logger.info('Connection refused: invalid keys', { connectionId, reason: checked.message });
      return { statusCode: 400, body: `Bad request: ${checked.message}` };
    }
    const caller = callerOfWebSocketEvent(event);
    const context = event.requestContext;
    const connectedAt = context?.connectedAt;
    const connection: NewConnection = {
      connectionId,
      ...(typeof connectedAt === 'number' ? { connectedAt } : {}),
      ...optional('sourceIp', stringField(context?.identity, 'sourceIp')),
      ...optional('userAgent', stringField(context?.identity, 'userAgent')),
    };
    try {
      const verdict = await authorizeKeys(deps.keyAccess, caller, checked.keys);
      if (!verdict.allowed) {
        const { code, message } = verdict.decision;
        deps.logger.info('Connection refused: key not allowed', { connectionId, key: verdict.key, code });
        return code === 'UNAUTHORIZED'
          ? { statusCode: 401, body: `Unauthorized: ${message}` }
          : { statusCode: 403, body: `Forbidden: ${message}` };
      }
      if (caller === undefined) {
        await deps.connections.saveConnection(connection, checked.keys);
      } else {
        const keys = [...new Set([...checked.keys, inboxKey(caller.userId)])];
        // connectedAt, when API Gateway gives it: a retried $connect then rewrites the same entry, not a second one.
        const entry: ActivityEntry = {
          type: 'CONNECT',
          at: typeof connectedAt === 'number' ? connectedAt : now(),
          connectionId,
        };
        const recording = deps.activity?.record(caller.userId, entry);
        let opened: OpenResult | undefined;
        try {
          const tokenExpiresAt = tokenExpiresAtOf(event);
          opened = await deps.presence.openConnection(
            { ...connection, userId: caller.userId, ...(tokenExpiresAt === undefined ? {} : { tokenExpiresAt }) },
            keys,
            verdict.requirements,
          );
        } finally {
          // Awaited before answering (Lambda freezes what is left running). A repeated $connect keeps the entry:
          // it is the first one's.
          const happened = opened !== undefined && (opened.opened || !('refusedKey' in opened));
          if ((await recording) === true && !happened) await deps.activity?.retract(caller.userId, entry);
        }
        if (!opened.opened && 'refusedKey' in opened) {
          const key = opened.refusedKey;
          deps.logger.info('Connection refused: access taken back meanwhile', { connectionId, key, code: 'FORBIDDEN' });
          return { statusCode: 403, body: `Forbidden: ${forbidden(key, 'access was taken back').message}` };
        }
        if (!opened.opened)
          deps.logger.warn('$connect repeated for a stored connection; nothing changed', { connectionId });
      }
    } catch (error) {
      deps.logger.error('Could not store the connection', { connectionId, error: describeError(error), cause: error });
      // What API Gateway itself shows for a failed integration; the cause stays in our logs.
      return { statusCode: 500, body: 'Internal server error' };
    }
    deps.logger.info('Connected', { connectionId, keys: checked.keys, ...(caller ? { userId: caller.userId } : {}) });
    return { statusCode: 200, body: 'Connected' };
  };
}

function valuesOf(
  source: Record<string, string | string[] | undefined> | null | undefined,
  matches: (name: string) => boolean,
): string[] {
  if (typeof source !== 'object' || source === null) return [];
  const values: string[] = [];
  for (const [name, value] of Object.entries(source)) {
    if (!matches(name)) continue;
    if (typeof value === 'string') values.push(value);
    else if (Array.isArray(value)) values.push(...value.filter((v): v is string => typeof v === 'string'));
  }
  return values;
}

function optional<K extends string>(name: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: string };
}
