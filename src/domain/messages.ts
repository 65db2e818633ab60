import {
  MAX_MESSAGE_BYTES,
  type PlainItem,
  type ServerMessage,
  type SnapshotMessage,
} from '@real-time-platform/protocol';

/** Server → client frames as the server encodes and pages them. Their shapes are in the protocol package. */

/** A message as the UTF-8 bytes posted to a connection. */
export function encodeMessage(message: ServerMessage): Uint8Array {
  return Buffer.from(JSON.stringify(message), 'utf8');
}

/**
 * Snapshot frames for one key, each within `maxBytes`: items are packed in order and a new frame starts when the
 * next item would not fit. An item too big for a frame of its own is replaced by `{itemId, truncated: true}` so
 * the client still learns it exists and can fetch it over REST.
 */
export function snapshotMessages(
  key: string,
  items: readonly PlainItem[],
  maxBytes = MAX_MESSAGE_BYTES,
): SnapshotMessage[] {
  const overhead = Buffer.byteLength(JSON.stringify({ type: 'snapshot', key, items: [] }), 'utf8');
  const frames: SnapshotMessage[] = [];
  let current: PlainItem[] = [];
  let size = overhead;
  for (const original of items) {
    let item = original;
    let bytes = Buffer.byteLength(JSON.stringify(item), 'utf8');
    if (overhead + bytes > maxBytes) {
      item = { itemId: original.itemId, truncated: true };
      bytes = Buffer.byteLength(JSON.stringify(item), 'utf8');
    }
    // +1 for the comma between array elements.
    const added = current.length === 0 ? bytes : bytes + 1;
    if (current.length > 0 && size + added > maxBytes) {
      frames.push({ type: 'snapshot', key, items: current });
      current = [];
      size = overhead;
      current.push(item);
      size += bytes;
    } else {
      current.push(item);
      size += added;
    }
  }
  // An empty snapshot is still sent: it tells the client "nothing yet" rather than leaving it waiting.
  if (current.length > 0 || frames.length === 0) frames.push({ type: 'snapshot', key, items: current });
  return frames;
}
