import { type JWTPayload, SignJWT } from 'jose';
import { createJwtVerifier, type JwtVerifier } from '../../src/adapters/jwt-verifier';
import { tokenExpiresAtOf } from '../../src/domain/token-lifetime';
import { callerOfHttpEvent, callerOfWebSocketEvent } from '../../src/handlers/logic/caller';
import {
  AuthorizerUnavailableError,
  bearerToken,
  createJwtAuthorizerHandler,
} from '../../src/handlers/logic/jwt-authorizer';
import { captureLog } from '../helpers/fakes';

const SECRET = 'a-development-secret-of-at-least-32-bytes';
const METHOD_ARN = 'arn:aws:execute-api:us-east-1:123456789012:abc123/develop/$connect';
const ROUTE_ARN = 'arn:aws:execute-api:us-east-1:123456789012:def456/$default/GET/presence';
const now = () => Math.floor(Date.now() / 1000);

function token(claims: JWTPayload = {}, secret = SECRET): Promise<string> {
  return new SignJWT({ sub: 'u1', exp: now() + 3600, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(secret));
}

function wsEvent(query: Record<string, string> | null) {
  return {
    type: 'REQUEST',
    methodArn: METHOD_ARN,
    headers: { Host: 'abc123.execute-api.us-east-1.amazonaws.com' },
    queryStringParameters: query,
    requestContext: { routeKey: '$connect', eventType: 'CONNECT', connectionId: 'Xy1=' },
  };
}

function httpEvent(authorization?: string) {
  return {
    version: '2.0',
    type: 'REQUEST',
    routeArn: ROUTE_ARN,
    identitySource: authorization === undefined ? [] : [authorization],
    routeKey: 'GET /presence',
    headers: authorization === undefined ? {} : { authorization },
    requestContext: { http: { method: 'GET', path: '/presence' } },
  };
}

function authorizer(verifier?: JwtVerifier) {
  const logger = captureLog();
  const handler = createJwtAuthorizerHandler({
    verifier: verifier ?? createJwtVerifier({ secret: SECRET, userIdClaim: 'sub', audience: 'rtp' }),
    logger,
  });
  return { handler, logger };
}

describe('WebSocket $connect (IAM policy answers)', () => {
  test('a valid token is allowed on the connect route, with the user as principal and in the context', async () => {
    const { handler } = authorizer();
    const exp = now() + 3600;
    const answer = await handler(wsEvent({ token: await token({ aud: 'rtp', exp }), vehicleId: '3' }));
    expect(answer).toEqual({
      principalId: 'u1',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: METHOD_ARN }],
      },
      // The token's expiry sticks to the connection too, so it can end when the token does.
      context: { userId: 'u1', tokenExpiresAt: exp },
    });
    // What API Gateway then hands to every route of the connection is what the handlers read as the caller.
    const later = { requestContext: { authorizer: { principalId: 'u1', ...(answer as { context: object }).context } } };
    expect(callerOfWebSocketEvent(later)).toEqual({ userId: 'u1' });
    expect(tokenExpiresAtOf(later)).toBe(exp);
  });

  test('no token, a bad signature, an expired or malformed token: "Unauthorized" (API Gateway answers 401)', async () => {
    const { handler, logger } = authorizer();
    const cases = [
      wsEvent(null),
      wsEvent({ token: '' }),
      wsEvent({ token: await token({ aud: 'rtp' }, 'another-secret-that-is-also-32-bytes-long') }),
      wsEvent({ token: await token({ aud: 'rtp', exp: now() - 60 }) }),
      wsEvent({ token: 'garbage' }),
    ];
    for (const event of cases) await expect(handler(event)).rejects.toThrow(/^Unauthorized$/);
    expect(logger.lines.map((line) => line.fields.reason)).toEqual([
      'missing',
      'missing',
      'bad-signature',
      'expired',
      'malformed',
    ]);
  });

  test('a genuine token for another audience, or without a usable user id, gets a Deny policy (403)', async () => {
    const { handler } = authorizer();
    for (const claims of [{ aud: 'other-app' }, { aud: 'rtp', sub: 'has space' }]) {
      const answer = await handler(wsEvent({ token: await token(claims) }));
      expect(answer).toEqual({
        principalId: 'unauthorized',
        policyDocument: {
          Version: '2012-10-17',
          Statement: [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: METHOD_ARN }],
        },
      });
    }
  });

  test('keys that cannot be fetched are our failure: another error (API Gateway answers 500), logged as an error', async () => {
    const unavailable: JwtVerifier = {
      verify: async () => ({ ok: false, reason: 'key-unavailable', detail: 'JWKS timed out' }),
      warmUp: async () => undefined,
    };
    const { handler, logger } = authorizer(unavailable);
    const failure = await handler(wsEvent({ token: await token() })).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AuthorizerUnavailableError);
    expect((failure as Error).message).not.toBe('Unauthorized');
    expect(logger.lines).toEqual([
      expect.objectContaining({ level: 'error', fields: expect.objectContaining({ reason: 'key-unavailable' }) }),
    ]);
  });

  test('log lines name the reason, never the token', async () => {
    const { handler, logger } = authorizer();
    const expired = await token({ aud: 'rtp', exp: now() - 60 });
    await handler(wsEvent({ token: expired })).catch(() => undefined);
    expect(JSON.stringify(logger.lines)).not.toContain(expired);
    expect(JSON.stringify(logger.lines)).not.toContain(SECRET);
  });
});

