import type {
  AttributeValue as StreamsAttributeValue,
  _Record as StreamsRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';

/** A record read from a shard, in the shape Lambda delivers it, plus what the event source needs to track it. */
export interface BufferedRecord {
  /** Exactly what goes into the event's Records[]. */
  record: DynamoDBRecord;
  sequenceNumber: string;
  /** Best estimate of when the change reached the stream (epoch ms); drives MaximumRecordAgeInSeconds. */
  arrivalMs: number;
}

/** Lambda's JSON attribute value: binary values are base64 strings. */
type LambdaAttributeValue = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['Keys']>[string];

/** Converts a GetRecords record into the record Lambda puts in the event (epoch-second times, base64 binaries). */
export function toBufferedRecord(
  raw: StreamsRecord,
  context: { streamArn: string; region: string; readAtMs: number },
): BufferedRecord {
  const stream = raw.dynamodb ?? {};
  const sequenceNumber = stream.SequenceNumber ?? '';
  const createdMs = stream.ApproximateCreationDateTime?.getTime();
  const dynamodb: NonNullable<DynamoDBRecord['dynamodb']> = {};
  // Lambda sends epoch seconds as a number; the SDK hands us a Date.
  if (createdMs !== undefined) dynamodb.ApproximateCreationDateTime = createdMs / 1000;
  if (stream.Keys) dynamodb.Keys = toLambdaImage(stream.Keys);
  if (stream.NewImage) dynamodb.NewImage = toLambdaImage(stream.NewImage);
  if (stream.OldImage) dynamodb.OldImage = toLambdaImage(stream.OldImage);
  dynamodb.SequenceNumber = sequenceNumber;
  if (stream.SizeBytes !== undefined) dynamodb.SizeBytes = stream.SizeBytes;
  if (stream.StreamViewType) dynamodb.StreamViewType = stream.StreamViewType;

  const record: DynamoDBRecord = {
    eventID: raw.eventID,
    eventName: raw.eventName,
    eventVersion: raw.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    // DynamoDB Local reports the region as "ddblocal"; Lambda reports the table's region.
    awsRegion: context.region,
    dynamodb,
    eventSourceARN: context.streamArn,
  };
  if (raw.userIdentity) {
    record.userIdentity = { type: raw.userIdentity.Type, principalId: raw.userIdentity.PrincipalId };
  }
  return { record, sequenceNumber, arrivalMs: estimateArrivalMs(createdMs, context.readAtMs) };
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

function toLambdaImage(image: Record<string, StreamsAttributeValue>): Record<string, LambdaAttributeValue> {
  const out: Record<string, LambdaAttributeValue> = {};
  for (const [name, value] of Object.entries(image)) out[name] = toLambdaValue(value);
  return out;
}

function toLambdaValue(value: StreamsAttributeValue): LambdaAttributeValue {
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.SS !== undefined) return { SS: value.SS };
  if (value.NS !== undefined) return { NS: value.NS };
  if (value.BS !== undefined) return { BS: value.BS.map((b) => Buffer.from(b).toString('base64')) };
  if (value.L !== undefined) return { L: value.L.map(toLambdaValue) };
  if (value.M !== undefined) return { M: toLambdaImage(value.M) };
  // An attribute type newer than this code: pass it through untouched rather than drop it.
  return value as unknown as LambdaAttributeValue;
}

/** Compares DynamoDB Streams sequence numbers (decimal strings of varying length). */
export function compareSequenceNumbers(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
