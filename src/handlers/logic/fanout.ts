import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  compareSeq,
  type ItemChange,
  itemMessage,
  MAX_MESSAGE_BYTES,
  type ServerMessage,
  truncatedItemMessage,
} from '@real-time-platform/protocol';
import type { ConnectionRepository } from '../../adapters/connection-repository';
import type { ConnectionSender } from '../../adapters/connection-sender';
import { createPostEncoder } from '../../domain/coalesce';
import { type ConflationRule, conflate, conflates } from '../../domain/conflation';
import { FanoutPlan } from '../../domain/fanout-plan';
import { encodeMessage } from '../../domain/messages';
import type { RedeliveryLedger } from '../../domain/redelivery-ledger';
import { reservedChangeOf } from '../../domain/reserved-items';
import { parseStreamRecord } from '../../domain/stream-changes';
import { runWithConcurrency } from '../../lib/concurrency';
import { describeError } from '../../lib/errors';
import type { Log } from '../../lib/logging';
import { retryUntilDeadline } from '../../lib/retry-until-deadline';
import {
  type DeliveryContext,
  deliverToConnection,
  describePostFailure,
  type Entry,
  type SnapshotEntry,
} from './fanout-delivery';
import { type SnapshotSource, snapshotPages } from './fanout-snapshots';
import type { InvocationContext } from './websocket-event';

export interface FanoutDeps {
  connections: ConnectionRepository;
  sender: ConnectionSender;
  /** REAL_TIME_ITEM_KEY: the item attribute naming the key. */
  keyAttribute: string;
  /** FANOUT_CONCURRENCY: most posts in flight. */
  concurrency: number;
  /** Where snapshots are read (a key's snapshot marker asks for one: fanout-snapshots.ts). */
  snapshots: SnapshotSource;
  /** COALESCE_POSTS: one connection's frames go out as few `batch` posts as fit (default); off: one post per frame. */
  coalesce?: boolean;
  /** CONFLATE_CHANGES / CONFLATE_KEY_PREFIXES (domain/conflation.ts). Default: off. */
  conflation?: ConflationRule;
  logger: Log;
  metrics?: Pick<Metrics, 'addMetric'>;
  now?: () => number;
  /** Time kept back from the invocation's remaining time to report failures before Lambda's timeout. */
  safetyMarginMs?: number;
  /**
   * Extra keys whose subscribers also receive a key's changes, e.g. `chat:<id>` → the participants' `inbox:<userId>`
   * keys, so a participant gets every conversation without subscribing to each. Default: none.
   */
  audienceOf?: (key: string) => Promise<readonly string[]>;
  /** The frame a change becomes (e.g. presence changes as `presence` frames). Default: an `item` frame. */
  messageOf?: (change: ItemChange) => ServerMessage;
  /**
   * Cleans up a connection found gone (410). Default: delete its rows; the presence domain also settles the user's
   * presence.
   */
  endConnection?: (connectionId: string) => Promise<unknown>;
  /** Waits between lookup retries (tests pass a fast one). */
  retrySleep?: (ms: number) => Promise<void>;
  /**
   * The connections that records reported failed had already reached, kept across invocations (the handler holds one
   * for the container's life), so a re-delivered record skips them. Default: none; every re-delivery goes to all.
   */
  redelivery?: RedeliveryLedger;
}

export interface BatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** What one batch did; logged as one line and published as metrics. */
export interface FanoutSummary {
  records: number;
  keys: number;
  /** Records that could not be read (logged with their sequence number). */
  skipped: number;
  /** The platform's own rows under a key ("$" itemIds: snapshot markers, their TTL deletions): never sent. */
  reserved: number;
  /** Changes not sent because a newer change of the same item in the batch replaced them (conflation). */
  conflated: number;
  /** Sum over keys of their subscriber count. */
  subscribers: number;
  /** Posts made (a retried post counts once, see `retries`). */
  posts: number;
  /** Posts that carried a `batch` frame (two or more frames). */
  batches: number;
  /** Frames delivered, alone or inside batches. */
  frames: number;
  retries: number;
  /** Connections found gone (410) and cleaned up. */
  gone: number;
  /** Records reported in batchItemFailures. */
  failed: number;
  /** Re-delivered records not posted again to connections an earlier, failed attempt had reached. */
  alreadyReached: number;
  /** Truncated notices delivered (over 128 KB before posting, or answered 413). */
  truncated: number;
  /** Snapshots delivered to the end. */
  snapshots: number;
  lookupFailures: number;
  /** Lookups retried after a transient failure (within the invocation). */
  lookupRetries: number;
  durationMs: number;
}