describe('HTTP API user routes (payload 2.0 simple responses)', () => {
  test('a valid Bearer token (any case of the scheme) is authorized with the user in the context', async () => {
    const { handler } = authorizer();
    const jwt = await token({ aud: 'rtp' });
    for (const header of [`Bearer ${jwt}`, `bearer ${jwt}`, `BEARER  ${jwt} `]) {
      const answer = await handler(httpEvent(header));
      expect(answer).toEqual({ isAuthorized: true, context: { userId: 'u1' } });
      const later = { requestContext: { authorizer: { lambda: (answer as { context: object }).context } } };
      expect(callerOfHttpEvent(later)).toEqual({ userId: 'u1' });
    }
  });

  test('every refused token is { isAuthorized: false } (API Gateway answers 403)', async () => {
    const { handler, logger } = authorizer();
    const refused = [
      httpEvent(),
      httpEvent(`Bearer ${await token({ aud: 'rtp', exp: now() - 60 })}`),
      httpEvent(`Bearer ${await token({ aud: 'another' })}`),
      httpEvent(`Basic dTE6cGFzcw==`),
      httpEvent(await token({ aud: 'rtp' })),
      httpEvent('Bearer'),
    ];
    for (const event of refused) expect(await handler(event)).toEqual({ isAuthorized: false });
    expect(logger.lines.map((line) => line.fields.reason)).toEqual([
      'missing',
      'expired',
      'wrong-audience',
      'malformed',
      'malformed',
      'malformed',
    ]);
  });

  test('keys that cannot be fetched throw (500), never a refusal', async () => {
    const unavailable: JwtVerifier = {
      verify: async () => ({ ok: false, reason: 'key-unavailable', detail: 'secret unavailable' }),
      warmUp: async () => undefined,
    };
    const { handler } = authorizer(unavailable);
    await expect(handler(httpEvent(`Bearer ${await token()}`))).rejects.toBeInstanceOf(AuthorizerUnavailableError);
  });

  test('an event of neither shape is a wiring error (500)', async () => {
    const { handler } = authorizer();
    for (const event of [null, {}, { type: 'TOKEN', methodArn: METHOD_ARN }, { version: '1.0', type: 'REQUEST' }]) {
      await expect(handler(event)).rejects.toThrow(/not an API Gateway REQUEST authorizer event/);
    }
  });

  test('bearerToken reads "Bearer <token>" only', () => {
    expect(bearerToken(undefined)).toBeUndefined();
    expect(bearerToken('  ')).toBeUndefined();
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('Bearer a b')).toEqual({ malformed: expect.any(String) });
    expect(bearerToken('Token abc')).toEqual({ malformed: expect.any(String) });
  });
});
