import { z } from 'zod';
import { readMessagesActionSchema, sendMessageActionSchema } from './chat';
import { keyProblem } from './keys';
import { MAX_FRAME_BODY_BYTES, MAX_KEYS_PER_REQUEST } from './limits';
import { updatePresenceActionSchema } from './presence';
import { utf8ByteLength } from './text';

/** Client → server frames: JSON objects routed by their `action` (API Gateway's `$request.body.action`). */

/** The actions a client can send. */
export const CLIENT_ACTIONS = [
  'subscribe',
  'unsubscribe',
  'heartbeat',
  'update-presence',
  'send-message',
  'read-messages',
] as const;
export type ClientActionName = (typeof CLIENT_ACTIONS)[number];

const KEYS_MESSAGE = 'keys must be a non-empty array of strings';

const keySchema = z.string({ error: 'each key must be a string' }).superRefine((key, ctx) => {
  const problem = keyProblem(key);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

const keysSchema = z
  .array(keySchema, { error: KEYS_MESSAGE })
  .min(1, { error: KEYS_MESSAGE })
  .max(MAX_KEYS_PER_REQUEST, { error: `at most ${MAX_KEYS_PER_REQUEST} keys per request` })
  // A repeated key is one subscription (and DynamoDB refuses a batch writing one row twice).
  .transform((keys) => [...new Set(keys)]);

/** `{"action":"subscribe","keys":[…],"snapshot":true}` */
export const subscribeActionSchema = z.object({
  action: z.literal('subscribe').optional(),
  keys: keysSchema,
  snapshot: z.boolean({ error: 'snapshot must be true or false' }).optional(),
});

/** `{"action":"unsubscribe","keys":[…]}` */
export const unsubscribeActionSchema = z.object({
  action: z.literal('unsubscribe').optional(),
  keys: keysSchema,
});

/** `{"action":"heartbeat"}` */
export const heartbeatActionSchema = z.object({ action: z.literal('heartbeat').optional() });

export type SubscribeAction = z.output<typeof subscribeActionSchema>;
export type UnsubscribeAction = z.output<typeof unsubscribeActionSchema>;
export type HeartbeatAction = z.output<typeof heartbeatActionSchema>;

/** Every action's schema, by name. */
export const clientActionSchemas = {
  subscribe: subscribeActionSchema,
  unsubscribe: unsubscribeActionSchema,
  heartbeat: heartbeatActionSchema,
  'update-presence': updatePresenceActionSchema,
  'send-message': sendMessageActionSchema,
  'read-messages': readMessagesActionSchema,
} as const satisfies Record<ClientActionName, z.ZodType>;

/** What a client sends, as it writes it (before the server's defaults and transforms). */
export type ClientAction = {
  [Name in ClientActionName]: z.input<(typeof clientActionSchemas)[Name]> & { action: Name };
}[ClientActionName];

export type FrameParse<T> = { ok: true; frame: T } | { ok: false; message: string };

/** Decodes a frame body into a JSON object, or says in client words why it cannot. */
export function parseFrameBody(body: string | undefined | null): FrameParse<Record<string, unknown>> {
  if (body === undefined || body === null || body.length === 0) {
    return { ok: false, message: 'the message is empty; send a JSON object with an action' };
  }
  // Cheap bound before the exact one: a UTF-16 code unit is at most 3 UTF-8 bytes.
  if (body.length > MAX_FRAME_BODY_BYTES / 3 && utf8ByteLength(body) > MAX_FRAME_BODY_BYTES) {
    return { ok: false, message: `the message is too large; at most ${MAX_FRAME_BODY_BYTES} bytes` };
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { ok: false, message: 'the message is not valid JSON; send e.g. {"action":"heartbeat"}' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, message: 'the message must be a JSON object with an action, e.g. {"action":"heartbeat"}' };
  }
  return { ok: true, frame: value as Record<string, unknown> };
}

/** Validates a decoded frame against a schema; the message names the first offending field. */
export function validateFrame<S extends z.ZodType>(schema: S, frame: unknown): FrameParse<z.output<S>> {
  const result = schema.safeParse(frame);
  if (result.success) return { ok: true, frame: result.data };
  const issue = result.error.issues[0];
  if (issue === undefined) return { ok: false, message: 'invalid message' };
  const path = issue.path.map(String);
  // Array element problems read best with the offending index: "keys[2]: a key must not be empty".
  const where =
    path.length === 0
      ? ''
      : `${path[0]}${path
          .slice(1)
          .map((p) => `[${p}]`)
          .join('')}: `;
  const text =
    path.length === 1 && issue.message.startsWith(`${path[0]} `) ? issue.message : `${where}${issue.message}`;
  return { ok: false, message: text };
}
