import { errorMessage, type ItemChange, MAX_MESSAGE_BYTES, truncatedItemMessage } from '@real-time-platform/protocol';
import type { PostResult } from '../../adapters/connection-sender';
import { framesInNextPost, type PostEncoder } from '../../domain/coalesce';
import type { FanoutPlan } from '../../domain/fanout-plan';
import { encodeMessage } from '../../domain/messages';
import { describeError } from '../../lib/errors';

/**
 * Delivery to one connection within one invocation: its frames, in stream order, coalesced into as few posts as fit
 * 128 KB (domain/coalesce.ts). What a post's outcome means for the records it carried:
 * - sent: delivered;
 * - 410 gone: the connection is ended once, nothing more is posted to it, its records count as delivered;
 * - 413 too large: a batch is split and its frames sent one by one; a lone item frame becomes the `truncated`
 *   notice; a lone snapshot page (never over 128 KB as we count) becomes an error frame asking for a new snapshot;
 * - failed after the sender's retries, or not sent before the deadline: every record the post carried is reported,
 *   with every later record of their keys (FanoutPlan), and frames of those keys are not posted any more — to this
 *   connection or any other — so each key keeps its order for every subscriber when Lambda re-delivers.
 */

/** An item change for every subscriber of its key. */
export interface ChangeEntry {
  kind: 'change';
  key: string;
  seq: string;
  change: ItemChange;
  /** The frame, encoded once for every subscriber (the truncated notice already when over 128 KB). */
  data: Uint8Array;
  truncated: boolean;
  /** The truncated notice, encoded on the first 413 and reused for the other subscribers. */
  notice?: Uint8Array;
}

/** A snapshot for the one connection that asked for it (its marker's record). */
export interface SnapshotEntry {
  kind: 'snapshot';
  key: string;
  seq: string;
  connectionId: string;
  /** The highest sequence number of the key in this batch (fanout-snapshots.ts). */
  position: string;
}

export type Entry = ChangeEntry | SnapshotEntry;

/** What every connection's delivery shares within one invocation. */
export interface DeliveryContext {
  plan: FanoutPlan<Entry>;
  /** Off: every frame is a post of its own (COALESCE_POSTS=false). */
  coalesce: boolean;
  /** Builds a post's bytes; batches shared by many connections are built once (createPostEncoder). */
  encodePost: PostEncoder;
  post(connectionId: string, data: Uint8Array): Promise<PostResult>;
  /** The entries a post that went through carried (for the redelivery ledger; absent when none is kept). */
  onSent?(connectionId: string, entries: readonly Entry[]): void;
  /** Ends a connection found gone (once per connection). */
  markGone(connectionId: string): void;
  isGone(connectionId: string): boolean;
  /** The snapshot's pages, read lazily. */
  snapshotPages(entry: SnapshotEntry): AsyncIterator<Uint8Array>;
  pastDeadline(): boolean;
  /** A post that failed for good, for the log (the records are already marked failed). */
  onFailedPost(connectionId: string, entries: readonly Entry[], result: PostResult): void;
  onSnapshotError(connectionId: string, entry: SnapshotEntry, error: unknown): void;
  counts: DeliveryCounts;
}

export interface DeliveryCounts {
  /** Posts carrying a `batch` frame. */
  batches: number;
  /** Frames delivered (elements of batches included). */
  frames: number;
  /** Truncated notices delivered. */
  truncated: number;
  /** Snapshots whose last page was delivered. */
  snapshots: number;
}

interface Frame {
  entry: Entry;
  data: Uint8Array;
  /** The frame is a truncated notice. */
  truncated?: boolean;
  /** The last page of a snapshot. */
  lastPage?: boolean;
  /** A snapshot page (or the error frame that replaced one). */
  page?: boolean;
}

