import { userIdProblem } from '@real-time-platform/protocol';
import type { Caller } from '../../domain/identity';

/**
 * The caller named by the JWT authorizer, read from the events API Gateway builds:
 * - WebSocket (every route, since the $connect authorizer's answer sticks to the connection):
 *   `requestContext.authorizer.principalId`;
 * - HTTP API payload 2.0 with a simple-response Lambda authorizer: `requestContext.authorizer.lambda.userId`.
 * Undefined when no authorizer ran (AuthMode=none) or it named no valid user.
 */
export function callerOfWebSocketEvent(event: unknown): Caller | undefined {
  const authorizer = field(field(event, 'requestContext'), 'authorizer');
  return callerFrom(field(authorizer, 'principalId'));
}

/** See callerOfWebSocketEvent. */
export function callerOfHttpEvent(event: unknown): Caller | undefined {
  const lambda = field(field(field(event, 'requestContext'), 'authorizer'), 'lambda');
  return callerFrom(field(lambda, 'userId'));
}

function callerFrom(value: unknown): Caller | undefined {
  if (typeof value !== 'string' || userIdProblem(value) !== undefined) return undefined;
  return { userId: value };
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}
