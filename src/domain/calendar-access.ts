import { CALENDAR_PREFIX, calendarKey, userIdProblem } from '@real-time-platform/protocol';
import { calendarSharesKey } from './calendar';
import type { Caller } from './identity';
import { ALLOWED, forbidden, type KeyAccessDecision, type KeyAccessRule, signInRequired } from './key-access';

/**
 * Who may read a calendar (`calendar:<ownerId>`: subscribe to it, list and get its events): its owner, and the users
 * the owner shared it with (PUT /calendars/{ownerId}/shares/{userId}). Only the owner writes; the API checks that.
 */

/** Whether a calendar is shared with a user; the share store implements it (one consistent GetItem). */
export interface CalendarShareLookup {
  isSharedWith(ownerId: string, viewerId: string): Promise<boolean>;
}

/** May `caller` read the calendar of `ownerId`? */
export async function canReadCalendar(
  shares: CalendarShareLookup,
  caller: Caller | undefined,
  ownerId: string,
): Promise<KeyAccessDecision> {
  const key = calendarKey(ownerId);
  if (caller === undefined) return signInRequired(key);
  if (caller.userId === ownerId) return ALLOWED;
  // A subject that is no valid user id has no owner who could have shared it; no lookup needed.
  if (userIdProblem(ownerId) === undefined && (await shares.isSharedWith(ownerId, caller.userId))) {
    // The share row is what grants it: a subscription checks it still exists when written (see AccessRequirement).
    return { allowed: true, requires: { key: calendarSharesKey(ownerId), itemId: caller.userId, condition: 'exists' } };
  }
  return forbidden(key, 'the calendar is not shared with you');
}

/** The key access rule of `calendar:` keys, for $connect, `subscribe` and snapshots. */
export function calendarAccessRule(shares: CalendarShareLookup): KeyAccessRule {
  return {
    prefix: CALENDAR_PREFIX,
    canRead: (caller, ownerId) => canReadCalendar(shares, caller, ownerId),
  };
}
