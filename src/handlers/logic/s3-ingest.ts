import type { Readable } from 'node:stream';
import type { S3Event } from 'aws-lambda';
import type { ItemIngestor } from '../../adapters/item-store';
import type { ObjectStore } from '../../adapters/object-store';
import { formatOf, type ItemFileFormat, parseItemStream } from '../../domain/item-files';
import { AppError, describeError, MalformedEventError } from '../../lib/errors';
import type { Log } from '../../lib/logging';

/**
 * The S3 producer: a file uploaded under `incoming/` is streamed, parsed record by record (src/domain/item-files.ts)
 * and written in batches through the shared ItemIngestor; its result goes to `errors/<name without incoming/>.json`.
 *
 * Decisions, visible to producers:
 * - The summary file is written for every processed file, clean ones included (errors: []). A file whose first
 *   attempt failed and whose retry succeeded would otherwise keep the first attempt's stale errors, and the
 *   producer gets a confirmation either way. Check `rejected + failed` (or `errors`) to know whether to act.
 * - `lines` counts records read (items and unparseable lines; blank lines are not records), so
 *   `lines = written + rejected + failed`. `line` in an error is the file's 1-based line (a JSON array's element
 *   position); line 0 is the file as a whole (an unsupported format).
 * - Rejected lines (unparseable, or breaking an item rule) are reported and never retried: re-reading the file
 *   cannot make them valid. Valid lines are written regardless.
 * - Items that `failed` (DynamoDB throttling or an outage after the ingestor's own retries) are reported, and then
 *   the invocation throws, so Lambda's asynchronous retry (2 more attempts, then the function's dead-letter queue)
 *   re-runs the whole file. That is safe: a put is idempotent and the last line of a key still wins.
 * - An object that no longer exists (deleted after upload) is logged and skipped; an unsupported format gets a
 *   summary saying why and no retry; a read that breaks off midway (network) throws, so the file is retried.
 * - Memory stays bounded: items are written `batchSize` at a time, and only the first `maxErrorEntries` errors
 *   (by line) are kept in full; the rest are counted in `truncatedErrors`.
 * - Writes are sequential (a later line of a key must land after an earlier one), so a file of very many items can
 *   outlast the function's timeout. Near the deadline reading stops and the summary says where (`incomplete`); no
 *   retry, as it would stop at the same place. Split such files.
 */

const INCOMING = 'incoming/';
const ERRORS = 'errors/';

/** One line's problem in a summary. */
export interface LineError {
  line: number;
  reason: string;
}

/** The content of `errors/<name>.json`. */
export interface FileSummary {
  source: { bucket: string; key: string; etag?: string };
  /** null when the format is not supported. */
  format: ItemFileFormat | null;
  lines: number;
  written: number;
  rejected: number;
  failed: number;
  /** In line order; at most maxErrorEntries. */
  errors: LineError[];
  /** Errors counted but not listed. */
  truncatedErrors?: number;
  /** Present when reading stopped before the end of the file (the function's time limit), saying where. */
  incomplete?: string;
  startedAt: string;
  finishedAt: string;
}

/** What the invocation did with one event record; the handler's return value (logged; tests read it). */
export interface FileReport {
  bucket: string;
  key: string;
  outcome: 'ingested' | 'unsupported' | 'missing' | 'skipped';
  /** Why a record was skipped. */
  note?: string;
  summary?: FileSummary;
  /** Where the summary was written. */
  summaryKey?: string;
}

/** Some items of a file were valid but not written; thrown so Lambda retries the file. */
export class IncompleteIngestError extends AppError {
  override name = 'IncompleteIngestError';
  constructor(message: string) {
    super(message, { retryable: true });
  }
}

/** What createS3IngestHandler is wired with (the entry passes the S3 and DynamoDB adapters; tests pass fakes). */
export interface S3IngestDeps {
  objects: ObjectStore;
  ingestor: ItemIngestor;
  logger: Log;
  /** REAL_TIME_ITEM_KEY: its CSV column stays text (see ParseOptions). */
  keyAttribute: string;
  /** Items per ingest call (the ingestor splits them into BatchWriteItem requests of 25). */
  batchSize?: number;
  /** Errors listed in full in a summary. */
  maxErrorEntries?: number;
  now?: () => Date;
  /** Time kept back from the invocation's deadline to write the summary (default 20 s). */
  safetyMarginMs?: number;
}

