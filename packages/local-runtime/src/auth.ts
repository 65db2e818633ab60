import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * AuthMode=jwt for local runs: which template parameters `--auth jwt` and the --jwt-* flags set, and the HS256
 * secret the JWT authorizer gets. On AWS the secret lives in Secrets Manager (JwtSecretArn); locally it is passed to
 * the authorizer as JWT_SECRET and kept in .local/jwt-secret (mode 600, git-ignored), where `npm run token` finds it.
 */

/** Where the development secret is kept, relative to the project (the working directory of npm scripts). */
export const DEV_SECRET_FILE = '.local/jwt-secret';
/** HS256 needs a key of at least 256 bits (RFC 7518 §3.2); the authorizer refuses shorter secrets too. */
const MIN_SECRET_BYTES = 32;
/** The template's authorizer function, which receives JWT_SECRET. */
export const JWT_AUTHORIZER_FUNCTION = 'JwtAuthorizerFunction';

/** A command-line choice that cannot work; the CLI prints it without a stack. */
export class AuthOptionError extends Error {
  override name = 'AuthOptionError';
}

export interface LocalAuthInput {
  /** --auth */
  auth?: string;
  /** --jwt-secret */
  secret?: string;
  /** --jwt-issuer, --jwt-audience, --jwt-jwks-url, --jwt-user-claim */
  issuer?: string;
  audience?: string;
  jwksUrl?: string;
  userIdClaim?: string;
  /** --parameter-overrides, already parsed. */
  parameterOverrides: Record<string, string>;
  /** RTP_AUTH, RTP_JWT_SECRET. */
  env: Record<string, string | undefined>;
  /** Default DEV_SECRET_FILE. */
  secretFile?: string;
}

/** Where the secret in use came from (the banner says it). */
export type SecretOrigin = 'flag' | 'environment' | 'file' | 'generated';

export interface LocalAuth {
  mode: 'none' | 'jwt';
  /** The caller's overrides plus AuthMode and the Jwt* parameters the flags set. */
  parameterOverrides: Record<string, string>;
  /** JWT_SECRET for the authorizer, when HS256 tokens are accepted. */
  functionEnvironment?: Record<string, Record<string, string>>;
  secret?: { origin: SecretOrigin; file: string };
  /** RS256/ES256 tokens are checked against this JWKS. */
  jwksUrl?: string;
}

/**
 * Works out AuthMode and the authorizer's secret: --jwt-secret, else RTP_JWT_SECRET, else the secret kept in
 * .local/jwt-secret, else (when no JWKS URL is given either) a new random one. The secret in use is written to
 * .local/jwt-secret so that `npm run token` signs with it.
 */
export async function resolveLocalAuth(input: LocalAuthInput): Promise<LocalAuth> {
  const overrides = { ...input.parameterOverrides };
  const fromFlag = input.auth?.trim().toLowerCase();
  const fromOverride = overrides.AuthMode?.trim().toLowerCase();
  if (fromFlag !== undefined && fromOverride !== undefined && fromFlag !== fromOverride) {
    throw new AuthOptionError(`--auth ${fromFlag} contradicts --parameter-overrides AuthMode=${overrides.AuthMode}`);
  }
  const mode = fromFlag ?? fromOverride ?? input.env.RTP_AUTH?.trim().toLowerCase() ?? 'none';
  if (mode !== 'none' && mode !== 'jwt') throw new AuthOptionError(`--auth must be "none" or "jwt", got "${mode}"`);

  if (mode === 'none') {
    const given = Object.entries({
      '--jwt-secret': input.secret,
      '--jwt-issuer': input.issuer,
      '--jwt-audience': input.audience,
      '--jwt-jwks-url': input.jwksUrl,
      '--jwt-user-claim': input.userIdClaim,
    })
      .filter(([, value]) => value !== undefined)
      .map(([flag]) => flag);
    if (given.length > 0) {
      throw new AuthOptionError(`${given.join(', ')} ${given.length === 1 ? 'needs' : 'need'} --auth jwt`);
    }
    return { mode, parameterOverrides: overrides };
  }

  overrides.AuthMode = 'jwt';
  if (input.issuer !== undefined) overrides.JwtIssuer = input.issuer;
  if (input.audience !== undefined) overrides.JwtAudience = input.audience;
  if (input.jwksUrl !== undefined) overrides.JwtJwksUrl = input.jwksUrl;
  if (input.userIdClaim !== undefined) overrides.JwtUserIdClaim = input.userIdClaim;
  const jwksUrl = overrides.JwtJwksUrl?.trim() || undefined;
  if (jwksUrl !== undefined && (!overrides.JwtIssuer?.trim() || !overrides.JwtAudience?.trim())) {
    throw new AuthOptionError(
      '--jwt-jwks-url needs --jwt-issuer and --jwt-audience: a JWKS signs tokens for many applications, so both are checked',
    );
  }
  if (overrides.JwtSecretArn?.trim()) {
    // Secrets Manager is not emulated: the authorizer would fail at start with both a secret and an ARN.
    throw new AuthOptionError(
      'JwtSecretArn names a Secrets Manager secret, which local runs cannot read; pass the secret itself in RTP_JWT_SECRET',
    );
  }
  const file = input.secretFile ?? DEV_SECRET_FILE;

  let secret: string | undefined;
  let origin: SecretOrigin | undefined;
  if (input.secret !== undefined) {
    secret = checkedSecret(input.secret, '--jwt-secret');
    origin = 'flag';
  } else if (input.env.RTP_JWT_SECRET) {
    secret = checkedSecret(input.env.RTP_JWT_SECRET, 'RTP_JWT_SECRET');
    origin = 'environment';
  } else if (jwksUrl === undefined) {
    // Reusing the kept secret keeps the tokens minted before a restart valid.
    const kept = await readDevSecret(file);
    if (kept !== undefined && Buffer.byteLength(kept, 'utf8') >= MIN_SECRET_BYTES) {
      secret = kept;
      origin = 'file';
    } else {
      secret = generateDevSecret();
      origin = 'generated';
    }
  }
  if (secret === undefined || origin === undefined) return { mode, parameterOverrides: overrides, jwksUrl };
  if (origin !== 'file') await writeDevSecret(file, secret);
  return {
    mode,
    parameterOverrides: overrides,
    functionEnvironment: { [JWT_AUTHORIZER_FUNCTION]: { JWT_SECRET: secret } },
    secret: { origin, file },
    ...(jwksUrl === undefined ? {} : { jwksUrl }),
  };
}

/** 32 random bytes, base64url: a valid HS256 key. */
export function generateDevSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** The kept development secret, or undefined when there is none. */
export async function readDevSecret(file: string = DEV_SECRET_FILE): Promise<string | undefined> {
  try {
    const text = (await readFile(file, 'utf8')).trim();
    return text === '' ? undefined : text;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Keeps the secret for `npm run token`, readable by this user only. */
export async function writeDevSecret(file: string, secret: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  // writeFile's mode only applies when it creates the file.
  await chmod(file, 0o600);
}

function checkedSecret(secret: string, what: string): string {
  if (Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES) {
    throw new AuthOptionError(
      `${what} must be at least ${MIN_SECRET_BYTES} bytes (HS256 needs a 256-bit key), e.g. $(openssl rand -hex 32)`,
    );
  }
  return secret;
}
