import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { EventBus } from '../../adapters/event-bus';
import { isPresenceChange, presenceDetailType, presenceMessage } from '../../domain/presence';
import { parseStreamRecord } from '../../domain/stream-changes';
import { type BackoffOptions, fullJitterDelay, sleep as realSleep } from '../../lib/backoff';
import { runWithConcurrency } from '../../lib/concurrency';
import { describeError } from '../../lib/errors';
import type { Log } from '../../lib/logging';
import type { BatchResponse } from './fanout';

/**
 * PresenceEventsFunction (when PresenceEventBusName is set): presence changes from the RealTimeData stream (the
 * template's filter passes `presence:` keys only) become EventBridge events, for consumers that want presence as an
 * event source (the AppSync seed's design):
 *   Source `rtp.presence`, DetailType `presence.connected` | `presence.disconnected` | `presence.updated`,
 *   Detail `{"userId","status","connections","page"?,"at","seq"}`.
 * PutEvents takes at most 10 entries a call; entries it reports failed (FailedEntryCount) are retried with jittered
 * backoff, and whatever still fails is logged and reported in batchItemFailures so Lambda re-delivers it.
 */

export interface PresenceEventsDeps {
  events: EventBus;
  eventBusName: string;
  /** REAL_TIME_ITEM_KEY. */
  keyAttribute: string;
  logger: Log;
  /** PutEvents attempts per entry, the first included. */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

export const EVENT_SOURCE = 'rtp.presence';
/** PutEvents' limit of entries per call. */
export const MAX_ENTRIES_PER_CALL = 10;

interface Pending {
  seq: string;
  entry: PutEventsRequestEntry;
}

/** One stream batch → PutEvents calls; the response names the records to re-deliver. */
export async function publishPresenceEvents(deps: PresenceEventsDeps, event: unknown): Promise<BatchResponse> {
  const now = deps.now ?? Date.now;
  const records = Array.isArray((event as { Records?: unknown } | null)?.Records)
    ? ((event as { Records: unknown[] }).Records as unknown[])
    : [];
  const pending: Pending[] = [];
  for (const record of records) {
    let parsed: ReturnType<typeof parseStreamRecord>;
    try {
      parsed = parseStreamRecord(record, deps.keyAttribute, now);
    } catch (error) {
      // One unreadable record is skipped, not a failed batch (as in the fan-out).
      parsed = { ok: false, reason: `unreadable record: ${describeError(error).message}` };
    }
    if (!parsed.ok) {
      deps.logger.warn('Stream record skipped', { reason: parsed.reason, seq: parsed.seq });
      continue;
    }
    if (!isPresenceChange(parsed.change)) continue;
    const message = presenceMessage(parsed.change);
    const detail = {
      userId: message.userId,
      status: message.presence.status,
      connections: message.presence.connections,
      ...(message.presence.page === undefined ? {} : { page: message.presence.page }),
      at: message.at,
      seq: message.seq,
    };
    pending.push({
      seq: message.seq,
      entry: {
        Source: EVENT_SOURCE,
        DetailType: presenceDetailType(message.event),
        Detail: JSON.stringify(detail),
        EventBusName: deps.eventBusName,
        Time: new Date(message.at),
      },
    });
  }

  const batches: Pending[][] = [];
  for (let start = 0; start < pending.length; start += MAX_ENTRIES_PER_CALL) {
    batches.push(pending.slice(start, start + MAX_ENTRIES_PER_CALL));
  }
  const failed: { seq: string; reason: string }[] = [];
  await runWithConcurrency(batches, 4, async (batch) => {
    failed.push(...(await putWithRetries(deps, batch)));
  });
  if (failed.length > 0) {
    deps.logger.error('Presence events not published; the records will be re-delivered', {
      failed: failed.slice(0, 10),
      count: failed.length,
    });
  }
  deps.logger.info('Presence events', { records: records.length, events: pending.length, failed: failed.length });
  return { batchItemFailures: failed.map(({ seq }) => ({ itemIdentifier: seq })) };
}

/** Sends one batch, re-sending only the entries PutEvents reports failed; returns what still failed. */
async function putWithRetries(deps: PresenceEventsDeps, batch: Pending[]): Promise<{ seq: string; reason: string }[]> {
  const maxAttempts = deps.maxAttempts ?? 4;
  const sleep = deps.sleep ?? realSleep;
  let left = batch;
  let reasons = new Map<string, string>();
  for (let attempt = 1; ; attempt++) {
    reasons = new Map();
    try {
      // Results answer the request entries in order; an entry with an ErrorCode failed.
      const results = await deps.events.put(left.map((p) => p.entry));
      left = left.filter((pending, index) => {
        const result = results[index];
        if (result === undefined) {
          reasons.set(pending.seq, 'no result for the entry');
          return true;
        }
        if (result.ErrorCode === undefined) return false;
        reasons.set(pending.seq, `${result.ErrorCode}: ${result.ErrorMessage ?? ''}`);
        return true;
      });
    } catch (error) {
      const { name, message } = describeError(error);
      for (const pending of left) reasons.set(pending.seq, `${name}: ${message}`);
    }
    if (left.length === 0) return [];
    if (attempt >= maxAttempts) return left.map(({ seq }) => ({ seq, reason: reasons.get(seq) ?? 'unknown' }));
    deps.logger.warn('Some presence events failed; retrying them', { failed: left.length, attempt });
    await sleep(fullJitterDelay(attempt, deps.backoff ?? { baseMs: 100, capMs: 2000 }, deps.random));
  }
}

/** The PresenceEventsFunction handler. */
export function createPresenceEventsHandler(deps: PresenceEventsDeps): (event: unknown) => Promise<BatchResponse> {
  return (event) => publishPresenceEvents(deps, event);
}
