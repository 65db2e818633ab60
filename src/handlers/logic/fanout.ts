import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  type ItemChange,
  itemMessage,
  MAX_MESSAGE_BYTES,
  type ServerMessage,
  truncatedItemMessage,
} from '@real-time-platform/protocol';
import type { ConnectionRepository } from '../../adapters/connection-repository';
import type { ConnectionSender, PostResult } from '../../adapters/connection-sender';
import { FanoutPlan } from '../../domain/fanout-plan';
import { encodeMessage } from '../../domain/messages';
import { parseStreamRecord } from '../../domain/stream-changes';
import { runWithConcurrency } from '../../lib/concurrency';
import { describeError } from '../../lib/errors';
import type { Log } from '../../lib/logging';
import { retryUntilDeadline } from '../../lib/retry-until-deadline';
import type { InvocationContext } from './websocket-event';

export interface FanoutDeps {
  connections: ConnectionRepository;
  sender: ConnectionSender;
  /** REAL_TIME_ITEM_KEY: the item attribute naming the key. */
  keyAttribute: string;
  /** FANOUT_CONCURRENCY: most posts in flight. */
  concurrency: number;
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
}

export interface BatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** What one batch did; logged as one line and published as metrics. */
export interface FanoutSummary {
  records: number;
  keys: number;
  skipped: number;
  /** Sum over keys of their subscriber count. */
  subscribers: number;
  /** Messages posted (a retried post counts once, see `retries`). */
  posts: number;
  retries: number;
  /** Connections found gone (410) and cleaned up. */
  gone: number;
  /** Records reported in batchItemFailures. */
  failed: number;
  /** Truncated notices posted (over 128 KB before posting, or answered 413). */
  truncated: number;
  lookupFailures: number;
  /** Lookups retried after a transient failure (within the invocation). */
  lookupRetries: number;
  durationMs: number;
}

interface Prepared extends ItemChange {
  /** The message, encoded once for every subscriber. */
  data: Uint8Array;
  truncated: boolean;
  /** The truncated notice, encoded on the first 413 and reused for the other subscribers. */
  notice?: Uint8Array;
}

const MAX_LOGGED_FAILURES = 5;

