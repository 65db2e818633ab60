import type { IncomingMessage } from 'node:http';
import { traceId } from './ids';

/** The caller identity API Gateway reports for a WebSocket connection. */
export interface WebSocketIdentity {
  sourceIp: string;
  userAgent: string;
}

/** `requestContext` of the events API Gateway sends for WebSocket routes (a superset of @types/aws-lambda's). */
export interface WebSocketRequestContext {
  routeKey: string;
  messageId?: string;
  disconnectStatusCode?: number;
  disconnectReason?: string;
  eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT';
  extendedRequestId: string;
  requestTime: string;
  messageDirection: 'IN';
  stage: string;
  connectedAt: number;
  requestTimeEpoch: number;
  identity: WebSocketIdentity;
  requestId: string;
  domainName: string;
  connectionId: string;
  apiId: string;
  authorizer?: Record<string, unknown>;
}

/** Headers and query string as API Gateway hands them to $connect and the REQUEST authorizer. */
export interface ConnectRequestParts {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  queryStringParameters: Record<string, string> | null;
  multiValueQueryStringParameters: Record<string, string[]> | null;
}

/** A $connect event. */
export interface WebSocketConnectEvent extends ConnectRequestParts {
  requestContext: WebSocketRequestContext;
  isBase64Encoded: false;
}

/** A message-route event. */
export interface WebSocketMessageEvent {
  requestContext: WebSocketRequestContext;
  body: string;
  isBase64Encoded: boolean;
}

/** A $disconnect event. */
export interface WebSocketDisconnectEvent {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  requestContext: WebSocketRequestContext;
  isBase64Encoded: false;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => (n < 10 ? `0${n}` : String(n));

// Every message event carries requestTime; caching the string per second keeps the hot path free of Date work.
let cachedSecond = -1;
let cachedTime = '';

/** API Gateway's requestTime format, e.g. "22/Nov/2026:15:50:52 +0000". */
export function formatRequestTime(epochMs: number): string {
  const second = Math.floor(epochMs / 1000);
  if (second === cachedSecond) return cachedTime;
  const d = new Date(second * 1000);
  cachedTime = `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(
    d.getUTCMinutes(),
  )}:${two(d.getUTCSeconds())} +0000`;
  cachedSecond = second;
  return cachedTime;
}

/** The client address without the IPv4-mapped IPv6 prefix, as API Gateway reports it. */
export function sourceIpOf(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '127.0.0.1';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

function decodeComponent(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    // API Gateway passes malformed escapes through rather than failing the connect.
    return value;
  }
}

/** Parses a raw query string into API Gateway's single- and multi-value maps (null when there is none). */
export function parseQueryString(
  query: string,
): Pick<ConnectRequestParts, 'queryStringParameters' | 'multiValueQueryStringParameters'> {
  if (query === '') return { queryStringParameters: null, multiValueQueryStringParameters: null };
  // Maps, then Object.fromEntries: names such as "__proto__" or "constructor" stay plain own properties.
  const multi = new Map<string, string[]>();
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decodeComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decodeComponent(pair.slice(eq + 1));
    const list = multi.get(name);
    if (list) list.push(value);
    else multi.set(name, [value]);
  }
  if (multi.size === 0) return { queryStringParameters: null, multiValueQueryStringParameters: null };
  // Like API Gateway: the single-value map keeps the last occurrence, the multi-value map all of them.
  const single = Object.fromEntries([...multi].map(([name, values]) => [name, values[values.length - 1] as string]));
  return { queryStringParameters: single, multiValueQueryStringParameters: Object.fromEntries(multi) };
}

/**
 * The $connect headers: the client's own (with their original spelling, from rawHeaders) plus the ones API
 * Gateway adds in front of every integration (X-Amzn-Trace-Id, X-Forwarded-*).
 */
export function connectHeaders(
  req: IncomingMessage,
  sourceIp: string,
  localPort: number,
  now: number,
): Pick<ConnectRequestParts, 'headers' | 'multiValueHeaders'> {
  // Maps, then Object.fromEntries: a header named "__proto__" or "constructor" stays a plain own property.
  const multi = new Map<string, string[]>();
  const add = (name: string, value: string) => {
    const list = multi.get(name);
    if (list) list.push(value);
    else multi.set(name, [value]);
  };
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) add(raw[i] as string, raw[i + 1] as string);
  add('X-Amzn-Trace-Id', traceId(now));
  add('X-Forwarded-For', sourceIp);
  add('X-Forwarded-Port', String(localPort));
  add('X-Forwarded-Proto', 'http');
  // Like the query string: the single-value map keeps the last occurrence of a repeated header.
  const headers = Object.fromEntries([...multi].map(([name, values]) => [name, values[values.length - 1] as string]));
  return { headers, multiValueHeaders: Object.fromEntries(multi) };
}

/** Case-insensitive header lookup in an API Gateway header map. */
export function headerValue(headers: Record<string, string>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const key of Object.keys(headers)) if (key.toLowerCase() === wanted) return headers[key];
  return undefined;
}

/** The few headers API Gateway puts on $disconnect events (the client's request headers are not repeated). */
export function disconnectHeaders(domainName: string): Pick<WebSocketDisconnectEvent, 'headers' | 'multiValueHeaders'> {
  return {
    headers: { Host: domainName, 'x-api-key': '', 'X-Forwarded-For': '', 'x-restapi': '' },
    multiValueHeaders: { Host: [domainName], 'x-api-key': [''], 'X-Forwarded-For': [''], 'x-restapi': [''] },
  };
}

/** The standard text for a close code, used as disconnectReason when the peer gave none. */
export function closeReasonText(code: number): string {
  switch (code) {
    case 1000:
      return 'Connection Closed Normally';
    case 1001:
      return 'Going away';
    case 1002:
      return 'Protocol error';
    case 1003:
      return 'Unsupported data';
    case 1005:
      return 'Client-side close frame status not set';
    case 1006:
      return 'Connection closed abnormally';
    case 1007:
      return 'Invalid frame payload data';
    case 1008:
      return 'Policy violation';
    case 1009:
      return 'Message too big';
    case 1011:
      return 'Internal server error';
    default:
      return '';
  }
}