/** Posts `entries` (this connection's, in stream order) to the connection; see the module comment. */
export async function deliverToConnection(
  context: DeliveryContext,
  connectionId: string,
  entries: readonly Entry[],
): Promise<void> {
  const { plan } = context;
  const pending: Frame[] = [];
  let next = 0;
  let paging: { entry: SnapshotEntry; pages: AsyncIterator<Uint8Array>; lookahead?: Uint8Array } | undefined;
  // After a 413 on a batch, its frames go out one per post.
  let alone = 0;

  const pendingBytes = () => {
    let total = 32;
    for (const frame of pending) total += frame.data.byteLength + 1;
    return total;
  };

  /** Reads frames ahead until the next post is full or nothing is left. */
  const refill = async () => {
    while (pendingBytes() <= MAX_MESSAGE_BYTES && (paging !== undefined || next < entries.length)) {
      if (paging !== undefined) {
        const current = paging;
        try {
          // One page of lookahead tells which page is the last (its post completes the snapshot).
          const page = current.lookahead ?? (await current.pages.next()).value;
          if (page === undefined) {
            paging = undefined;
            continue;
          }
          const following = await current.pages.next();
          current.lookahead = following.done === true ? undefined : following.value;
          pending.push({ entry: current.entry, data: page, page: true, lastPage: following.done === true });
          if (following.done === true) paging = undefined;
        } catch (error) {
          // The table could not be read: the marker's record (and the key's later ones) are re-delivered.
          paging = undefined;
          plan.fail(current.entry);
          context.onSnapshotError(connectionId, current.entry, error);
        }
        continue;
      }
      const entry = entries[next++] as Entry;
      if (plan.hasFailed(entry)) continue;
      if (entry.kind === 'change') pending.push({ entry, data: entry.data, truncated: entry.truncated });
      else paging = { entry, pages: context.snapshotPages(entry) };
    }
  };

  const failRest = () => {
    for (const frame of pending) plan.fail(frame.entry);
    if (paging !== undefined) plan.fail(paging.entry);
    for (let i = next; i < entries.length; i++) plan.fail(entries[i] as Entry);
  };

  for (;;) {
    if (context.isGone(connectionId)) return;
    await refill();
    // Another connection's failure may have failed these keys meanwhile: their frames would only be repeated.
    for (let i = pending.length - 1; i >= 0; i--) if (plan.hasFailed((pending[i] as Frame).entry)) pending.splice(i, 1);
    if (paging !== undefined && plan.hasFailed(paging.entry)) paging = undefined;
    if (pending.length === 0) {
      if (paging === undefined && next >= entries.length) return;
      continue;
    }
    if (context.pastDeadline()) {
      failRest();
      return;
    }
    const count = alone > 0 || !context.coalesce ? 1 : framesInNextPost(pending.map((frame) => frame.data.byteLength));
    alone = Math.max(0, alone - count);
    const frames = pending.splice(0, count);
    const result = await context.post(connectionId, context.encodePost(frames.map((frame) => frame.data)));

    if (result.status === 'sent') {
      context.onSent?.(
        connectionId,
        frames.map((frame) => frame.entry),
      );
      context.counts.frames += frames.length;
      if (frames.length > 1) context.counts.batches++;
      for (const frame of frames) {
        if (frame.truncated === true) context.counts.truncated++;
        if (frame.lastPage === true) context.counts.snapshots++;
      }
      continue;
    }
    if (result.status === 'gone') {
      context.markGone(connectionId);
      return;
    }
    const [only] = frames;
    if (result.status === 'tooLarge' && frames.length > 1) {
      pending.unshift(...frames);
      alone = frames.length;
      continue;
    }
    if (result.status === 'tooLarge' && only !== undefined && only.entry.kind === 'change' && only.truncated !== true) {
      const entry = only.entry;
      entry.notice ??= encodeMessage(truncatedItemMessage(entry.change));
      pending.unshift({ entry, data: entry.notice, truncated: true });
      alone = 1;
      continue;
    }
    if (result.status === 'tooLarge' && only !== undefined && only.entry.kind === 'snapshot' && only.page === true) {
      // Not expected (pages are built under 128 KB); the client is told to ask again rather than left waiting.
      const entry = only.entry;
      if (paging?.entry === entry) paging = undefined;
      for (let i = pending.length - 1; i >= 0; i--) if ((pending[i] as Frame).entry === entry) pending.splice(i, 1);
      const message = `the snapshot of ${JSON.stringify(entry.key)} could not be sent; subscribe again with "snapshot":true`;
      pending.unshift({ entry, data: encodeMessage(errorMessage('INTERNAL_ERROR', message)) });
      alone = 1;
      context.onSnapshotError(connectionId, entry, new Error('a snapshot page was refused as too large (413)'));
      continue;
    }
    const carried = [...new Set(frames.map((frame) => frame.entry))];
    for (const entry of carried) plan.fail(entry);
    context.onFailedPost(connectionId, carried, result);
  }
}

/** A log-friendly description of a post that did not go through. */
export function describePostFailure(result: PostResult): { name: string; message: string } {
  return result.status === 'failed' ? describeError(result.error) : { name: result.status, message: '' };
}
