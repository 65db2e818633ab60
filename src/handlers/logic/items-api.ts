import { keyProblem, platformKeyOwner } from '@real-time-platform/protocol';
import type { ItemIngestor, ItemOutcome, ItemReader } from '../../adapters/item-store';
import { itemIdProblem } from '../../domain/items';
import { describeError, ValidationError } from '../../lib/errors';
import type { Log } from '../../lib/logging';
import { createHttpRouter, errorResult as error, HttpError, type HttpEvent, type HttpResult, json } from './http';

/**
 * The items HTTP API (payload format 2.0). Responses:
 *
 * POST /items — body: one item or an array of 1–25 items. One result per item, by position:
 *   {"index":0,"status":"written","key":"3","itemId":"latest"}
 *   {"index":1,"status":"rejected","reason":"the key attribute \"vehicleId\" is missing"}
 *   {"index":2,"status":"failed","key":"4","itemId":"latest","reason":"not written: …; retry later"}
 * - 201 {"results":[…]}            every item written;
 * - 207 {"results":[…]}            some written, others rejected (fix them) or failed (send them again);
 * - 400 VALIDATION_FAILED          no item valid; error.details.results says why, item by item;
 * - 503 SERVICE_UNAVAILABLE        nothing written and some valid items failed (throttling, an outage): the same
 *                                  request may be sent again as is (writes are idempotent); Retry-After is set and
 *                                  error.details.results lists each item;
 * - 400 INVALID_JSON / BAD_REQUEST (no body, an empty array, more than 25 items as TOO_MANY_ITEMS);
 *   413 PAYLOAD_TOO_LARGE          body over 1 MB.
 * GET /items/{key}?limit=1..100&nextToken=… — 200 {"items":[…],"nextToken"?} in itemId order; 400 for a bad key,
 *   limit or nextToken.
 * GET /items/{key}/{itemId} — 200 the item; 404 NOT_FOUND.
 * DELETE /items/{key}/{itemId} — 204; 404 NOT_FOUND when there was nothing to delete.
 * Keys of the platform's domains (presence:, friends:, inbox:, calendar:, chat:) — 403 FORBIDDEN on GET and DELETE,
 *   and rejected items on POST: their own APIs enforce their rules.
 * Any other route — 404 NOT_FOUND. Our failures: 503 SERVICE_UNAVAILABLE when retrying may help, else 500
 * INTERNAL_ERROR; the cause is logged, never returned.
 */

/** The HTTP API 2.0 event and response, as every HTTP function of the platform reads and writes them. */
export type HttpApiEvent = HttpEvent;
export type HttpApiResult = HttpResult;

export interface ItemsApiDeps {
  ingestor: ItemIngestor;
  reader: ItemReader;
  logger: Log;
  /** Largest accepted body, bytes (decoded). Default 1 MB. */
  maxBodyBytes?: number;
}

