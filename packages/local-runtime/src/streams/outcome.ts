import type { InvocationOutcome } from '../types';

/** How the event source mapping reads one invocation of a batch. */
export type BatchVerdict =
  | { kind: 'success' }
  /** ReportBatchItemFailures: records before `failedIndex` are done, the rest are retried. */
  | { kind: 'partial'; failedIndex: number }
  | { kind: 'failed'; reason: 'function-error' | 'invalid-response'; detail: string };

/**
 * Reads an invocation outcome the way Lambda reads a stream batch. With ReportBatchItemFailures, null / {} /
 * an empty or null batchItemFailures list mean success, and an empty, missing or unknown itemIdentifier fails the
 * whole batch; Lambda checkpoints at the lowest reported sequence number.
 */
export function judgeOutcome(
  outcome: InvocationOutcome,
  sequenceNumbers: readonly string[],
  reportBatchItemFailures: boolean,
): BatchVerdict {
  if (!outcome.ok) {
    return {
      kind: 'failed',
      reason: 'function-error',
      detail: `${outcome.error.errorType}: ${outcome.error.errorMessage}`,
    };
  }
  if (!reportBatchItemFailures) return { kind: 'success' };
  const result = outcome.result;
  // Anything that is not an object carries no batchItemFailures; Lambda only fails batches on bad failure lists.
  if (typeof result !== 'object' || result === null || Array.isArray(result)) return { kind: 'success' };
  const failures = (result as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return { kind: 'success' };
  if (!Array.isArray(failures)) {
    return { kind: 'failed', reason: 'invalid-response', detail: 'batchItemFailures is not a list' };
  }
  if (failures.length === 0) return { kind: 'success' };
  const position = new Map(sequenceNumbers.map((seq, index) => [seq, index]));
  let lowest = Number.POSITIVE_INFINITY;
  for (const failure of failures) {
    const id: unknown =
      typeof failure === 'object' && failure !== null
        ? (failure as { itemIdentifier?: unknown }).itemIdentifier
        : undefined;
    if (typeof id !== 'string' || id === '') {
      return { kind: 'failed', reason: 'invalid-response', detail: 'a batchItemFailures entry has no itemIdentifier' };
    }
    const index = position.get(id);
    if (index === undefined) {
      return {
        kind: 'failed',
        reason: 'invalid-response',
        detail: `itemIdentifier ${JSON.stringify(id)} is not a sequence number of this batch`,
      };
    }
    lowest = Math.min(lowest, index);
  }
  return { kind: 'partial', failedIndex: lowest };
}