const MAX_LOGGED_FAILURES = 5;

/**
 * One stream batch → the frames of every subscriber of every record's key, one connection's frames coalesced into
 * as few posts as fit (fanout-delivery.ts):
 * - each distinct key's subscribers are looked up once (paginated GSI Query);
 * - each record's frame is encoded once; with conflation on, only the newest change of each item is sent;
 * - a key's snapshot marker (reserved-items.ts) is checked against the connection's subscription (one GetItem) and
 *   answered with the key's items, in the connection's frames at the marker's place in stream order;
 * - one sequential chain per connection keeps per-key order; a pool of `concurrency` workers runs the chains, so at
 *   most `concurrency` posts are in flight;
 * - 410 → the connection's rows are deleted once and nothing more is posted to it (its records count as delivered);
 * - a post that still fails after retries reports every record it carried and every later record of their keys, so
 *   Lambda re-delivers them in order.
 */
export async function runFanout(
  deps: FanoutDeps,
  event: unknown,
  context?: InvocationContext,
): Promise<{ response: BatchResponse; summary: FanoutSummary }> {
  const now = deps.now ?? Date.now;
  const started = now();
  const remaining = context?.getRemainingTimeInMillis?.() ?? 60_000;
  const margin = deps.safetyMarginMs ?? Math.min(2000, Math.max(100, Math.floor(remaining * 0.1)));
  // Nothing may run past the deadline: records not delivered by then are reported and re-delivered, which is far
  // cheaper than a timeout (that fails the whole batch and re-sends it to every subscriber).
  const deadline = started + Math.max(0, remaining - margin);

  const summary: FanoutSummary = {
    records: 0,
    keys: 0,
    skipped: 0,
    reserved: 0,
    conflated: 0,
    subscribers: 0,
    posts: 0,
    batches: 0,
    frames: 0,
    retries: 0,
    gone: 0,
    failed: 0,
    alreadyReached: 0,
    truncated: 0,
    snapshots: 0,
    lookupFailures: 0,
    lookupRetries: 0,
    durationMs: 0,
  };
  const records = recordsOf(event);
  if (records === undefined) deps.logger.error('Malformed stream event: Records is not an array');
  summary.records = records?.length ?? 0;

  const entries = entriesOf(deps, records ?? [], summary, now);
  const plan = new FanoutPlan<Entry>(entries);
  const keys = plan.keysLongestFirst();
  summary.keys = keys.length;

  // Per key: its subscribers (when it has changes to send) and the subscriptions its snapshot markers name.
  const subscribersByKey = new Map<string, string[]>();
  const snapshotsByConnection = new Map<string, SnapshotEntry[]>();
  await runWithConcurrency(keys, deps.concurrency, async (key) => {
    const keyEntries = plan.byKey.get(key) ?? [];
    const markers = keyEntries.filter((entry): entry is SnapshotEntry => entry.kind === 'snapshot');
    const lookup = async () => {
      if (markers.length === keyEntries.length) return;
      try {
        // A lookup failing for a transient reason (throttling, DynamoDB restarting) is retried until the deadline.
        const retried = retryUntilDeadline(() => subscribersWithAudience(deps, key), {
          deadline,
          now,
          ...(deps.retrySleep === undefined ? {} : { sleep: deps.retrySleep }),
          onRetry: () => summary.lookupRetries++,
        });
        const subscribers = await beforeDeadline(retried, deadline, now);
        if (subscribers === undefined) throw new Error('the subscriber lookup did not finish before the deadline');
        subscribersByKey.set(key, subscribers);
        summary.subscribers += subscribers.length;
      } catch (error) {
        summary.lookupFailures++;
        plan.failFrom(key, 0);
        deps.logger.error('Subscriber lookup failed; the key will be re-delivered', {
          key,
          error: describeError(error),
        });
      }
    };
    const confirm = async (marker: SnapshotEntry) => {
      try {
        // One consistent GetItem: an unsubscribe or a revoked grant since the marker was written means no snapshot.
        const subscribed = await beforeDeadline(deps.connections.isSubscribed(marker.connectionId, key), deadline, now);
        if (subscribed === undefined) throw new Error('the subscription check did not finish before the deadline');
        if (!subscribed) return;
        const list = snapshotsByConnection.get(marker.connectionId) ?? [];
        list.push(marker);
        snapshotsByConnection.set(marker.connectionId, list);
      } catch (error) {
        plan.fail(marker);
        deps.logger.error('Snapshot subscription check failed; the marker will be re-delivered', {
          key,
          connectionId: marker.connectionId,
          error: describeError(error),
        });
      }
    };
    await Promise.all([lookup(), ...markers.map(confirm)]);
  });

  const ledger = deps.redelivery;
  // Per change entry, the connections a post carrying it reached (kept only when a ledger will want them).
  const reached = ledger === undefined ? undefined : new Map<Entry, string[]>();
  const gone = new Set<string>();
  const cleanups: Promise<void>[] = [];
  let loggedFailures = 0;
  const delivery: DeliveryContext = {
    plan,
    coalesce: deps.coalesce ?? true,
    encodePost: createPostEncoder(),
    post: async (connectionId, data) => {
      summary.posts++;
      // The sender bounds every attempt (and its retries) by the deadline.
      const result = await deps.sender.post(connectionId, data, { deadline });
      summary.retries += result.attempts - 1;
      return result;
    },
    onSent:
      reached === undefined
        ? undefined
        : (connectionId, sent) => {
            for (const entry of sent) {
              if (entry.kind !== 'change') continue;
              const list = reached.get(entry);
              if (list === undefined) reached.set(entry, [connectionId]);
              else list.push(connectionId);
            }
          },
    isGone: (connectionId) => gone.has(connectionId),
    markGone: (connectionId) => {
      if (gone.has(connectionId)) return;
      gone.add(connectionId);
      summary.gone++;
      const endConnection = deps.endConnection ?? ((id: string) => deps.connections.deleteConnection(id));
      cleanups.push(
        endConnection(connectionId).then(
          () => undefined,
          // TTL removes the rows eventually; the next 410 retries the cleanup.
          (error: unknown) =>
            deps.logger.warn('Could not delete a gone connection', { connectionId, error: describeError(error) }),
        ),
      );
    },
    snapshotPages: (entry) => snapshotPages(deps.snapshots, entry)[Symbol.asyncIterator](),
    pastDeadline: () => now() >= deadline,
    onFailedPost: (connectionId, carried, result) => {
      if (loggedFailures++ >= MAX_LOGGED_FAILURES) return;
      deps.logger.warn('Post failed; its records and the later ones of their keys will be re-delivered', {
        connectionId,
        keys: [...new Set(carried.map((entry) => entry.key))],
        seqs: carried.map((entry) => entry.seq),
        attempts: result.attempts,
        error: describePostFailure(result),
      });
    },
    onSnapshotError: (connectionId, entry, error) =>
      deps.logger.error('Snapshot not sent; the marker will be re-delivered', {
        connectionId,
        key: entry.key,
        seq: entry.seq,
        error: describeError(error),
      }),
    counts: summary,
  };

  let work = connectionsOf(plan, subscribersByKey, snapshotsByConnection);
  if (ledger !== undefined && entries.some((entry) => entry.kind === 'change' && ledger.knows(entry.seq))) {
    work = work.map(({ connectionId, entries: theirs }) => ({
      connectionId,
      entries: theirs.filter((entry) => {
        const skip = entry.kind === 'change' && ledger.reachedBefore(entry.seq, connectionId);
        if (skip) summary.alreadyReached++;
        return !skip;
      }),
    }));
  }
  await runWithConcurrency(work, deps.concurrency, ({ connectionId, entries: mine }) =>
    deliverToConnection(delivery, connectionId, mine),
  );
  // Cleanups are best effort: what is not done by the deadline is left to TTL or to the next 410.
  const cleaned = await beforeDeadline(Promise.all(cleanups), deadline, now);
  if (cleaned === undefined) deps.logger.warn('Gone-connection cleanups still running at the deadline; left to TTL');

  const failed = plan.failedChanges();
  summary.failed = failed.length;
  if (ledger !== undefined && reached !== undefined) settle(ledger, entries, failed, reached);
  summary.durationMs = now() - started;
  deps.logger.info('Fan-out batch', { ...summary });
  publish(deps.metrics, summary);
  return { response: { batchItemFailures: failed.map((entry) => ({ itemIdentifier: entry.seq })) }, summary };
}

