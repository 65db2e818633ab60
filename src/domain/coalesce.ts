import { MAX_MESSAGE_BYTES } from '@real-time-platform/protocol';

/**
 * Coalescing: the frames one fan-out invocation has for one connection go out in as few posts as fit API Gateway's
 * 128 KB, as `{"type":"batch","messages":[<frame>,<frame>,…]}` — each element exactly the frame's own JSON, in order.
 * A post of one frame is that frame alone, unchanged, so a client at low load sees what it always saw. Frames are
 * joined as bytes (they are JSON already), never parsed and serialised again.
 */

const HEAD = Buffer.from('{"type":"batch","messages":[', 'utf8');
const TAIL = Buffer.from(']}', 'utf8');
const COMMA = Buffer.from(',', 'utf8');

/** Bytes of the post that carries frames of these sizes: the frame itself when alone, else the batch. */
export function postBytes(frameSizes: readonly number[]): number {
  if (frameSizes.length === 1) return frameSizes[0] as number;
  let total = HEAD.byteLength + TAIL.byteLength + Math.max(0, frameSizes.length - 1);
  for (const size of frameSizes) total += size;
  return total;
}

/**
 * How many frames from the start of `frameSizes` go into the next post: as many as fit in `maxBytes`, and always at
 * least one (a frame over the limit alone goes out alone, and the gateway's 413 decides what becomes of it).
 */
export function framesInNextPost(frameSizes: readonly number[], maxBytes = MAX_MESSAGE_BYTES): number {
  if (frameSizes.length <= 1) return frameSizes.length;
  let batch = HEAD.byteLength + TAIL.byteLength + (frameSizes[0] as number);
  let count = 1;
  while (count < frameSizes.length) {
    const next = batch + 1 + (frameSizes[count] as number);
    if (next > maxBytes) break;
    batch = next;
    count++;
  }
  return count;
}

/** The bytes of one post: the lone frame as it is, or the batch of several. */
export function encodePost(frames: readonly Uint8Array[]): Uint8Array {
  if (frames.length === 1) return frames[0] as Uint8Array;
  const parts: Uint8Array[] = [HEAD];
  frames.forEach((frame, index) => {
    if (index > 0) parts.push(COMMA);
    parts.push(frame);
  });
  parts.push(TAIL);
  return Buffer.concat(parts);
}

/** Bytes of batches a PostEncoder remembers: a few posts' worth, whatever the number of connections. */
export const REMEMBERED_BATCH_BYTES = 4 * MAX_MESSAGE_BYTES;

/** Builds the bytes of one post from its frames (encodePost's result). */
export type PostEncoder = (frames: readonly Uint8Array[]) => Uint8Array;

/**
 * `encodePost` for one invocation. The subscribers of one key get the same frames (the same encoded Uint8Arrays), so
 * their batches are the same bytes: the encoder builds such a batch once and hands the same Uint8Array to every
 * connection, and the poster then hashes it once for SigV4 (signed-poster.ts). With 10,000 subscribers that is one
 * batch instead of 10,000. Batches are remembered by the identity of their frames; past `maxBytes` the oldest are
 * forgotten first.
 */
export function createPostEncoder(maxBytes = REMEMBERED_BATCH_BYTES): PostEncoder {
  const frameIds = new WeakMap<Uint8Array, number>();
  const batches = new Map<string, Uint8Array>();
  let rememberedBytes = 0;
  let nextId = 0;
  const idOf = (frame: Uint8Array): number => {
    let id = frameIds.get(frame);
    if (id === undefined) {
      id = nextId++;
      frameIds.set(frame, id);
    }
    return id;
  };
  return (frames) => {
    if (frames.length === 1) return frames[0] as Uint8Array;
    const key = frames.map(idOf).join(',');
    const known = batches.get(key);
    if (known !== undefined) return known;
    const batch = encodePost(frames);
    batches.set(key, batch);
    rememberedBytes += batch.byteLength;
    // Map iteration is insertion order: the oldest go first.
    for (const [oldKey, old] of batches) {
      if (rememberedBytes <= maxBytes) break;
      batches.delete(oldKey);
      rememberedBytes -= old.byteLength;
    }
    return batch;
  };
}
