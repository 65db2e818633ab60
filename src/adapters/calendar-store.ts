import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { calendarKey } from '@real-time-platform/protocol';
import { toPlainItem } from '../domain/attribute-values';
import {
  type CalendarEventRevision,
  type CalendarShare,
  calendarSharesKey,
  overlaps as overlapsWindow,
  StoredCalendarEvent,
  startsAtBounds,
  type TimeWindow,
} from '../domain/calendar';
import { type CalendarShareLookup, calendarAccessRule } from '../domain/calendar-access';
import type { KeyAccessRule } from '../domain/key-access';
import { fullJitterDelay, sleep } from '../lib/backoff';
import { StorageError } from '../lib/errors';
import { storage } from './storage';

/**
 * Calendar storage in RealTimeData. An event is the item {<keyAttribute>: "calendar:<ownerId>", itemId: <eventId>,
 * …the event…}: writing it is what pushes it live (the stream fan-out sends INSERT / MODIFY / REMOVE to the key's
 * subscribers), so nothing but events is ever written under a calendar key. Shares live under
 * "$calendar-shares:<ownerId>" (itemId = the viewer), which the fan-out never delivers.
 */

/** The GSI of RealTimeData that orders a key's items by startsAt (sparse: only events carry startsAt). */
export const ITEMS_BY_START_INDEX = 'itemsByStart';
/** Most Query calls one page of a range query makes before returning what it has (with a nextToken). */
const MAX_QUERY_ROUNDS = 10;

export interface CalendarTable {
  ddb: DynamoDBDocumentClient;
  /** RealTimeData (DATA_TABLE_NAME). */
  tableName: string;
  /** REAL_TIME_ITEM_KEY: the partition key attribute. */
  keyAttribute: string;
}

/** The result of a conditional write. */
export type WriteOutcome =
  | { status: 'written'; event: StoredCalendarEvent }
  | { status: 'not-found' }
  /** The event exists with another version than expected; `current` is its stored state. */
  | { status: 'conflict'; current: StoredCalendarEvent };

/** Where a page of events starts: after the event with this start and id. */
export interface EventPosition {
  startsAt: string;
  itemId: string;
}

export interface EventPage {
  events: StoredCalendarEvent[];
  /** Present when more events may follow: the next page starts after it. */
  after?: EventPosition;
}

export interface CalendarEventStore {
  /** Stores a new event; false when its id exists already (a collision: nothing is overwritten). */
  create(event: StoredCalendarEvent): Promise<boolean>;
  /** The event (a strongly consistent read), or undefined. */
  get(ownerId: string, eventId: string): Promise<StoredCalendarEvent | undefined>;
  /** Applies `revision` (new fields, version expectedVersion + 1) when the stored version is `expectedVersion`. */
  replace(
    ownerId: string,
    eventId: string,
    revision: CalendarEventRevision,
    expectedVersion: number,
  ): Promise<WriteOutcome>;
  /** Deletes the event, when its version is `expectedVersion` if one is given; `event` is what was deleted. */
  remove(ownerId: string, eventId: string, expectedVersion?: number): Promise<WriteOutcome>;
  /** Events by start time: those overlapping `window`, or all of the calendar; at most `limit`. */
  list(ownerId: string, options: { window?: TimeWindow; limit: number; after?: EventPosition }): Promise<EventPage>;
}

