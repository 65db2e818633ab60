import { offlinePresence, type Presence, presenceKey, userIdProblem } from '@real-time-platform/protocol';
import { z } from 'zod';
import type { FriendStore } from '../../adapters/friend-store';
import type { PresenceStore } from '../../adapters/presence-store';
import { planFriendRequest } from '../../domain/friends';
import type { KeyAccessPolicy } from '../../domain/key-access';
import { StorageError } from '../../lib/errors';
import type { Log } from '../../lib/logging';
import {
  createHttpRouter,
  HttpError,
  type HttpEvent,
  json,
  noContent,
  pathParameter,
  type Route,
  requireCaller,
  validate,
} from './http';
import { endSubscriptionsOf, type RevocationConnections } from './revoke-subscriptions';

/**
 * PresenceApiFunction (payload format 2.0; every route needs a signed-in caller, else 401):
 * - `GET /presence/{userId}` → 200 the user's presence (`{"userId","status":"offline","connections":0}` when never
 *   seen); 403 FORBIDDEN when PresenceVisibility=friends and the caller is not an accepted friend (self always ok).
 * - `GET /presence?userIds=a,b,c` → 200 `{"presence":[…]}` in the asked order (at most 100 ids, duplicates
 *   collapsed); in friends mode users the caller may not see are left out and listed in `"hidden":[…]`.
 * - `GET /friends` → 200 `{"friends":[{"userId","status","since"}]}` (status requested | pending | accepted).
 * - `PUT /friends/{userId}` → 202 `{"userId","status":"requested"}` (a new request), 200 `{"status":"accepted"}`
 *   (accepting their request), 200 with the unchanged status when already requested or accepted; 400 for oneself,
 *   404 NOT_FOUND for a user who has never connected.
 * - `DELETE /friends/{userId}` → 204 (withdraw, decline or unfriend; both sides go); 404 when there is no relation.
 *   In friends mode each side's connections also stop watching the other's presence.
 * - `GET /users/me/activity` (and `/users/{userId}/activity`, 403 for anyone but the caller) → the caller's activity
 *   history, newest first (logic/activity.ts).
 */

export interface PresenceApiDeps {
  presence: Pick<PresenceStore, 'get' | 'getMany'>;
  friends: FriendStore;
  /** To end ex-friends' live subscriptions to each other's presence (friends mode). */
  connections: RevocationConnections;
  keyAccess: KeyAccessPolicy;
  visibility: 'all' | 'friends';
  /** GET /users/me/activity (logic/activity.ts). */
  activity: Route;
  logger: Log;
}

/** Most user ids in one GET /presence. */
export const MAX_PRESENCE_IDS = 100;
/** Decisions retried when the other side changes the pair at the same moment. */
const FRIEND_ATTEMPTS = 4;