/** Most items in one POST /items: one BatchWriteItem. */
export const MAX_ITEMS_PER_POST = 25;
/** Default of maxBodyBytes: 25 items of typical size with room; large items belong in S3 ingest. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_LIMIT = 25;
const MAX_LIMIT = 100;
const RETRY_AFTER_SECONDS = '1';

/** Builds the items API handler (see the response table above) on the shared HTTP router. Never throws. */
export function createItemsApiHandler(deps: ItemsApiDeps): (event: HttpApiEvent) => Promise<HttpApiResult> {
  const maxBodyBytes = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  async function postItems(event: HttpApiEvent): Promise<HttpApiResult> {
    const body = bodyOf(event);
    if (body === undefined || body.length === 0) {
      return error(400, 'BAD_REQUEST', 'the request body must be an item (a JSON object) or an array of items');
    }
    if (body.length > maxBodyBytes) {
      return error(413, 'PAYLOAD_TOO_LARGE', `the body is ${body.length} bytes; at most ${maxBodyBytes} are accepted`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (cause) {
      return error(400, 'INVALID_JSON', `the body is not valid JSON: ${describeError(cause).message}`);
    }
    const items = Array.isArray(parsed) ? parsed : [parsed];
    if (items.length === 0) return error(400, 'BAD_REQUEST', 'the array of items is empty');
    if (items.length > MAX_ITEMS_PER_POST) {
      return error(
        400,
        'TOO_MANY_ITEMS',
        `at most ${MAX_ITEMS_PER_POST} items per request; got ${items.length} (split them, or use the SQS or S3 ingest)`,
      );
    }
    const results = await deps.ingestor.ingest(items);
    const count = (status: ItemOutcome['status']) => results.filter((result) => result.status === status).length;
    const writtenCount = count('written');
    const failedCount = count('failed');
    const rejectedCount = count('rejected');
    deps.logger.info('POST /items', {
      items: items.length,
      written: writtenCount,
      rejected: rejectedCount,
      failed: failedCount,
    });
    if (writtenCount === results.length) return json(201, { results });
    if (writtenCount === 0 && failedCount === 0) {
      return error(400, 'VALIDATION_FAILED', describeRejection(results), { results });
    }
    if (writtenCount === 0) {
      return error(
        503,
        'SERVICE_UNAVAILABLE',
        'the items could not be written now; send them again later',
        { results },
        { 'retry-after': RETRY_AFTER_SECONDS },
      );
    }
    return json(207, { results });
  }

  async function listItems(event: HttpApiEvent): Promise<HttpApiResult> {
    const key = pathKey(event);
    const query = event.queryStringParameters ?? {};
    const limitText = query.limit;
    let limit = DEFAULT_LIMIT;
    if (limitText !== undefined) {
      limit = /^\d{1,3}$/.test(limitText) ? Number(limitText) : Number.NaN;
      if (!(limit >= 1 && limit <= MAX_LIMIT)) {
        throw new ValidationError(`limit must be an integer from 1 to ${MAX_LIMIT}; got ${JSON.stringify(limitText)}`);
      }
    }
    const nextToken = query.nextToken;
    const page = await deps.reader.list(key, { limit, ...(nextToken === undefined ? {} : { nextToken }) });
    return json(200, page);
  }

  async function getItem(event: HttpApiEvent): Promise<HttpApiResult> {
    const { key, itemId } = pathKeyAndItemId(event);
    const item = await deps.reader.get(key, itemId);
    return item === undefined ? notFound(key, itemId) : json(200, item);
  }

  async function deleteItem(event: HttpApiEvent): Promise<HttpApiResult> {
    const { key, itemId } = pathKeyAndItemId(event);
    const deleted = await deps.reader.delete(key, itemId);
    return deleted === undefined ? notFound(key, itemId) : { statusCode: 204 };
  }

  return createHttpRouter(
    'Items API',
    {
      'POST /items': postItems,
      'GET /items/{key}': listItems,
      'GET /items/{key}/{itemId}': getItem,
      'DELETE /items/{key}/{itemId}': deleteItem,
    },
    deps.logger,
  );
}

/** The decoded body: API Gateway base64-encodes bodies it considers binary. */
function bodyOf(event: HttpApiEvent): Buffer | undefined {
  if (typeof event.body !== 'string') return undefined;
  return Buffer.from(event.body, event.isBase64Encoded === true ? 'base64' : 'utf8');
}

function pathKey(event: HttpApiEvent): string {
  // API Gateway has already URL-decoded path parameters.
  const key = event.pathParameters?.key;
  if (typeof key !== 'string') throw new ValidationError('the path must name a key: /items/{key}');
  const problem = keyProblem(key);
  if (problem !== undefined) throw new ValidationError(`invalid key: ${problem}`);
  const owner = platformKeyOwner(key);
  // Presence, calendars and chat have access rules the items API cannot check (it serves producers, not users).
  if (owner !== undefined) {
    throw new HttpError(403, 'FORBIDDEN', `${JSON.stringify(key.slice(0, 100))} is served by ${owner}`);
  }
  return key;
}

function pathKeyAndItemId(event: HttpApiEvent): { key: string; itemId: string } {
  const key = pathKey(event);
  const itemId = event.pathParameters?.itemId;
  if (typeof itemId !== 'string') throw new ValidationError('the path must name an item: /items/{key}/{itemId}');
  const problem = itemIdProblem(itemId);
  if (problem !== undefined) throw new ValidationError(`invalid itemId: ${problem}`);
  return { key, itemId };
}

function describeRejection(results: readonly ItemOutcome[]): string {
  if (results.length === 1) return `the item was rejected: ${results[0]?.reason ?? 'invalid'}`;
  return `none of the ${results.length} items is valid; see details.results`;
}

function notFound(key: string, itemId: string): HttpApiResult {
  return error(
    404,
    'NOT_FOUND',
    `no item ${JSON.stringify(itemId.slice(0, 100))} under key ${JSON.stringify(key.slice(0, 100))}`,
  );
}
