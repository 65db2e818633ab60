import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AuthOptionError,
  authLines,
  JWT_AUTHORIZER_FUNCTION,
  resolveLocalAuth,
} from '@real-time-platform/local-runtime';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { UsageError } from '../../scripts/lib/cli-support';
import { duration, parseTokenArgs, signToken } from '../../scripts/lib/token-cli';
import { createJwtVerifier } from '../../src/adapters/jwt-verifier';

const SECRET = 'a-development-secret-of-at-least-32-bytes';

describe('npm run token: arguments', () => {
  test('--user with the defaults: sub, one hour, no issuer or audience', () => {
    expect(parseTokenArgs(['--user', 'u1'])).toEqual({
      help: false,
      userId: 'u1',
      userClaim: 'sub',
      expiresInSeconds: 3600,
      claims: {},
    });
  });

  test('every flag, with JSON claim values and the secret from RTP_JWT_SECRET', () => {
    const command = parseTokenArgs(
      [
        '--user',
        'alice',
        '--expires-in',
        '15m',
        '--issuer',
        'https://id.example.com',
        '--audience',
        'rtp',
        '--user-claim',
        'cognito:username',
        '--claim',
        'role=admin',
        '--claim',
        'level=3',
        '--claim',
        'groups=["a","b"]',
      ],
      { RTP_JWT_SECRET: SECRET },
    );
    expect(command).toEqual({
      help: false,
      userId: 'alice',
      userClaim: 'cognito:username',
      secret: SECRET,
      expiresInSeconds: 900,
      issuer: 'https://id.example.com',
      audience: 'rtp',
      claims: { role: 'admin', level: 3, groups: ['a', 'b'] },
    });
    expect(parseTokenArgs(['--user', 'u1', '--secret', `${SECRET}!`], { RTP_JWT_SECRET: SECRET })).toMatchObject({
      secret: `${SECRET}!`,
    });
  });

  test('mistakes are usage errors that say what to do', () => {
    const usage = (argv: string[]) => {
      try {
        parseTokenArgs(argv);
      } catch (error) {
        if (error instanceof UsageError) return error.message;
        throw error;
      }
      return 'accepted';
    };
    expect(usage([])).toMatch(/--user is required/);
    expect(usage(['u1'])).toMatch(/give the user as --user/);
    expect(usage(['--user', 'a b'])).toMatch(/--user: a user id must not contain spaces/);
    expect(usage(['--user', 'u1', '--secret', 'short'])).toMatch(/--secret must be at least 32 bytes/);
    expect(usage(['--user', 'u1', '--expires-in', 'soon'])).toMatch(/--expires-in must look like/);
    expect(usage(['--user', 'u1', '--claim', 'exp=1'])).toMatch(/set it with its own flag/);
    expect(usage(['--user', 'u1', '--claim', 'novalue'])).toMatch(/NAME=VALUE/);
    expect(parseTokenArgs(['--help'])).toEqual({ help: true });
  });

  test('durations: seconds by default, s/m/h/d, negative for expired tokens', () => {
    expect([duration('90'), duration('90s'), duration('2m'), duration('1h'), duration('7d'), duration('-1h')]).toEqual([
      90, 90, 120, 3600, 604_800, -3600,
    ]);
  });

  test('the signed token is HS256, expires when asked, and the authorizer accepts it', async () => {
    const command = parseTokenArgs(['--user', 'u1', '--audience', 'rtp', '--claim', 'role=admin']);
    if (command.help) throw new Error('unexpected help');
    const now = new Date();
    const token = await signToken(command, SECRET, now);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ sub: 'u1', aud: 'rtp', role: 'admin' });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(3600);
    const verifier = createJwtVerifier({ secret: SECRET, userIdClaim: 'sub', audience: 'rtp' });
    expect(await verifier.verify(token)).toMatchObject({ ok: true, userId: 'u1' });
    const expired = parseTokenArgs(['--user', 'u1', '--audience', 'rtp', '--expires-in=-1m']);
    if (expired.help) throw new Error('unexpected help');
    expect(await verifier.verify(await signToken(expired, SECRET))).toMatchObject({ ok: false, reason: 'expired' });
  });
});

