import { preview, producerKeyProblem } from '@real-time-platform/protocol';
import { z } from 'zod';

/**
 * The rules every producer (HTTP, SQS, SNS, S3, the CLI) applies to an item before it is written to RealTimeData,
 * so an item accepted by one producer is never refused by another, and DynamoDB never sees an item it would refuse
 * for a reason we could have told the producer.
 *
 * Decisions:
 * - the key attribute (REAL_TIME_ITEM_KEY) is a non-empty string of at most 1,024 UTF-8 bytes, valid Unicode, not
 *   starting with "$" — exactly the keys a WebSocket client may subscribe to (keys.ts). A number is refused rather
 *   than stringified: the table's key type is S, and silently turning 3 into "3" hides a producer's bug;
 * - `itemId` defaults to "latest" (one "current state" item per key); when given it is a non-empty string of at
 *   most 1,024 bytes (the sort-key limit is 1,024 bytes);
 * - the whole item is at most 400 KB as DynamoDB counts it (itemSize below);
 * - attribute names (at any depth) are non-empty; names starting with "aws:" (DynamoDB global tables write
 *   aws:rep:* attributes) or "__" (platform internals, and "__proto__") are refused, and so is "constructor",
 *   which the AWS SDK's marshaller cannot write;
 * - values are JSON values DynamoDB can store: strings (empty is fine outside the key), finite numbers, booleans,
 *   null, arrays, objects, nested at most 32 levels. Anything else (undefined, NaN, Infinity, bigint, Date,
 *   functions) is refused with its path;
 * - numbers are at most ±(2^53 − 1) in magnitude (and zero or at least 1E-130, DynamoDB's smallest): a larger
 *   JSON number has already lost digits when it was parsed, and the SDK's marshaller refuses it. Producers send
 *   such values (38-digit ids, nanosecond timestamps) as strings.
 */

/** DynamoDB's item size limit, in bytes as DynamoDB counts them (names + values). */
export const MAX_ITEM_BYTES = 400 * 1024;
/** Longest itemId (a sort key), in UTF-8 bytes. */
export const MAX_ITEM_ID_BYTES = 1024;
/** DynamoDB nests lists and maps at most 32 levels deep. */
export const MAX_NESTING_DEPTH = 32;
/** itemId given to items that have none: one "current state" item per key. */
export const DEFAULT_ITEM_ID = 'latest';
/** Attribute-name prefixes producers cannot use. */
export const RESERVED_NAME_PREFIXES = ['aws:', '__'] as const;

export type ItemValidation =
  | { ok: true; item: Record<string, unknown>; key: string; itemId: string }
  | { ok: false; reason: string };

const LONE_SURROGATE = /\p{Cs}/u;
// DynamoDB's smallest non-zero magnitude; the largest accepted is Number.MAX_SAFE_INTEGER (see above).
const MIN_MAGNITUDE = 1e-130;

// One schema per key attribute name (a process has one), built on first use rather than per item: S3 ingest
// validates millions of lines.
const keySchemas = new Map<string, z.ZodType<string>>();
const keySchema = (attribute: string): z.ZodType<string> => {
  let schema = keySchemas.get(attribute);
  if (schema === undefined) {
    schema = buildKeySchema(attribute);
    keySchemas.set(attribute, schema);
  }
  return schema;
};

const buildKeySchema = (attribute: string) =>
  z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? `the key attribute "${attribute}" is missing`
          : `the key attribute "${attribute}" must be a string; got ${typeName(issue.input)}`,
    })
    .superRefine((key, ctx) => {
      const problem = producerKeyProblem(key);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `invalid "${attribute}": ${problem}` });
    });

const itemIdSchema = z
  .string({ error: (issue) => `"itemId" must be a string; got ${typeName(issue.input)}` })
  .default(DEFAULT_ITEM_ID)
  .superRefine((itemId, ctx) => {
    const problem = itemIdProblem(itemId);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `invalid "itemId": ${problem}` });
  });

