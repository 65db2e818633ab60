import type { z } from 'zod';
import type { Caller } from '../../domain/identity';
import { AppError, describeError, ValidationError } from '../../lib/errors';
import type { Log } from '../../lib/logging';
import { callerOfHttpEvent } from './caller';

/**
 * What the user-facing HTTP APIs (presence, friends, calendars, chat) share: payload format 2.0 events, JSON
 * responses, the error envelope `{"error":{"code","message","details"?}}`, body validation with zod, the caller from
 * the JWT authorizer and a route table that never lets an exception reach API Gateway.
 */

/** The fields of an HTTP API 2.0 event we read; all optional, since a malformed event must not crash a handler. */
export interface HttpEvent {
  routeKey?: string;
  rawPath?: string;
  headers?: Record<string, string | undefined> | null;
  queryStringParameters?: Record<string, string | undefined> | null;
  pathParameters?: Record<string, string | undefined> | null;
  body?: string | null;
  isBase64Encoded?: boolean;
  requestContext?: { requestId?: string; authorizer?: { lambda?: Record<string, unknown> } };
}

export interface HttpResult {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
}

/** An answer to the caller's mistake (4xx); thrown by route code, turned into a response by `createHttpRouter`. */
export class HttpError extends AppError {
  override name = 'HttpError';
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message, { retryable: false });
  }
}

/** Largest request body the user APIs accept (bytes, decoded). */
export const MAX_BODY_BYTES = 64 * 1024;

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return { statusCode, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

export function noContent(): HttpResult {
  return { statusCode: 204 };
}

export function errorResult(
  statusCode: number,
  code: string,
  message: string,
  details?: Record<string, unknown>,
  headers: Record<string, string> = {},
): HttpResult {
  return json(statusCode, { error: { code, message, ...(details === undefined ? {} : { details }) } }, headers);
}

/** The signed-in caller, or a 401 when there is none (AuthMode=none, or no authorizer answer). */
export function requireCaller(event: HttpEvent): Caller {
  const caller = callerOfHttpEvent(event);
  if (caller === undefined) {
    throw new HttpError(
      401,
      'UNAUTHORIZED',
      'this route acts for a signed-in user: send Authorization: Bearer <jwt> (needs the platform deployed or started with AuthMode=jwt)',
    );
  }
  return caller;
}

/** A path parameter API Gateway matched (already URL-decoded). */
export function pathParameter(event: HttpEvent, name: string): string {
  const value = event.pathParameters?.[name];
  if (typeof value !== 'string' || value.length === 0) {
    throw new HttpError(400, 'BAD_REQUEST', `the path parameter ${name} is missing`);
  }
  return value;
}

/** The JSON body validated by `schema`; 400 with the first problem (and its field) otherwise, 413 when too large. */
export function parseBody<S extends z.ZodType>(event: HttpEvent, schema: S, maxBytes = MAX_BODY_BYTES): z.output<S> {
  if (typeof event.body !== 'string' || event.body.length === 0) {
    throw new HttpError(400, 'BAD_REQUEST', 'the request body must be a JSON object');
  }
  const raw = Buffer.from(event.body, event.isBase64Encoded === true ? 'base64' : 'utf8');
  if (raw.length > maxBytes) {
    throw new HttpError(413, 'PAYLOAD_TOO_LARGE', `the body is ${raw.length} bytes; at most ${maxBytes} are accepted`);
  }
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HttpError(400, 'INVALID_JSON', 'the request body is not valid JSON');
  }
  return validate(schema, value, 'body');
}

/** Validates any input (query parameters, a body) with zod; 400 naming the first offending field otherwise. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, what = 'request'): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path.map(String).join('.') ?? '';
  const message = issue === undefined ? `invalid ${what}` : path === '' ? issue.message : `${path}: ${issue.message}`;
  throw new HttpError(400, 'BAD_REQUEST', message, {
    issues: result.error.issues.slice(0, 10).map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
  });
}

export type Route = (event: HttpEvent) => Promise<HttpResult>;

/**
 * Dispatches by `routeKey` ("GET /presence/{userId}"). HttpError → its status; a ValidationError (a rule the input
 * broke, raised below the route) → 400; an AppError that may pass when retried → 503 with Retry-After; anything else
 * → 500 with nothing internal in the body (the cause is logged).
 */
export function createHttpRouter(name: string, routes: Record<string, Route>, logger: Log): Route {
  return async (event) => {
    const routeKey = typeof event?.routeKey === 'string' ? event.routeKey : '';
    const route = Object.hasOwn(routes, routeKey) ? routes[routeKey] : undefined;
    if (route === undefined) return errorResult(404, 'NOT_FOUND', `no route ${JSON.stringify(routeKey.slice(0, 100))}`);
    try {
      return await route(event);
    } catch (cause) {
      if (cause instanceof HttpError) return errorResult(cause.statusCode, cause.code, cause.message, cause.details);
      if (cause instanceof ValidationError) return errorResult(400, 'BAD_REQUEST', cause.message);
      logger.error(`${name} request failed`, {
        routeKey,
        requestId: event.requestContext?.requestId,
        error: describeError(cause),
        cause,
      });
      if (cause instanceof AppError && cause.retryable) {
        return errorResult(503, 'SERVICE_UNAVAILABLE', 'the service is busy; try again shortly', undefined, {
          'retry-after': '1',
        });
      }
      return errorResult(500, 'INTERNAL_ERROR', 'internal error');
    }
  };
}