/** The DynamoDB-backed CalendarEventStore. Failures throw StorageError (retryable when DynamoDB says so). */
export function createCalendarEventStore(table: CalendarTable): CalendarEventStore {
  const { ddb, tableName, keyAttribute } = table;
  const keyOf = (ownerId: string, eventId: string) => ({ [keyAttribute]: calendarKey(ownerId), itemId: eventId });

  /**
   * A write conditioned on the event's version: what `written` makes of the returned event, or, when the condition
   * fails, a conflict or not-found.
   */
  const versionedWrite = async (
    ownerId: string,
    eventId: string,
    write: () => Promise<{ Attributes?: Record<string, unknown> }>,
    written: (event: StoredCalendarEvent | undefined) => WriteOutcome,
  ): Promise<WriteOutcome> => {
    try {
      const { Attributes } = await write();
      return written(Attributes === undefined ? undefined : eventOf(Attributes));
    } catch (error) {
      const failure = conditionFailure(error);
      if (failure !== undefined) return failedCondition(failure, ownerId, eventId);
      throw error;
    }
  };

  /** The outcome of a failed condition: the stored state DynamoDB returned tells a conflict from a missing event. */
  const failedCondition = async (
    failure: { Item?: unknown },
    ownerId: string,
    eventId: string,
  ): Promise<WriteOutcome> => {
    const old = failure.Item;
    // ReturnValuesOnConditionCheckFailure gives the item in the same request; emulators that ignore it get a read.
    const current = old === undefined ? await get(ownerId, eventId) : eventOf(toPlainItem(old));
    return current === undefined ? { status: 'not-found' } : { status: 'conflict', current };
  };

  async function get(ownerId: string, eventId: string): Promise<StoredCalendarEvent | undefined> {
    const answer = await storage('read the event', () =>
      ddb.send(new GetCommand({ TableName: tableName, Key: keyOf(ownerId, eventId), ConsistentRead: true })),
    );
    return answer.Item === undefined ? undefined : eventOf(answer.Item);
  }

  return {
    get,

    async create(event) {
      try {
        await storage('store the event', () =>
          ddb.send(
            new PutCommand({
              TableName: tableName,
              // The key last: a RealTimeItemKey named like an event field must not displace calendar:<ownerId>.
              Item: { ...event, ...keyOf(event.ownerId, event.eventId) },
              // Ids are random, but a collision must be refused rather than overwrite someone's event.
              ConditionExpression: 'attribute_not_exists(itemId)',
            }),
          ),
        );
        return true;
      } catch (error) {
        if (conditionFailure(error) !== undefined) return false;
        throw error;
      }
    },

    async replace(ownerId, eventId, revision, expectedVersion) {
      const set: string[] = [];
      const remove: string[] = [];
      const names: Record<string, string> = { '#itemId': 'itemId' };
      const values: Record<string, unknown> = { ':expected': expectedVersion };
      // A field the new state lacks (timeZone, description, location) is removed: PUT replaces the whole event.
      const all = { timeZone: undefined, description: undefined, location: undefined, ...revision };
      for (const [name, value] of Object.entries(all)) {
        names[`#${name}`] = name;
        if (value === undefined) remove.push(`#${name}`);
        else {
          set.push(`#${name} = :${name}`);
          values[`:${name}`] = value;
        }
      }
      return versionedWrite(
        ownerId,
        eventId,
        () =>
          storage('update the event', () =>
            ddb.send(
              new UpdateCommand({
                TableName: tableName,
                Key: keyOf(ownerId, eventId),
                UpdateExpression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
                // attribute_exists: an update must never create an event (ids are the server's to give).
                ConditionExpression: 'attribute_exists(#itemId) AND #version = :expected',
                ExpressionAttributeNames: names,
                ExpressionAttributeValues: values,
                ReturnValues: 'ALL_NEW',
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              }),
            ),
          ),
        (event) => {
          if (event === undefined)
            throw new StorageError('the updated event came back malformed', { retryable: false });
          return { status: 'written', event };
        },
      );
    },

    async remove(ownerId, eventId, expectedVersion) {
      return versionedWrite(
        ownerId,
        eventId,
        () =>
          storage('delete the event', () =>
            ddb.send(
              new DeleteCommand({
                TableName: tableName,
                Key: keyOf(ownerId, eventId),
                ConditionExpression:
                  expectedVersion === undefined
                    ? 'attribute_exists(#itemId)'
                    : 'attribute_exists(#itemId) AND #version = :expected',
                ExpressionAttributeNames:
                  expectedVersion === undefined
                    ? { '#itemId': 'itemId' }
                    : { '#itemId': 'itemId', '#version': 'version' },
                ...(expectedVersion === undefined
                  ? {}
                  : { ExpressionAttributeValues: { ':expected': expectedVersion } }),
                ReturnValues: 'ALL_OLD',
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              }),
            ),
          ),
        (event) => (event === undefined ? { status: 'not-found' } : { status: 'written', event }),
      );
    },

    async list(ownerId, { window, limit, after }) {
      const key = calendarKey(ownerId);
      const bounds = window === undefined ? undefined : startsAtBounds(window);
      const kept: StoredCalendarEvent[] = [];
      let startKey: Record<string, unknown> | undefined =
        after === undefined ? undefined : { [keyAttribute]: key, itemId: after.itemId, startsAt: after.startsAt };
      // One event more than asked tells whether a next page exists, so the last page carries no token.
      for (let round = 0; round < MAX_QUERY_ROUNDS; round++) {
        const page: QueryCommandOutput = await storage('query the events', () =>
          ddb.send(
            new QueryCommand({
              TableName: tableName,
              IndexName: ITEMS_BY_START_INDEX,
              KeyConditionExpression:
                bounds === undefined ? '#key = :key' : '#key = :key AND #startsAt BETWEEN :lowest AND :highest',
              ExpressionAttributeNames: {
                '#key': keyAttribute,
                ...(bounds === undefined ? {} : { '#startsAt': 'startsAt' }),
              },
              ExpressionAttributeValues: {
                ':key': key,
                ...(bounds === undefined ? {} : { ':lowest': bounds.lowest, ':highest': bounds.highest }),
              },
              Limit: limit + 1,
              ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
            }),
          ),
        );
        for (const item of page.Items ?? []) {
          const event = eventOf(item);
          // The Query reads every event starting in the look-back (see startsAtBounds); only those overlapping the
          // window are the answer. Items under the key that are no events (impossible through this API) are skipped.
          if (event === undefined || (window !== undefined && !overlapsWindow(event, window))) continue;
          kept.push(event);
          if (kept.length > limit) {
            const events = kept.slice(0, limit);
            const last = events[events.length - 1] as StoredCalendarEvent;
            return { events, after: { startsAt: last.startsAt, itemId: last.eventId } };
          }
        }
        startKey = page.LastEvaluatedKey;
        if (startKey === undefined) return { events: kept };
      }
      // Many events in the look-back that end before the window: return what was found and where to go on.
      const position = positionOf(startKey);
      return position === undefined ? { events: kept } : { events: kept, after: position };
    },
  };
}

