/**
 * The heart of `npm run produce`: read records, validate them locally, send the valid ones in batches with a few
 * batches in flight, and tally what became of every record. Reading waits while the in-flight window is full, so a
 * large file streams through with bounded memory.
 */

import { count } from './cli-support';
import { type Transport, TransportAbort } from './transport';

/** One record of the input: an item, or a line that could not be parsed (with why). */
export type SourceRecord = { line: number; item: unknown } | { line: number; error: string };

/** Local validation: the same rules the API and the table writers apply. */
export type Validate = (raw: unknown) => { ok: true } | { ok: false; reason: string };

/** A record that was not written, with where it came from. */
export interface Problem {
  line: number;
  reason: string;
}

/** Running totals, also what progress displays show. */
export interface Counters {
  read: number;
  written: number;
  rejected: number;
  failed: number;
}

/** The outcome of a run. */
export interface ProduceSummary extends Counters {
  /** The first rejections by line number (at most `maxReasons`). */
  rejections: Problem[];
  /** The first failures by line number (at most `maxReasons`). */
  failures: Problem[];
  /** Why the run stopped early (unreachable, refused, interrupted), if it did. */
  aborted?: string;
  elapsedMs: number;
}

/** Options of one produce run. */
export interface ProduceOptions {
  records: AsyncIterable<SourceRecord>;
  transport: Transport;
  validate: Validate;
  /** Items per request; at most 25 (the API's and BatchWriteItem's limit). */
  batchSize?: number;
  /** A batch closes early rather than grow past this many bytes of JSON (POST /items takes bodies up to 1 MiB). */
  maxBatchBytes?: number;
  /** Requests in flight. */
  concurrency?: number;
  /** How many rejection and failure reasons to keep. */
  maxReasons?: number;
  onProgress?: (counters: Readonly<Counters>) => void;
  /** Aborting stops reading; batches in flight still finish and count. */
  signal?: AbortSignal;
  now?: () => number;
}

/** Keeps the `max` problems with the smallest line numbers, in order, whatever order they arrive in. */
export class FirstProblems {
  readonly list: Problem[] = [];
  constructor(private readonly max: number) {}
  add(problem: Problem): void {
    if (this.list.length >= this.max && problem.line >= (this.list[this.list.length - 1]?.line ?? 0)) return;
    const at = this.list.findIndex((p) => p.line > problem.line);
    this.list.splice(at < 0 ? this.list.length : at, 0, problem);
    if (this.list.length > this.max) this.list.pop();
  }
}

