/** Text helpers that behave the same in browsers and Node (no Buffer). */

const utf8 = new TextEncoder();

/** The length of `text` in UTF-8 bytes, as API Gateway and DynamoDB count it. */
export function utf8ByteLength(text: string): number {
  return utf8.encode(text).byteLength;
}

/**
 * A lone surrogate (possible from JSON "\ud800") is not valid UTF-8: DynamoDB refuses such strings. In a `u` regex a
 * lone surrogate is a code point of category Cs, while a valid pair is one astral code point.
 */
export const LONE_SURROGATE = /\p{Cs}/u;

/** A value quoted for an error message, shortened so a 1 MB key does not become a 1 MB reply. */
export function preview(value: string, max = 40): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}