/**
 * Validates one item for RealTimeData; never throws. On success `item` is a copy with `itemId` filled in.
 */
export function validateItem(
  raw: unknown,
  rules: { keyAttribute: string },
): { ok: true; item: Record<string, unknown>; key: string; itemId: string } | { ok: false; reason: string } {
  try {
    return check(raw, rules.keyAttribute);
  } catch (error) {
    // Getters or proxies in a hand-built object could throw; the promise is that validation never does.
    return { ok: false, reason: `the item could not be read: ${error instanceof Error ? error.message : 'unknown'}` };
  }
}

function check(raw: unknown, keyAttribute: string): ItemValidation {
  if (!isPlainObject(raw)) return { ok: false, reason: `an item must be a JSON object; got ${typeName(raw)}` };
  const keyResult = keySchema(keyAttribute).safeParse(raw[keyAttribute]);
  if (!keyResult.success) return { ok: false, reason: firstMessage(keyResult.error) };
  const idResult = itemIdSchema.safeParse(raw.itemId);
  if (!idResult.success) return { ok: false, reason: firstMessage(idResult.error) };

  // fromEntries defines own properties, so a "__proto__" name could never become a prototype (it is refused anyway).
  const item = Object.fromEntries(Object.entries(raw));
  item.itemId = idResult.data;
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    const nameProblem = attributeNameProblem(name);
    if (nameProblem !== undefined) return { ok: false, reason: `attribute ${preview(name)}: ${nameProblem}` };
    const valueProblem = valueProblemAt(value, shortName(name), 1);
    if (valueProblem !== undefined) return { ok: false, reason: valueProblem };
    size += Buffer.byteLength(name, 'utf8') + valueSize(value);
    // Stop early: a 100 MB item should not be measured to the end to learn it is too large.
    if (size > MAX_ITEM_BYTES) break;
  }
  if (size > MAX_ITEM_BYTES) {
    const total = itemSize(item);
    return {
      ok: false,
      reason: `the item is ${total} bytes as DynamoDB counts them (attribute names + values); the limit is ${MAX_ITEM_BYTES}`,
    };
  }
  return { ok: true, item, key: keyResult.data, itemId: idResult.data };
}

/** What is wrong with an itemId, in words a producer understands; undefined when it is fine. */
export function itemIdProblem(itemId: string): string | undefined {
  if (itemId.length === 0) return 'an itemId must not be empty';
  const bytes = Buffer.byteLength(itemId, 'utf8');
  if (bytes > MAX_ITEM_ID_BYTES) return `an itemId must be at most ${MAX_ITEM_ID_BYTES} bytes (UTF-8); got ${bytes}`;
  if (LONE_SURROGATE.test(itemId)) return 'an itemId must be valid Unicode text';
  return undefined;
}

/**
 * The size of an item as DynamoDB counts it for the 400 KB limit: the UTF-8 bytes of every attribute name plus
 * the size of every value (see valueSize). Only meaningful for values validateItem accepts.
 */
export function itemSize(item: Record<string, unknown>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += Buffer.byteLength(name, 'utf8') + valueSize(value);
  return size;
}

/**
 * One value's size, following DynamoDB's documented rules: strings their UTF-8 bytes; numbers one byte per pair
 * of significant digits (paired on the decimal point, as DynamoDB stores base-100 digits) plus one, plus one more
 * when negative; booleans and null one byte; lists and maps 3 bytes plus one byte per element plus the elements
 * (a map element also counts its name). Measured against DynamoDB Local: it agrees byte for byte on every type
 * (test/integration/ingest-items.test.ts stores an item of exactly 400 KB and sees one byte more refused).
 */
