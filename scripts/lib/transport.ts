/**
 * Where produced items go: the HTTP API (`POST /items`) or straight into the RealTimeData table. Both transports
 * take one batch (≤ 25 items) and answer one outcome per item, in order; throttling, 5xx and network errors are
 * retried with jittered backoff, and errors that no retry can fix (nothing listening, wrong URL or table, missing
 * credentials) abort the whole run with a hint instead of failing every following batch the same way.
 */
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createItemIngestor } from '../../src/adapters/item-store';
import { type BackoffOptions, fullJitterDelay, sleep as realSleep } from '../../src/lib/backoff';
import { createSigV4Signer, type RequestSigner, regionOfExecuteApiUrl } from './sigv4';

/** What became of one item. */
export interface ItemOutcome {
  status: 'written' | 'rejected' | 'failed';
  key?: string;
  itemId?: string;
  reason?: string;
}

/** Sends batches of items; one outcome per item, same order. Throws TransportAbort when the run cannot go on. */
export interface Transport {
  /** "http://localhost:3000/items" or "DynamoDB http://localhost:8000 table RealTimeData-develop", for messages. */
  readonly description: string;
  send(items: readonly unknown[]): Promise<ItemOutcome[]>;
  close(): Promise<void>;
}

/** An error no retry fixes; the run stops and reports it. */
export class TransportAbort extends Error {
  override name = 'TransportAbort';
}

/** Retry behaviour shared by both transports. */
export interface RetryOptions {
  /** Retries after the first attempt. */
  retries: number;
  backoff: BackoffOptions;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** Default: 5 retries, 200 ms doubling up to 5 s (about 10 s in total before a batch counts as failed). */
export const defaultRetry: RetryOptions = { retries: 5, backoff: { baseMs: 200, capMs: 5000 } };

type Attempt =
  | { kind: 'done'; outcomes: ItemOutcome[] }
  | { kind: 'retry'; reason: string; retryAfterMs?: number; unreachable?: boolean }
  | { kind: 'abort'; reason: string };

/**
 * Runs `attempt` until it is done, aborts, or retries run out. Exhausted retries fail the batch — except when the
 * other side was never reachable, which would fail every batch after it too, so the run aborts.
 */
async function withRetry(count: number, retry: RetryOptions, attempt: () => Promise<Attempt>): Promise<ItemOutcome[]> {
  const sleep = retry.sleep ?? realSleep;
  for (let n = 0; ; n++) {
    const result = await attempt();
    if (result.kind === 'done') return result.outcomes;
    if (result.kind === 'abort') throw new TransportAbort(result.reason);
    if (n >= retry.retries) {
      if (result.unreachable) throw new TransportAbort(result.reason);
      const reason = `${result.reason} (gave up after ${n + 1} attempts)`;
      return Array.from({ length: count }, () => ({ status: 'failed' as const, reason }));
    }
    const backoff = fullJitterDelay(n + 1, retry.backoff, retry.random);
    await sleep(Math.max(backoff, result.retryAfterMs ?? 0));
  }
}

const unreachableCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** The errno-style code of a network failure anywhere in the cause chain (fetch wraps it as `cause`). */
export function networkErrorCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    // AggregateError (happy eyeballs: ::1 and 127.0.0.1 both refused) keeps the real errors in .errors.
    const inner = (e as { errors?: unknown[] }).errors?.[0];
    if (inner !== undefined) return networkErrorCode(inner);
  }
  return undefined;
}

// ------------------------------------------------------------------------------------------------ HTTP

/** Options of the HTTP API transport. */
export interface HttpTransportOptions {
  /** Base URL of the HTTP API (`http://localhost:3000`), or the full `…/items` URL. */
  url: string;
  /** Adds SigV4 headers (API deployed with IAM auth). */
  signer?: RequestSigner;
  retry?: RetryOptions;
  /** Per-request timeout; API Gateway itself gives up after 30 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Body bytes a POST /items batch stays under: the API's 1 MiB limit, less the array's brackets. */
export const HTTP_MAX_BATCH_BYTES = 1024 * 1024 - 16;

/** The POST /items URL for a base URL; a URL that already ends in /items is taken as is. */
export function itemsUrl(base: string): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new TransportAbort(`--url "${base}" is not a URL (e.g. http://localhost:3000)`);
  }
  if (!/\/items\/?$/.test(url.pathname)) url.pathname = `${url.pathname.replace(/\/+$/, '')}/items`;
  return url;
}

