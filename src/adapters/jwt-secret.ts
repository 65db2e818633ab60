import { getSecret } from '@aws-lambda-powertools/parameters/secrets';

/** How long a fetched secret is reused before Secrets Manager is asked again (rotation shows within this time). */
export const SECRET_MAX_AGE_SECONDS = 300;

type Fetch = (arn: string, maxAgeSeconds: number) => Promise<unknown>;

const powertoolsFetch: Fetch = (arn, maxAge) => getSecret(arn, { maxAge });

/**
 * The HS256 secret from Secrets Manager, as a SecretSource for createJwtVerifier. Powertools caches the value for
 * SECRET_MAX_AGE_SECONDS, so a warm function calls Secrets Manager once every five minutes, not once a request.
 * The secret is either the plain string, or a JSON object with a "secret" field (what the console's key/value
 * editor makes); a binary secret is used as raw bytes.
 */
export function secretsManagerSecret(
  arn: string,
  fetch: Fetch = powertoolsFetch,
  maxAgeSeconds = SECRET_MAX_AGE_SECONDS,
): () => Promise<string | Uint8Array> {
  return async () => {
    const value = await fetch(arn, maxAgeSeconds);
    if (value instanceof Uint8Array) return value;
    if (typeof value !== 'string' || value === '') throw new Error(`secret ${arn} is empty`);
    if (!value.trimStart().startsWith('{')) return value;
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      // Not JSON after all: a plain secret that happens to start with "{".
      return value;
    }
    const field = (parsed as { secret?: unknown } | null)?.secret;
    if (typeof field !== 'string' || field === '') {
      throw new Error(`secret ${arn} is a JSON object without a "secret" string field`);
    }
    return field;
  };
}