export function valueSize(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') return numberSize(value);
  if (typeof value === 'boolean' || value === null) return 1;
  if (Array.isArray(value)) {
    let size = 3;
    for (const element of value) size += 1 + valueSize(element);
    return size;
  }
  if (isPlainObject(value)) {
    let size = 3;
    for (const [name, element] of Object.entries(value))
      size += 1 + Buffer.byteLength(name, 'utf8') + valueSize(element);
    return size;
  }
  return 0;
}

/** DynamoDB's size of a finite number (see valueSize). */
export function numberSize(value: number): number {
  // Zero has no significant digits: just the exponent byte (measured against DynamoDB Local, as are the rest).
  if (value === 0) return 1;
  // toExponential() gives the shortest digits that identify the double, e.g. "1.2345e+2".
  const [mantissa = '0', exponentText = '0'] = Math.abs(value).toExponential().split('e');
  const digits = mantissa.replace('.', '').replace(/0+$/, '');
  const exponent = Number(exponentText);
  // Digit i sits at decimal position exponent - i; base-100 pairs group positions floor(position / 2).
  const firstPair = Math.floor(exponent / 2);
  const lastPair = Math.floor((exponent - digits.length + 1) / 2);
  return firstPair - lastPair + 1 + 1 + (value < 0 ? 1 : 0);
}

function attributeNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'attribute names must not be empty';
  // The SDK's marshaller tells maps from class instances by `value.constructor`: an own "constructor" attribute makes
  // it refuse the whole item ("Unsupported type passed"), so no producer could ever write it.
  if (name === 'constructor') return 'the name "constructor" cannot be written by the AWS SDK; rename the attribute';
  for (const prefix of RESERVED_NAME_PREFIXES) {
    if (name.startsWith(prefix)) return `attribute names starting with "${prefix}" are reserved`;
  }
  if (LONE_SURROGATE.test(name)) return 'attribute names must be valid Unicode text';
  return undefined;
}

/** The first reason `value` (at `path`, `depth` levels deep) cannot be stored, or undefined. */
function valueProblemAt(value: unknown, path: string, depth: number): string | undefined {
  switch (typeof value) {
    case 'string':
      return LONE_SURROGATE.test(value) ? `${path} must be valid Unicode text (it has a lone surrogate)` : undefined;
    case 'number':
      if (!Number.isFinite(value)) return `${path} must be a finite number; got ${String(value)}`;
      if (Math.abs(value) > Number.MAX_SAFE_INTEGER) {
        return `${path} is beyond ±${Number.MAX_SAFE_INTEGER} and cannot be stored exactly; send it as a string`;
      }
      if (value !== 0 && Math.abs(value) < MIN_MAGNITUDE) {
        return `${path} is smaller than DynamoDB's smallest number (1E-130); got ${String(value)}`;
      }
      return undefined;
    case 'boolean':
      return undefined;
    case 'object': {
      if (value === null) return undefined;
      if (depth > MAX_NESTING_DEPTH) return `${path} is nested deeper than ${MAX_NESTING_DEPTH} levels`;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const problem = valueProblemAt(value[i], `${path}[${i}]`, depth + 1);
          if (problem !== undefined) return problem;
        }
        return undefined;
      }
      if (!isPlainObject(value)) return `${path} must be a JSON value; got ${typeName(value)}`;
      for (const [name, element] of Object.entries(value)) {
        const nameProblem = attributeNameProblem(name);
        if (nameProblem !== undefined) return `${path}.${shortName(name)}: ${nameProblem}`;
        const problem = valueProblemAt(element, `${path}.${shortName(name)}`, depth + 1);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
    default:
      return `${path} must be a JSON value; got ${typeName(value)}`;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return isPlainObject(value) ? 'an object' : `a ${value.constructor?.name ?? 'object'}`;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return `a ${typeof value}`;
}

function shortName(name: string): string {
  return name.length > 40 ? `${name.slice(0, 40)}…` : name;
}

function firstMessage(error: z.ZodError): string {
  return error.issues[0]?.message ?? 'invalid item';
}
