import { errorLabel, isTransientAwsError, StorageError } from '../lib/errors';

/**
 * Runs a DynamoDB operation and turns whatever it throws into a StorageError that says what failed: retryable for
 * throttling and outages (the SDK's own classification), final otherwise. A StorageError passes through unchanged.
 */
export async function storage<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toStorageError(operation, error);
  }
}

/** The StorageError `storage` throws, for code that handles some failures itself before giving up. */
export function toStorageError(operation: string, error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  return new StorageError(`Could not ${operation}: ${errorLabel(error)}`, {
    retryable: isTransientAwsError(error),
    cause: error,
  });
}

/** A conditional write: true when it was written, false when DynamoDB refused it on its ConditionExpression. */
export async function writtenUnlessConditionFails(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if ((error as { name?: unknown }).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}
