import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import {
  base64url,
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { secretsManagerSecret } from '../../src/adapters/jwt-secret';
import { createJwtVerifier, type JwtVerifierOptions, type TokenVerdict } from '../../src/adapters/jwt-verifier';
import { loadJwtConfig } from '../../src/config/jwt';
import { ConfigError } from '../../src/lib/errors';

const SECRET = 'a-development-secret-of-at-least-32-bytes';
const now = () => Math.floor(Date.now() / 1000);

async function hs256(claims: JWTPayload, secret = SECRET, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...header })
    .sign(new TextEncoder().encode(secret));
}

/** Claims of an ordinary token for user u1, valid for an hour. */
function userClaims(extra: JWTPayload = {}): JWTPayload {
  return { sub: 'u1', iat: now(), exp: now() + 3600, ...extra };
}

function verifierWith(options: Partial<JwtVerifierOptions> = {}) {
  return createJwtVerifier({ secret: SECRET, userIdClaim: 'sub', ...options });
}

function refusal(verdict: TokenVerdict): string {
  return verdict.ok ? `accepted as ${verdict.userId}` : verdict.reason;
}

describe('HS256 tokens with a shared secret', () => {
  test('a valid token names its user and carries its claims', async () => {
    const verdict = await verifierWith().verify(await hs256(userClaims({ role: 'admin' })));
    expect(verdict).toMatchObject({ ok: true, userId: 'u1', claims: { sub: 'u1', role: 'admin' } });
  });

  test('a token signed with another secret, or with a changed payload, has a bad signature', async () => {
    const verifier = verifierWith();
    expect(refusal(await verifier.verify(await hs256(userClaims(), 'another-secret-that-is-also-32-bytes-long')))).toBe(
      'bad-signature',
    );
    const [header, , signature] = (await hs256(userClaims())).split('.');
    const forgedPayload = base64url.encode(JSON.stringify(userClaims({ sub: 'admin' })));
    expect(refusal(await verifier.verify(`${header}.${forgedPayload}.${signature}`))).toBe('bad-signature');
  });

  test('expired tokens are refused; 5 s of clock skew is tolerated', async () => {
    const verifier = verifierWith();
    expect(refusal(await verifier.verify(await hs256(userClaims({ exp: now() - 60 }))))).toBe('expired');
    expect(refusal(await verifier.verify(await hs256(userClaims({ exp: now() - 2 }))))).toBe('accepted as u1');
  });

  test('a token whose nbf is in the future is not valid yet', async () => {
    const verdict = await verifierWith().verify(await hs256(userClaims({ nbf: now() + 120 })));
    expect(refusal(verdict)).toBe('not-yet-valid');
  });

  test('issuer and audience are checked when configured (any of a list matches)', async () => {
    const verifier = verifierWith({ issuer: 'https://id.example.com', audience: ['app-a', 'app-b'] });
    const good = userClaims({ iss: 'https://id.example.com', aud: 'app-b' });
    expect(refusal(await verifier.verify(await hs256(good)))).toBe('accepted as u1');
    expect(refusal(await verifier.verify(await hs256({ ...good, aud: 'app-c' })))).toBe('wrong-audience');
    expect(refusal(await verifier.verify(await hs256({ ...good, iss: 'https://evil.example.com' })))).toBe(
      'wrong-issuer',
    );
    const { aud: _aud, ...noAudience } = good;
    expect(refusal(await verifier.verify(await hs256(noAudience)))).toBe('wrong-audience');
  });

  test('alg "none" is never accepted, however the token is written', async () => {
    const verifier = verifierWith();
    const payload = base64url.encode(JSON.stringify(userClaims()));
    for (const alg of ['none', 'None', 'NONE']) {
      const header = base64url.encode(JSON.stringify({ alg, typ: 'JWT' }));
      expect(refusal(await verifier.verify(`${header}.${payload}.`))).toBe('bad-signature');
    }
  });

  test('the user id comes from the configured claim and must be a usable id', async () => {
    const cognito = verifierWith({ userIdClaim: 'cognito:username' });
    const token = await hs256(userClaims({ sub: '0b7e-uuid', 'cognito:username': 'alice' }));
    expect(refusal(await cognito.verify(token))).toBe('accepted as alice');
    expect(refusal(await cognito.verify(await hs256(userClaims())))).toBe('no-user-claim');
    const verifier = verifierWith();
    expect(refusal(await verifier.verify(await hs256(userClaims({ sub: 'a:b' }))))).toBe('no-user-claim');
    expect(refusal(await verifier.verify(await hs256(userClaims({ sub: 42 as unknown as string }))))).toBe(
      'no-user-claim',
    );
  });

  test('missing, malformed, over-long and exp-less tokens are refused with their reason', async () => {
    const verifier = verifierWith();
    expect(refusal(await verifier.verify(undefined))).toBe('missing');
    expect(refusal(await verifier.verify('  '))).toBe('missing');
    expect(refusal(await verifier.verify('not-a-jwt'))).toBe('malformed');
    expect(refusal(await verifier.verify('a.b.c'))).toBe('malformed');
    expect(refusal(await verifier.verify(`${await hs256(userClaims())}x`.padEnd(9000, 'x')))).toBe('malformed');
    const { exp: _exp, ...forever } = userClaims();
    expect(refusal(await verifier.verify(await hs256(forever)))).toBe('malformed');
  });

  test('a refusal carries the kid and issuer the token claims, for logs, and never the token', async () => {
    const token = await hs256(userClaims({ exp: now() - 60, iss: 'https://id.example.com' }), SECRET, { kid: 'k1' });
    const verdict = await verifierWith().verify(token);
    expect(verdict).toMatchObject({ ok: false, reason: 'expired', kid: 'k1', issuer: 'https://id.example.com' });
    expect(JSON.stringify(verdict)).not.toContain(token.split('.')[2]);
  });

  test('a secret shorter than 32 bytes is refused when the verifier is built', () => {
    expect(() => createJwtVerifier({ secret: 'short', userIdClaim: 'sub' })).toThrow(/at least 32 bytes/);
    expect(() => createJwtVerifier({ userIdClaim: 'sub' })).toThrow(/secret .* or a jwksUrl/);
  });

  test('a secret from a provider (Secrets Manager) is fetched on use; when it fails the keys are unavailable', async () => {
    let current = SECRET;
    let failing = false;
    const verifier = verifierWith({
      secret: async () => {
        if (failing) throw new Error('AccessDeniedException');
        return current;
      },
    });
    const token = await hs256(userClaims());
    expect(refusal(await verifier.verify(token))).toBe('accepted as u1');
    current = 'the-rotated-secret-which-is-long-enough';
    expect(refusal(await verifier.verify(token))).toBe('bad-signature');
    expect(refusal(await verifier.verify(await hs256(userClaims(), current)))).toBe('accepted as u1');
    failing = true;
    expect(await verifier.verify(token)).toMatchObject({ ok: false, reason: 'key-unavailable' });
  });

  test('no input makes verify throw (fuzz)', async () => {
    const verifier = verifierWith({ jwksUrl: 'http://127.0.0.1:9/jwks.json', jwksTimeoutMs: 200 });
    const segment = fc.oneof(
      fc.string(),
      fc.base64String(),
      fc.json().map((json) => base64url.encode(json)),
      fc.constantFrom(base64url.encode('{"alg":"HS256"}'), base64url.encode('{"alg":"none"}'), ''),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 4 }), async (parts) => {
        const verdict = await verifier.verify(parts.join('.'));
        expect(verdict.ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('RS256 and ES256 tokens through a JWKS (Cognito, Auth0)', () => {
  let server: Server;
  let jwksUrl: string;
  let requests = 0;
  let answer: 'keys' | 'error' = 'keys';
  const keys: JWK[] = [];
  const signers: Record<string, CryptoKey> = {};
  let rsaPublicPem = '';

  beforeAll(async () => {
    for (const [alg, kid] of [
      ['RS256', 'rsa-1'],
      ['ES256', 'ec-1'],
    ] as const) {
      const pair = await generateKeyPair(alg, { extractable: true });
      signers[kid] = pair.privateKey;
      keys.push({ ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' });
      if (alg === 'RS256') rsaPublicPem = await exportSPKI(pair.publicKey);
    }
    server = createServer((_req, res) => {
      requests++;
      if (answer === 'error') {
        res.writeHead(500).end('oops');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });

  afterAll(async () => {
    await new Promise((done) => server.close(done));
  });

  async function signed(alg: 'RS256' | 'ES256', kid: string, claims: JWTPayload): Promise<string> {
    const key = signers[kid];
    if (!key) throw new Error(`no key ${kid}`);
    return new SignJWT(claims).setProtectedHeader({ alg, kid }).sign(key);
  }

  test('RS256 and ES256 tokens verify against the JWKS, which is fetched once and cached', async () => {
    answer = 'keys';
    const verifier = createJwtVerifier({ jwksUrl, userIdClaim: 'sub', issuer: 'https://idp.example.com' });
    const claims = userClaims({ iss: 'https://idp.example.com' });
    const before = requests;
    expect(refusal(await verifier.verify(await signed('RS256', 'rsa-1', claims)))).toBe('accepted as u1');
    expect(refusal(await verifier.verify(await signed('ES256', 'ec-1', { ...claims, sub: 'u2' })))).toBe(
      'accepted as u2',
    );
    expect(requests - before).toBe(1);
  });

  test('a token signed by a key outside the JWKS has a bad signature', async () => {
    const verifier = createJwtVerifier({ jwksUrl, userIdClaim: 'sub' });
    const stranger = await generateKeyPair('RS256');
    const token = await new SignJWT(userClaims())
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' })
      .sign(stranger.privateKey);
    expect(refusal(await verifier.verify(token))).toBe('bad-signature');
    const unknownKid = await new SignJWT(userClaims())
      .setProtectedHeader({ alg: 'RS256', kid: 'nobody' })
      .sign(stranger.privateKey);
    expect(refusal(await verifier.verify(unknownKid))).toBe('bad-signature');
  });

  test('an HS256 token is refused when only a JWKS is configured (no algorithm confusion), without a fetch', async () => {
    const verifier = createJwtVerifier({ jwksUrl, userIdClaim: 'sub' });
    const before = requests;
    // The classic attack: HMAC-sign with the server's public key, hoping it is used as the HMAC secret.
    const confused = await hs256(userClaims(), rsaPublicPem, { kid: 'rsa-1' });
    expect(refusal(await verifier.verify(confused))).toBe('bad-signature');
    expect(requests).toBe(before);
  });

  test('with both a secret and a JWKS, each algorithm is verified only with its own key source', async () => {
    const verifier = createJwtVerifier({ jwksUrl, secret: SECRET, userIdClaim: 'sub' });
    expect(refusal(await verifier.verify(await hs256(userClaims())))).toBe('accepted as u1');
    expect(refusal(await verifier.verify(await signed('ES256', 'ec-1', userClaims())))).toBe('accepted as u1');
    expect(refusal(await verifier.verify(await hs256(userClaims(), rsaPublicPem)))).toBe('bad-signature');
  });

  test('a JWKS that answers 500 or nothing at all makes the keys unavailable (our failure, not the token)', async () => {
    answer = 'error';
    const failing = createJwtVerifier({ jwksUrl, userIdClaim: 'sub' });
    const token = await signed('RS256', 'rsa-1', userClaims());
    expect(await failing.verify(token)).toMatchObject({ ok: false, reason: 'key-unavailable' });
    answer = 'keys';
    const down = createJwtVerifier({ jwksUrl: 'http://127.0.0.1:9/jwks.json', userIdClaim: 'sub', jwksTimeoutMs: 500 });
    expect(await down.verify(token)).toMatchObject({ ok: false, reason: 'key-unavailable' });
  });
});

describe('configuration', () => {
  test('JWT_* variables: lists, the default claim, and a secret ARN', () => {
    expect(
      loadJwtConfig({
        JWT_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt-AbCdEf',
        JWT_ISSUER: 'https://a.example.com',
        JWT_AUDIENCE: 'app-a, app-b',
        JWT_USER_ID_CLAIM: '',
        JWT_JWKS_URL: '',
      }),
    ).toEqual({
      secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt-AbCdEf',
      issuer: ['https://a.example.com'],
      audience: ['app-a', 'app-b'],
      userIdClaim: 'sub',
    });
  });

  test('no key source fails at cold start naming the variables', () => {
    const error = (() => {
      try {
        loadJwtConfig({ JWT_SECRET_ARN: '', JWT_JWKS_URL: '' });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toMatch(/JWT_SECRET_ARN or JWT_JWKS_URL \(or JWT_SECRET for local runs\) is required/);
  });

  test('a short secret, a plain-http remote JWKS, a non-ARN and two secrets at once are refused', () => {
    expect(() => loadJwtConfig({ JWT_SECRET: 'short' })).toThrow(/JWT_SECRET must be at least 32 bytes/);
    expect(() => loadJwtConfig({ JWT_JWKS_URL: 'http://idp.example.com/jwks.json' })).toThrow(
      /JWT_JWKS_URL must be an https URL/,
    );
    const idp = { JWT_ISSUER: 'https://idp.example.com/', JWT_AUDIENCE: 'app' };
    expect(loadJwtConfig({ JWT_JWKS_URL: 'http://localhost:9000/jwks.json', ...idp }).jwksUrl).toBe(
      'http://localhost:9000/jwks.json',
    );
    // A JWKS signs for every application of its identity provider: issuer and audience must narrow it.
    expect(() => loadJwtConfig({ JWT_JWKS_URL: 'https://idp.example.com/jwks.json' })).toThrow(
      /JWT_ISSUER is required with JWT_JWKS_URL; JWT_AUDIENCE is required with JWT_JWKS_URL/,
    );
    expect(() => loadJwtConfig({ JWT_SECRET_ARN: 'my-secret' })).toThrow(/JWT_SECRET_ARN must be a Secrets Manager/);
    expect(() =>
      loadJwtConfig({ JWT_SECRET: SECRET, JWT_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:x' }),
    ).toThrow(/JWT_SECRET and JWT_SECRET_ARN are both set/);
  });

  test('a Secrets Manager secret may be a plain string, JSON with a "secret" field, or binary', async () => {
    const from = (value: unknown) => secretsManagerSecret('arn:aws:secretsmanager:x', async () => value)();
    await expect(from(SECRET)).resolves.toBe(SECRET);
    await expect(from(JSON.stringify({ secret: SECRET }))).resolves.toBe(SECRET);
    await expect(from('{not json but a secret}')).resolves.toBe('{not json but a secret}');
    await expect(from(new Uint8Array([1, 2, 3]))).resolves.toEqual(new Uint8Array([1, 2, 3]));
    await expect(from(JSON.stringify({ password: SECRET }))).rejects.toThrow(/without a "secret" string field/);
    await expect(from(undefined)).rejects.toThrow(/is empty/);
  });
});
