/**
 * Who is calling. With AuthMode=jwt the authorizer names a user for every connection and user-route request; with
 * AuthMode=none nobody is named (`undefined`), so anything that acts for a user (presence, friends, calendars, chat)
 * answers UNAUTHORIZED.
 */
export interface Caller {
  userId: string;
}
