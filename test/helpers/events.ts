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

/** A Lambda context with the remaining time middy and the fan-out read. */
export function lambdaContext(remainingMs = 30_000) {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'test-function',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:test-function',
    memoryLimitInMB: '256',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: '/aws/lambda/test-function',
    logStreamName: '2026/11/22/[$LATEST]abcdef',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

type AttributeValue = Record<string, unknown>;

/** Plain JSON → DynamoDB JSON, as stream images carry it (strings, numbers, booleans, null, lists, maps). */
export function toImage(item: Record<string, unknown>): Record<string, AttributeValue> {
  return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, toAttribute(v)]));
}

function toAttribute(value: unknown): AttributeValue {
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') return { N: String(value) };
  if (typeof value === 'boolean') return { BOOL: value };
  if (value === null || value === undefined) return { NULL: true };
  if (Array.isArray(value)) return { L: value.map(toAttribute) };
  return { M: toImage(value as Record<string, unknown>) };
}

export interface StreamRecordOptions {
  key: string;
  seq: string | number;
  event?: 'INSERT' | 'MODIFY' | 'REMOVE';
  itemId?: string;
  /** Extra item attributes (plain JSON); the key attribute and itemId are added. */
  item?: Record<string, unknown>;
  /** A raw image, used as-is (for sets, binary, big numbers …). */
  image?: Record<string, AttributeValue>;
  keyAttribute?: string;
  /** Epoch seconds. */
  at?: number;
}

/** A DynamoDB Stream record as Lambda delivers it (NEW_AND_OLD_IMAGES). */
export function streamRecord(options: StreamRecordOptions) {
  const keyAttribute = options.keyAttribute ?? 'vehicleId';
  const event = options.event ?? 'INSERT';
  const itemId = options.itemId ?? 'latest';
  const image = options.image ?? toImage({ [keyAttribute]: options.key, itemId, ...options.item });
  const seq = String(options.seq).padStart(21, '0');
  return {
    eventID: `e${seq.slice(-8)}`,
    eventName: event,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'eu-west-1',
    dynamodb: {
      ApproximateCreationDateTime: options.at ?? 1763800000,
      Keys: { [keyAttribute]: { S: options.key }, itemId: { S: itemId } },
      ...(event === 'REMOVE' ? { OldImage: image } : { NewImage: image }),
      ...(event === 'MODIFY' ? { OldImage: image } : {}),
      SequenceNumber: seq,
      SizeBytes: 64,
      StreamViewType: 'NEW_AND_OLD_IMAGES' as const,
    },
    eventSourceARN: 'arn:aws:dynamodb:eu-west-1:123456789012:table/RealTimeData-develop/stream/2026-11-22T00:00:00.000',
  };
}

/** A stream batch. */
export function streamEvent(records: unknown[]) {
  return { Records: records };
}
