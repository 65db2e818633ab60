/**
 * Friendships, for PresenceVisibility=friends. One item per side in RealTimeData: `friends:<userId>` /
 * `<otherUserId>`, whose `status` says where the pair stands from that user's side:
 * - `requested`: I asked, they have not answered;
 * - `pending`: they asked me;
 * - `accepted`: both agreed (both rows say so).
 * The two rows change together (transactions), so each side always reads a consistent state. Being items, they also
 * fan out: a client subscribed to its own `friends:<me>` sees requests arrive live.
 */

export type FriendStatus = 'requested' | 'pending' | 'accepted';

const STATUSES: readonly string[] = ['requested', 'pending', 'accepted'] satisfies FriendStatus[];

/** One side of a friendship, as GET /friends lists it. */
export interface Friendship {
  /** The other user. */
  userId: string;
  status: FriendStatus;
  /** When the row reached its status, epoch ms. */
  since: number;
}

/** What `PUT /friends/{them}` does, given my row's status (undefined: no relation yet). */
export type FriendRequestPlan =
  /** No relation: I ask (my row requested, theirs pending). */
  | { kind: 'request' }
  /** They asked me: both rows become accepted. */
  | { kind: 'accept' }
  /** Already asked, or already friends: nothing changes (PUT is idempotent). */
  | { kind: 'unchanged'; status: 'requested' | 'accepted' };

/** The state machine of a friend request. */
export function planFriendRequest(mine: FriendStatus | undefined): FriendRequestPlan {
  if (mine === undefined) return { kind: 'request' };
  if (mine === 'pending') return { kind: 'accept' };
  return { kind: 'unchanged', status: mine };
}

/** Reads a stored row defensively; undefined when it is not a friendship row. */
export function friendshipFromItem(
  otherUserId: string,
  item: Record<string, unknown> | undefined,
): Friendship | undefined {
  if (item === undefined) return undefined;
  const { status, since } = item;
  if (typeof status !== 'string' || !STATUSES.includes(status)) return undefined;
  return {
    userId: otherUserId,
    status: status as FriendStatus,
    since: typeof since === 'number' && Number.isFinite(since) ? since : 0,
  };
}
