import type { ActivityEntry } from '@real-time-platform/protocol';
import type { ActivityStore } from '../../adapters/activity-store';
import {
  type ActivityCursor,
  activityQuerySchema,
  activityWindow,
  DEFAULT_ACTIVITY_PAGE,
  decodeActivityToken,
  encodeActivityToken,
} from '../../domain/activity';
import { describeError } from '../../lib/errors';
import type { Log } from '../../lib/logging';
import { InvalidPageTokenError } from '../../lib/page-token';
import { HttpError, json, type Route, requireCaller, validate } from './http';

/**
 * The activity history's two sides: recording (on connect, update-presence, close and timeout) and reading
 * (GET /users/me/activity).
 */

/**
 * Writes to users' histories; never throws. The history is a record of what happened, not part of it: a failed
 * write is logged and dropped, and the connect, page update or close it describes goes on as if it had worked.
 */
export interface ActivityLog {
  /** Appends an entry; false when it could not be written (logged). */
  record(userId: string, entry: ActivityEntry): Promise<boolean>;
  /** Takes back an entry recorded for something that then did not happen (a connect refused at the last moment). */
  retract(userId: string, entry: ActivityEntry): Promise<void>;
}

export function createActivityLog(deps: { store: Pick<ActivityStore, 'record' | 'remove'>; logger: Log }): ActivityLog {
  const failed = (what: string, userId: string, entry: ActivityEntry, error: unknown) =>
    deps.logger.warn(what, { userId, type: entry.type, connectionId: entry.connectionId, error: describeError(error) });
  return {
    async record(userId, entry) {
      try {
        await deps.store.record(userId, entry);
        return true;
      } catch (error) {
        failed('Could not record activity; the entry is dropped', userId, entry, error);
        return false;
      }
    },
    async retract(userId, entry) {
      try {
        await deps.store.remove(userId, entry);
      } catch (error) {
        failed('Could not take back an activity entry', userId, entry, error);
      }
    },
  };
}

export interface ActivityApiDeps {
  store: Pick<ActivityStore, 'list'>;
  /** ACTIVITY_RETENTION_DAYS: entries older than this are never returned (TTL deletes them within days). */
  retentionDays: number;
  now?: () => number;
}

/**
 * GET /users/me/activity?from&to&limit&nextToken → 200 {"items":[{type, at, connectionId, url?, title?}…],
 * "nextToken"?}: the caller's own history, newest first. `from` / `to` (epoch ms, ISO-8601 or a date) bound the
 * window [from, to), by default the retention period up to now; at most 366 days apart, `from` before `to`. Nobody
 * reads another user's history: GET /users/{userId}/activity (or a `userId` query parameter) naming someone else
 * answers 403. 400 for bad bounds, a bad limit or a token not made for this caller and query.
 */
export function createActivityRoute(deps: ActivityApiDeps): Route {
  const now = deps.now ?? Date.now;
  return async (event) => {
    const caller = requireCaller(event);
    const { userId: inQuery, ...params } = event.queryStringParameters ?? {};
    for (const named of [event.pathParameters?.userId, inQuery]) {
      if (named !== undefined && named !== 'me' && named !== caller.userId) {
        throw new HttpError(403, 'FORBIDDEN', "a user's activity history is theirs alone: ask for /users/me/activity");
      }
    }
    const query = validate(activityQuerySchema, params, 'query');
    let cursor: Omit<ActivityCursor, 'afterItemId'> & { afterItemId?: string };
    if (query.nextToken === undefined) {
      const window = activityWindow(query, now(), deps.retentionDays);
      if (!window.ok) throw new HttpError(400, 'BAD_REQUEST', window.message);
      cursor = { query: { from: query.from, to: query.to }, window: window.window };
    } else {
      try {
        cursor = decodeActivityToken(query.nextToken, caller.userId);
      } catch (error) {
        if (error instanceof InvalidPageTokenError) {
          throw new HttpError(400, 'BAD_REQUEST', 'nextToken is not valid here; pass back the one a page returned');
        }
        throw error;
      }
      // The same URL with nextToken appended is fine; a token combined with other bounds is a mistake.
      const conflicting =
        (query.from !== undefined && query.from !== cursor.query.from) ||
        (query.to !== undefined && query.to !== cursor.query.to);
      if (conflicting) throw new HttpError(400, 'BAD_REQUEST', 'nextToken continues another query: keep from and to');
    }
    const page = await deps.store.list(caller.userId, {
      window: cursor.window,
      limit: query.limit ?? DEFAULT_ACTIVITY_PAGE,
      ...(cursor.afterItemId === undefined ? {} : { beforeItemId: cursor.afterItemId }),
    });
    return json(200, {
      items: page.entries,
      ...(page.lastItemId === undefined
        ? {}
        : {
            nextToken: encodeActivityToken(caller.userId, {
              query: cursor.query,
              window: cursor.window,
              afterItemId: page.lastItemId,
            }),
          }),
    });
  };
}
