import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InvocationOutcome } from '../types';
import type { DeadLetter, FanoutBatch } from './admin-api';

/** What the fan-out's "Fan-out batch" log line adds to a batch. */
type PostCounts = Pick<FanoutBatch, 'posts' | 'gone' | 'postRetries'>;

const KEPT_BATCHES = 200;
const KEPT_DEAD_LETTERS = 50;
/** The fan-out's summary line (src/handlers/logic/fanout.ts), as Powertools writes it: one JSON object a line. */
const SUMMARY_MESSAGE = 'Fan-out batch';

/** The last stream invocations of every function (the fan-out and any other stream consumer). */
export class FanoutTail {
  private readonly batches: FanoutBatch[] = [];
  private nextId = 1;
  private readonly lastFirstSeq = new Map<string, string>();
  /** Summary lines read before their invocation's outcome came back (the two travel separately). */
  private readonly earlyCounts = new Map<string, PostCounts>();

  /** An InvocationObserver: keeps stream invocations, ignores the rest. */
  readonly observe = (functionId: string, event: unknown, trigger: string, outcome: InvocationOutcome): void => {
    const records = streamRecordsOf(event);
    if (records === undefined) return;
    const firstSequenceNumber = records[0]?.dynamodb?.SequenceNumber;
    const retry = firstSequenceNumber !== undefined && this.lastFirstSeq.get(functionId) === firstSequenceNumber;
    if (firstSequenceNumber !== undefined) this.lastFirstSeq.set(functionId, firstSequenceNumber);
    this.batches.push({
      id: this.nextId++,
      at: Date.now(),
      functionId,
      trigger,
      records: records.length,
      failedRecords: outcome.ok ? failuresOf(outcome.result) : records.length,
      retry,
      ok: outcome.ok,
      ...(outcome.ok ? {} : { error: `${outcome.error.errorType}: ${outcome.error.errorMessage}` }),
      durationMs: Math.round(outcome.durationMs),
      ...(firstSequenceNumber === undefined ? {} : { firstSequenceNumber }),
      requestId: outcome.requestId,
      ...this.earlyCounts.get(outcome.requestId),
    });
    this.earlyCounts.delete(outcome.requestId);
    if (this.batches.length > KEPT_BATCHES) this.batches.splice(0, this.batches.length - KEPT_BATCHES);
  };

  /**
   * A function's log line (the platform's onFunctionLog): the fan-out's summary line gives its batch the posts,
   * 410s and post retries. The deployed function writes the same line to CloudWatch; nothing is added for us.
   */
  readonly observeLog = (_functionId: string, line: string): void => {
    if (!line.includes(SUMMARY_MESSAGE)) return;
    const found = postCountsOf(line);
    if (found === undefined) return;
    const batch = this.batches.findLast((candidate) => candidate.requestId === found.requestId);
    if (batch) {
      Object.assign(batch, found.counts);
      return;
    }
    this.earlyCounts.set(found.requestId, found.counts);
    // A line whose invocation is never observed (not a stream event) must not stay forever.
    if (this.earlyCounts.size > KEPT_BATCHES) {
      const oldest = this.earlyCounts.keys().next().value;
      if (oldest !== undefined) this.earlyCounts.delete(oldest);
    }
  };

  /** The batches after `afterId` (all that are kept when 0). */
  since(afterId: number): FanoutBatch[] {
    return this.batches.filter((batch) => batch.id > afterId);
  }
}

function postCountsOf(line: string): { requestId: string; counts: PostCounts } | undefined {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined; // not a structured line
  }
  if (typeof entry !== 'object' || entry === null || entry.message !== SUMMARY_MESSAGE) return undefined;
  const requestId = entry.function_request_id;
  if (typeof requestId !== 'string') return undefined;
  const count = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
  const counts: PostCounts = {};
  const posts = count(entry.posts);
  const gone = count(entry.gone);
  const postRetries = count(entry.retries);
  if (posts !== undefined) counts.posts = posts;
  if (gone !== undefined) counts.gone = gone;
  if (postRetries !== undefined) counts.postRetries = postRetries;
  return { requestId, counts };
}

interface StreamRecordLike {
  eventSource?: string;
  dynamodb?: { SequenceNumber?: string };
}

function streamRecordsOf(event: unknown): StreamRecordLike[] | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const records = (event as { Records?: unknown }).Records;
  if (!Array.isArray(records) || records.length === 0) return undefined;
  const first = records[0] as StreamRecordLike;
  return first?.eventSource === 'aws:dynamodb' ? (records as StreamRecordLike[]) : undefined;
}

function failuresOf(result: unknown): number {
  if (typeof result !== 'object' || result === null) return 0;
  const failures = (result as { batchItemFailures?: unknown }).batchItemFailures;
  return Array.isArray(failures) ? failures.length : 0;
}

/**
 * The newest dead letters: those of every destination file in `dir` (one JSON document a line, as the runtime
 * writes) and those the runtime sent to the local SQS (`queued`, read from memory: receiving would take them).
 */
export async function readDeadLetters(
  dir: string,
  queued: readonly { queueName: string; body: unknown }[] = [],
): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  for (const { queueName, body } of queued) {
    const letter = deadLetterOf(queueName, JSON.stringify(body));
    if (letter) letters.push(letter);
  }
  let files: string[];
  try {
    files = (await readdir(dir)).filter((file) => file.endsWith('.jsonl'));
  } catch {
    files = []; // nothing was ever written to a file
  }
  for (const file of files) {
    const lines = (await readFile(join(dir, file), 'utf8')).split('\n').filter(Boolean);
    for (const line of lines.slice(-KEPT_DEAD_LETTERS)) {
      const letter = deadLetterOf(file.replace(/\.jsonl$/, ''), line);
      if (letter) letters.push(letter);
    }
  }
  return letters.sort((a, b) => b.at.localeCompare(a.at)).slice(0, KEPT_DEAD_LETTERS);
}

function deadLetterOf(destination: string, line: string): DeadLetter | undefined {
  try {
    const message = JSON.parse(line) as {
      timestamp?: string;
      requestContext?: { condition?: string };
      DDBStreamBatchInfo?: { batchSize?: number; startSequenceNumber?: string; endSequenceNumber?: string };
    };
    const info = message.DDBStreamBatchInfo;
    return {
      destination,
      condition: String(message.requestContext?.condition ?? ''),
      batchSize: Number(info?.batchSize ?? 0),
      startSequenceNumber: String(info?.startSequenceNumber ?? ''),
      endSequenceNumber: String(info?.endSequenceNumber ?? ''),
      at: String(message.timestamp ?? ''),
    };
  } catch {
    return undefined; // a half-written line
  }
}