describe('npm start -- --auth jwt: AuthMode, parameters and the development secret', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rtp-auth-'));
    file = join(dir, '.local', 'jwt-secret');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const resolve = (input: Partial<Parameters<typeof resolveLocalAuth>[0]>) =>
    resolveLocalAuth({ parameterOverrides: {}, env: {}, secretFile: file, ...input });

  test('AuthMode none by default: nothing injected, no file written', async () => {
    expect(await resolve({})).toEqual({ mode: 'none', parameterOverrides: {} });
    expect(() => statSync(file)).toThrow();
  });

  test('--auth jwt without a secret generates one, keeps it with mode 600, and reuses it on the next start', async () => {
    const first = await resolve({ auth: 'jwt' });
    expect(first.parameterOverrides).toEqual({ AuthMode: 'jwt' });
    expect(first.secret).toEqual({ origin: 'generated', file });
    const secret = first.functionEnvironment?.[JWT_AUTHORIZER_FUNCTION]?.JWT_SECRET ?? '';
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(file, 'utf8').trim()).toBe(secret);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = await resolve({ parameterOverrides: { AuthMode: 'jwt' } });
    expect(second.secret).toEqual({ origin: 'file', file });
    expect(second.functionEnvironment?.[JWT_AUTHORIZER_FUNCTION]?.JWT_SECRET).toBe(secret);
  });

  test('a given secret (flag before RTP_JWT_SECRET) is used and kept for npm run token; the flags set parameters', async () => {
    const auth = await resolve({
      auth: 'jwt',
      secret: SECRET,
      issuer: 'https://id.example.com',
      audience: 'rtp',
      userIdClaim: 'cognito:username',
      env: { RTP_JWT_SECRET: `${SECRET}-from-env` },
    });
    expect(auth.parameterOverrides).toEqual({
      AuthMode: 'jwt',
      JwtIssuer: 'https://id.example.com',
      JwtAudience: 'rtp',
      JwtUserIdClaim: 'cognito:username',
    });
    expect(auth.functionEnvironment).toEqual({ [JWT_AUTHORIZER_FUNCTION]: { JWT_SECRET: SECRET } });
    expect(readFileSync(file, 'utf8').trim()).toBe(SECRET);
    const fromEnv = await resolve({ auth: 'jwt', env: { RTP_JWT_SECRET: `${SECRET}-from-env` } });
    expect(fromEnv.secret?.origin).toBe('environment');
    expect(readFileSync(file, 'utf8').trim()).toBe(`${SECRET}-from-env`);
  });

  test('a JWKS URL alone means RS256/ES256 only: no secret is generated', async () => {
    const auth = await resolve({
      auth: 'jwt',
      jwksUrl: 'https://idp.example.com/jwks.json',
      issuer: 'https://idp.example.com/',
      audience: 'app',
    });
    expect(auth).toEqual({
      mode: 'jwt',
      parameterOverrides: {
        AuthMode: 'jwt',
        JwtJwksUrl: 'https://idp.example.com/jwks.json',
        JwtIssuer: 'https://idp.example.com/',
        JwtAudience: 'app',
      },
      jwksUrl: 'https://idp.example.com/jwks.json',
    });
    expect(() => statSync(file)).toThrow();
    // Without issuer and audience any application of the identity provider would get in.
    await expect(resolve({ auth: 'jwt', jwksUrl: 'https://idp.example.com/jwks.json' })).rejects.toThrow(
      /--jwt-jwks-url needs --jwt-issuer and --jwt-audience/,
    );
  });

  test('contradictions and unusable values are refused with a clear message', async () => {
    const refusal = (input: Partial<Parameters<typeof resolveLocalAuth>[0]>) =>
      resolve(input).then(
        () => 'accepted',
        (error: unknown) => (error instanceof AuthOptionError ? error.message : `unexpected ${String(error)}`),
      );
    expect(await refusal({ auth: 'jwt', parameterOverrides: { AuthMode: 'none' } })).toMatch(/contradicts/);
    expect(await refusal({ auth: 'oauth' })).toMatch(/--auth must be "none" or "jwt"/);
    expect(await refusal({ secret: SECRET })).toMatch(/--jwt-secret needs --auth jwt/);
    expect(await refusal({ auth: 'jwt', secret: 'short' })).toMatch(/--jwt-secret must be at least 32 bytes/);
    expect(
      await refusal({ auth: 'jwt', parameterOverrides: { JwtSecretArn: 'arn:aws:secretsmanager:x' }, secret: SECRET }),
    ).toMatch(/local runs cannot read/);
  });
});

describe('the banner never prints the JWT secret', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rtp-banner-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test.each([
    ['flag', { auth: 'jwt', secret: SECRET }],
    ['environment', { auth: 'jwt', env: { RTP_JWT_SECRET: SECRET } }],
    ['generated', { auth: 'jwt' }],
  ] as const)('secret from %s: origin and file named, value absent', async (origin, input) => {
    const file = join(dir, 'jwt-secret');
    const auth = await resolveLocalAuth({ parameterOverrides: {}, env: {}, secretFile: file, ...input });
    const secret = auth.functionEnvironment?.[JWT_AUTHORIZER_FUNCTION]?.JWT_SECRET ?? '';
    const text = authLines(auth).join('\n');

    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect(text).not.toContain(secret);
    expect(text).toContain(file);
    // Passing it as a flag already put it on screen (npm echoes arguments): the banner points to the variable.
    if (origin === 'flag') expect(text).toMatch(/use RTP_JWT_SECRET instead/);
    else expect(text).not.toMatch(/use RTP_JWT_SECRET instead/);
  });
});
