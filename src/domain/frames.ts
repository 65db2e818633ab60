import { z } from 'zod';
import { keyProblem, MAX_KEYS_PER_REQUEST } from './keys';

/** Client → server frames (route selection `$request.body.action`). */

/** Largest frame body we parse. API Gateway allows 128 KB messages; the largest valid frame (20 keys of 1 KB, escaped) is far below this. */
export const MAX_FRAME_BODY_BYTES = 64 * 1024;

/** The actions a client can send. */
export const CLIENT_ACTIONS = [
  'subscribe',
  'unsubscribe',
  'heartbeat',
  'update-presence',
  'send-message',
  'read-messages',
] as const;
export type ClientAction = (typeof CLIENT_ACTIONS)[number];

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
export const subscribeFrameSchema = z.object({
  action: z.literal('subscribe').optional(),
  keys: keysSchema,
  snapshot: z.boolean({ error: 'snapshot must be true or false' }).optional(),
});

/** `{"action":"unsubscribe","keys":[…]}` */
export const unsubscribeFrameSchema = z.object({
  action: z.literal('unsubscribe').optional(),
  keys: keysSchema,
});

/** `{"action":"heartbeat"}` */
export const heartbeatFrameSchema = z.object({ action: z.literal('heartbeat').optional() });

export type SubscribeFrame = z.output<typeof subscribeFrameSchema>;
export type UnsubscribeFrame = z.output<typeof unsubscribeFrameSchema>;
export type HeartbeatFrame = z.output<typeof heartbeatFrameSchema>;

export type FrameParse<T> = { ok: true; frame: T } | { ok: false; message: string };

/** Decodes a frame body into a JSON object, or says in client words why it cannot. */
export function parseFrameBody(body: string | undefined | null): FrameParse<Record<string, unknown>> {
  if (body === undefined || body === null || body.length === 0) {
    return { ok: false, message: 'the message is empty; send a JSON object with an action' };
  }
  // Cheap bound before the exact one: a UTF-16 code unit is at most 3 UTF-8 bytes.
  if (body.length > MAX_FRAME_BODY_BYTES && Buffer.byteLength(body, 'utf8') > MAX_FRAME_BODY_BYTES) {
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