/** What the ledger keeps after a batch: whom each failed change reached; delivered ones are forgotten. */
function settle(
  ledger: RedeliveryLedger,
  entries: readonly Entry[],
  failed: readonly Entry[],
  reached: ReadonlyMap<Entry, readonly string[]>,
): void {
  const failedSet = new Set(failed);
  for (const entry of entries) {
    if (entry.kind !== 'change') continue;
    if (failedSet.has(entry)) ledger.remember(entry.seq, reached.get(entry) ?? []);
    else if (ledger.size > 0) ledger.forget(entry.seq);
  }
}

/**
 * The batch's records as entries, in stream order: changes (conflated when the rule says so) and snapshot requests.
 * Unreadable records and the platform's other reserved rows are counted and left out.
 */
function entriesOf(deps: FanoutDeps, records: readonly unknown[], summary: FanoutSummary, now: () => number): Entry[] {
  const messageOf = deps.messageOf ?? itemMessage;
  // The highest sequence number of each key in the batch: where a snapshot served in this batch stands.
  const highest = new Map<string, string>();
  const parsed: (ItemChange | { marker: true; key: string; seq: string; connectionId: string })[] = [];
  for (const record of records) {
    const result = safeParse(record, deps.keyAttribute, now);
    if (!result.ok) {
      summary.skipped++;
      deps.logger.warn('Stream record skipped', { reason: result.reason, seq: result.seq });
      continue;
    }
    const change = result.change;
    const top = highest.get(change.key);
    if (top === undefined || compareSeq(change.seq, top) > 0) highest.set(change.key, change.seq);
    const reserved = reservedChangeOf(change);
    if (reserved === undefined) parsed.push(change);
    else if (reserved.kind === 'snapshot') {
      parsed.push({ marker: true, key: change.key, seq: change.seq, connectionId: reserved.connectionId });
    } else summary.reserved++;
  }

  const rule = deps.conflation;
  const changes = parsed.filter((entry): entry is ItemChange => !('marker' in entry));
  const kept =
    rule === undefined || !rule.enabled
      ? changes.map((change) => ({ change, replaced: 0 }))
      : conflate(changes, (key) => conflates(rule, key));
  summary.conflated = changes.length - kept.length;
  const replacedBy = new Map(kept.map(({ change, replaced }) => [change, replaced]));

  const entries: Entry[] = [];
  for (const item of parsed) {
    if ('marker' in item) {
      entries.push({
        kind: 'snapshot',
        key: item.key,
        seq: item.seq,
        connectionId: item.connectionId,
        position: highest.get(item.key) ?? item.seq,
      });
      continue;
    }
    const replaced = replacedBy.get(item);
    if (replaced === undefined) continue;
    entries.push(changeEntry(item, messageOf, replaced));
  }
  return entries;
}

