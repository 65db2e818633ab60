import { CLIENT_ACTIONS } from './frames';
import type { PresenceMessage, PresenceUpdatedMessage } from './presence';

/** Server → client messages: JSON, one per frame, each with a `type` (the PRODUCT.md envelope). */

/** API Gateway's limit for one WebSocket message (128 KB); bigger posts fail with 413. */
export const MAX_MESSAGE_BYTES = 128 * 1024;

export type ItemEvent = 'INSERT' | 'MODIFY' | 'REMOVE';
export type PlainItem = Record<string, unknown>;

export interface ItemMessage {
  type: 'item';
  event: ItemEvent;
  key: string;
  itemId: string;
  /** The new image; the last known state for REMOVE. Absent when `truncated`. */
  item?: PlainItem;
  /** Present (true) when the item is too large for one message: fetch it over REST. */
  truncated?: true;
  /** DynamoDB Stream SequenceNumber: per-key order and client de-duplication (delivery is at least once). */
  seq: string;
  /** Change time, epoch ms. */
  at: number;
}

export interface SnapshotMessage {
  type: 'snapshot';
  key: string;
  items: PlainItem[];
}

export type ErrorCode =
  | 'BAD_REQUEST'
  | 'UNKNOWN_ACTION'
  | 'LIMIT_EXCEEDED'
  | 'INTERNAL_ERROR'
  /** The action needs a signed-in user (AuthMode=jwt). */
  | 'UNAUTHORIZED'
  /** The signed-in user may not do this (a key they cannot read, a conversation they are not in …). */
  | 'FORBIDDEN'
  /** The conversation (or other named thing) does not exist. */
  | 'NOT_FOUND';

export type ServerMessage =
  | ItemMessage
  | SnapshotMessage
  | { type: 'subscribed'; keys: string[] }
  | { type: 'unsubscribed'; keys: string[] }
  | { type: 'pong'; at: number; connectionId: string }
  | { type: 'error'; code: ErrorCode; message: string }
  | PresenceMessage
  | PresenceUpdatedMessage;

export interface ItemChange {
  event: ItemEvent;
  key: string;
  itemId: string;
  item: PlainItem;
  seq: string;
  at: number;
}

/** The `item` message announcing one change. */
export function itemMessage(change: ItemChange): ItemMessage {
  return {
    type: 'item',
    event: change.event,
    key: change.key,
    itemId: change.itemId,
    item: change.item,
    seq: change.seq,
    at: change.at,
  };
}

/** The `item` notice sent instead when the full message would not fit in one WebSocket message. */
export function truncatedItemMessage(change: Omit<ItemChange, 'item'>): ItemMessage {
  return {
    type: 'item',
    event: change.event,
    key: change.key,
    itemId: change.itemId,
    truncated: true,
    seq: change.seq,
    at: change.at,
  };
}

/** `{"type":"subscribed","keys":[…]}` */
export function subscribedMessage(keys: readonly string[]): ServerMessage {
  return { type: 'subscribed', keys: [...keys] };
}

/** `{"type":"unsubscribed","keys":[…]}` */
export function unsubscribedMessage(keys: readonly string[]): ServerMessage {
  return { type: 'unsubscribed', keys: [...keys] };
}

/** `{"type":"pong","at":…,"connectionId":…}`: tells a client its own connection id. */
export function pongMessage(at: number, connectionId: string): ServerMessage {
  return { type: 'pong', at, connectionId };
}

/** An `error` frame; `message` must be written for the client, never a raw exception. */
export function errorMessage(code: ErrorCode, message: string): ServerMessage {
  return { type: 'error', code, message };
}

/** The reply to an action we do not know. */
export function unknownActionMessage(action: unknown): ServerMessage {
  const named =
    typeof action === 'string' && action.length > 0
      ? `unknown action ${JSON.stringify(action.slice(0, 64))}`
      : 'missing action';
  return errorMessage('UNKNOWN_ACTION', `${named}; valid actions: ${CLIENT_ACTIONS.join(', ')}`);
}

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
