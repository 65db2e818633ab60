import { type ItemChange, type ItemEvent, keyProblem, preview } from '@real-time-platform/protocol';
import { MalformedEventError } from '../lib/errors';
import { toPlainItem } from './attribute-values';

/**
 * DynamoDB Stream records (as Lambda delivers them) → item changes. Read from `unknown`: a record with a shape we
 * do not expect is skipped by the caller with a log line, it never fails the batch.
 */

export type ChangeParse =
  | { ok: true; change: ItemChange }
  /** `seq` is present whenever the record had one, so a skip can be logged against it. */
  | { ok: false; reason: string; seq?: string };

const EVENTS: readonly string[] = ['INSERT', 'MODIFY', 'REMOVE'] satisfies ItemEvent[];

/**
 * Reads one stream record. The key is the `keyAttribute` (type S) of NewImage, or of OldImage for REMOVE; the
 * message carries the same image, unmarshalled. `now` stands in for a missing ApproximateCreationDateTime.
 */
export function parseStreamRecord(record: unknown, keyAttribute: string, now: () => number): ChangeParse {
  if (!isRecord(record)) return { ok: false, reason: 'the record is not an object' };
  const dynamodb = record.dynamodb;
  if (!isRecord(dynamodb)) return { ok: false, reason: 'the record has no dynamodb section' };
  const seq =
    typeof dynamodb.SequenceNumber === 'string' && dynamodb.SequenceNumber.length > 0
      ? dynamodb.SequenceNumber
      : undefined;
  // Without a sequence number the record could not be reported as failed, so it cannot be handled safely.
  if (seq === undefined) return { ok: false, reason: 'the record has no SequenceNumber' };
  const event = record.eventName;
  if (typeof event !== 'string' || !EVENTS.includes(event)) {
    return { ok: false, reason: `unexpected eventName ${JSON.stringify(event)}`, seq };
  }
  const imageName = event === 'REMOVE' ? 'OldImage' : 'NewImage';
  const image = dynamodb[imageName];
  if (!isRecord(image)) {
    return { ok: false, reason: `the record has no ${imageName} (is the stream view NEW_AND_OLD_IMAGES?)`, seq };
  }
  const keyValue = image[keyAttribute];
  if (!isRecord(keyValue) || typeof keyValue.S !== 'string') {
    return { ok: false, reason: `${imageName} has no string attribute ${keyAttribute}`, seq };
  }
  const key = keyValue.S;
  // A key no client can subscribe to is never delivered: `$…` keys name the platform's own rows in the
  // subscribers index, so delivering them would reach connections that never asked for the item.
  const problem = keyProblem(key);
  if (problem !== undefined) return { ok: false, reason: `key ${preview(key)} is not deliverable: ${problem}`, seq };
  const itemId =
    stringAttribute(image.itemId) ?? (isRecord(dynamodb.Keys) ? stringAttribute(dynamodb.Keys.itemId) : undefined);
  if (itemId === undefined) return { ok: false, reason: `${imageName} has no string attribute itemId`, seq };
  let item: Record<string, unknown>;
  try {
    item = toPlainItem(image);
  } catch (error) {
    if (error instanceof MalformedEventError) return { ok: false, reason: `${imageName}: ${error.message}`, seq };
    throw error;
  }
  const seconds = dynamodb.ApproximateCreationDateTime;
  const at = typeof seconds === 'number' && Number.isFinite(seconds) ? Math.round(seconds * 1000) : now();
  return { ok: true, change: { event: event as ItemEvent, key, itemId, item, seq, at } };
}

function stringAttribute(value: unknown): string | undefined {
  return isRecord(value) && typeof value.S === 'string' ? value.S : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
