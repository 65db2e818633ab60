import { randomBytes } from 'node:crypto';

/** API Gateway HTTP API event, payload format 2.0 (no authorizer, no stage variables). */
export interface HttpApiEventV2 {
  version: '2.0';
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  cookies?: string[];
  headers: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  pathParameters?: Record<string, string>;
  requestContext: {
    accountId: string;
    apiId: string;
    domainName: string;
    domainPrefix: string;
    http: { method: string; path: string; protocol: string; sourceIp: string; userAgent: string };
    requestId: string;
    routeKey: string;
    stage: string;
    time: string;
    timeEpoch: number;
    /** What a Lambda authorizer allowed the request with: `{lambda: <its context>}`. */
    authorizer?: { lambda: Record<string, unknown> };
  };
  body?: string;
  isBase64Encoded: boolean;
}

/** What the server knows about one request before it becomes an event. */
export interface IncomingHttpRequest {
  method: string;
  /** The request target as sent, e.g. "/items/a%20b?x=1". */
  url: string;
  /** Node's rawHeaders: name, value, name, value … in arrival order. */
  rawHeaders: string[];
  httpVersion: string;
  sourceIp: string;
  localPort: number;
  body: Buffer;
  receivedAt: Date;
}

/** Everything about the event that is not the request itself. */
export interface EventContext {
  accountId: string;
  apiId: string;
  stage: string;
  routeKey: string;
  requestId: string;
  pathParameters: Record<string, string>;
}

const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Headers API Gateway sets itself (or, for content-length, recomputes after buffering the body). */
const gatewayAddedHeaders = [
  'content-length',
  'x-forwarded-for',
  'x-forwarded-port',
  'x-forwarded-proto',
  'x-amzn-trace-id',
];

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** API Gateway's request time format: "22/Nov/2026:15:50:52 +0000". */
export function formatRequestTime(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

/** An id shaped like HTTP API's (`apigw-requestid`), e.g. "JKJaXmPLvHcESHA=". */
export function newRequestId(): string {
  return randomBytes(11).toString('base64');
}

/**
 * Whether HTTP APIs pass this body as text. Checked against AWS: only text/*, application/json, application/xml
 * and application/javascript arrive as text; everything else, including no content type and (surprisingly)
 * application/x-www-form-urlencoded, arrives base64-encoded.
 */
export function isTextContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const mime = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return (
    mime.startsWith('text/') ||
    mime === 'application/json' ||
    mime === 'application/xml' ||
    mime === 'application/javascript'
  );
}

/** Builds the payload-format-2.0 event API Gateway would send for this request. */
export function buildHttpApiEvent(request: IncomingHttpRequest, context: EventContext): HttpApiEventV2 {
  const queryAt = request.url.indexOf('?');
  const rawPath = queryAt === -1 ? request.url : request.url.slice(0, queryAt);
  const rawQueryString = queryAt === -1 ? '' : request.url.slice(queryAt + 1);

  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const name = (request.rawHeaders[i] ?? '').toLowerCase();
    const value = request.rawHeaders[i + 1] ?? '';
    if (name === 'cookie') {
      // Format 2.0 moves cookies out of the headers into their own array, one entry per cookie.
      cookies.push(
        ...value
          .split(';')
          .map((c) => c.trim())
          .filter(Boolean),
      );
      continue;
    }
    // API Gateway terminates the client's connection, so its hop-by-hop headers never reach the function.
    if (hopByHop.has(name)) continue;
    // Repeated headers are joined with a bare comma (not Node's ", ").
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  // API Gateway buffers the whole body, so a chunked upload arrives with its length known.
  if (request.body.length > 0) headers['content-length'] = String(request.body.length);
  // Headers API Gateway adds in front of every integration.
  headers['x-forwarded-for'] = headers['x-forwarded-for']
    ? `${headers['x-forwarded-for']}, ${request.sourceIp}`
    : request.sourceIp;
  headers['x-forwarded-port'] = String(request.localPort);
  headers['x-forwarded-proto'] = 'http';
  headers['x-amzn-trace-id'] = traceId(request.receivedAt);

  const query: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(rawQueryString)) {
    query[key] = key in query ? `${query[key]},${value}` : value;
  }

  // Locally the Host header (with its port) is the useful domain: handlers that build links get working URLs.
  const domainName = headers.host ?? `localhost:${request.localPort}`;
  const event: HttpApiEventV2 = {
    version: '2.0',
    routeKey: context.routeKey,
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: context.accountId,
      apiId: context.apiId,
      domainName,
      domainPrefix: (domainName.split(':')[0] ?? domainName).split('.')[0] ?? domainName,
      http: {
        method: request.method,
        path: rawPath,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: context.requestId,
      routeKey: context.routeKey,
      stage: context.stage,
      time: formatRequestTime(request.receivedAt),
      timeEpoch: request.receivedAt.getTime(),
    },
    isBase64Encoded: false,
  };
  // API Gateway leaves these keys out entirely when empty rather than sending {} or null.
  if (cookies.length > 0) event.cookies = cookies;
  if (Object.keys(query).length > 0) event.queryStringParameters = query;
  if (Object.keys(context.pathParameters).length > 0) event.pathParameters = context.pathParameters;
  if (request.body.length > 0) {
    if (isTextContentType(headers['content-type'])) {
      event.body = request.body.toString('utf8');
    } else {
      event.body = request.body.toString('base64');
      event.isBase64Encoded = true;
    }
  }
  return event;
}

