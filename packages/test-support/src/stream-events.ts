/** Factories for Lambda contexts and DynamoDB Stream events, so tests and benchmarks state only what they are about. */

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
