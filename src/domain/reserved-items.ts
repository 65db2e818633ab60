import type { ItemChange } from '@real-time-platform/protocol';

/**
 * itemIds starting with "$" are the platform's own rows inside a key's partition — today only snapshot markers.
 * They live under the key itself because the key's partition is what orders them with the key's changes on the
 * stream (see snapshotMarkerItem). Producers cannot write them (items.ts), the fan-out never sends them, and no
 * reader of a key's items returns them.
 */
export const RESERVED_ITEM_ID_PREFIX = '$';

/** Whether an itemId names one of the platform's own rows. */
export function isReservedItemId(itemId: string): boolean {
  return itemId.startsWith(RESERVED_ITEM_ID_PREFIX);
}

/**
 * Sort-key conditions that together cover every itemId except reserved ones, in itemId order. DynamoDB compares
 * strings by UTF-8 bytes: every "$…" id lies in ["$", "%"), so reads of a key's items query the two ranges around it
 * and never read a marker at all (no capacity spent on them, however many TTL has not removed yet).
 */
export const PUBLIC_ITEM_ID_RANGES = [
  { condition: 'itemId < :bound', bound: '$', contains: (itemId: string) => itemId < '$' },
  { condition: 'itemId >= :bound', bound: '%', contains: (itemId: string) => itemId >= '%' },
] as const;

const SNAPSHOT_MARKER_PREFIX = '$snapshot#';
/**
 * Markers expire after this long (TTL on `expiresAt`). The fan-out serves one within a stream batch or two; the TTL
 * only keeps the table clean, and whenever DynamoDB gets round to the deletion its REMOVE record is skipped.
 */
export const SNAPSHOT_MARKER_TTL_SECONDS = 300;

/**
 * The snapshot marker `subscribe` with `"snapshot":true` writes for one key: a small item under the key itself, so
 * it reaches the stream in order with the key's changes (same partition, same shard). The fan-out, meeting its
 * INSERT, sends the key's items to `connectionId` with an exact position. `requestId` keeps two snapshots of one
 * key asked by one connection apart.
 */
export function snapshotMarkerItem(marker: {
  keyAttribute: string;
  key: string;
  connectionId: string;
  requestId: string;
  now: number;
}): Record<string, string | number> {
  return {
    [marker.keyAttribute]: marker.key,
    itemId: `${SNAPSHOT_MARKER_PREFIX}${marker.connectionId}#${marker.requestId}`,
    connectionId: marker.connectionId,
    expiresAt: Math.floor(marker.now / 1000) + SNAPSHOT_MARKER_TTL_SECONDS,
  };
}

/** The attributes a marker may carry: the message function's role may write these and no others. */
export const SNAPSHOT_MARKER_ATTRIBUTES = ['itemId', 'connectionId', 'expiresAt'] as const;

/**
 * What a stream change of a reserved row asks of the fan-out: a snapshot for a connection (the INSERT of a marker),
 * or nothing (a marker's TTL REMOVE, any other reserved row). Undefined for ordinary items.
 */
export function reservedChangeOf(
  change: Pick<ItemChange, 'event' | 'itemId' | 'item'>,
): { kind: 'snapshot'; connectionId: string } | { kind: 'ignore' } | undefined {
  if (!isReservedItemId(change.itemId)) return undefined;
  const connectionId = change.item.connectionId;
  if (
    change.event === 'INSERT' &&
    change.itemId.startsWith(SNAPSHOT_MARKER_PREFIX) &&
    typeof connectionId === 'string' &&
    connectionId.length > 0
  ) {
    return { kind: 'snapshot', connectionId };
  }
  return { kind: 'ignore' };
}
