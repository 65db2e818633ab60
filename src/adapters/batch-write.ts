import { BatchWriteCommand, type BatchWriteCommandInput, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type BackoffOptions, fullJitterDelay, sleep as realSleep } from '../lib/backoff';
import { StorageError } from '../lib/errors';

type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

/** BatchWriteItem takes at most 25 requests. */
export const BATCH_WRITE_LIMIT = 25;

export interface BatchWriteOptions {
  /** Attempts per chunk, the first included. */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/**
 * Writes (puts and deletes) in chunks of 25, re-sending UnprocessedItems with jittered backoff: BatchWriteItem
 * "succeeds" while leaving items unwritten under throttling, and a caller that ignores them silently loses rows.
 */
export async function batchWriteAll(
  ddb: DynamoDBDocumentClient,
  tableName: string,
  requests: readonly WriteRequest[],
  options: BatchWriteOptions = {},
): Promise<void> {
  const maxAttempts = options.maxAttempts ?? 6;
  const backoff = options.backoff ?? { baseMs: 25, capMs: 1000 };
  const sleep = options.sleep ?? realSleep;
  for (let start = 0; start < requests.length; start += BATCH_WRITE_LIMIT) {
    let pending: WriteRequest[] = requests.slice(start, start + BATCH_WRITE_LIMIT);
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > 1) await sleep(fullJitterDelay(attempt - 1, backoff, options.random));
      const answer = await ddb.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
      pending = answer.UnprocessedItems?.[tableName] ?? [];
      if (pending.length > 0 && attempt >= maxAttempts) {
        throw new StorageError(
          `${pending.length} writes to ${tableName} stayed unprocessed after ${attempt} attempts`,
          {
            retryable: true,
          },
        );
      }
    }
  }
}