type ResultRow = { index?: unknown; status?: unknown; key?: unknown; itemId?: unknown; reason?: unknown };

function outcomesFromResults(rows: ResultRow[], count: number): ItemOutcome[] {
  const outcomes: ItemOutcome[] = Array.from({ length: count }, () => ({
    status: 'failed',
    reason: 'the API returned no result for this item',
  }));
  rows.forEach((row, position) => {
    const index = typeof row.index === 'number' ? row.index : position;
    if (index < 0 || index >= count) return;
    const status = row.status === 'written' || row.status === 'rejected' ? row.status : 'failed';
    outcomes[index] = {
      status,
      ...(typeof row.key === 'string' ? { key: row.key } : {}),
      ...(typeof row.itemId === 'string' ? { itemId: row.itemId } : {}),
      ...(status !== 'written' ? { reason: typeof row.reason === 'string' ? row.reason : `${status} by the API` } : {}),
    };
  });
  return outcomes;
}

/** Per-item rows inside a 400's `details`, whichever of the usual shapes it has. */
function rowsFromDetails(details: unknown): ResultRow[] | undefined {
  const candidates = [details, (details as { results?: unknown })?.results, (details as { items?: unknown })?.items];
  const rows = candidates.find((c) => Array.isArray(c)) as unknown[] | undefined;
  if (!rows?.every((r) => typeof r === 'object' && r !== null)) return undefined;
  return (rows as ResultRow[]).map((r) => ({ ...r, status: r.status ?? 'rejected' }));
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return { error: { message: text.slice(0, 200) } };
  }
}

function errorMessage(body: unknown, status: number): string {
  const error = (body as { error?: { code?: unknown; message?: unknown } })?.error;
  const message = typeof error?.message === 'string' ? error.message : (body as { message?: unknown })?.message;
  const code = typeof error?.code === 'string' ? `${error.code}: ` : '';
  return `HTTP ${status}${typeof message === 'string' && message ? ` ${code}${message}` : ''}`;
}