/** A change's frame, encoded once; the truncated notice when the frame would exceed 128 KB. */
function changeEntry(change: ItemChange, messageOf: (change: ItemChange) => ServerMessage, replaced: number): Entry {
  const message = messageOf(change);
  if (replaced > 0 && message.type === 'item') message.conflated = replaced;
  const full = encodeMessage(message);
  if (full.byteLength <= MAX_MESSAGE_BYTES) {
    return { kind: 'change', key: change.key, seq: change.seq, change, data: full, truncated: false };
  }
  const notice = truncatedItemMessage(change);
  if (replaced > 0) notice.conflated = replaced;
  return { kind: 'change', key: change.key, seq: change.seq, change, data: encodeMessage(notice), truncated: true };
}

/**
 * Each connection's entries in stream order: the changes of every key it subscribes to, and the snapshots it asked
 * for. A connection whose snapshot was confirmed also gets that key's changes of this batch even if the subscribers
 * index (eventually consistent) did not list it yet. One-key connections share the key's list.
 */
function connectionsOf(
  plan: FanoutPlan<Entry>,
  subscribersByKey: ReadonlyMap<string, readonly string[]>,
  snapshotsByConnection: ReadonlyMap<string, readonly SnapshotEntry[]>,
): { connectionId: string; entries: readonly Entry[] }[] {
  const changesByKey = new Map<string, Entry[]>();
  for (const [key, list] of plan.byKey)
    changesByKey.set(
      key,
      list.filter((entry) => entry.kind === 'change'),
    );
  const keysOf = new Map<string, Set<string>>();
  const add = (connectionId: string, key: string) => {
    const set = keysOf.get(connectionId);
    if (set === undefined) keysOf.set(connectionId, new Set([key]));
    else set.add(key);
  };
  for (const [key, subscribers] of subscribersByKey) for (const connectionId of subscribers) add(connectionId, key);
  for (const [connectionId, markers] of snapshotsByConnection)
    for (const marker of markers) add(connectionId, marker.key);

  const work: { connectionId: string; entries: readonly Entry[] }[] = [];
  for (const [connectionId, keys] of keysOf) {
    const snapshots = snapshotsByConnection.get(connectionId) ?? [];
    const lists = [...keys].map((key) => changesByKey.get(key) ?? []);
    if (lists.length === 1 && snapshots.length === 0) {
      work.push({ connectionId, entries: lists[0] as Entry[] });
      continue;
    }
    const mine = [...lists.flat(), ...snapshots];
    mine.sort((a, b) => plan.batchIndexOf(a) - plan.batchIndexOf(b));
    work.push({ connectionId, entries: mine });
  }
  // Connections with the most frames first: the longest chains should not start last.
  return work.sort((a, b) => b.entries.length - a.entries.length);
}

