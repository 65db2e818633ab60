/**
 * API Gateway WebSocket proxy events as AWS sends them. @types/aws-lambda lacks identity, authorizer, headers and
 * the disconnect fields, and the handlers must survive malformed events, so every field is optional here and read
 * with runtime checks.
 */
export interface WebSocketEvent {
  requestContext?: {
    routeKey?: string;
    eventType?: 'CONNECT' | 'DISCONNECT' | 'MESSAGE';
    connectionId?: string;
    /** Epoch ms. */
    connectedAt?: number;
    requestId?: string;
    messageId?: string;
    stage?: string;
    domainName?: string;
    apiId?: string;
    identity?: { sourceIp?: string; userAgent?: string };
    authorizer?: { principalId?: string; [field: string]: unknown };
    disconnectStatusCode?: number;
    disconnectReason?: string;
  };
  headers?: Record<string, string | undefined> | null;
  multiValueHeaders?: Record<string, string[] | undefined> | null;
  queryStringParameters?: Record<string, string | undefined> | null;
  multiValueQueryStringParameters?: Record<string, string[] | undefined> | null;
  body?: string | null;
  isBase64Encoded?: boolean;
}

/** What a WebSocket route integration returns; a non-2xx on $connect refuses the handshake. */
export interface WebSocketResult {
  statusCode: number;
  body?: string;
}

/** The part of the Lambda context the logic reads; tests give just this. */
export interface InvocationContext {
  getRemainingTimeInMillis?: () => number;
}

/** The connection id of a WebSocket event, or undefined when the event is not one API Gateway would send. */
export function connectionIdOf(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const context = (event as WebSocketEvent).requestContext;
  if (typeof context !== 'object' || context === null) return undefined;
  const id = context.connectionId;
  return typeof id === 'string' && id.length > 0 ? id : undefined;
}

/** A string field of an untrusted object, or undefined. */
export function stringField(value: unknown, field: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const found = (value as Record<string, unknown>)[field];
  return typeof found === 'string' ? found : undefined;
}
