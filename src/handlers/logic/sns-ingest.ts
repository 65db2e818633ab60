import { MalformedEventError, StorageError } from '../../lib/errors';
import { type IngestMessage, ingestMessages, type SqsIngestDeps } from './sqs-ingest';

/** The fields of an SNS event the logic reads; optional, because a malformed event must not crash it. */
export interface SnsEvent {
  Records?: readonly { Sns?: { MessageId?: string; Message?: string } }[];
}

/** The same as the SQS producer's: both only hand their messages to ingestMessages. */
export type SnsIngestDeps = SqsIngestDeps;

/**
 * The SnsIngestFunction logic, with the SQS producer's poison policy (logic/sqs-ingest.ts, MessageVerdict): valid
 * items are always written and rejected ones logged. SNS invokes asynchronously, so the only way to ask for a retry
 * is to throw:
 * - a `retry` message (valid items that failed to be written) throws a retryable StorageError;
 * - a `poison` message (not JSON, or no valid item) throws a MalformedEventError, so after Lambda's two retries the
 *   event lands in IngestDeadLetterQueue and the producer's message is kept for inspection.
 * Re-running a partly written event is harmless: puts are idempotent.
 */
export function createSnsIngestHandler(deps: SnsIngestDeps): (event: SnsEvent) => Promise<void> {
  return async (event) => {
    const records = Array.isArray(event?.Records) ? event.Records : [];
    const messages: IngestMessage[] = records.map((record, index) => ({
      id: record?.Sns?.MessageId ?? `record-${index}`,
      body: record?.Sns?.Message,
    }));
    if (messages.length === 0) {
      throw new MalformedEventError('Malformed SNS event: no Records');
    }
    const reports = await ingestMessages(deps.ingestor, messages, deps.logger);
    const retry = reports.filter((report) => report.verdict === 'retry');
    const poison = reports.filter((report) => report.verdict === 'poison');
    deps.logger.info('SNS messages', {
      messages: reports.length,
      items: reports.reduce((sum, report) => sum + report.items, 0),
      written: reports.reduce((sum, report) => sum + report.written, 0),
      retry: retry.length,
      poison: poison.length,
    });
    if (retry.length > 0) {
      throw new StorageError(
        `${retry.reduce((sum, report) => sum + report.failed.length, 0)} items of ${retry.length} messages were not written: ${retry[0]?.failed[0]?.reason ?? ''}`,
        { retryable: true },
      );
    }
    if (poison.length > 0) {
      throw new MalformedEventError(
        `${poison.length} messages hold nothing valid (${poison.map((report) => report.id).join(', ')}); see the warnings above`,
      );
    }
  };
}
