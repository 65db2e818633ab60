import { userIdProblem } from '@real-time-platform/protocol';
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { MIN_SECRET_BYTES } from '../config/jwt';

/**
 * Checks a JWT and names its user, with `jose`. The algorithm is pinned to the key source: HS256 only ever with the
 * shared secret, RS256/PS256/ES256/ES384 only with keys from the JWKS, and never `alg: none`, so a token cannot pick
 * how it is verified (the classic "HS256 signed with the RSA public key" confusion). A bad token never throws: it
 * comes back as a verdict with a reason category the authorizer maps to 401 / 403; only our own failures (keys
 * unreachable) are reported as `key-unavailable` for a 500.
 */

/** Why a token was refused. */
export type TokenRefusal =
  /** No token at all (or an empty one). */
  | 'missing'
  /** Not a compact JWS, unreadable header or claims, required claim (exp) absent. */
  | 'malformed'
  /** Signature does not verify, unknown key id, or an algorithm we do not accept (none, HS256 without a secret …). */
  | 'bad-signature'
  /** `exp` is in the past (beyond the clock tolerance). */
  | 'expired'
  /** `nbf` is in the future (beyond the clock tolerance). */
  | 'not-yet-valid'
  /** Genuine token, but issued by someone else. */
  | 'wrong-issuer'
  /** Genuine token, but meant for another application. */
  | 'wrong-audience'
  /** Genuine token without a usable user id in the configured claim. */
  | 'no-user-claim'
  /** We could not get the keys (JWKS down, Secrets Manager failing): our problem, not the caller's. */
  | 'key-unavailable';

/** The outcome of checking one token. */
export type TokenVerdict =
  | { ok: true; userId: string; claims: JWTPayload }
  | {
      ok: false;
      reason: TokenRefusal;
      /** A short text for logs (never the token or the secret). */
      detail: string;
      /** The token's `kid` and `iss` as it claims them (unverified), for logs. */
      kid?: string;
      issuer?: string;
    };

/** Where the HS256 secret comes from: the value, or a function (Secrets Manager, cached by its provider). */
export type SecretSource = string | Uint8Array | (() => Promise<string | Uint8Array>);

export interface JwtVerifierOptions {
  /** HS256 shared secret. */
  secret?: SecretSource;
  /** JWKS URL for RS256 / PS256 / ES256 / ES384 tokens (Cognito, Auth0 …). */
  jwksUrl?: string;
  /** Accepted `iss` values; undefined = not checked. */
  issuer?: string | string[];
  /** Accepted `aud` values (any one of them); undefined = not checked. */
  audience?: string | string[];
  /** The claim holding the user id, e.g. `sub` or `cognito:username`. */
  userIdClaim: string;
  /** Allowed clock skew for exp / nbf, seconds (default 5). */
  clockToleranceSeconds?: number;
  /** How long one JWKS fetch may take, ms (default 3000: well inside the authorizer's 10 s timeout). */
  jwksTimeoutMs?: number;
  /** The clock, for tests. */
  now?: () => Date;
}

export interface JwtVerifier {
  /** Checks a token; resolves with a verdict and never rejects for anything the token does. */
  verify(token: string | undefined): Promise<TokenVerdict>;
  /** Fetches the keys ahead of the first request (cold start); never rejects: failures show on the first verify. */
  warmUp(): Promise<void>;
}

/** Asymmetric algorithms accepted from a JWKS: what Cognito (RS256), Auth0 (RS256) and common IdPs sign with. */
export const JWKS_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384'] as const;
/** Tokens longer than this are refused unread (API Gateway itself caps headers at 10 KB). */
export const MAX_TOKEN_LENGTH = 8192;

/** A key source failed; wraps the cause so that the verdict says key-unavailable rather than bad-signature. */
class KeyUnavailableError extends Error {
  override name = 'KeyUnavailableError';
}

