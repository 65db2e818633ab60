import { z } from 'zod';
import type { JwtVerifier, TokenRefusal, TokenVerdict } from '../../adapters/jwt-verifier';
import { AppError, MalformedEventError } from '../../lib/errors';
import type { Log } from '../../lib/logging';

/**
 * The JWT authorizer (AuthMode=jwt) for both APIs, told apart by the event's shape:
 * - the WebSocket API's $connect (REQUEST authorizer, `methodArn`, token in `?token=`), answered with an IAM policy;
 * - the HTTP API's user routes (REQUEST authorizer, payload 2.0, `routeArn`, `Authorization: Bearer <jwt>`),
 *   answered with a simple response.
 * An allowed caller's user id reaches every later request as `context.userId` (and, on the WebSocket, as the
 * principalId), which src/handlers/logic/caller.ts reads.
 *
 * What the client gets:
 *
 * | token                                          | WebSocket $connect                 | HTTP API user route          |
 * |------------------------------------------------|------------------------------------|------------------------------|
 * | valid                                          | handshake accepted ($connect runs) | the route's function runs    |
 * | absent (no ?token= / no Authorization header)  | 401 (API Gateway, identity source) | 401 (API Gateway, identity source) |
 * | malformed, bad signature, unknown kid, alg     | 401: `throw new Error('Unauthorized')` | 403: `{isAuthorized: false}` |
 * |   none / not allowed, expired, not yet valid   |                                    |                              |
 * | genuine but wrong issuer or audience, or no    | 403: Deny policy                   | 403: `{isAuthorized: false}` |
 * |   usable user id in the configured claim       |                                    |                              |
 * | keys unreachable (JWKS down, Secrets Manager)  | 500: any other thrown error        | 500: thrown error            |
 *
 * Simple responses cannot say 401, so the HTTP API answers 403 for every refused token. A refusal is the caller's
 * problem and is logged at info with its reason category (plus the token's kid and iss as it claims them); the
 * token itself is never logged. Unreachable keys are ours: logged as an error and answered 500 so that clients
 * retry instead of signing the user out.
 */

/** IAM policy answer of a WebSocket (or REST) REQUEST authorizer. */
export interface PolicyResponse {
  principalId: string;
  policyDocument: {
    Version: '2012-10-17';
    Statement: [{ Action: 'execute-api:Invoke'; Effect: 'Allow' | 'Deny'; Resource: string }];
  };
  context?: { userId: string; tokenExpiresAt?: number };
}

/** HTTP API payload 2.0 simple response. */
export type SimpleResponse = { isAuthorized: true; context: { userId: string } } | { isAuthorized: false };

export interface JwtAuthorizerDeps {
  verifier: JwtVerifier;
  logger: Log;
}

/** The keys could not be fetched; thrown so that API Gateway answers 500 (never 401: the token may be fine). */
export class AuthorizerUnavailableError extends AppError {
  override name = 'AuthorizerUnavailableError';
  constructor(message: string) {
    super(message, { retryable: true });
  }
}

// Both shapes are checked loosely: API Gateway adds fields over time, and only these are read.
const webSocketEvent = z.object({
  type: z.literal('REQUEST'),
  methodArn: z.string().min(1),
  queryStringParameters: z.record(z.string(), z.string().optional()).nullish(),
});
const httpEvent = z.object({
  version: z.literal('2.0'),
  type: z.literal('REQUEST'),
  routeArn: z.string().min(1),
  headers: z.record(z.string(), z.string().optional()).nullish(),
});

/** 401 on the WebSocket: the caller has no valid credentials. The rest of the refusals are a 403 Deny. */
const UNAUTHENTICATED: ReadonlySet<TokenRefusal> = new Set([
  'missing',
  'malformed',
  'bad-signature',
  'expired',
  'not-yet-valid',
]);

/** principalId of a Deny policy: API Gateway wants one, and the token's claims are not trusted enough to name. */
const DENIED_PRINCIPAL = 'unauthorized';

