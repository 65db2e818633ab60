import type { DynamoDBRecord } from 'aws-lambda';
import { TTL_SERVICE_IDENTITY } from '../dynamodb/ttl-sweeper';
import { SerializedEvent } from '../types';

/** A record read from a shard, in the shape Lambda delivers it, plus what the event source needs to track it. */
export interface ConvertedRecord {
  /** Exactly what goes into the event's Records[]. */
  record: DynamoDBRecord;
  sequenceNumber: string;
  /** Best estimate of when the change reached the stream (epoch ms); drives MaximumRecordAgeInSeconds. */
  arrivalMs: number;
  /** Parts of the record that could not be read and were left out (logged and counted by the event source). */
  problems?: string[];
}

/**
 * A record waiting in the event source for its batch to be delivered, as the UTF-8 JSON it has in the event.
 *
 * Why bytes, not the record object: a record waits while earlier batches run and while its own is retried, and an
 * item of up to 400 KB held as strings and objects for that long outlives the young generation's collections, so
 * V8 promotes it to the old generation, which only a full collection frees. With 10 slow subscribers and 300 items
 * of 100 KB that was most of the runtime's growth (docs/reliability.md). Bytes live outside the JS heap and are
 * freed with the batch, the record is turned into JSON once however often it is retried, and the batch's event is
 * these bytes put end to end (batchEvent), transferred to the function's worker without a copy.
 */
export interface BufferedRecord {
  json: Buffer;
  sequenceNumber: string;
  arrivalMs: number;
  /** Its size in the event's JSON, separating comma included: Lambda's 6 MB invocation payload bounds a batch. */
  bytes: number;
}

/** Lambda's JSON attribute value: binary values are base64 strings. */
type LambdaAttributeValue = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['Keys']>[string];

/**
 * Converts a stream record into the record Lambda puts in the event (epoch-second times, base64 binaries). It takes
 * either GetRecords' own JSON (what the event source reads, see wire-json.ts) or the SDK's deserialised record (Dates,
 * byte arrays), and never throws: whatever is not DynamoDB JSON is left out and named in `problems`. Attribute names
 * are kept as data whatever they are — `__proto__`, `constructor` — never assigned as properties.
 */
export function toLambdaRecord(
  raw: unknown,
  context: { streamArn: string; region: string; readAtMs: number },
): ConvertedRecord {
  const problems: string[] = [];
  const source = isObject(raw) ? raw : {};
  if (!isObject(raw)) problems.push('the record is not an object');
  const stream = isObject(source.dynamodb) ? source.dynamodb : {};
  if (!isObject(source.dynamodb)) problems.push('the record has no dynamodb section');
  const sequenceNumber = typeof stream.SequenceNumber === 'string' ? stream.SequenceNumber : '';
  const createdMs = creationMs(stream.ApproximateCreationDateTime);
  const dynamodb: NonNullable<DynamoDBRecord['dynamodb']> = {};
  // Lambda sends epoch seconds as a number.
  if (createdMs !== undefined) dynamodb.ApproximateCreationDateTime = createdMs / 1000;
  for (const part of ['Keys', 'NewImage', 'OldImage'] as const) {
    if (stream[part] === undefined) continue;
    const image = toLambdaImage(stream[part], part, problems);
    if (image !== undefined) dynamodb[part] = image;
  }
  if (stream.Keys === undefined) problems.push('the record has no Keys');
  dynamodb.SequenceNumber = sequenceNumber;
  if (typeof stream.SizeBytes === 'number') dynamodb.SizeBytes = stream.SizeBytes;
  if (typeof stream.StreamViewType === 'string') {
    dynamodb.StreamViewType = stream.StreamViewType as NonNullable<DynamoDBRecord['dynamodb']>['StreamViewType'];
  }

  const localTtlDelete = isLocalTtlDelete(source.eventName, stream);
  const record: DynamoDBRecord = {
    eventID: typeof source.eventID === 'string' ? source.eventID : undefined,
    eventName: localTtlDelete ? 'REMOVE' : (source.eventName as DynamoDBRecord['eventName']),
    eventVersion: typeof source.eventVersion === 'string' ? source.eventVersion : '1.1',
    eventSource: 'aws:dynamodb',
    // DynamoDB Local reports the region as "ddblocal"; Lambda reports the table's region.
    awsRegion: context.region,
    dynamodb,
    eventSourceARN: context.streamArn,
  };
  const identity = source.userIdentity;
  if (isObject(identity)) {
    record.userIdentity = { type: identity.Type, principalId: identity.PrincipalId };
  } else if (localTtlDelete) {
    record.userIdentity = { ...TTL_SERVICE_IDENTITY };
  }
  return {
    record,
    sequenceNumber,
    arrivalMs: estimateArrivalMs(createdMs, context.readAtMs),
    ...(problems.length > 0 ? { problems } : {}),
  };
}

/** A converted record, ready to wait for its batch. */
export function toBufferedRecord(converted: ConvertedRecord): BufferedRecord {
  const json = Buffer.from(JSON.stringify(converted.record));
  return { json, sequenceNumber: converted.sequenceNumber, arrivalMs: converted.arrivalMs, bytes: json.length + 1 };
}

