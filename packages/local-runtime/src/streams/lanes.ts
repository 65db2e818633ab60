import type { DynamoDBRecord } from 'aws-lambda';

/**
 * ParallelizationFactor: Lambda processes up to that many batches of one shard at once, keeping each item's records in
 * order. Locally a shard's records are dealt to `factor` lanes by their partition key — so all changes of a key stay in
 * one lane, in stream order (a stronger promise than AWS's per-item one, never a weaker) — and each lane has one batch
 * in flight at a time.
 */

/** The lane (0 … factor-1) of a record: a hash of its partition key value; lane 0 when the key is unknown. */
export function laneOf(record: DynamoDBRecord, hashKey: string | undefined, factor: number): number {
  if (factor <= 1 || hashKey === undefined) return 0;
  const value = record.dynamodb?.Keys?.[hashKey];
  if (value === undefined) return 0;
  return fnv1a(JSON.stringify(value)) % factor;
}

/** 32-bit FNV-1a: a fast, stable spread of short strings (no cryptographic property needed). */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