/** A stored event, or undefined for an item under a calendar key that is not one. */
function eventOf(item: Record<string, unknown>): StoredCalendarEvent | undefined {
  const parsed = StoredCalendarEvent.safeParse(item);
  return parsed.success ? parsed.data : undefined;
}

function positionOf(key: Record<string, unknown> | undefined): EventPosition | undefined {
  const startsAt = key?.startsAt;
  const itemId = key?.itemId;
  return typeof startsAt === 'string' && typeof itemId === 'string' ? { startsAt, itemId } : undefined;
}

// ---------------------------------------------------------------- Shares

export interface SharePage {
  shares: CalendarShare[];
  /** Present when more shares follow: the user id the next page starts after. */
  after?: string;
}

export interface CalendarShareStore extends CalendarShareLookup {
  /** Gives `viewerId` read access; `created` is false when it had it already (the first sharedAt is kept). */
  share(ownerId: string, viewerId: string, at: Date): Promise<{ share: CalendarShare; created: boolean }>;
  /** Takes the access back; false when there was none. */
  unshare(ownerId: string, viewerId: string): Promise<boolean>;
  /** The calendar's shares in user id order. */
  list(ownerId: string, options: { limit: number; after?: string }): Promise<SharePage>;
}

/** Deletes of a share tried while subscriptions check it at the same moment. */
const UNSHARE_ATTEMPTS = 3;

