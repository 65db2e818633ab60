import { MalformedEventError } from '../lib/errors';

/**
 * DynamoDB JSON ({"S":"x"}, {"N":"1"}, …) → plain JSON for clients. Unlike the SDK's unmarshall it never throws
 * on data DynamoDB accepts: numbers that a double cannot hold exactly stay strings, sets become arrays and binary
 * becomes base64. Only a value that is not DynamoDB JSON at all throws a MalformedEventError.
 */

// 15 significant decimal digits always survive a round trip through a double.
const SAFE_SIGNIFICANT_DIGITS = 15;
const MAX_DEPTH = 64;

/** Converts one attribute map (a stream image or a Query item) to a plain object. */
export function toPlainItem(image: unknown): Record<string, unknown> {
  if (!isRecord(image)) throw new MalformedEventError('an item image must be an object of attribute values');
  // fromEntries defines properties, so an attribute named "__proto__" stays data instead of becoming a prototype.
  return Object.fromEntries(Object.entries(image).map(([name, value]) => [name, toPlainValue(value, name)]));
}

/** Converts one attribute value; `path` names it in the error when the value is not DynamoDB JSON. */
export function toPlainValue(value: unknown, path = 'value', depth = 0): unknown {
  if (!isRecord(value)) throw new MalformedEventError(`${path} is not a DynamoDB attribute value`);
  // DynamoDB nests at most 32 levels; a deeper value is not from DynamoDB and must not overflow the stack.
  if (depth > MAX_DEPTH) throw new MalformedEventError(`${path} is nested deeper than DynamoDB allows`);
  // Exactly one type descriptor per value; DynamoDB itself never sends more. SDK unions may add undefined members.
  const [type, ...others] = Object.keys(value).filter((k) => value[k] !== undefined);
  if (type === undefined || others.length > 0) {
    throw new MalformedEventError(`${path} must have exactly one type descriptor`);
  }
  const inner = value[type];
  switch (type) {
    case 'S':
      return expectString(inner, path);
    case 'N':
      return toNumber(expectString(inner, path));
    case 'BOOL':
      if (typeof inner !== 'boolean') throw new MalformedEventError(`${path}.BOOL must be a boolean`);
      return inner;
    case 'NULL':
      return null;
    case 'B':
      return toBase64(inner, path);
    case 'M':
      if (!isRecord(inner)) throw new MalformedEventError(`${path}.M must be an object`);
      return Object.fromEntries(Object.entries(inner).map(([k, v]) => [k, toPlainValue(v, `${path}.${k}`, depth + 1)]));
    case 'L':
      return expectArray(inner, path).map((v, i) => toPlainValue(v, `${path}[${i}]`, depth + 1));
    case 'SS':
      return expectArray(inner, path).map((v) => expectString(v, path));
    case 'NS':
      return expectArray(inner, path).map((v) => toNumber(expectString(v, path)));
    case 'BS':
      return expectArray(inner, path).map((v) => toBase64(v, path));
    default:
      throw new MalformedEventError(`${path} has an unknown type descriptor ${JSON.stringify(type.slice(0, 16))}`);
  }
}

/** A DynamoDB number as a JS number when that is exact, else the original string (38-digit numbers exist). */
export function toNumber(text: string): number | string {
  const value = Number(text);
  if (!Number.isFinite(value) || text.trim() === '') return text;
  const mantissa = text
    .replace(/^[-+]/, '')
    .replace(/[eE].*$/, '')
    .replace('.', '');
  const significant = mantissa.replace(/^0+/, '').replace(/0+$/, '');
  return significant.length <= SAFE_SIGNIFICANT_DIGITS ? value : text;
}

function toBase64(value: unknown, path: string): string {
  // Lambda's stream events carry binary already base64-encoded; SDK responses carry bytes.
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  throw new MalformedEventError(`${path} binary must be base64 text or bytes`);
}

function expectString(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new MalformedEventError(`${path} must hold a string`);
  return value;
}

function expectArray(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new MalformedEventError(`${path} must hold an array`);
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}