/** Sends every record of `records` and returns the tally. Never throws for bad input or transport trouble. */
export async function produce(options: ProduceOptions): Promise<ProduceSummary> {
  const now = options.now ?? Date.now;
  const started = now();
  const batchSize = Math.min(25, Math.max(1, options.batchSize ?? 25));
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const maxReasons = options.maxReasons ?? 10;
  const counters: Counters = { read: 0, written: 0, rejected: 0, failed: 0 };
  const rejections = new FirstProblems(maxReasons);
  const failures = new FirstProblems(maxReasons);
  let aborted: string | undefined;
  // Set when the destination is gone: later batches are not even tried. (An interrupt or a broken input stops
  // reading, but what was already read is still sent.)
  let destinationGone = false;
  const progress = () => options.onProgress?.(counters);
  const fail = (batch: { line: number }[], reason: string) => {
    counters.failed += batch.length;
    for (const { line } of batch) failures.add({ line, reason });
  };

  const inFlight = new Set<Promise<void>>();
  const send = async (batch: { line: number; item: unknown }[]): Promise<void> => {
    try {
      const outcomes = await options.transport.send(batch.map((r) => r.item));
      batch.forEach(({ line }, i) => {
        const outcome = outcomes[i] ?? { status: 'failed', reason: 'no outcome reported' };
        if (outcome.status === 'written') counters.written++;
        else if (outcome.status === 'rejected') {
          counters.rejected++;
          rejections.add({ line, reason: outcome.reason ?? 'rejected' });
        } else {
          counters.failed++;
          failures.add({ line, reason: outcome.reason ?? 'failed' });
        }
      });
    } catch (error) {
      // TransportAbort is expected (nothing listening, refused); anything else is a bug, but still counted.
      const reason = error instanceof TransportAbort ? error.message : `unexpected error: ${(error as Error).message}`;
      aborted ??= reason;
      destinationGone = true;
      fail(batch, reason);
    }
    progress();
  };
  const dispatch = async (batch: { line: number; item: unknown }[]): Promise<void> => {
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    if (destinationGone) return fail(batch, `not sent: ${aborted}`);
    const request: Promise<void> = send(batch).finally(() => inFlight.delete(request));
    inFlight.add(request);
  };

  let pending: { line: number; item: unknown }[] = [];
  let pendingBytes = 0;
  // UTF-8 bytes of the item's JSON plus its comma in the array body.
  const sizeOf = (item: unknown) =>
    options.maxBatchBytes === undefined ? 0 : Buffer.byteLength(JSON.stringify(item) ?? '', 'utf8') + 1;
  try {
    for await (const record of options.records) {
      if (destinationGone || options.signal?.aborted) break;
      counters.read++;
      if ('error' in record) {
        counters.rejected++;
        rejections.add({ line: record.line, reason: record.error });
      } else {
        const verdict = options.validate(record.item);
        if (verdict.ok) {
          const bytes = sizeOf(record.item);
          if (pending.length > 0 && pendingBytes + bytes > (options.maxBatchBytes ?? Number.POSITIVE_INFINITY)) {
            const batch = pending;
            pending = [];
            pendingBytes = 0;
            await dispatch(batch);
          }
          pending.push({ line: record.line, item: record.item });
          pendingBytes += bytes;
        } else {
          counters.rejected++;
          rejections.add({ line: record.line, reason: verdict.reason });
        }
      }
      if (pending.length >= batchSize) {
        const batch = pending;
        pending = [];
        pendingBytes = 0;
        await dispatch(batch);
      }
      if (counters.read % 1000 === 0) progress();
    }
  } catch (error) {
    // The input itself broke (file vanished, stdin error): send what was read, then report.
    aborted ??= `reading the input failed: ${(error as Error).message}`;
  }
  if (options.signal?.aborted) aborted ??= 'interrupted';
  if (pending.length > 0) await dispatch(pending);
  await Promise.all(inFlight);
  progress();
  return {
    ...counters,
    rejections: rejections.list,
    failures: failures.list,
    ...(aborted !== undefined ? { aborted } : {}),
    elapsedMs: now() - started,
  };
}

/** 0 every record written (or none read); 2 some rejected (bad input) and nothing failed; 1 failures or aborted. */
export function exitCodeOf(summary: ProduceSummary): number {
  if (summary.failed > 0 || summary.aborted !== undefined) return 1;
  if (summary.rejected > 0) return 2;
  return 0;
}

/** The human summary printed at the end; `unit` names positions ("line 3", "item 3"). */
export function formatSummary(summary: ProduceSummary, unit: 'line' | 'item' = 'line'): string {
  const seconds = summary.elapsedMs / 1000;
  const rate = seconds > 0 && summary.written > 0 ? ` (${count(Math.round(summary.written / seconds))} items/s)` : '';
  const lines = [
    `read ${count(summary.read)} · written ${count(summary.written)} · rejected ${count(summary.rejected)} · ` +
      `failed ${count(summary.failed)} · ${seconds.toFixed(1)} s${rate}`,
  ];
  const section = (title: string, total: number, problems: Problem[]) => {
    if (total === 0) return;
    const more = total > problems.length ? ` (first ${problems.length} of ${count(total)})` : '';
    lines.push(`${title}${more}:`);
    for (const p of problems) lines.push(`  ${unit} ${p.line}: ${p.reason}`);
  };
  section('rejected', summary.rejected, summary.rejections);
  // Items lost to an abort all carry its reason, which is printed once below instead of once per line.
  const abortReasons = new Set([summary.aborted, `not sent: ${summary.aborted}`]);
  const ownFailures = summary.failures.filter((p) => !abortReasons.has(p.reason));
  if (ownFailures.length > 0 || summary.aborted === undefined) section('failed', summary.failed, ownFailures);
  if (summary.aborted !== undefined) lines.push(`stopped early: ${summary.aborted}`);
  if (summary.read === 0 && summary.aborted === undefined) lines.push('the input held no items');
  return `${lines.join('\n')}\n`;
}
