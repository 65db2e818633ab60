import { z } from 'zod';
import { ConfigError } from '../lib/errors';

/**
 * The JWT authorizer's environment (AuthMode=jwt), parsed once at cold start. Separate from env.ts because its rule
 * spans variables: at least one key source (a secret, a secret's ARN or a JWKS URL) must be set, which a per-name
 * pick cannot express.
 */

/** Shortest HS256 secret we accept: RFC 7518 §3.2 wants a key at least as long as the hash (256 bits). */
export const MIN_SECRET_BYTES = 32;

/** Hosts where a plain-http JWKS URL is acceptable (a local identity provider or a test server). */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

const optional = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

/** "a, b" → ["a", "b"]; empty → undefined (not checked). */
const list = optional.transform((value) => {
  const parts = (value ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  return parts.length === 0 ? undefined : parts;
});

const schema = z
  .object({
    // Local runs only (the CLI injects it); on AWS the secret lives in Secrets Manager (JWT_SECRET_ARN).
    JWT_SECRET: z
      .string()
      .optional()
      .transform((value) => (value === '' ? undefined : value))
      .refine((value) => value === undefined || Buffer.byteLength(value, 'utf8') >= MIN_SECRET_BYTES, {
        error: `must be at least ${MIN_SECRET_BYTES} bytes (HS256 needs a 256-bit key)`,
      }),
    JWT_SECRET_ARN: optional.refine((value) => value === undefined || /^arn:aws[a-z-]*:secretsmanager:/.test(value), {
      error: 'must be a Secrets Manager secret ARN (arn:aws:secretsmanager:…)',
    }),
    JWT_JWKS_URL: optional.refine((value) => value === undefined || isAcceptableJwksUrl(value), {
      error: 'must be an https URL (http only for localhost), e.g. https://{issuer}/.well-known/jwks.json',
    }),
    JWT_ISSUER: list,
    JWT_AUDIENCE: list,
    JWT_USER_ID_CLAIM: optional.transform((value) => value ?? 'sub'),
  })
  .superRefine((value, ctx) => {
    if (value.JWT_SECRET === undefined && value.JWT_SECRET_ARN === undefined && value.JWT_JWKS_URL === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['JWT_SECRET_ARN'],
        message:
          'or JWT_JWKS_URL (or JWT_SECRET for local runs) is required: the authorizer has no key to check tokens',
      });
    }
    // One identity provider's JWKS signs tokens for many applications (other app clients, other APIs of the tenant):
    // without both checks any of them would get in.
    if (value.JWT_JWKS_URL !== undefined && value.JWT_ISSUER === undefined) {
      ctx.addIssue({ code: 'custom', path: ['JWT_ISSUER'], message: 'is required with JWT_JWKS_URL' });
    }
    if (value.JWT_JWKS_URL !== undefined && value.JWT_AUDIENCE === undefined) {
      ctx.addIssue({ code: 'custom', path: ['JWT_AUDIENCE'], message: 'is required with JWT_JWKS_URL' });
    }
    if (value.JWT_SECRET !== undefined && value.JWT_SECRET_ARN !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['JWT_SECRET'],
        message: 'and JWT_SECRET_ARN are both set; set one of them',
      });
    }
  });

/** What the authorizer checks tokens with. */
export interface JwtConfig {
  /** HS256 secret given directly (local runs). */
  secret?: string;
  /** Secrets Manager secret holding the HS256 secret (AWS). */
  secretArn?: string;
  /** JWKS for RS256/ES256 tokens (Cognito, Auth0 …). */
  jwksUrl?: string;
  /** Accepted `iss` values; undefined = not checked. */
  issuer?: string[];
  /** Accepted `aud` values (any one matches); undefined = not checked. */
  audience?: string[];
  /** The claim that names the user: `sub`, or `cognito:username` for Cognito. */
  userIdClaim: string;
}

/** Reads JWT_* variables; throws a ConfigError naming every missing or invalid one. */
export function loadJwtConfig(env: Record<string, string | undefined> = process.env): JwtConfig {
  const result = schema.safeParse({
    JWT_SECRET: env.JWT_SECRET,
    JWT_SECRET_ARN: env.JWT_SECRET_ARN,
    JWT_JWKS_URL: env.JWT_JWKS_URL,
    JWT_ISSUER: env.JWT_ISSUER,
    JWT_AUDIENCE: env.JWT_AUDIENCE,
    JWT_USER_ID_CLAIM: env.JWT_USER_ID_CLAIM,
  });
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${String(issue.path[0] ?? '?')} ${issue.message}`);
    throw new ConfigError(`Invalid environment: ${problems.join('; ')}`);
  }
  const data = result.data;
  return {
    ...(data.JWT_SECRET === undefined ? {} : { secret: data.JWT_SECRET }),
    ...(data.JWT_SECRET_ARN === undefined ? {} : { secretArn: data.JWT_SECRET_ARN }),
    ...(data.JWT_JWKS_URL === undefined ? {} : { jwksUrl: data.JWT_JWKS_URL }),
    ...(data.JWT_ISSUER === undefined ? {} : { issuer: data.JWT_ISSUER }),
    ...(data.JWT_AUDIENCE === undefined ? {} : { audience: data.JWT_AUDIENCE }),
    userIdClaim: data.JWT_USER_ID_CLAIM,
  };
}

function isAcceptableJwksUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  // Keys fetched over plain http could be swapped on the way, and then any token would verify.
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
}