/** The OnReceiveRealTimeItem logic as a Lambda handler (see runFanout). */
export function createFanoutHandler(
  deps: FanoutDeps,
): (event: unknown, context?: InvocationContext) => Promise<BatchResponse> {
  return async (event, context) => (await runFanout(deps, event, context)).response;
}

/** The key's subscribers plus those of its audience keys, each connection once. */
async function subscribersWithAudience(deps: FanoutDeps, key: string): Promise<string[]> {
  const audience = deps.audienceOf === undefined ? [] : await deps.audienceOf(key);
  if (audience.length === 0) return deps.connections.subscribersOf(key);
  const lists = await Promise.all([key, ...audience].map((k) => deps.connections.subscribersOf(k)));
  return [...new Set(lists.flat())];
}

/** The promise's value, or undefined when the deadline comes first (the promise is left to settle on its own). */
async function beforeDeadline<T>(promise: Promise<T>, deadline: number, now: () => number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - now()));
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

function recordsOf(event: unknown): unknown[] | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const records = (event as { Records?: unknown }).Records;
  return Array.isArray(records) ? records : undefined;
}

function safeParse(record: unknown, keyAttribute: string, now: () => number): ReturnType<typeof parseStreamRecord> {
  try {
    return parseStreamRecord(record, keyAttribute, now);
  } catch (error) {
    // A record that breaks the parser is one bad record, not a failed batch.
    return { ok: false, reason: `unreadable record: ${describeError(error).message}` };
  }
}

function publish(metrics: FanoutDeps['metrics'], summary: FanoutSummary): void {
  if (metrics === undefined) return;
  const counts: [string, number][] = [
    ['Records', summary.records],
    ['SkippedRecords', summary.skipped],
    ['ReservedRecords', summary.reserved],
    ['ConflatedChanges', summary.conflated],
    ['Keys', summary.keys],
    ['Subscribers', summary.subscribers],
    ['Posts', summary.posts],
    ['BatchPosts', summary.batches],
    ['Frames', summary.frames],
    ['Snapshots', summary.snapshots],
    ['PostRetries', summary.retries],
    ['GoneConnections', summary.gone],
    ['FailedRecords', summary.failed],
    ['AlreadyReachedSkipped', summary.alreadyReached],
    ['TruncatedMessages', summary.truncated],
    ['SubscriberLookupFailures', summary.lookupFailures],
    ['SubscriberLookupRetries', summary.lookupRetries],
  ];
  for (const [name, value] of counts) metrics.addMetric(name, MetricUnit.Count, value);
  metrics.addMetric('FanoutDuration', MetricUnit.Milliseconds, summary.durationMs);
}
