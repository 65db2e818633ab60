import {
  type AttributeValue,
  DeleteItemCommand,
  GetItemCommand,
  QueryCommand,
  type QueryCommandOutput,
} from '@aws-sdk/client-dynamodb';
import type { BatchWriteCommandInput, BatchWriteCommandOutput, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { z } from 'zod';
import { toPlainItem } from '../domain/attribute-values';
import { itemIdProblem, validateItem } from '../domain/items';
import { errorLabel, isTransientAwsError, StorageError, toError, ValidationError } from '../lib/errors';
import { decodePageToken, encodePageToken, InvalidPageTokenError } from '../lib/page-token';
import { BATCH_WRITE_LIMIT, type BatchWriteOptions, batchWriteAll } from './batch-write';

type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

/** What happened to one input item, by its position in the input. */
export interface ItemOutcome {
  index: number;
  /** written: stored. rejected: the item breaks a rule (reason says which; retrying cannot help). failed: valid
   * but not stored (throttling, an outage; retrying the same item later is safe — writes are idempotent). */
  status: 'written' | 'rejected' | 'failed';
  key?: string;
  itemId?: string;
  reason?: string;
}

/** Validates and writes producer items; the one write path every producer shares. */
export interface ItemIngestor {
  /** One outcome per input item, in input order. Never throws for a bad item or a failed write. */
  ingest(rawItems: readonly unknown[]): Promise<ItemOutcome[]>;
}

export interface ItemIngestorDeps {
  ddb: DynamoDBDocumentClient;
  /** RealTimeData (DATA_TABLE_NAME). */
  tableName: string;
  /** REAL_TIME_ITEM_KEY, e.g. vehicleId. */
  keyAttribute: string;
  /** Replaces batchWriteAll (tests). */
  batchWrite?: typeof batchWriteAll;
  /** Waits between retries of unprocessed items (tests pass a no-op). */
  sleep?: (ms: number) => Promise<void>;
  /** Attempts per chunk, the first included (batchWriteAll's default otherwise). */
  maxAttempts?: number;
}

interface Valid {
  index: number;
  key: string;
  itemId: string;
  item: Record<string, unknown>;
}

/**
 * The DynamoDB-backed ItemIngestor. Valid items go out in BatchWriteItem chunks of 25, one chunk after the other:
 * - a key (key + itemId) repeated in the input starts a new chunk, because BatchWriteItem refuses duplicates in one
 *   request ("Provided list of item keys contains duplicates"); both writes happen, in input order, so the last
 *   occurrence wins and every change reaches the stream;
 * - UnprocessedItems are retried with jittered backoff (batchWriteAll); whatever is still unwritten after the
 *   attempts, or when a request throws, is `failed` with the reason, and the other chunks are still written;
 * - DynamoDB refusing a chunk as invalid (ValidationException: an item our rules let through) is narrowed down by
 *   writing that chunk's items one by one, so one bad item is `rejected` and the others are written.
 */
export function createItemIngestor(deps: ItemIngestorDeps): ItemIngestor {
  const batchWrite = deps.batchWrite ?? batchWriteAll;
  const options: BatchWriteOptions = {
    ...(deps.sleep === undefined ? {} : { sleep: deps.sleep }),
    ...(deps.maxAttempts === undefined ? {} : { maxAttempts: deps.maxAttempts }),
  };

  /** Writes one chunk of distinct keys; returns the outcome of each. */
  async function writeChunk(chunk: readonly Valid[]): Promise<ItemOutcome[]> {
    // batchWriteAll re-sends UnprocessedItems until none are left or it gives up, but its error only counts what was
    // left. Watching its answers tells which requests were still unwritten when it stopped, so the others can be
    // reported as written instead of failing the whole chunk.
    let unwritten = new Set(chunk.map((entry) => rowId(entry.key, entry.itemId)));
    const watched = {
      send: async (command: unknown) => {
        const answer = (await deps.ddb.send(command as never)) as BatchWriteCommandOutput;
        const left = answer.UnprocessedItems?.[deps.tableName] ?? [];
        unwritten = new Set(left.map((request) => rowIdOfRequest(request, deps.keyAttribute)));
        return answer;
      },
    } as unknown as DynamoDBDocumentClient;
    const requests: WriteRequest[] = chunk.map((entry) => ({ PutRequest: { Item: entry.item } }));
    try {
      await batchWrite(watched, deps.tableName, requests, options);
      return chunk.map((entry) => written(entry));
    } catch (error) {
      const pending = chunk.filter((entry) => unwritten.has(rowId(entry.key, entry.itemId)));
      const done = chunk
        .filter((entry) => !unwritten.has(rowId(entry.key, entry.itemId)))
        .map((entry) => written(entry));
      if (isValidationError(error)) {
        if (pending.length === 1) {
          const [only] = pending as [Valid];
          return [...done, outcome(only, 'rejected', `DynamoDB refused the item: ${toError(error).message}`)];
        }
        const alone = await Promise.all(pending.map((entry) => writeChunk([entry])));
        return [...done, ...alone.flat()];
      }
      const reason = failureReason(error);
      return [...done, ...pending.map((entry) => outcome(entry, 'failed', reason))];
    }
  }

  return {
    async ingest(rawItems) {
      const outcomes: ItemOutcome[] = [];
      const valid: Valid[] = [];
      rawItems.forEach((raw, index) => {
        const result = validateItem(raw, { keyAttribute: deps.keyAttribute });
        const refused = result.ok ? marshallProblem(result.item) : result.reason;
        if (result.ok && refused === undefined) {
          valid.push({ index, key: result.key, itemId: result.itemId, item: result.item });
        } else {
          outcomes.push({ index, status: 'rejected', reason: refused ?? 'invalid item' });
        }
      });
      // Sequential on purpose: a later chunk may rewrite a key of an earlier one, and order decides which one stays.
      for (const chunk of chunksOfDistinctKeys(valid)) outcomes.push(...(await writeChunk(chunk)));
      return outcomes.sort((a, b) => a.index - b.index);
    },
  };
}

/** Splits items into chunks of at most 25 in input order, starting a new chunk when a key repeats in the current one. */
function chunksOfDistinctKeys(items: readonly Valid[]): Valid[][] {
  const chunks: Valid[][] = [];
  let current: Valid[] = [];
  let seen = new Set<string>();
  for (const entry of items) {
    const id = rowId(entry.key, entry.itemId);
    if (current.length === BATCH_WRITE_LIMIT || seen.has(id)) {
      chunks.push(current);
      current = [];
      seen = new Set();
    }
    current.push(entry);
    seen.add(id);
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function rowId(key: string, itemId: string): string {
  // JSON of a pair cannot collide the way "a" + sep + "b" can when keys contain the separator.
  return JSON.stringify([key, itemId]);
}

function rowIdOfRequest(request: WriteRequest, keyAttribute: string): string {
  const item = request.PutRequest?.Item ?? {};
  return rowId(String(item[keyAttribute]), String(item.itemId));
}

function written(entry: Valid): ItemOutcome {
  return outcome(entry, 'written');
}

function outcome(entry: Valid, status: ItemOutcome['status'], reason?: string): ItemOutcome {
  return {
    index: entry.index,
    status,
    key: entry.key,
    itemId: entry.itemId,
    ...(reason === undefined ? {} : { reason }),
  };
}

/**
 * Why the document client's marshaller (the DynamoDBDocumentClient defaults) would refuse the item, or undefined.
 * validateItem knows every refusal we have met; this catches one it does not know yet, so such an item is rejected
 * as the producer's (a 400) instead of failing its whole chunk as if DynamoDB were down (a 503, retried forever).
 */
function marshallProblem(item: Record<string, unknown>): string | undefined {
  try {
    marshall(item);
    return undefined;
  } catch (error) {
    return `the AWS SDK cannot write the item: ${toError(error).message}`;
  }
}

function isValidationError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ValidationException';
}

function failureReason(error: unknown): string {
  if (error instanceof StorageError) return `not written: ${error.message}; retry later`;
  if (isTransientAwsError(error)) return `not written: DynamoDB was unavailable (${errorLabel(error)}); retry later`;
  return `not written: DynamoDB error ${errorLabel(error)}`;
}

// ---------------------------------------------------------------- Reads and deletes for the HTTP API

/** One page of a key's items. */
export interface ItemPage {
  items: Record<string, unknown>[];
  /** Present when more items follow; pass it back unchanged. */
  nextToken?: string;
}

/** Reads and deletes single items of RealTimeData (GET / DELETE /items…). */
export interface ItemReader {
  /** The item, or undefined when there is none. */
  get(key: string, itemId: string): Promise<Record<string, unknown> | undefined>;
  /** A page of the key's items in itemId order. A nextToken that is not one of ours throws a ValidationError. */
  list(key: string, page: { limit: number; nextToken?: string }): Promise<ItemPage>;
  /** Deletes the item; returns what was deleted, or undefined when nothing was there. */
  delete(key: string, itemId: string): Promise<Record<string, unknown> | undefined>;
}

export interface ItemReaderDeps {
  /**
   * The document client of createDynamoDbClients. Reads use the plain commands through it so items come back
   * through our lossless unmarshalling (toPlainItem): numbers a double cannot hold stay strings, where the
   * document client would return a BigInt that JSON.stringify cannot serialise.
   */
  ddb: DynamoDBDocumentClient;
  tableName: string;
  keyAttribute: string;
}

/** The DynamoDB-backed ItemReader. Storage failures throw StorageError (retryable when DynamoDB says so). */
export function createItemReader(deps: ItemReaderDeps): ItemReader {
  const keyOf = (key: string, itemId: string): Record<string, AttributeValue> => ({
    [deps.keyAttribute]: { S: key },
    itemId: { S: itemId },
  });
  const storage = (action: string, error: unknown) =>
    new StorageError(`${action} failed: ${errorLabel(error)}`, { retryable: isTransientAwsError(error), cause: error });

  return {
    async get(key, itemId) {
      try {
        const answer = await deps.ddb.send(
          new GetItemCommand({ TableName: deps.tableName, Key: keyOf(key, itemId), ConsistentRead: true }),
        );
        return answer.Item === undefined ? undefined : toPlainItem(answer.Item);
      } catch (error) {
        throw storage('GetItem', error);
      }
    },
    async list(key, { limit, nextToken }) {
      const startKey = nextToken === undefined ? undefined : decodeToken(nextToken, key);
      let page: QueryCommandOutput;
      try {
        page = await deps.ddb.send(
          new QueryCommand({
            TableName: deps.tableName,
            KeyConditionExpression: '#key = :key',
            ExpressionAttributeNames: { '#key': deps.keyAttribute },
            ExpressionAttributeValues: { ':key': { S: key } },
            Limit: limit,
            ...(startKey === undefined ? {} : { ExclusiveStartKey: keyOf(key, startKey) }),
          }),
        );
      } catch (error) {
        throw storage('Query', error);
      }
      const items = (page.Items ?? []).map((item) => toPlainItem(item));
      const last = page.LastEvaluatedKey?.itemId?.S;
      return { items, ...(last === undefined ? {} : { nextToken: encodeToken(key, last) }) };
    },
    async delete(key, itemId) {
      try {
        const answer = await deps.ddb.send(
          new DeleteItemCommand({ TableName: deps.tableName, Key: keyOf(key, itemId), ReturnValues: 'ALL_OLD' }),
        );
        return answer.Attributes === undefined ? undefined : toPlainItem(answer.Attributes);
      } catch (error) {
        throw storage('DeleteItem', error);
      }
    },
  };
}

/**
 * A page token: {"k": key, "i": last itemId}. It names the key it belongs to, so a token of another key (or a
 * hand-made one) is refused instead of silently starting somewhere else.
 */
export function encodeToken(key: string, itemId: string): string {
  return encodePageToken({ k: key, i: itemId });
}

/** The itemId a token continues after; throws a ValidationError for anything encodeToken did not make for `key`. */
export function decodeToken(token: string, key: string): string {
  const schema = z.strictObject({
    k: z.literal(key),
    i: z.string().refine((itemId) => itemIdProblem(itemId) === undefined),
  });
  try {
    return decodePageToken(schema, token).i;
  } catch (error) {
    if (error instanceof InvalidPageTokenError) {
      throw new ValidationError('nextToken is not valid for this key; pass back the one a page returned');
    }
    throw error;
  }
}