/** Sends batches to `POST /items` and maps 201/207/400 answers to per-item outcomes. */
export function createHttpTransport(options: HttpTransportOptions): Transport {
  const url = itemsUrl(options.url);
  const retry = options.retry ?? defaultRetry;
  const timeoutMs = options.timeoutMs ?? 35_000;
  const doFetch = options.fetch ?? fetch;
  const hint =
    url.hostname === 'localhost' || url.hostname === '127.0.0.1'
      ? ' — is `npm start` running? (or choose --url / --to dynamodb)'
      : '';

  const attempt = async (items: readonly unknown[]): Promise<Attempt> => {
    const body = JSON.stringify(items);
    let headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (options.signer) {
      try {
        headers = { ...headers, ...(await options.signer({ method: 'POST', url, headers, body })) };
      } catch (error) {
        return { kind: 'abort', reason: `cannot sign the request (AWS credentials?): ${(error as Error).message}` };
      }
    }
    let response: Response;
    try {
      response = await doFetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      const code = networkErrorCode(error);
      if (code && unreachableCodes.has(code)) {
        return { kind: 'retry', unreachable: true, reason: `cannot reach ${url.origin} (${code})${hint}` };
      }
      const what = (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : code;
      return { kind: 'retry', reason: `POST ${url.href} failed: ${what ?? (error as Error).message}` };
    }
    const answer = await readJson(response);
    const status = response.status;
    const rows = (answer as { results?: unknown })?.results;
    if ((status === 200 || status === 201 || status === 207) && Array.isArray(rows)) {
      return { kind: 'done', outcomes: outcomesFromResults(rows as ResultRow[], items.length) };
    }
    if (status === 429 || status >= 500) {
      const retryAfter = Number(response.headers.get('retry-after'));
      return {
        kind: 'retry',
        reason: errorMessage(answer, status),
        ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: Math.min(retryAfter, 30) * 1000 } : {}),
      };
    }
    if (status === 400 || status === 413 || status === 422) {
      // The API refused the whole batch: per-item reasons when it gave them, else its message for every item.
      const detailed = rowsFromDetails((answer as { error?: { details?: unknown } })?.error?.details);
      if (detailed) return { kind: 'done', outcomes: outcomesFromResults(detailed, items.length) };
      const reason = errorMessage(answer, status);
      return { kind: 'done', outcomes: items.map(() => ({ status: 'rejected' as const, reason })) };
    }
    // 401/403/404/405…: the same for every batch — wrong URL, or a signature missing or refused.
    const signHint =
      (status === 403 || status === 401) && !options.signer
        ? ' — an API with IAM auth needs signed requests: add --sign (AWS credentials from the usual chain)'
        : '';
    return { kind: 'abort', reason: `POST ${url.href}: ${errorMessage(answer, status)}${signHint}` };
  };

  // A 207's `failed` items were valid but not stored (throttling): the API asks for them again, alone.
  const send = async (items: readonly unknown[]): Promise<ItemOutcome[]> => {
    const outcomes = await withRetry(items.length, retry, () => attempt(items));
    const sleep = retry.sleep ?? realSleep;
    for (let n = 1; n <= retry.retries; n++) {
      const failed = outcomes.flatMap((o, i) => (o.status === 'failed' && !o.reason?.includes('gave up') ? [i] : []));
      if (failed.length === 0 || failed.length === items.length) break;
      await sleep(fullJitterDelay(n, retry.backoff, retry.random));
      const again = await withRetry(failed.length, retry, () => attempt(failed.map((i) => items[i])));
      again.forEach((o, j) => {
        outcomes[failed[j] as number] = o;
      });
    }
    return outcomes;
  };

  return { description: url.href, send, close: async () => undefined };
}

// ------------------------------------------------------------------------------------------------ DynamoDB

/** Options of the direct-to-DynamoDB transport. */
export interface DynamoDbTransportOptions {
  /** DynamoDB endpoint (`http://localhost:8000`); undefined = AWS itself for the region. */
  endpoint?: string;
  region: string;
  tableName: string;
  keyAttribute: string;
  retry?: RetryOptions;
}

const isLocalUrl = (endpoint: string): boolean => /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:|\/|$)/.test(endpoint);

/**
 * Writes batches with the same ingest code the producers on AWS use (validation, BatchWriteItem, unprocessed retry).
 * The ingestor never throws — a write it could not do comes back `failed` — so this transport re-sends failed items
 * (writes are idempotent) and, before the first batch and after a batch that failed whole, asks DescribeTable
 * whether the table is there at all: nothing listening, a wrong table name or a wrong key attribute then stop the
 * run with one clear message instead of a failure per item.
 */
