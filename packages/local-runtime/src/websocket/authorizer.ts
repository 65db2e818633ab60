import type { Invoker, LocalLogger } from '../types';
import { type ConnectRequestParts, headerValue, type WebSocketRequestContext } from './events';

/** What the REQUEST authorizer decided for a $connect. */
export type AuthorizerDecision =
  | { allowed: true; context: Record<string, unknown> }
  | { allowed: false; status: 401 | 403 | 500; errorType: string; body: string };

/** The event a Lambda REQUEST authorizer receives for a WebSocket $connect. */
export interface WebSocketAuthorizerEvent extends ConnectRequestParts {
  type: 'REQUEST';
  methodArn: string;
  stageVariables: Record<string, string>;
  requestContext: WebSocketRequestContext;
}

function refusal(status: 401 | 403 | 500, errorType: string, body: string): AuthorizerDecision {
  return { allowed: false, status, errorType, body };
}

const UNAUTHORIZED = refusal(401, 'UnauthorizedException', '{"message":"Unauthorized"}');
const forbidden = (message: string) => refusal(403, 'AccessDeniedException', JSON.stringify({ Message: message }));
const DENIED = forbidden('User is not authorized to access this resource with an explicit deny');
const NOT_ALLOWED = forbidden('User is not authorized to access this resource');
// API Gateway answers 500 when the authorizer fails or returns something it cannot use; the function's own
// error never reaches the client.
const AUTHORIZER_FAILURE = refusal(500, 'AuthorizerConfigurationException', '{"message":null}');

/**
 * True when every identity source has a non-empty value. API Gateway answers 401 without calling the
 * authorizer otherwise. Sources it cannot check locally (stageVariables.*, context.*) count as present.
 */
export function hasIdentitySources(identitySource: string[], parts: ConnectRequestParts): boolean {
  for (const source of identitySource) {
    const header = /^(?:route\.request|method\.request|\$request)\.header\.(.+)$/i.exec(source);
    if (header?.[1] !== undefined) {
      if (!headerValue(parts.headers, header[1])) return false;
      continue;
    }
    const query = /^(?:route\.request|method\.request|\$request)\.querystring\.(.+)$/i.exec(source);
    if (query?.[1] !== undefined && !parts.queryStringParameters?.[query[1]]) return false;
  }
  return true;
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

function matchesAny(patterns: unknown, value: string): boolean {
  const list = Array.isArray(patterns) ? patterns : [patterns];
  return list.some((p) => typeof p === 'string' && globToRegExp(p).test(value));
}

/**
 * Evaluates an IAM policy document for execute-api:Invoke on methodArn: an explicit Deny wins, then an Allow;
 * with neither the request is implicitly denied.
 */
export function evaluatePolicy(policy: unknown, methodArn: string): 'Allow' | 'Deny' | 'ImplicitDeny' | 'Invalid' {
  if (policy === null || typeof policy !== 'object') return 'Invalid';
  const raw = (policy as { Statement?: unknown }).Statement;
  const statements = Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? [raw] : undefined;
  if (!statements) return 'Invalid';
  let allowed = false;
  for (const statement of statements as Record<string, unknown>[]) {
    if (!statement || typeof statement !== 'object') return 'Invalid';
    const effect = String(statement.Effect ?? '').toLowerCase();
    if (!matchesAny(statement.Action, 'execute-api:Invoke') || !matchesAny(statement.Resource, methodArn)) continue;
    if (effect === 'deny') return 'Deny';
    if (effect === 'allow') allowed = true;
  }
  return allowed ? 'Allow' : 'ImplicitDeny';
}

/** Runs the Lambda REQUEST authorizer for a $connect and turns its answer into API Gateway's decision. */
export async function authorizeConnect(options: {
  invoker: Invoker;
  logger: LocalLogger;
  functionId: string;
  identitySource: string[];
  methodArn: string;
  parts: ConnectRequestParts;
  requestContext: WebSocketRequestContext;
}): Promise<AuthorizerDecision> {
  const { invoker, logger, functionId, parts, methodArn } = options;
  if (!hasIdentitySources(options.identitySource, parts)) return UNAUTHORIZED;
  const event: WebSocketAuthorizerEvent = {
    type: 'REQUEST',
    methodArn,
    ...parts,
    stageVariables: {},
    requestContext: options.requestContext,
  };
  const outcome = await invoker.invoke(functionId, event, 'ws $connect authorizer');
  if (!outcome.ok) {
    // The one error text API Gateway treats specially: `throw new Error('Unauthorized')` means 401.
    return outcome.error.errorMessage === 'Unauthorized' ? UNAUTHORIZED : AUTHORIZER_FAILURE;
  }
  const result = outcome.result as { principalId?: unknown; policyDocument?: unknown; context?: unknown } | null;
  if (!result || typeof result !== 'object' || result.principalId === undefined) {
    logger.warn('authorizer returned no principalId; API Gateway answers 500', { functionId });
    return AUTHORIZER_FAILURE;
  }
  const verdict = evaluatePolicy(result.policyDocument, methodArn);
  if (verdict === 'Invalid') {
    logger.warn('authorizer returned an invalid policyDocument; API Gateway answers 500', { functionId });
    return AUTHORIZER_FAILURE;
  }
  if (verdict === 'Deny') return DENIED;
  if (verdict === 'ImplicitDeny') return NOT_ALLOWED;
  const context: Record<string, unknown> = { principalId: result.principalId };
  if (result.context !== undefined && result.context !== null) {
    if (typeof result.context !== 'object' || Array.isArray(result.context)) return AUTHORIZER_FAILURE;
    for (const [key, value] of Object.entries(result.context)) {
      // API Gateway rejects objects and arrays in the context map (500), so local runs catch it too.
      if (value !== null && typeof value === 'object') {
        logger.warn('authorizer context values must be strings, numbers or booleans; API Gateway answers 500', {
          functionId,
          key,
        });
        return AUTHORIZER_FAILURE;
      }
      context[key] = value;
    }
  }
  context.integrationLatency = outcome.durationMs;
  return { allowed: true, context };
}
