import type { z } from 'zod';

/**
 * Opaque page tokens, one format for every paginated route: base64url of a small JSON value that names what the
 * token continues (the key, the query, the conversation, the user …) and where. A route decodes with the schema of
 * its own tokens and checks that the token was made for this request, so a token of another query, another user or
 * a hand edit is refused instead of starting a page somewhere unexpected.
 */

/** A page token could not be decoded, or was made for another key, query, conversation or user. */
export class InvalidPageTokenError extends Error {
  override name = 'InvalidPageTokenError';
}

/** Longest token accepted: two 1 KB keys, JSON-quoted and escaped, fit well within it. */
const MAX_TOKEN_LENGTH = 16_384;

/** The token of a JSON value. */
export function encodePageToken(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** The value of a token `encodePageToken` made, checked against `schema`; throws InvalidPageTokenError otherwise. */
export function decodePageToken<S extends z.ZodType>(schema: S, token: string): z.output<S> {
  if (token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) {
    throw new InvalidPageTokenError('not base64url');
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidPageTokenError('not JSON');
  }
  // Base64 decoding ignores stray trailing bits, so "token" + "x" can decode alike: only our exact encoding passes.
  if (encodePageToken(value) !== token) throw new InvalidPageTokenError('not a token this platform made');
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new InvalidPageTokenError('unexpected content');
  return parsed.data;
}