/**
 * One stream batch → posts to every subscriber of every record's key.
 * - each distinct key's subscribers are looked up once (paginated GSI Query);
 * - each record's message is encoded once;
 * - one sequential chain per (key, connection) keeps per-key order; a pool of `concurrency` workers runs the
 *   chains, so at most `concurrency` posts are in flight;
 * - 410 → the connection's rows are deleted once and nothing more is posted to it (the record counts as delivered);
 * - a post that still fails after retries reports its record and every later record of its key, so Lambda
 *   re-delivers them in order; the chain stops there.
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
    subscribers: 0,
    posts: 0,
    retries: 0,
    gone: 0,
    failed: 0,
    truncated: 0,
    lookupFailures: 0,
    lookupRetries: 0,
    durationMs: 0,
  };
  const records = recordsOf(event);
  if (records === undefined) deps.logger.error('Malformed stream event: Records is not an array');
  summary.records = records?.length ?? 0;

  const changes: Prepared[] = [];
  for (const record of records ?? []) {
    const parsed = safeParse(record, deps.keyAttribute, now);
    if (!parsed.ok) {
      summary.skipped++;
      deps.logger.warn('Stream record skipped', { reason: parsed.reason, seq: parsed.seq });
      continue;
    }
    changes.push(prepare(parsed.change, deps.messageOf ?? itemMessage));
  }
  const plan = new FanoutPlan(changes);
  const keys = plan.keysLongestFirst();
  summary.keys = keys.length;

  const subscribersByKey = new Map<string, string[]>();
  await runWithConcurrency(keys, deps.concurrency, async (key) => {
    try {
      // A lookup failing for a transient reason (throttling, DynamoDB restarting) is retried until the deadline.
      const lookup = retryUntilDeadline(() => subscribersWithAudience(deps, key), {
        deadline,
        now,
        ...(deps.retrySleep === undefined ? {} : { sleep: deps.retrySleep }),
        onRetry: () => summary.lookupRetries++,
      });
      const subscribers = await beforeDeadline(lookup, deadline, now);
      if (subscribers === undefined) throw new Error('the subscriber lookup did not finish before the deadline');
      subscribersByKey.set(key, subscribers);
      summary.subscribers += subscribers.length;
    } catch (error) {
      summary.lookupFailures++;
      plan.failFrom(key, 0);
      deps.logger.error('Subscriber lookup failed; the key will be re-delivered', { key, error: describeError(error) });
    }
  });

  const gone = new Set<string>();
  const cleanups: Promise<void>[] = [];
  const markGone = (connectionId: string) => {
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
  };
  let loggedFailures = 0;

  const post = async (connectionId: string, data: Uint8Array): Promise<PostResult> => {
    summary.posts++;
    // The sender bounds every attempt (and its retries) by the deadline.
    const result = await deps.sender.post(connectionId, data, { deadline });
    summary.retries += result.attempts - 1;
    return result;
  };

  const chains: { key: string; connectionId: string; changes: Prepared[] }[] = [];
  for (const key of keys) {
    const keyChanges = plan.byKey.get(key) ?? [];
    for (const connectionId of subscribersByKey.get(key) ?? []) chains.push({ key, connectionId, changes: keyChanges });
  }

  await runWithConcurrency(chains, deps.concurrency, async ({ key, connectionId, changes: keyChanges }) => {
    for (let position = 0; position < keyChanges.length; position++) {
      if (gone.has(connectionId) || plan.isFailed(key, position)) return;
      const change = keyChanges[position] as Prepared;
      if (now() >= deadline) {
        plan.failFrom(key, position);
        return;
      }
      if (change.truncated) summary.truncated++;
      let result = await post(connectionId, change.data);
      if (result.status === 'tooLarge' && !change.truncated) {
        summary.truncated++;
        change.notice ??= encodeMessage(truncatedItemMessage(change));
        result = await post(connectionId, change.notice);
      }
      if (result.status === 'gone') {
        markGone(connectionId);
        return;
      }
      if (result.status !== 'sent') {
        plan.failFrom(key, position);
        if (loggedFailures++ < MAX_LOGGED_FAILURES) {
          const error = result.status === 'failed' ? describeError(result.error) : { name: result.status, message: '' };
          deps.logger.warn('Post failed; the record and the later ones of its key will be re-delivered', {
            connectionId,
            key,
            seq: change.seq,
            attempts: result.attempts,
            error,
          });
        }
        return;
      }
    }
  });
  // Cleanups are best effort: what is not done by the deadline is left to TTL or to the next 410.
  const cleaned = await beforeDeadline(Promise.all(cleanups), deadline, now);
  if (cleaned === undefined) deps.logger.warn('Gone-connection cleanups still running at the deadline; left to TTL');

  const failed = plan.failedChanges();
  summary.failed = failed.length;
  summary.durationMs = now() - started;
  deps.logger.info('Fan-out batch', { ...summary });
  publish(deps.metrics, summary);
  return { response: { batchItemFailures: failed.map((change) => ({ itemIdentifier: change.seq })) }, summary };
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

function prepare(change: ItemChange, messageOf: (change: ItemChange) => ServerMessage): Prepared {
  const full = encodeMessage(messageOf(change));
  if (full.byteLength <= MAX_MESSAGE_BYTES) return { ...change, data: full, truncated: false };
  return { ...change, data: encodeMessage(truncatedItemMessage(change)), truncated: true };
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
    ['Keys', summary.keys],
    ['Subscribers', summary.subscribers],
    ['Posts', summary.posts],
    ['PostRetries', summary.retries],
    ['GoneConnections', summary.gone],
    ['FailedRecords', summary.failed],
    ['TruncatedMessages', summary.truncated],
    ['SubscriberLookupFailures', summary.lookupFailures],
    ['SubscriberLookupRetries', summary.lookupRetries],
  ];
  for (const [name, value] of counts) metrics.addMetric(name, MetricUnit.Count, value);
  metrics.addMetric('FanoutDuration', MetricUnit.Milliseconds, summary.durationMs);
}