const userIdSchema = z.string().superRefine((id, ctx) => {
  const problem = userIdProblem(id);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

const batchQuerySchema = z.object({
  userIds: z
    .string({ error: 'userIds is required, e.g. ?userIds=u1,u2' })
    .transform((list) => list.split(','))
    .pipe(
      z
        .array(userIdSchema)
        .min(1, { error: 'userIds must name at least one user' })
        .transform((ids) => [...new Set(ids)])
        .refine((ids) => ids.length <= MAX_PRESENCE_IDS, { error: `at most ${MAX_PRESENCE_IDS} userIds per request` }),
    ),
});

/** The PresenceApiFunction handler (see the module comment for routes and answers). */
export function createPresenceApiHandler(deps: PresenceApiDeps): Route {
  const targetUser = (event: HttpEvent) => validate(userIdSchema, pathParameter(event, 'userId'), 'userId');

  // The same per-key rule as subscriptions: REST cannot show what a socket may not watch.
  const readable = (callerId: string, userId: string) => deps.keyAccess({ userId: callerId }, presenceKey(userId));

  return createHttpRouter(
    'Presence API',
    {
      'GET /presence/{userId}': async (event) => {
        const caller = requireCaller(event);
        const userId = targetUser(event);
        const decision = await readable(caller.userId, userId);
        if (!decision.allowed) throw new HttpError(403, decision.code, decision.message);
        return json(200, (await deps.presence.get(userId)) ?? offlinePresence(userId));
      },

      'GET /presence': async (event) => {
        const caller = requireCaller(event);
        const { userIds } = validate(batchQuerySchema, event.queryStringParameters ?? {}, 'query');
        const decisions = await Promise.all(userIds.map((id) => readable(caller.userId, id)));
        const visible = userIds.filter((_, index) => decisions[index]?.allowed === true);
        const hidden = userIds.filter((_, index) => decisions[index]?.allowed !== true);
        const found = await deps.presence.getMany(visible);
        const presence: Presence[] = visible.map((id) => found.get(id) ?? offlinePresence(id));
        return json(200, { presence, ...(hidden.length > 0 ? { hidden } : {}) });
      },

      'GET /friends': async (event) => {
        const caller = requireCaller(event);
        const friends = await deps.friends.list(caller.userId);
        return json(200, { friends });
      },

      'PUT /friends/{userId}': async (event) => {
        const caller = requireCaller(event);
        const other = targetUser(event);
        if (other === caller.userId) throw new HttpError(400, 'BAD_REQUEST', 'you cannot befriend yourself');
        for (let attempt = 1; attempt <= FRIEND_ATTEMPTS; attempt++) {
          const mine = await deps.friends.get(caller.userId, other);
          const plan = planFriendRequest(mine?.status);
          if (plan.kind === 'unchanged') return json(200, { userId: other, status: plan.status });
          if (plan.kind === 'request') {
            const result = await deps.friends.request(caller.userId, other);
            if (result === 'unknown-user') {
              throw new HttpError(404, 'NOT_FOUND', `no user ${JSON.stringify(other)}: they have never connected`);
            }
            if (result === 'done') {
              deps.logger.info('Friend request', { userId: caller.userId, otherUserId: other });
              return json(202, { userId: other, status: 'requested' });
            }
          } else if ((await deps.friends.accept(caller.userId, other)) === 'done') {
            deps.logger.info('Friend request accepted', { userId: caller.userId, otherUserId: other });
            return json(200, { userId: other, status: 'accepted' });
          }
          // The other side changed the pair at the same moment (both asked at once, or they withdrew): decide again.
        }
        throw new StorageError('the friendship kept changing; try again', { retryable: true });
      },

      'DELETE /friends/{userId}': async (event) => {
        const caller = requireCaller(event);
        const other = targetUser(event);
        const removed = (await deps.friends.remove(caller.userId, other)) === 'done';
        // Also when nothing was left to remove: a retry after a failed clean-up (503) finishes the clean-up.
        if (deps.visibility === 'friends') await stopWatching(caller.userId, other);
        if (!removed) throw new HttpError(404, 'NOT_FOUND', `no friendship or request with ${JSON.stringify(other)}`);
        deps.logger.info('Friendship removed', { userId: caller.userId, otherUserId: other });
        return noContent();
      },

      'GET /users/me/activity': deps.activity,
      'GET /users/{userId}/activity': deps.activity,
    },
    deps.logger,
  );

  /**
   * Friends mode: ex-friends stop receiving each other's presence at once, not at their next connect. Runs after
   * both friendship rows are gone: a subscription to a friend's presence ConditionChecks the watcher's row
   * (status = accepted) when written, so none can commit from now on, and every one that committed before is found
   * here (see endSubscriptionsOf for the index lag that remains).
   */
  async function stopWatching(userId: string, otherUserId: string): Promise<void> {
    await Promise.all([
      endSubscriptionsOf(deps.connections, otherUserId, presenceKey(userId)),
      endSubscriptionsOf(deps.connections, userId, presenceKey(otherUserId)),
    ]);
  }
}