/** The part of the Lambda context the logic reads. */
export interface DeadlineContext {
  getRemainingTimeInMillis(): number;
}

/** The S3IngestFunction logic: ingests every ObjectCreated record of the event, one file after the other. */
export function createS3IngestHandler(
  deps: S3IngestDeps,
): (event: S3Event, context?: DeadlineContext) => Promise<FileReport[]> {
  const batchSize = deps.batchSize ?? 100;
  const safetyMarginMs = deps.safetyMarginMs ?? 20_000;
  const maxErrorEntries = deps.maxErrorEntries ?? 1000;
  const now = deps.now ?? (() => new Date());
  const { logger } = deps;

  async function ingestFile(bucket: string, key: string, context?: DeadlineContext): Promise<FileReport> {
    const startedAt = now().toISOString();
    const summaryKey = `${ERRORS}${key.slice(INCOMING.length)}.json`;
    const object = await deps.objects.get(bucket, key);
    if (object === undefined) {
      logger.warn('Object is gone (deleted after upload?); nothing to ingest', { bucket, key });
      return { bucket, key, outcome: 'missing' };
    }
    const source = { bucket, key, ...(object.etag === undefined ? {} : { etag: object.etag }) };
    const format = formatOf(key, object.contentType);

    if (format === undefined) {
      destroy(object.body);
      const reason =
        `unsupported file type (name ${JSON.stringify(key.slice(key.lastIndexOf('/') + 1))}, content type ` +
        `${object.contentType ?? 'none'}): use .json (an array of items), .ndjson / .jsonl or .csv`;
      const summary: FileSummary = {
        source,
        format: null,
        lines: 0,
        written: 0,
        rejected: 0,
        failed: 0,
        errors: [{ line: 0, reason }],
        startedAt,
        finishedAt: now().toISOString(),
      };
      await deps.objects.put(bucket, summaryKey, json(summary), 'application/json');
      logger.warn('Unsupported file type; summary written', {
        bucket,
        key,
        summaryKey,
        contentType: object.contentType,
      });
      return { bucket, key, outcome: 'unsupported', summary, summaryKey };
    }

    const counts = { lines: 0, written: 0, rejected: 0, failed: 0 };
    const errors = new ErrorList(maxErrorEntries);
    // Parse errors wait here with the batch, so that errors are recorded in line order (the batch's rejections
    // come from earlier lines than a parse error read after them) and the kept "first N" are truly the first.
    let batch: { line: number; item: unknown }[] = [];
    let parseErrors: LineError[] = [];

    const flush = async () => {
      const pending = batch;
      const found = parseErrors;
      batch = [];
      parseErrors = [];
      const lineErrors: LineError[] = [...found];
      if (pending.length > 0) {
        const outcomes = await deps.ingestor.ingest(pending.map((entry) => entry.item));
        for (const outcome of outcomes) {
          const line = pending[outcome.index]?.line ?? 0;
          if (outcome.status === 'written') counts.written += 1;
          else {
            counts[outcome.status] += 1;
            lineErrors.push({ line, reason: outcome.reason ?? outcome.status });
          }
        }
      }
      lineErrors.sort((a, b) => a.line - b.line);
      for (const entry of lineErrors) errors.add(entry);
    };

    let incomplete: string | undefined;
    let lastLine = 0;
    for await (const parsed of parseItemStream(object.body, format, { keyAttribute: deps.keyAttribute })) {
      counts.lines += 1;
      lastLine = parsed.line;
      if ('error' in parsed) {
        counts.rejected += 1;
        parseErrors.push({ line: parsed.line, reason: parsed.error });
      } else {
        batch.push(parsed);
      }
      if (batch.length >= batchSize || parseErrors.length >= batchSize) {
        await flush();
        // Stop while there is time to say so: killed by the timeout, the file would leave no summary, and a
        // retry would time out the same way. Breaking out of the loop releases the object's stream.
        if (context !== undefined && context.getRemainingTimeInMillis() < safetyMarginMs) {
          incomplete =
            `stopped after line ${lastLine}: the function's time limit was near; the lines after it were not ` +
            'read (split the file into smaller ones)';
          break;
        }
      }
    }
    await flush();

    const summary: FileSummary = {
      source,
      format,
      ...counts,
      errors: errors.entries,
      ...(errors.truncated > 0 ? { truncatedErrors: errors.truncated } : {}),
      ...(incomplete === undefined ? {} : { incomplete }),
      startedAt,
      finishedAt: now().toISOString(),
    };
    await deps.objects.put(bucket, summaryKey, json(summary), 'application/json');
    const log = { bucket, key, summaryKey, format, ...counts, firstErrors: summary.errors.slice(0, 5) };
    if (incomplete !== undefined)
      logger.error('File ingest stopped before the end of the file', { ...log, incomplete });
    else if (counts.rejected + counts.failed > 0) logger.warn('File ingested with errors', log);
    else logger.info('File ingested', log);
    return { bucket, key, outcome: 'ingested', summary, summaryKey };
  }

  return async (event, context) => {
    const records = recordsOf(event, logger);
    const reports: FileReport[] = [];
    const retry: string[] = [];
    let thrown: unknown;
    // One file after the other: files are large, and a Lambda gets one record per event in practice.
    for (const record of records) {
      const bucket = record.s3?.bucket?.name;
      const rawKey = record.s3?.object?.key;
      if (typeof bucket !== 'string' || typeof rawKey !== 'string') {
        throw new MalformedEventError('an S3 event record has no s3.bucket.name or s3.object.key');
      }
      const key = decodeKey(rawKey);
      const skip = skipReason(record.eventName, key);
      if (skip !== undefined) {
        logger.info('S3 record skipped', { bucket, key: key ?? rawKey, reason: skip });
        reports.push({ bucket, key: key ?? rawKey, outcome: 'skipped', note: skip });
        continue;
      }
      try {
        const report = await ingestFile(bucket, key as string, context);
        reports.push(report);
        if ((report.summary?.failed ?? 0) > 0) retry.push(`s3://${bucket}/${key}`);
      } catch (error) {
        // Carry on with the other files: the retry re-runs the whole event, and they are idempotent.
        logger.error('File ingest failed; the event will be retried', { bucket, key, error: describeError(error) });
        thrown ??= error;
      }
    }
    if (thrown !== undefined) throw thrown;
    if (retry.length > 0) {
      throw new IncompleteIngestError(
        `Some valid items were not written (DynamoDB throttled or unavailable) in ${retry.join(', ')}; ` +
          'failing the invocation so Lambda retries the file',
      );
    }
    return reports;
  };
}