/** An X-Ray style trace header like the one API Gateway adds: Root=1-{epoch hex}-{24 hex}. */
function traceId(at: Date): string {
  return `Root=1-${Math.floor(at.getTime() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
}

/** API Gateway HTTP API event, payload format 1.0 (the REST-API-compatible shape), for PayloadFormatVersion "1.0". */
export interface HttpApiEventV1 {
  version: '1.0';
  resource: string;
  path: string;
  httpMethod: string;
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  queryStringParameters: Record<string, string> | null;
  multiValueQueryStringParameters: Record<string, string[]> | null;
  requestContext: {
    accountId: string;
    apiId: string;
    domainName: string;
    domainPrefix: string;
    extendedRequestId: string;
    httpMethod: string;
    identity: Record<string, string | null>;
    path: string;
    protocol: string;
    requestId: string;
    requestTime: string;
    requestTimeEpoch: number;
    resourceId: string;
    resourcePath: string;
    stage: string;
    /** What a Lambda authorizer allowed the request with (the same shape as format 2.0's). */
    authorizer?: { lambda: Record<string, unknown> };
  };
  pathParameters: Record<string, string> | null;
  stageVariables: null;
  body: string | null;
  isBase64Encoded: boolean;
}

/**
 * Builds the payload-format-1.0 event, derived from the 2.0 one so both agree on headers, body encoding and ids.
 * Format 1.0 keeps repeated headers and query parameters in multiValue* maps, with the last value in the flat ones,
 * and keeps the Cookie header as a header.
 */
export function buildHttpApiEventV1(request: IncomingHttpRequest, context: EventContext): HttpApiEventV1 {
  const v2 = buildHttpApiEvent(request, context);
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const name = (request.rawHeaders[i] ?? '').toLowerCase();
    if (hopByHop.has(name)) continue;
    const values = multiValueHeaders[name] ?? [];
    values.push(request.rawHeaders[i + 1] ?? '');
    multiValueHeaders[name] = values;
  }
  for (const name of gatewayAddedHeaders) {
    const value = v2.headers[name];
    if (value !== undefined) multiValueHeaders[name] = [value];
  }
  const headers = Object.fromEntries(Object.entries(multiValueHeaders).map(([k, v]) => [k, v[v.length - 1] ?? '']));
  const multiQuery: Record<string, string[]> = {};
  for (const [key, value] of new URLSearchParams(v2.rawQueryString)) {
    const values = multiQuery[key] ?? [];
    values.push(value);
    multiQuery[key] = values;
  }
  const hasQuery = Object.keys(multiQuery).length > 0;
  const resource =
    context.routeKey === '$default' ? '$default' : context.routeKey.slice(context.routeKey.indexOf(' ') + 1);
  const { requestContext: rc } = v2;
  return {
    version: '1.0',
    resource,
    path: v2.rawPath,
    httpMethod: request.method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery
      ? Object.fromEntries(Object.entries(multiQuery).map(([k, v]) => [k, v[v.length - 1] ?? '']))
      : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    requestContext: {
      accountId: rc.accountId,
      apiId: rc.apiId,
      domainName: rc.domainName,
      domainPrefix: rc.domainPrefix,
      extendedRequestId: rc.requestId,
      httpMethod: request.method,
      identity: {
        accessKey: null,
        accountId: null,
        caller: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: request.sourceIp,
        user: null,
        userAgent: rc.http.userAgent,
        userArn: null,
      },
      path: v2.rawPath,
      protocol: rc.http.protocol,
      requestId: rc.requestId,
      requestTime: rc.time,
      requestTimeEpoch: rc.timeEpoch,
      resourceId: context.routeKey,
      resourcePath: resource,
      stage: rc.stage,
    },
    pathParameters: v2.pathParameters ?? null,
    stageVariables: null,
    body: v2.body ?? null,
    isBase64Encoded: v2.isBase64Encoded,
  };
}
