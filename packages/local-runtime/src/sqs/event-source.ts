import type { Invoker, LocalLogger, SqsEventSpec } from '../types';
import { systemAttributes } from './api';
import type { Queue, SqsMessage } from './queues';

/**
 * Lambda's SQS event source mapping: polls the queue, invokes the function with up to BatchSize messages (waiting up
 * to MaximumBatchingWindowInSeconds to fill a batch), deletes what succeeded. A failed batch — or, with
 * ReportBatchItemFailures, the messages the function names — stays in the queue, visible again after the visibility
 * timeout, so the queue's redrive policy moves it to the DLQ after maxReceiveCount receives, as on AWS.
 */
export interface SqsEventSourceOptions {
  spec: SqsEventSpec;
  queue: Queue;
  invoker: Invoker;
  logger: LocalLogger;
  region: string;
}

export interface SqsEventSource {
  stop(): Promise<void>;
}

/** The longest wait of one poll (Lambda long-polls with 20 s). */
const POLL_SECONDS = 20;

export function startSqsEventSource(options: SqsEventSourceOptions): SqsEventSource {
  const stopping = new AbortController();
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      try {
        const batch = await nextBatch(options, stopping.signal);
        if (batch.length > 0 && !stopping.signal.aborted) await deliver(options, batch);
      } catch (error) {
        options.logger.error(`${options.spec.functionId}.${options.spec.eventId}: SQS poll failed`, {
          error: error instanceof Error ? error.message : String(error),
        });
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  })();
  return {
    stop: async () => {
      stopping.abort();
      await loop;
    },
  };
}

async function nextBatch(options: SqsEventSourceOptions, signal: AbortSignal): Promise<SqsMessage[]> {
  const { spec, queue } = options;
  const batch: SqsMessage[] = [];
  let windowEnds: number | undefined;
  while (!signal.aborted && batch.length < spec.batchSize) {
    batch.push(...queue.receive(spec.batchSize - batch.length));
    if (batch.length === 0) {
      await queue.waitForMessages(Date.now() + POLL_SECONDS * 1000, signal);
      continue;
    }
    // The window starts with the first message and ends the batch when it runs out, full or not.
    windowEnds ??= Date.now() + spec.maximumBatchingWindowSeconds * 1000;
    if (batch.length >= spec.batchSize || Date.now() >= windowEnds) break;
    await queue.waitForMessages(windowEnds, signal);
  }
  return batch;
}

async function deliver(options: SqsEventSourceOptions, batch: SqsMessage[]): Promise<void> {
  const { spec, queue, invoker, logger, region } = options;
  const event = {
    Records: batch.map((m) => ({
      messageId: m.messageId,
      receiptHandle: m.receiptHandle,
      body: m.body,
      attributes: systemAttributes(m),
      messageAttributes: lambdaMessageAttributes(m),
      md5OfBody: m.md5OfBody,
      ...(m.md5OfMessageAttributes ? { md5OfMessageAttributes: m.md5OfMessageAttributes } : {}),
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
      awsRegion: region,
    })),
  };
  const outcome = await invoker.invoke(spec.functionId, event, `sqs ${spec.eventId}`);
  if (!outcome.ok) {
    logger.warn(
      `${spec.functionId} failed on ${batch.length} SQS message(s) of ${queue.name}; they return to the queue after its visibility timeout`,
      { error: outcome.error.errorMessage },
    );
    return;
  }
  const failed = spec.reportBatchItemFailures ? failedIds(outcome.result, batch) : new Set<string>();
  if (failed === 'all') {
    logger.warn(`${spec.functionId}: its batchItemFailures response is not valid; the whole batch counts as failed`);
    return;
  }
  for (const message of batch) {
    if (!failed.has(message.messageId) && message.receiptHandle) queue.delete(message.receiptHandle);
  }
  if (failed.size > 0) {
    logger.warn(
      `${spec.functionId} reported ${failed.size} of ${batch.length} SQS message(s) of ${queue.name} as failed`,
    );
  }
}

/**
 * The ids a ReportBatchItemFailures response names; 'all' when it names an id not in the batch or is malformed,
 * which Lambda treats as a failure of the whole batch. Null, {} and an empty list are success.
 */
export function failedIds(result: unknown, batch: SqsMessage[]): Set<string> | 'all' {
  if (result === null || result === undefined || typeof result !== 'object') return new Set();
  const failures = (result as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return 'all';
  const ids = new Set(batch.map((m) => m.messageId));
  const out = new Set<string>();
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || !ids.has(id)) return 'all';
    out.add(id);
  }
  return out;
}

/** Message attributes as Lambda's SQS event spells them (camelCase, with the empty list fields). */
function lambdaMessageAttributes(m: SqsMessage): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(m.messageAttributes).map(([name, value]) => [
      name,
      {
        ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
        ...(value.BinaryValue !== undefined ? { binaryValue: value.BinaryValue } : {}),
        stringListValues: [],
        binaryListValues: [],
        dataType: value.DataType,
      },
    ]),
  );
}