/** The event's records; an S3 test event (sent when a notification is configured) has none. */
function recordsOf(event: S3Event, logger: Log): S3Event['Records'] {
  const { Records, Event } = (event ?? {}) as { Records?: unknown; Event?: unknown };
  if (Array.isArray(Records)) return Records as S3Event['Records'];
  if (Event === 's3:TestEvent') {
    logger.info('S3 test event; nothing to ingest');
    return [];
  }
  throw new MalformedEventError('not an S3 event: no Records array');
}

/**
 * An S3 event key is form-URL-encoded: a space arrives as "+", and "+" itself as "%2B". Undefined when the text
 * is not valid percent-encoding (S3 never sends that; a hand-made event might).
 */
export function decodeKey(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

function skipReason(eventName: string | undefined, key: string | undefined): string | undefined {
  if (key === undefined) return 'the object key is not valid URL encoding';
  if (typeof eventName === 'string' && !eventName.startsWith('ObjectCreated:')) return `event ${eventName} is ignored`;
  // The template's notification filter already says incoming/, but a hand-made or re-wired event may not; a
  // summary written for errors/… under incoming/… could even trigger the function again.
  if (!key.startsWith(INCOMING)) return `only keys under ${INCOMING} are ingested`;
  // Consoles create "folder" placeholders: zero-byte keys ending in a slash.
  if (key.endsWith('/')) return 'a folder placeholder, not a file';
  return undefined;
}

/** The first `limit` errors by line, and how many more there were. */
class ErrorList {
  readonly entries: LineError[] = [];
  truncated = 0;
  constructor(private readonly limit: number) {}
  add(entry: LineError): void {
    if (this.entries.length < this.limit) this.entries.push(entry);
    else this.truncated += 1;
  }
}

function destroy(body: Readable | AsyncIterable<Uint8Array>): void {
  // Unread, the HTTP response would keep its socket busy until the SDK's agent times it out.
  const stream = body as Partial<Readable>;
  if (typeof stream.destroy === 'function') stream.destroy();
}

function json(summary: FileSummary): string {
  return `${JSON.stringify(summary, null, 2)}\n`;
}
