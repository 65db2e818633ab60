import type { HttpAuthorizerSpec, Invoker, LocalLogger } from '../types';
import { evaluatePolicy } from '../websocket/authorizer';
import type { HttpApiEventV1, HttpApiEventV2 } from './event';
import { gatewayReply, type HttpReply } from './response';

/**
 * HTTP API Lambda REQUEST authorizers (AuthorizationType CUSTOM), run before the route's integration as API Gateway
 * runs them:
 *
 * | what happens                                                   | the client gets                         |
 * |----------------------------------------------------------------|-----------------------------------------|
 * | an identity source is missing or empty                         | 401 {"message":"Unauthorized"}, no call |
 * | simple response {isAuthorized: true, context?}                 | the route runs; requestContext.authorizer = {lambda: context} |
 * | IAM policy allowing execute-api:Invoke on the routeArn         | the same                                |
 * | {isAuthorized: false}, a Deny, or no matching Allow            | 403 {"message":"Forbidden"}             |
 * | the function fails, times out (10 s) or answers another shape  | 500 {"message":"Internal Server Error"} |
 *
 * Results are not cached locally (AuthorizerResultTtlInSeconds is ignored): every request calls the authorizer.
 */

/** API Gateway stops waiting for a Lambda authorizer after 10 seconds. */
export const AUTHORIZER_TIMEOUT_MS = 10_000;

export type HttpAuthorizerDecision =
  | { allowed: true; authorizer: { lambda: Record<string, unknown> } }
  | { allowed: false; reply: HttpReply };

const unauthorized = () => gatewayReply(401, 'Unauthorized');
const forbidden = () => gatewayReply(403, 'Forbidden');
const failure = () => gatewayReply(500, 'Internal Server Error');

export interface AuthorizeHttpRequestOptions {
  invoker: Invoker;
  logger: LocalLogger;
  authorizer: HttpAuthorizerSpec;
  /** The request as a payload 2.0 event (identity sources are read from it). */
  event: HttpApiEventV2;
  /** The request as a payload 1.0 event, built only when the authorizer takes format 1.0. */
  eventV1: () => HttpApiEventV1;
  /** arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}{path} */
  routeArn: string;
  timeoutMs?: number;
}

/** Runs the route's authorizer and turns its answer into API Gateway's decision. Never throws. */
export async function authorizeHttpRequest(options: AuthorizeHttpRequestOptions): Promise<HttpAuthorizerDecision> {
  const { authorizer, event, logger } = options;
  const identity = identityValues(authorizer.identitySource, event);
  if (identity === undefined) return { allowed: false, reply: unauthorized() };
  const authorizerEvent =
    authorizer.payloadFormatVersion === '2.0'
      ? requestEventV2(event, options.routeArn, identity)
      : requestEventV1(options.eventV1(), options.routeArn, identity);
  const fail = (problem: string): HttpAuthorizerDecision => {
    logger.warn(
      `HTTP ${event.routeKey}: authorizer ${authorizer.logicalId} (${authorizer.functionId}) ${problem}; 500 as API Gateway would`,
    );
    return { allowed: false, reply: failure() };
  };

  const timeoutMs = options.timeoutMs ?? AUTHORIZER_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    options.invoker.invoke(authorizer.functionId, authorizerEvent, `${event.routeKey} authorizer`),
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  if (outcome === 'timeout') return fail(`did not answer within ${timeoutMs} ms`);
  if (!outcome.ok) return fail(`failed (${outcome.error.errorType}: ${outcome.error.errorMessage})`);

  const result = outcome.result;
  if (result === null || typeof result !== 'object' || Array.isArray(result)) {
    return fail('returned something other than an object');
  }
  const answer = result as Record<string, unknown>;
  const context = answer.context;
  if (context !== undefined && context !== null && (typeof context !== 'object' || Array.isArray(context))) {
    return fail('returned a context that is not an object');
  }
  const lambda = { ...((context as Record<string, unknown> | null | undefined) ?? {}) };

  if (authorizer.enableSimpleResponses) {
    if (typeof answer.isAuthorized !== 'boolean')
      return fail('returned a simple response without a boolean isAuthorized');
    return answer.isAuthorized ? { allowed: true, authorizer: { lambda } } : { allowed: false, reply: forbidden() };
  }
  if (typeof answer.principalId !== 'string' || answer.principalId === '') {
    return fail('returned an IAM policy response without a principalId');
  }
  const verdict = evaluatePolicy(answer.policyDocument, options.routeArn);
  if (verdict === 'Invalid') return fail('returned an invalid policyDocument');
  if (verdict !== 'Allow') return { allowed: false, reply: forbidden() };
  return { allowed: true, authorizer: { lambda } };
}

/** The route ARN an authorizer is asked about, as HTTP APIs build it. */
export function routeArnOf(parts: {
  region: string;
  accountId: string;
  apiId: string;
  stage: string;
  method: string;
  path: string;
}): string {
  return `arn:aws:execute-api:${parts.region}:${parts.accountId}:${parts.apiId}/${parts.stage}/${parts.method}${parts.path}`;
}

/**
 * The values of the identity sources, in order; undefined when one is missing or empty (API Gateway then answers
 * 401 without calling the authorizer). $context.* and $stageVariables.* are resolved where the local event has
 * them and otherwise count as present.
 */
export function identityValues(sources: string[], event: HttpApiEventV2): string[] | undefined {
  const values: string[] = [];
  for (const source of sources) {
    const header = /^\$request\.header\.(.+)$/i.exec(source);
    const query = /^\$request\.querystring\.(.+)$/i.exec(source);
    const context = /^\$context\.(.+)$/.exec(source);
    let value: string | undefined;
    if (header?.[1] !== undefined) value = event.headers[header[1].toLowerCase()];
    else if (query?.[1] !== undefined) value = event.queryStringParameters?.[query[1]];
    else if (context?.[1] !== undefined) value = contextValue(event.requestContext, context[1]) ?? '';
    else value = '';
    if (value === undefined || (value === '' && (header || query))) return undefined;
    values.push(value);
  }
  return values;
}

function contextValue(requestContext: unknown, path: string): string | undefined {
  let node: unknown = requestContext;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return typeof node === 'string' || typeof node === 'number' ? String(node) : undefined;
}

/** The payload 2.0 authorizer event: the request without its body, plus routeArn and the identity values. */
function requestEventV2(event: HttpApiEventV2, routeArn: string, identitySource: string[]) {
  const { body: _body, isBase64Encoded: _encoded, version: _version, ...request } = event;
  return { version: '2.0', type: 'REQUEST', routeArn, identitySource, ...request };
}

/** The payload 1.0 authorizer event (REST-API compatible): identity values joined by commas. */
function requestEventV1(event: HttpApiEventV1, routeArn: string, identitySource: string[]) {
  const { body: _body, isBase64Encoded: _encoded, version: _version, ...request } = event;
  const joined = identitySource.join(',');
  return {
    version: '1.0',
    type: 'REQUEST',
    methodArn: routeArn,
    identitySource: joined,
    authorizationToken: joined,
    ...request,
  };
}
