import { MAX_SNAPSHOT_ITEMS, type PlainItem } from '@real-time-platform/protocol';
import { encodeToken } from '../../adapters/item-store';
import type { RealTimeDataReader } from '../../adapters/real-time-data-reader';
import { SnapshotPager } from '../../domain/snapshot-pages';

/**
 * The `snapshot` pages of one key for one connection, served by the fan-out when it meets the key's snapshot marker
 * on the stream (reserved-items.ts):
 *
 * - `position` is the highest sequence number of the key among the records of the batch being processed. Every one
 *   of those changes was committed before this batch was read, and the Query below runs after that, so the snapshot
 *   holds them all: a client drops live frames with `seq <= position` and loses nothing.
 * - The residual window: a change committed after the batch was read but before the Query is in the snapshot too,
 *   and also arrives later as a live frame with `seq > position`. The client applies it again, which the merge rule
 *   makes harmless (INSERT / MODIFY set the item to the same state, REMOVE deletes it again).
 * - Items are read consistently, in itemId order, without the reserved "$" rows, a Query page at a time, so memory
 *   holds one Query page and one snapshot page whatever the key's size. Past MAX_SNAPSHOT_ITEMS the last page says
 *   `complete: false` with a nextToken for `GET /items/{key}`.
 */

export interface SnapshotSource {
  reader: RealTimeDataReader;
  /** What clients may see of a stored item (presence items carry internal bookkeeping). */
  visibleItem?: (key: string, item: PlainItem) => PlainItem;
  maxItems?: number;
  /** Items per Query (DynamoDB also stops a page at 1 MB). */
  queryLimit?: number;
}

/** The key's snapshot pages as the bytes to post, read lazily: an error reading the table rejects the iteration. */
export async function* snapshotPages(
  source: SnapshotSource,
  snapshot: { key: string; position: string },
): AsyncGenerator<Uint8Array> {
  const { key } = snapshot;
  const pager = new SnapshotPager({
    key,
    position: snapshot.position,
    nextTokenOf: (itemId) => encodeToken(key, itemId),
    maxItems: source.maxItems ?? MAX_SNAPSHOT_ITEMS,
  });
  const visible = source.visibleItem ?? ((_key: string, item: PlainItem) => item);
  const queryLimit = source.queryLimit ?? 1000;
  let after: string | undefined;
  let partial = false;
  reading: for (;;) {
    // One item past the bound tells whether the snapshot is partial.
    const limit = Math.min(queryLimit, pager.maxItems - pager.count + 1);
    const page = await source.reader.page(key, { limit, ...(after === undefined ? {} : { after }) });
    for (const item of page.items) {
      if (pager.count === pager.maxItems) {
        partial = true;
        break reading;
      }
      for (const full of pager.add(visible(key, item))) yield full.data;
    }
    if (page.after === undefined) break;
    after = page.after;
  }
  yield pager.finish(partial).data;
}
