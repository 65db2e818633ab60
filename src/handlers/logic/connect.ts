import type { ConnectionRepository } from '../../adapters/connection-repository';
import { checkKeys } from '../../domain/keys';
import { describeError } from '../../lib/errors';
import type { Log } from '../../lib/logging';
import { connectionIdOf, stringField, type WebSocketEvent, type WebSocketResult } from './websocket-event';

export interface ConnectDeps {
  connections: ConnectionRepository;
  /** REAL_TIME_ITEM_KEY: the query parameter (or header) that carries keys, e.g. vehicleId. */
  keyName: string;
  /** IS_QUERY_PARAM: keys from the query string (true) or from the header of the same name (false). */
  isQueryParam: boolean;
  logger: Log;
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

/** The $connect logic: validate the keys, then store the connection and its subscriptions. */
export function createConnectHandler(deps: ConnectDeps): (event: WebSocketEvent) => Promise<WebSocketResult> {
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
    const context = event.requestContext;
    const connectedAt = context?.connectedAt;
    try {
      await deps.connections.saveConnection(
        {
          connectionId,
          ...(typeof connectedAt === 'number' ? { connectedAt } : {}),
          ...optional('sourceIp', stringField(context?.identity, 'sourceIp')),
          ...optional('userAgent', stringField(context?.identity, 'userAgent')),
          ...optional('userId', stringField(context?.authorizer, 'principalId')),
        },
        checked.keys,
      );
    } catch (error) {
      deps.logger.error('Could not store the connection', { connectionId, error: describeError(error), cause: error });
      // What API Gateway itself shows for a failed integration; the cause stays in our logs.
      return { statusCode: 500, body: 'Internal server error' };
    }
    deps.logger.info('Connected', { connectionId, keys: checked.keys });
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
