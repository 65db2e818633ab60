import { z } from 'zod';
import { CLIENT_ACTIONS } from './actions';
import { ERROR_CODES, type ErrorCode, ITEM_EVENTS, type ItemEvent } from './frame-guard';
import type { PageInfo, PresenceMessage, PresenceUpdatedMessage } from './presence';

/**
 * Server → client frames: JSON, one per WebSocket message, each with a `type`. The schemas let clients (and tests)
 * check what they receive; the builders are what the server sends.
 */

// ITEM_EVENTS and ERROR_CODES live in frame-guard.ts, which browser clients import without zod.
/** An item as plain JSON (DynamoDB's types unmarshalled). */
export type PlainItem = Record<string, unknown>;

const plainItemSchema = z.record(z.string(), z.unknown());

/**
 * `{"type":"item","event","key","itemId","item","seq","at"}`: one change of an item of a subscribed key. `item` is the
 * new image (the last known state for REMOVE), absent when `truncated` (the item is too large for one message: fetch
 * it over REST). `seq` is the DynamoDB Stream SequenceNumber: per-key order and de-duplication (delivery is at least
 * once). `at` is the change time, epoch ms.
 */
export const itemFrameSchema = z.object({
  type: z.literal('item'),
  event: z.enum(ITEM_EVENTS),
  key: z.string(),
  itemId: z.string(),
  item: plainItemSchema.optional(),
  truncated: z.literal(true).optional(),
  /**
   * Conflation (opt-in per deployment): this change replaced this many older changes of the same item from the same
   * stream batch, which were not sent. Absent when nothing was replaced.
   */
  conflated: z.number().int().positive().optional(),
  seq: z.string(),
  at: z.number(),
});
export type ItemMessage = z.output<typeof itemFrameSchema>;

/** Most items a snapshot carries; past it the snapshot is partial and the rest is paged with GET /items/{key}. */
export const MAX_SNAPSHOT_ITEMS = 10_000;

/**
 * `{"type":"snapshot","key","items":[…],"position","page","more"|"complete"}`: the current items of a key, after
 * `subscribe` with `"snapshot":true`, paged over as many frames as it takes (each under 128 KB). Every page carries the
 * same `position`: the stream sequence number the snapshot was read at — it already holds every change of the key up
 * to and including `position`, so a client ignores live frames of the key with `seq <= position` (see the README's
 * merge rule). `page` counts from 0: a page 0 starts a snapshot afresh (a re-delivered stream batch can send one
 * again). `more: true` says another page follows; the last page has `complete: true` when the snapshot holds every
 * item of the key, or `complete: false` with `nextToken` (for `GET /items/{key}?nextToken=…`) when the key had more
 * than MAX_SNAPSHOT_ITEMS items. An item too large for a frame of its own is sent as `{itemId, truncated: true}`.
 */
export const snapshotFrameSchema = z.object({
  type: z.literal('snapshot'),
  key: z.string(),
  items: z.array(plainItemSchema),
  position: z.string(),
  page: z.number().int().nonnegative(),
  more: z.literal(true).optional(),
  complete: z.boolean().optional(),
  nextToken: z.string().optional(),
});
export type SnapshotMessage = z.output<typeof snapshotFrameSchema>;

export const subscribedFrameSchema = z.object({ type: z.literal('subscribed'), keys: z.array(z.string()) });
export const unsubscribedFrameSchema = z.object({ type: z.literal('unsubscribed'), keys: z.array(z.string()) });
/** The reply to `heartbeat`; tells a client its own connection id. */
export const pongFrameSchema = z.object({ type: z.literal('pong'), at: z.number(), connectionId: z.string() });

/** A frame the platform cannot act on; the connection stays open. Chat errors also name the action and message. */
export const errorFrameSchema = z.object({
  type: z.literal('error'),
  code: z.enum(ERROR_CODES),
  message: z.string(),
  action: z.string().optional(),
  conversationId: z.string().optional(),
  tempMessageId: z.string().optional(),
});

const pageSchema = z.object({ url: z.string(), title: z.string(), domain: z.string() }) satisfies z.ZodType<PageInfo>;

export const presenceFrameSchema = z.object({
  type: z.literal('presence'),
  event: z.enum(['join', 'leave', 'update']),
  key: z.string(),
  userId: z.string(),
  presence: z.object({
    status: z.enum(['online', 'offline']),
    connections: z.number(),
    since: z.number().optional(),
    lastSeenAt: z.number().optional(),
    page: pageSchema.optional(),
    latestPage: pageSchema.optional(),
  }),
  seq: z.string(),
  at: z.number(),
}) satisfies z.ZodType<PresenceMessage>;

export const presenceUpdatedFrameSchema = z.object({
  type: z.literal('presence-updated'),
  changed: z.boolean(),
  page: pageSchema.nullable(),
}) satisfies z.ZodType<PresenceUpdatedMessage>;

/**
 * Several frames for one connection from one fan-out invocation, in one WebSocket message: each element is exactly
 * the frame that would otherwise have been sent alone, in the order it would have been sent. A lone frame is still
 * sent alone; every batch stays under 128 KB.
 */
export const batchFrameSchema = z.object({
  type: z.literal('batch'),
  messages: z.array(z.lazy(() => singleFrameSchema)),
});
export type BatchMessage = { type: 'batch'; messages: ServerMessage[] };

/** Every frame the server sends alone or inside a batch, by `type`. */
const singleFrameSchema = z.discriminatedUnion('type', [
  itemFrameSchema.extend({ duplicate: z.literal(true).optional(), seq: z.string().optional() }),
  snapshotFrameSchema,
  subscribedFrameSchema,
  unsubscribedFrameSchema,
  pongFrameSchema,
  errorFrameSchema,
  presenceFrameSchema,
  presenceUpdatedFrameSchema,
]);

/** Every frame the server sends, by `type`. */
export const serverFrameSchema = z.union([singleFrameSchema, batchFrameSchema]);
export type ServerFrame = z.output<typeof serverFrameSchema>;

/** What the server sends; `ServerFrame` is the same as a client may receive it (replays included). */
export type ServerMessage =
  | ItemMessage
  | SnapshotMessage
  | z.output<typeof subscribedFrameSchema>
  | z.output<typeof unsubscribedFrameSchema>
  | z.output<typeof pongFrameSchema>
  | { type: 'error'; code: ErrorCode; message: string }
  | PresenceMessage
  | PresenceUpdatedMessage;

/** One change of an item, as the fan-out reads it from the stream. */
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
