import type { ItemIngestor, ItemOutcome } from '../../adapters/item-store';
import { describeError } from '../../lib/errors';
import type { Log } from '../../lib/logging';

/**
 * Poison-message policy, shared by the SQS and SNS producers. A message body is one item or a JSON array of items.
 * Each message gets one verdict:
 * - `done`   — every item written, or the valid items written and the invalid ones rejected. The rejections are
 *              logged with their reasons and dropped: delivering the message again cannot make them valid, and would
 *              only rewrite the valid items. (An empty array is `done` too: there is nothing to write.)
 * - `retry`  — some valid item `failed` (throttling, an outage). The message is delivered again; rewriting the items
 *              that did get written is harmless (a put is idempotent, last write wins).
 * - `poison` — nothing in it can ever be written: the body is not JSON, or not one of its items is valid. It is
 *              reported as failed like `retry`, on purpose: after the queue's maxReceiveCount (5) SQS moves it to
 *              IngestDeadLetterQueue, where the producer's bad message is kept for inspection and redrive instead of
 *              vanishing into a log line. Each extra receive costs a parse and no write.
 */
export type MessageVerdict = 'done' | 'retry' | 'poison';

/** A message to ingest: its id (for batchItemFailures and logs) and its raw body. */
export interface IngestMessage {
  id: string;
  body: unknown;
}

/** What happened to one message. */
export interface MessageReport {
  id: string;
  verdict: MessageVerdict;
  /** Items found in the body (0 when it did not parse). */
  items: number;
  written: number;
  rejected: ItemOutcome[];
  failed: ItemOutcome[];
  /** Why the body could not be read at all. */
  parseError?: string;
}

const MAX_LOGGED_REJECTIONS = 5;

/**
 * Parses every message, writes all their items in one ingest call (so 10 small messages share BatchWriteItem
 * requests; input order is kept, so a key repeated across messages ends with the later message's item), and
 * reports a verdict per message. Rejections are logged here.
 */
export async function ingestMessages(
  ingestor: ItemIngestor,
  messages: readonly IngestMessage[],
  logger: Log,
): Promise<MessageReport[]> {
  const parsed = messages.map((message) => parseBody(message.body));
  const all: unknown[] = [];
  // For each item of `all`: its message, and its position in that message's body (so logs point into the body).
  const owner: number[] = [];
  const position: number[] = [];
  parsed.forEach((result, messageIndex) => {
    if (!result.ok) return;
    result.items.forEach((item, itemIndex) => {
      all.push(item);
      owner.push(messageIndex);
      position.push(itemIndex);
    });
  });
  const outcomes = all.length === 0 ? [] : await ingestor.ingest(all);

  const reports: MessageReport[] = messages.map((message, messageIndex) => {
    const result = parsed[messageIndex];
    if (result === undefined || !result.ok) {
      return {
        id: message.id,
        verdict: 'poison',
        items: 0,
        written: 0,
        rejected: [],
        failed: [],
        parseError: result?.ok === false ? result.reason : 'missing',
      };
    }
    return { id: message.id, verdict: 'done', items: result.items.length, written: 0, rejected: [], failed: [] };
  });
  for (const outcome of outcomes) {
    const report = reports[owner[outcome.index] ?? -1];
    if (report === undefined) continue;
    const local = { ...outcome, index: position[outcome.index] ?? outcome.index };
    if (outcome.status === 'written') report.written++;
    else if (outcome.status === 'rejected') report.rejected.push(local);
    else report.failed.push(local);
  }
  for (const report of reports) {
    if (report.parseError !== undefined) {
      logger.warn('Poison message: the body is not JSON', { messageId: report.id, reason: report.parseError });
      continue;
    }
    if (report.failed.length > 0) report.verdict = 'retry';
    else if (report.items > 0 && report.rejected.length === report.items) report.verdict = 'poison';
    if (report.rejected.length > 0) {
      logger.warn(report.verdict === 'poison' ? 'Poison message: no valid item' : 'Items rejected', {
        messageId: report.id,
        items: report.items,
        rejected: report.rejected.length,
        reasons: report.rejected
          .slice(0, MAX_LOGGED_REJECTIONS)
          .map((outcome) => ({ index: outcome.index, reason: outcome.reason })),
      });
    }
    if (report.failed.length > 0) {
      logger.warn('Items not written; the message will be retried', {
        messageId: report.id,
        failed: report.failed.length,
        reason: report.failed[0]?.reason,
      });
    }
  }
  return reports;
}

function parseBody(body: unknown): { ok: true; items: unknown[] } | { ok: false; reason: string } {
  if (typeof body !== 'string') return { ok: false, reason: 'the message has no body' };
  try {
    const value: unknown = JSON.parse(body);
    return { ok: true, items: Array.isArray(value) ? value : [value] };
  } catch (error) {
    return { ok: false, reason: `the body is not valid JSON: ${describeError(error).message}` };
  }
}

/** The fields of an SQS event the logic reads; optional, because a malformed event must not crash it. */
export interface SqsEvent {
  Records?: readonly { messageId?: string; body?: string; eventSourceARN?: string }[];
}

export interface SqsBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

export interface SqsIngestDeps {
  ingestor: ItemIngestor;
  logger: Log;
}

/**
 * The SqsIngestFunction logic: `batchItemFailures` names exactly the `retry` and `poison` messages (see
 * MessageVerdict). On a FIFO queue every message after the first reported one is reported too, as AWS requires
 * to keep a message group's order.
 */
export function createSqsIngestHandler(deps: SqsIngestDeps): (event: SqsEvent) => Promise<SqsBatchResponse> {
  return async (event) => {
    const records = Array.isArray(event?.Records) ? event.Records : [];
    if (!Array.isArray(event?.Records)) deps.logger.error('Malformed SQS event: Records is not an array');
    const messages: IngestMessage[] = [];
    for (const record of records) {
      if (typeof record?.messageId !== 'string') {
        // Without an id it cannot be reported; SQS never sends such a record.
        deps.logger.error('Malformed SQS record: no messageId; skipped');
        continue;
      }
      messages.push({ id: record.messageId, body: record.body });
    }
    const reports = await ingestMessages(deps.ingestor, messages, deps.logger);
    const fifo = records.some((record) => record?.eventSourceARN?.endsWith('.fifo') === true);
    const failures: { itemIdentifier: string }[] = [];
    for (const report of reports) {
      if (report.verdict !== 'done' || (fifo && failures.length > 0)) failures.push({ itemIdentifier: report.id });
    }
    const count = (verdict: MessageVerdict) => reports.filter((report) => report.verdict === verdict).length;
    deps.logger.info('SQS batch', {
      messages: reports.length,
      items: reports.reduce((sum, report) => sum + report.items, 0),
      written: reports.reduce((sum, report) => sum + report.written, 0),
      retry: count('retry'),
      poison: count('poison'),
      reported: failures.length,
    });
    return { batchItemFailures: failures };
  };
}
