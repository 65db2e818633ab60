import type { ServerFrame } from './frames';

/**
 * The server frames checked without zod: the same rules as `serverFrameSchema` (a unit test holds the two together
 * on generated frames), in a few hundred bytes instead of zod's tens of kilobytes, for browser clients.
 */

export const ITEM_EVENTS = ['INSERT', 'MODIFY', 'REMOVE'] as const;
export type ItemEvent = (typeof ITEM_EVENTS)[number];

export const ERROR_CODES = [
  'BAD_REQUEST',
  'UNKNOWN_ACTION',
  'LIMIT_EXCEEDED',
  /** Ours: retry. */
  'INTERNAL_ERROR',
  /** The action needs a signed-in user (AuthMode=jwt). */
  'UNAUTHORIZED',
  /** The signed-in user may not do this (a key they cannot read, a conversation they are not in …). */
  'FORBIDDEN',
  /** The conversation (or other named thing) does not exist. */
  'NOT_FOUND',
  /** The connection's token has expired (AuthMode=jwt): reconnect with a fresh one. */
  'TOKEN_EXPIRED',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** A frame that is not inside a batch. */
export type SingleServerFrame = Exclude<ServerFrame, { type: 'batch' }>;

/** What `decodeServerFrame` made of a value: a frame, a frame of a type this version does not know, or junk. */
export type FrameDecoding =
  | { kind: 'frame'; frame: ServerFrame }
  | { kind: 'unknown'; type: string }
  | { kind: 'malformed'; problem: string };

type Json = Record<string, unknown>;
type Check = (value: unknown) => boolean;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isString: Check = (value) => typeof value === 'string';
const isNumber: Check = (value) => typeof value === 'number' && Number.isFinite(value);
const isBoolean: Check = (value) => typeof value === 'boolean';
const isTrue: Check = (value) => value === true;
const isCount: Check = (value) => Number.isSafeInteger(value) && (value as number) >= 0;
const oneOf =
  (values: readonly string[]): Check =>
  (value) =>
    typeof value === 'string' && values.includes(value);
const optional =
  (check: Check): Check =>
  (value) =>
    value === undefined || check(value);
const arrayOf =
  (check: Check): Check =>
  (value) =>
    Array.isArray(value) && value.every(check);
const shape =
  (fields: Record<string, Check>): Check =>
  (value) =>
    isObject(value) && Object.keys(fields).every((name) => (fields[name] as Check)(value[name]));

const page = shape({ url: isString, title: isString, domain: isString });

/** The fields of each frame type besides `type`, as `serverFrameSchema` has them. */
const FRAME_FIELDS: Record<string, Record<string, Check>> = {
  item: {
    event: oneOf(ITEM_EVENTS),
    key: isString,
    itemId: isString,
    item: optional(isObject),
    truncated: optional(isTrue),
    conflated: optional((value) => Number.isSafeInteger(value) && (value as number) > 0),
    // Absent only on a chat re-send's replay (`duplicate: true`), which is not a change.
    seq: optional(isString),
    at: isNumber,
    duplicate: optional(isTrue),
  },
  snapshot: {
    key: isString,
    items: arrayOf(isObject),
    position: isString,
    page: isCount,
    more: optional(isTrue),
    complete: optional(isBoolean),
    nextToken: optional(isString),
  },
  subscribed: { keys: arrayOf(isString) },
  unsubscribed: { keys: arrayOf(isString) },
  pong: { at: isNumber, connectionId: isString },
  error: {
    code: oneOf(ERROR_CODES),
    message: isString,
    action: optional(isString),
    conversationId: optional(isString),
    tempMessageId: optional(isString),
  },
  presence: {
    event: oneOf(['join', 'leave', 'update']),
    key: isString,
    userId: isString,
    presence: shape({
      status: oneOf(['online', 'offline']),
      connections: isNumber,
      since: optional(isNumber),
      lastSeenAt: optional(isNumber),
      page: optional(page),
      latestPage: optional(page),
    }),
    seq: isString,
    at: isNumber,
  },
  'presence-updated': { changed: isBoolean, page: (value) => value === null || page(value) },
};

/** The fields of a known frame type; own properties only, so "toString" or "constructor" is no frame type. */
function fieldsOf(type: unknown): Record<string, Check> | undefined {
  return typeof type === 'string' && Object.hasOwn(FRAME_FIELDS, type) ? FRAME_FIELDS[type] : undefined;
}

function singleFrameProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'a frame must be a JSON object';
  const fields = fieldsOf(value.type);
  if (fields === undefined) return `unknown frame type ${JSON.stringify(value.type)}`;
  for (const name of Object.keys(fields)) {
    if (!(fields[name] as Check)(value[name])) return `${value.type} frame: invalid ${name}`;
  }
  return undefined;
}

/**
 * Checks a parsed server message. A `batch` must hold only known single frames: its elements are exactly frames that
 * could have come alone, so one bad element makes the whole batch malformed, as it does for the schema.
 */
export function decodeServerFrame(value: unknown): FrameDecoding {
  if (!isObject(value)) return { kind: 'malformed', problem: 'a frame must be a JSON object' };
  if (typeof value.type !== 'string') return { kind: 'malformed', problem: 'a frame must have a string type' };
  if (value.type === 'batch') {
    if (!Array.isArray(value.messages)) return { kind: 'malformed', problem: 'batch frame: messages must be an array' };
    for (const [index, message] of value.messages.entries()) {
      const problem = singleFrameProblem(message);
      if (problem !== undefined) return { kind: 'malformed', problem: `batch frame: messages[${index}]: ${problem}` };
    }
    return { kind: 'frame', frame: value as ServerFrame };
  }
  if (fieldsOf(value.type) === undefined) return { kind: 'unknown', type: value.type };
  const problem = singleFrameProblem(value);
  return problem === undefined ? { kind: 'frame', frame: value as ServerFrame } : { kind: 'malformed', problem };
}
