import type { WebSocketEvent } from '../../src/handlers/logic/websocket-event';

/** Factories for AWS-shaped events, so tests state only what they are about. */

let counter = 0;
/** A connection id shaped like AWS's (base64-ish, ending in "="). */
export function connectionId(): string {
  counter++;
  return `C${counter.toString(36).padStart(10, '0')}=`;
}

export interface WsEventOptions {
  routeKey?: string;
  connectionId?: string;
  body?: string | object;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string | string[]>;
  disconnect?: { statusCode: number; reason: string };
}

/** An API Gateway WebSocket proxy event ($connect / $disconnect / a message route). */
export function wsEvent(options: WsEventOptions = {}): WebSocketEvent {
  const routeKey = options.routeKey ?? '$default';
  const eventType = routeKey === '$connect' ? 'CONNECT' : routeKey === '$disconnect' ? 'DISCONNECT' : 'MESSAGE';
  const event: WebSocketEvent = {
    requestContext: {
      routeKey,
      eventType,
      connectionId: options.connectionId ?? connectionId(),
      connectedAt: 1763800000000,
      requestId: 'RcvJbF8VjoEFqXw=',
      stage: 'develop',
      domainName: 'abc123defg.execute-api.eu-west-1.amazonaws.com',
      apiId: 'abc123defg',
      identity: { sourceIp: '203.0.113.7', userAgent: 'jest' },
      ...(eventType === 'MESSAGE' ? { messageId: 'RcvJbdNfjoECE0w=' } : {}),
      ...(options.disconnect
        ? { disconnectStatusCode: options.disconnect.statusCode, disconnectReason: options.disconnect.reason }
        : {}),
    },
    isBase64Encoded: false,
  };
  if (options.body !== undefined) {
    event.body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  if (options.query) {
    event.multiValueQueryStringParameters = Object.fromEntries(
      Object.entries(options.query).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]),
    );
    // Like API Gateway: the single-value map holds the last value of a repeated parameter.
    event.queryStringParameters = Object.fromEntries(
      Object.entries(options.query).map(([k, v]) => [k, Array.isArray(v) ? (v.at(-1) ?? '') : v]),
    );
  }
  if (options.headers) {
    event.multiValueHeaders = Object.fromEntries(
      Object.entries(options.headers).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]),
    );
    event.headers = Object.fromEntries(
      Object.entries(options.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]),
    );
  }
  return event;
}