/** Builds a verifier; throws at once for a configuration that could never verify anything. */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const { secret, jwksUrl, userIdClaim } = options;
  if (secret === undefined && jwksUrl === undefined) {
    throw new Error('createJwtVerifier: give a secret (HS256) or a jwksUrl (RS256/ES256), or both');
  }
  if (userIdClaim.trim() === '') throw new Error('createJwtVerifier: userIdClaim must not be empty');
  const secretKey = secret === undefined ? undefined : secretResolver(secret);
  // Module scope in the handler keeps this (and jose's key cache inside it) across warm invocations.
  const jwks =
    jwksUrl === undefined
      ? undefined
      : createRemoteJWKSet(new URL(jwksUrl), {
          timeoutDuration: options.jwksTimeoutMs ?? 3000,
          // An unknown kid refetches at most every 30 s, so forged kids cannot hammer the IdP.
          cooldownDuration: 30_000,
          cacheMaxAge: 10 * 60_000,
        });
  const algorithms = [...(secretKey ? ['HS256'] : []), ...(jwks ? JWKS_ALGORITHMS : [])];

  const getKey: JWTVerifyGetKey = async (header, token) => {
    // jose has already refused any alg outside `algorithms`, so HS256 here means a secret is configured.
    if (header.alg === 'HS256' && secretKey) {
      try {
        return await secretKey();
      } catch (error) {
        throw new KeyUnavailableError(`the HS256 secret is unavailable: ${describe(error)}`, { cause: error });
      }
    }
    if (!jwks) throw new errors.JOSEAlgNotAllowed('no key source for this algorithm');
    try {
      return await jwks(header, token);
    } catch (error) {
      // No key with this kid is the token's problem; anything else (network, timeout, a non-JWKS answer) is ours.
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      throw new KeyUnavailableError(`the JWKS at ${jwksUrl} is unavailable: ${describe(error)}`, { cause: error });
    }
  };

  const verify = async (token: string | undefined): Promise<TokenVerdict> => {
    if (token === undefined || token.trim() === '') return { ok: false, reason: 'missing', detail: 'no token' };
    if (token.length > MAX_TOKEN_LENGTH) {
      return { ok: false, reason: 'malformed', detail: `token longer than ${MAX_TOKEN_LENGTH} characters` };
    }
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, getKey, {
        algorithms,
        ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
        ...(options.audience === undefined ? {} : { audience: options.audience }),
        clockTolerance: options.clockToleranceSeconds ?? 5,
        // A token without exp would be valid forever; every IdP sets it and so does `npm run token`.
        requiredClaims: ['exp'],
        ...(options.now ? { currentDate: options.now() } : {}),
      }));
    } catch (error) {
      return { ok: false, ...classify(error), ...unverifiedLabels(token) };
    }
    const userId = claims[userIdClaim];
    if (typeof userId !== 'string') {
      return {
        ok: false,
        reason: 'no-user-claim',
        detail: `the token has no string "${userIdClaim}" claim`,
        ...unverifiedLabels(token),
      };
    }
    const problem = userIdProblem(userId);
    if (problem !== undefined) {
      return {
        ok: false,
        reason: 'no-user-claim',
        detail: `the "${userIdClaim}" claim is not a usable user id: ${problem}`,
        ...unverifiedLabels(token),
      };
    }
    return { ok: true, userId, claims };
  };

  const warmUp = async (): Promise<void> => {
    await Promise.allSettled([secretKey?.(), jwks?.reload()]);
  };

  return { verify, warmUp };
}

/** The secret as bytes, checked for length each time it is (re)fetched: rotation may bring a bad value. */
function secretResolver(source: SecretSource): () => Promise<Uint8Array> {
  const toKey = (value: string | Uint8Array): Uint8Array => {
    const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
    if (bytes.byteLength < MIN_SECRET_BYTES) {
      throw new Error(`the HS256 secret must be at least ${MIN_SECRET_BYTES} bytes, got ${bytes.byteLength}`);
    }
    return bytes;
  };
  if (typeof source !== 'function') {
    // A static secret that is too short is a configuration error: fail when the verifier is built.
    const key = toKey(source);
    return async () => key;
  }
  return async () => toKey(await source());
}

function classify(error: unknown): { reason: TokenRefusal; detail: string } {
  if (error instanceof KeyUnavailableError) return { reason: 'key-unavailable', detail: error.message };
  if (error instanceof errors.JWTExpired) return { reason: 'expired', detail: error.message };
  if (error instanceof errors.JWTClaimValidationFailed) {
    const reason: TokenRefusal =
      error.claim === 'iss'
        ? 'wrong-issuer'
        : error.claim === 'aud'
          ? 'wrong-audience'
          : error.claim === 'nbf'
            ? 'not-yet-valid'
            : 'malformed';
    return { reason, detail: error.message };
  }
  if (
    error instanceof errors.JWSSignatureVerificationFailed ||
    error instanceof errors.JOSEAlgNotAllowed ||
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys
  ) {
    return { reason: 'bad-signature', detail: error.message };
  }
  if (error instanceof errors.JOSEError) return { reason: 'malformed', detail: `${error.code}: ${error.message}` };
  // jose reports every token defect as a JOSEError; a TypeError here comes from a key that does not fit its
  // algorithm (e.g. a short RSA key in the JWKS). Still the token is refused, and the detail says why.
  return { reason: 'malformed', detail: describe(error) };
}

/** kid and iss as the token claims them, for log lines; undefined when unreadable. Never the token itself. */
function unverifiedLabels(token: string): { kid?: string; issuer?: string } {
  const clip = (value: unknown) => (typeof value === 'string' ? value.slice(0, 200) : undefined);
  let kid: string | undefined;
  let issuer: string | undefined;
  try {
    kid = clip(decodeProtectedHeader(token).kid);
  } catch {
    // unreadable header: nothing to label
  }
  try {
    issuer = clip(decodeJwt(token).iss);
  } catch {
    // unreadable claims: nothing to label
  }
  return { ...(kid === undefined ? {} : { kid }), ...(issuer === undefined ? {} : { issuer }) };
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${typeof code === 'string' ? `${code}: ` : ''}${error.message}${cause}`;
}