export function createDynamoDbTransport(options: DynamoDbTransportOptions): Transport {
  const local = options.endpoint !== undefined && isLocalUrl(options.endpoint);
  const client = new DynamoDBClient({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    // DynamoDB Local accepts any letters-and-digits credentials; don't make people export fake ones.
    ...(local && !process.env.AWS_ACCESS_KEY_ID
      ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
    // Our own retry loop (with its unreachable → abort rule) sits on top; keep the SDK's short.
    maxAttempts: 2,
  });
  const ddb = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const ingestor = createItemIngestor({ ddb, tableName: options.tableName, keyAttribute: options.keyAttribute });
  const retry = options.retry ?? defaultRetry;
  const sleep = retry.sleep ?? realSleep;
  const where = options.endpoint ?? `AWS (${options.region})`;

  /** undefined when the table is there with the expected key; else a retry (unreachable) or an abort. */
  const probe = async (): Promise<Attempt | undefined> => {
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: options.tableName }));
      const partitionKey = Table?.KeySchema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
      if (partitionKey !== undefined && partitionKey !== options.keyAttribute) {
        return {
          kind: 'abort',
          reason: `table ${options.tableName}'s partition key is "${partitionKey}", not "${options.keyAttribute}" — use --key-attribute ${partitionKey}`,
        };
      }
      return undefined;
    } catch (error) {
      const e = error as Error;
      const code = networkErrorCode(error);
      if (code && unreachableCodes.has(code)) {
        const hint = local ? ' — is `npm start` (DynamoDB Local) running? (or choose --endpoint)' : '';
        return { kind: 'retry', unreachable: true, reason: `cannot reach DynamoDB at ${where} (${code})${hint}` };
      }
      if (e.name === 'ResourceNotFoundException') {
        return {
          kind: 'abort',
          reason: `table ${options.tableName} not found at ${where} — check --table / --endpoint`,
        };
      }
      if (e.name === 'CredentialsProviderError' || e.name === 'UnrecognizedClientException') {
        return { kind: 'abort', reason: `DynamoDB refused the credentials: ${e.message}` };
      }
      // No DescribeTable permission (a writer-only role) or a passing hiccup: the writes themselves will tell.
      return undefined;
    }
  };
  let ready: Promise<void> | undefined;
  const checkTable = async (): Promise<void> => {
    await withRetry(0, retry, async () => (await probe()) ?? { kind: 'done', outcomes: [] });
  };

  const send = async (items: readonly unknown[]): Promise<ItemOutcome[]> => {
    ready ??= checkTable();
    await ready;
    const outcomes: ItemOutcome[] = new Array(items.length);
    let pending = items.map((_, index) => index);
    for (let n = 0; pending.length > 0; n++) {
      const results = outcomesFromResults(await ingestor.ingest(pending.map((i) => items[i])), pending.length);
      const failed: number[] = [];
      results.forEach((outcome, j) => {
        const index = pending[j] as number;
        outcomes[index] = outcome;
        if (outcome.status === 'failed') failed.push(index);
      });
      if (failed.length === items.length) {
        // Nothing got through: find out whether DynamoDB went away (abort) rather than grind through every batch.
        const trouble = await probe();
        if (trouble?.kind === 'abort' || (trouble?.kind === 'retry' && n >= retry.retries)) {
          throw new TransportAbort(trouble.reason);
        }
      }
      if (failed.length === 0 || n >= retry.retries) break;
      pending = failed;
      await sleep(fullJitterDelay(n + 1, retry.backoff, retry.random));
    }
    return outcomes;
  };

  return {
    description: `DynamoDB ${where}, table ${options.tableName}`,
    send,
    close: async () => client.destroy(),
  };
}

// ------------------------------------------------------------------------------------------------ from flags

/** Transport flags shared by produce and simulate (already validated). */
export interface TransportConfig {
  to: 'http' | 'dynamodb';
  url: string;
  /** Sign HTTP requests with SigV4: true, false, or undefined = when the URL is an execute-api one. */
  sign?: boolean;
  region?: string;
  /** undefined = AWS itself. */
  endpoint?: string;
  table: string;
  keyAttribute: string;
  retries: number;
}

/** Builds the transport the flags describe. */
export function createTransport(config: TransportConfig, overrides: { fetch?: typeof fetch } = {}): Transport {
  const retry = { ...defaultRetry, retries: config.retries };
  if (config.to === 'dynamodb') {
    return createDynamoDbTransport({
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      region: config.region ?? 'us-east-1',
      tableName: config.table,
      keyAttribute: config.keyAttribute,
      retry,
    });
  }
  const url = itemsUrl(config.url);
  const apiRegion = regionOfExecuteApiUrl(url);
  const sign = config.sign ?? apiRegion !== undefined;
  const region = config.region ?? apiRegion;
  if (sign && !region) throw new TransportAbort('--sign needs --region (the URL does not name one)');
  return createHttpTransport({
    url: url.href,
    retry,
    ...(sign && region ? { signer: createSigV4Signer(region) } : {}),
    ...(overrides.fetch ? { fetch: overrides.fetch } : {}),
  });
}