const EVENT_OPEN = Buffer.from('{"Records":[');
const EVENT_CLOSE = Buffer.from(']}');
/** The event's bytes besides its records'. */
export const EVENT_ENVELOPE_BYTES = EVENT_OPEN.length + EVENT_CLOSE.length;

/**
 * The event of a batch, `{"Records":[…]}`, built from its records' JSON. Observers of invocations see its summary:
 * the event with each record cut down to its source and sequence number.
 */
export function batchEvent(records: readonly BufferedRecord[]): SerializedEvent {
  let length = EVENT_ENVELOPE_BYTES + Math.max(0, records.length - 1);
  for (const record of records) length += record.json.length;
  const json = new Uint8Array(length);
  json.set(EVENT_OPEN, 0);
  let at = EVENT_OPEN.length;
  records.forEach((record, i) => {
    if (i > 0) json[at++] = 0x2c; // ,
    json.set(record.json, at);
    at += record.json.length;
  });
  json.set(EVENT_CLOSE, at);
  const summary = {
    Records: records.map((record) => ({
      eventSource: 'aws:dynamodb',
      dynamodb: { SequenceNumber: record.sequenceNumber },
    })),
  };
  return new SerializedEvent(json, summary);
}

/**
 * DynamoDB Local (2.x) applies TTL itself, but its stream record of such a delete names the event
 * "UNKNOWN_TO_SDK_VERSION" (its own SDK has no name for it) and carries no userIdentity. The record is otherwise a
 * REMOVE — Keys and OldImage, no NewImage — and Lambda would get it as a REMOVE by the TTL service.
 */
function isLocalTtlDelete(eventName: unknown, stream: Record<string, unknown>): boolean {
  return eventName === 'UNKNOWN_TO_SDK_VERSION' && stream.OldImage !== undefined && stream.NewImage === undefined;
}

/** ApproximateCreationDateTime in epoch ms: GetRecords' JSON has epoch seconds, the SDK a Date. */
function creationMs(value: unknown): number | undefined {
  if (value instanceof Date) return Number.isFinite(value.getTime()) ? value.getTime() : undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return value * 1000;
  return undefined;
}

/**
 * ApproximateCreationDateTime is rounded down (to the minute by DynamoDB Local, to the second or minute by AWS), which
 * would make a 60-second MaximumRecordAgeInSeconds fire up to a minute early or late. The change happened no later
 * than we read it and no earlier than the rounded time, so take the read time unless the rounding proves it older.
 */
export function estimateArrivalMs(createdMs: number | undefined, readAtMs: number): number {
  if (createdMs === undefined) return readAtMs;
  const granularity = createdMs % 60_000 === 0 ? 60_000 : createdMs % 1000 === 0 ? 1000 : 1;
  return Math.min(readAtMs, createdMs + granularity - 1);
}

function toLambdaImage(
  image: unknown,
  path: string,
  problems: string[],
): Record<string, LambdaAttributeValue> | undefined {
  if (!isObject(image)) {
    problems.push(`${path} is not an object of attribute values`);
    return undefined;
  }
  // fromEntries defines properties: a "__proto__" attribute stays an attribute instead of becoming a prototype.
  return Object.fromEntries(
    Object.entries(image).flatMap(([name, value]) => {
      const converted = toLambdaValue(value, `${path}.${shortName(name)}`, problems, 0);
      return converted === undefined ? [] : [[name, converted]];
    }),
  );
}

function toLambdaValue(
  value: unknown,
  path: string,
  problems: string[],
  depth: number,
): LambdaAttributeValue | undefined {
  // DynamoDB nests 32 levels; anything deeper is not from DynamoDB and must not overflow the stack.
  if (!isObject(value) || depth > 64) {
    problems.push(`${path} is not a DynamoDB attribute value`);
    return undefined;
  }
  if (value.S !== undefined) return { S: value.S as string };
  if (value.N !== undefined) return { N: value.N as string };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL as boolean };
  if (value.NULL !== undefined) return { NULL: value.NULL as boolean };
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.SS !== undefined) return { SS: value.SS as string[] };
  if (value.NS !== undefined) return { NS: value.NS as string[] };
  if (Array.isArray(value.BS)) return { BS: value.BS.map(base64) };
  if (Array.isArray(value.L)) {
    const list: LambdaAttributeValue[] = [];
    value.L.forEach((element, i) => {
      const converted = toLambdaValue(element, `${path}[${i}]`, problems, depth + 1);
      if (converted !== undefined) list.push(converted);
    });
    return { L: list };
  }
  if (value.M !== undefined) {
    if (!isObject(value.M)) {
      problems.push(`${path}.M is not an object`);
      return undefined;
    }
    return {
      M: Object.fromEntries(
        Object.entries(value.M).flatMap(([name, element]) => {
          const converted = toLambdaValue(element, `${path}.${shortName(name)}`, problems, depth + 1);
          return converted === undefined ? [] : [[name, converted]];
        }),
      ),
    };
  }
  // An attribute type newer than this code: pass it through untouched rather than drop it.
  return value as unknown as LambdaAttributeValue;
}

/** GetRecords' JSON carries binaries as base64 already; the SDK hands over bytes. */
function base64(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  return '';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function shortName(name: string): string {
  return name.length > 40 ? `${name.slice(0, 40)}…` : name;
}

/** Compares DynamoDB Streams sequence numbers (decimal strings of varying length). */
export function compareSequenceNumbers(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
