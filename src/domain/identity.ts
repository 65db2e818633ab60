/**
 * Who is calling. With AuthMode=jwt the authorizer names a user for every connection and user-route request; with
 * AuthMode=none nobody is named (`undefined`), so anything that acts for a user (presence, friends, calendars, chat)
 * answers UNAUTHORIZED.
 */
export interface Caller {
  userId: string;
}

/** Longest user id we accept (from a token claim or a path), in UTF-8 bytes. */
export const MAX_USER_ID_BYTES = 128;

/** What is wrong with a user id, in client words; undefined when it is fine. */
export function userIdProblem(userId: string): string | undefined {
  if (userId.length === 0) return 'a user id must not be empty';
  // TextEncoder rather than Buffer: this module is shared with browser clients (the chat and calendar schemas).
  if (new TextEncoder().encode(userId).byteLength > MAX_USER_ID_BYTES) {
    return `a user id must be at most ${MAX_USER_ID_BYTES} bytes`;
  }
  // Ids end up inside keys ("presence:<userId>") and comma-separated query lists (?userIds=a,b).
  if (/[\s,:#$]|\p{C}/u.test(userId))
    return 'a user id must not contain spaces, commas, ":", "#", "$" or control characters';
  return undefined;
}