/** Builds the authorizer (see the table above). */
export function createJwtAuthorizerHandler(
  deps: JwtAuthorizerDeps,
): (event: unknown) => Promise<PolicyResponse | SimpleResponse> {
  const { verifier, logger } = deps;

  const check = async (token: Credential, resource: string, api: 'websocket' | 'http'): Promise<TokenVerdict> => {
    const verdict: TokenVerdict =
      typeof token === 'object'
        ? { ok: false, reason: 'malformed', detail: token.malformed }
        : await verifier.verify(token);
    if (!verdict.ok) report(logger, verdict, resource, api);
    return verdict;
  };

  return async (event) => {
    const http = httpEvent.safeParse(event);
    if (http.success) {
      const { routeArn, headers } = http.data;
      const verdict = await check(bearerToken(headerValue(headers, 'authorization')), routeArn, 'http');
      if (verdict.ok) return { isAuthorized: true, context: { userId: verdict.userId } };
      if (verdict.reason === 'key-unavailable') throw new AuthorizerUnavailableError(verdict.detail);
      return { isAuthorized: false };
    }
    const ws = webSocketEvent.safeParse(event);
    if (ws.success) {
      const { methodArn, queryStringParameters } = ws.data;
      const verdict = await check(queryStringParameters?.token, methodArn, 'websocket');
      if (verdict.ok) {
        // The expiry sticks to the connection with the user id, so later routes and the sweep can end it in time.
        const expiresAt = verdict.claims.exp;
        return policy(verdict.userId, 'Allow', methodArn, {
          userId: verdict.userId,
          ...(typeof expiresAt === 'number' ? { tokenExpiresAt: expiresAt } : {}),
        });
      }
      if (verdict.reason === 'key-unavailable') throw new AuthorizerUnavailableError(verdict.detail);
      // The exact message API Gateway turns into 401; any other error would be a 500.
      if (UNAUTHENTICATED.has(verdict.reason)) throw new Error('Unauthorized');
      return policy(DENIED_PRINCIPAL, 'Deny', methodArn);
    }
    // Not an authorizer event API Gateway sends: the template wires this function wrongly. 500, and say so.
    throw new MalformedEventError(
      'not an API Gateway REQUEST authorizer event (WebSocket: type + methodArn; HTTP API: version 2.0 + routeArn)',
    );
  };
}

function policy(
  principalId: string,
  effect: 'Allow' | 'Deny',
  resource: string,
  context?: { userId: string; tokenExpiresAt?: number },
): PolicyResponse {
  return {
    principalId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }],
    },
    ...(context ? { context } : {}),
  };
}

/** A token, none, or why the Authorization header holds no usable one. */
type Credential = string | undefined | { malformed: string };

/** The token of `Authorization: Bearer <token>` (scheme case-insensitive). */
export function bearerToken(header: string | undefined): Credential {
  if (header === undefined || header.trim() === '') return undefined;
  const match = /^\s*bearer[ \t]+(\S+)\s*$/i.exec(header);
  // Basic credentials, a bare token or "Bearer" alone are refused rather than guessed at.
  return match?.[1] ?? { malformed: 'the Authorization header is not "Bearer <token>"' };
}

function headerValue(headers: Record<string, string | undefined> | null | undefined, name: string) {
  if (!headers) return undefined;
  // HTTP APIs lower-case header names, but a test event or another front door may not.
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

function report(logger: Log, verdict: Extract<TokenVerdict, { ok: false }>, resource: string, api: string): void {
  const fields = {
    api,
    resource,
    reason: verdict.reason,
    detail: verdict.detail,
    ...(verdict.kid === undefined ? {} : { kid: verdict.kid }),
    ...(verdict.issuer === undefined ? {} : { issuer: verdict.issuer }),
  };
  if (verdict.reason === 'key-unavailable') logger.error('token keys unavailable; answering 500', fields);
  else logger.info('token refused', fields);
}