/** The DynamoDB-backed CalendarShareStore. */
export function createCalendarShareStore(table: CalendarTable): CalendarShareStore {
  const { ddb, tableName, keyAttribute } = table;
  const keyOf = (ownerId: string, viewerId: string) => ({
    [keyAttribute]: calendarSharesKey(ownerId),
    itemId: viewerId,
  });

  return {
    async isSharedWith(ownerId, viewerId) {
      const answer = await storage('read the calendar share', () =>
        ddb.send(
          new GetCommand({
            TableName: tableName,
            Key: keyOf(ownerId, viewerId),
            // Consistent: a share just taken back must stop the next subscribe.
            ConsistentRead: true,
            ProjectionExpression: 'itemId',
          }),
        ),
      );
      return answer.Item !== undefined;
    },

    async share(ownerId, viewerId, at) {
      // One UpdateItem makes PUT idempotent without a read: if_not_exists keeps the first sharedAt, and the old
      // image says whether the share is new.
      const answer = await storage('store the calendar share', () =>
        ddb.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keyOf(ownerId, viewerId),
            UpdateExpression:
              'SET sharedAt = if_not_exists(sharedAt, :at), #access = :access, ownerId = :owner, viewerId = :viewer',
            ExpressionAttributeNames: { '#access': 'access' },
            ExpressionAttributeValues: {
              ':at': at.toISOString(),
              ':access': 'read',
              ':owner': ownerId,
              ':viewer': viewerId,
            },
            ReturnValues: 'ALL_OLD',
          }),
        ),
      );
      const old = answer.Attributes;
      const sharedAt = typeof old?.sharedAt === 'string' ? old.sharedAt : at.toISOString();
      return { share: { userId: viewerId, access: 'read', sharedAt }, created: old === undefined };
    },

    async unshare(ownerId, viewerId) {
      const remove = () =>
        ddb.send(new DeleteCommand({ TableName: tableName, Key: keyOf(ownerId, viewerId), ReturnValues: 'ALL_OLD' }));
      const answer = await storage('delete the calendar share', async () => {
        // A subscription ConditionChecks this row in its own transaction; meeting one in flight rejects the delete
        // with TransactionConflictException (not retried by the SDK): try again shortly, it lasts milliseconds.
        for (let attempt = 1; ; attempt++) {
          try {
            return await remove();
          } catch (error) {
            const conflict = (error as { name?: unknown } | null)?.name === 'TransactionConflictException';
            if (!conflict) throw error;
            if (attempt >= UNSHARE_ATTEMPTS) {
              throw new StorageError('Could not delete the calendar share: it kept conflicting', {
                retryable: true,
                cause: error,
              });
            }
            await sleep(fullJitterDelay(attempt, { baseMs: 20, capMs: 200 }));
          }
        }
      });
      return answer.Attributes !== undefined;
    },

    async list(ownerId, { limit, after }) {
      const key = calendarSharesKey(ownerId);
      const page = await storage('query the calendar shares', () =>
        ddb.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: '#key = :key',
            ExpressionAttributeNames: { '#key': keyAttribute },
            ExpressionAttributeValues: { ':key': key },
            ConsistentRead: true,
            Limit: limit + 1,
            ...(after === undefined ? {} : { ExclusiveStartKey: { [keyAttribute]: key, itemId: after } }),
          }),
        ),
      );
      const shares = (page.Items ?? []).flatMap((item): CalendarShare[] =>
        typeof item.itemId === 'string' && typeof item.sharedAt === 'string'
          ? [{ userId: item.itemId, access: 'read', sharedAt: item.sharedAt }]
          : [],
      );
      if (shares.length <= limit) return { shares };
      const kept = shares.slice(0, limit);
      return { shares: kept, after: (kept[kept.length - 1] as CalendarShare).userId };
    },
  };
}

/** The key access rule of `calendar:` keys, reading the shares from RealTimeData (wired in handlers/wiring/dependencies.ts). */
export function createCalendarAccessRule(table: CalendarTable): KeyAccessRule {
  return calendarAccessRule(createCalendarShareStore(table));
}

// ---------------------------------------------------------------- Errors

/** The ConditionalCheckFailedException under a StorageError (with the old item, when asked for), or undefined. */
function conditionFailure(error: unknown): { Item?: unknown } | undefined {
  const cause = error instanceof StorageError ? error.cause : error;
  const name = (cause as { name?: unknown } | null)?.name;
  return name === 'ConditionalCheckFailedException' ? (cause as { Item?: unknown }) : undefined;
}
