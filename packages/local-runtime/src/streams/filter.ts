/**
 * Lambda event-filtering patterns (FilterCriteria.Filters[].Pattern) for stream records.
 *
 * Lambda uses EventBridge's pattern language: a pattern is a JSON object whose leaves are arrays of matchers,
 * matched against the record Lambda would deliver (eventName, dynamodb.Keys/NewImage/OldImage with typed values
 * such as `{"S": "x"}`, awsRegion …). Fields in the pattern are ANDed, the values in one array are ORed, and the
 * filters of one event source mapping are ORed.
 */

/** Thrown when a FilterCriteria pattern is not valid JSON or uses a matcher we do not understand. */
export class StreamFilterPatternError extends Error {
  override name = 'StreamFilterPatternError';
}

/** A compiled filter: true when the record should be delivered. */
export type RecordFilter = (record: unknown) => boolean;

type Matcher = (value: unknown, present: boolean) => boolean;
type Node = { kind: 'leaf'; matchers: Matcher[] } | { kind: 'object'; fields: [string, Node][]; or: Node[][] };

/** Compiles FilterCriteria patterns (JSON strings, ORed); with no patterns every record passes. */
export function compileFilters(patterns: readonly string[]): RecordFilter {
  if (patterns.length === 0) return () => true;
  const compiled = patterns.map((pattern, index) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(pattern);
    } catch (error) {
      throw new StreamFilterPatternError(
        `FilterCriteria.Filters[${index}].Pattern is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (!isPlainObject(parsed)) {
      throw new StreamFilterPatternError(`FilterCriteria.Filters[${index}].Pattern must be a JSON object`);
    }
    return compileObject(parsed, `Filters[${index}].Pattern`);
  });
  return (record) => compiled.some((node) => matchNode(node, record, true));
}

function compileObject(pattern: Record<string, unknown>, path: string): Node {
  const fields: [string, Node][] = [];
  const or: Node[][] = [];
  for (const [key, value] of Object.entries(pattern)) {
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2 || !value.every(isPlainObject)) {
        throw new StreamFilterPatternError(`${path}.$or must be an array of at least two pattern objects`);
      }
      or.push(value.map((alternative, i) => compileObject(alternative, `${path}.$or[${i}]`)));
    } else if (Array.isArray(value)) {
      if (value.length === 0)
        throw new StreamFilterPatternError(`${path}.${key} is an empty array, which matches nothing`);
      fields.push([key, { kind: 'leaf', matchers: value.map((m) => compileMatcher(m, `${path}.${key}`)) }]);
    } else if (isPlainObject(value)) {
      fields.push([key, compileObject(value, `${path}.${key}`)]);
    } else {
      throw new StreamFilterPatternError(`${path}.${key} must be an array of values or a nested object`);
    }
  }
  return { kind: 'object', fields, or };
}

function matchNode(node: Node, value: unknown, present: boolean): boolean {
  if (node.kind === 'leaf') {
    // A record array (an L, SS or NS value) matches when any of its elements matches, as in EventBridge.
    if (Array.isArray(value)) return value.some((element) => node.matchers.some((m) => m(element, true)));
    return node.matchers.some((m) => m(value, present));
  }
  const object = isPlainObject(value) ? value : undefined;
  for (const [key, child] of node.fields) {
    const childPresent = object !== undefined && Object.hasOwn(object, key);
    if (!matchNode(child, childPresent ? object[key] : undefined, childPresent)) return false;
  }
  return node.or.every((alternatives) => alternatives.some((alternative) => matchNode(alternative, value, present)));
}

function compileMatcher(spec: unknown, path: string): Matcher {
  if (spec === null || typeof spec === 'string' || typeof spec === 'number' || typeof spec === 'boolean') {
    return (value, present) => present && equalsPatternValue(spec, value);
  }
  if (!isPlainObject(spec)) throw new StreamFilterPatternError(`${path}: unsupported matcher ${JSON.stringify(spec)}`);
  const entries = Object.entries(spec);
  const [operator, argument] = entries[0] ?? [];
  if (entries.length !== 1 || operator === undefined) {
    throw new StreamFilterPatternError(
      `${path}: a matcher object has exactly one operator, got ${JSON.stringify(spec)}`,
    );
  }
  switch (operator) {
    case 'exists':
      if (typeof argument !== 'boolean') throw new StreamFilterPatternError(`${path}: "exists" takes true or false`);
      // EventBridge's exists applies to leaves; a present null still "exists".
      return (value, present) => (argument ? present && !isPlainObject(value) : !present);
    case 'prefix':
      return stringMatcher(argument, path, 'prefix', (value, text) => value.startsWith(text));
    case 'suffix':
      return stringMatcher(argument, path, 'suffix', (value, text) => value.endsWith(text));
    case 'equals-ignore-case':
      if (typeof argument !== 'string')
        throw new StreamFilterPatternError(`${path}: "equals-ignore-case" takes a string`);
      return (value, present) => present && typeof value === 'string' && value.toLowerCase() === argument.toLowerCase();
    case 'wildcard':
      return wildcardMatcher(argument, path);
    case 'numeric':
      return numericMatcher(argument, path);
    case 'anything-but':
      return anythingButMatcher(argument, path);
    default:
      throw new StreamFilterPatternError(`${path}: unsupported matcher "${operator}"`);
  }
}

function stringMatcher(
  argument: unknown,
  path: string,
  operator: string,
  test: (value: string, text: string) => boolean,
): Matcher {
  if (typeof argument === 'string')
    return (value, present) => present && typeof value === 'string' && test(value, argument);
  // {"prefix": {"equals-ignore-case": "x"}}
  if (isPlainObject(argument) && typeof argument['equals-ignore-case'] === 'string') {
    const text = argument['equals-ignore-case'].toLowerCase();
    return (value, present) => present && typeof value === 'string' && test(value.toLowerCase(), text);
  }
  throw new StreamFilterPatternError(`${path}: "${operator}" takes a string`);
}

function wildcardMatcher(argument: unknown, path: string): Matcher {
  if (typeof argument !== 'string') throw new StreamFilterPatternError(`${path}: "wildcard" takes a string`);
  const source = argument
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const regex = new RegExp(`^${source}$`, 's');
  return (value, present) => present && typeof value === 'string' && regex.test(value);
}

function numericMatcher(argument: unknown, path: string): Matcher {
  if (!Array.isArray(argument) || argument.length === 0 || argument.length % 2 !== 0) {
    throw new StreamFilterPatternError(`${path}: "numeric" takes [op, number] or [op, number, op, number]`);
  }
  const checks: ((n: number) => boolean)[] = [];
  for (let i = 0; i < argument.length; i += 2) {
    const op = argument[i];
    const bound = argument[i + 1];
    if (typeof bound !== 'number') throw new StreamFilterPatternError(`${path}: "numeric" bounds must be numbers`);
    switch (op) {
      case '=':
        checks.push((n) => n === bound);
        break;
      case '<':
        checks.push((n) => n < bound);
        break;
      case '<=':
        checks.push((n) => n <= bound);
        break;
      case '>':
        checks.push((n) => n > bound);
        break;
      case '>=':
        checks.push((n) => n >= bound);
        break;
      default:
        throw new StreamFilterPatternError(`${path}: unknown numeric operator ${JSON.stringify(op)}`);
    }
  }
  return (value, present) => {
    // DynamoDB numbers arrive as strings ({"N": "42"}), so numeric filters on N values must parse them.
    const n = present ? toNumber(value) : undefined;
    return n !== undefined && checks.every((check) => check(n));
  };
}

function anythingButMatcher(argument: unknown, path: string): Matcher {
  if (isPlainObject(argument)) {
    const inner = compileMatcher(argument, `${path}.anything-but`);
    return (value, present) => present && !inner(value, present);
  }
  const excluded = Array.isArray(argument) ? argument : [argument];
  if (!excluded.every((v) => v === null || ['string', 'number', 'boolean'].includes(typeof v))) {
    throw new StreamFilterPatternError(`${path}: "anything-but" takes a value, a list of values or a matcher object`);
  }
  return (value, present) => present && !excluded.some((v) => equalsPatternValue(v, value));
}

function equalsPatternValue(expected: unknown, value: unknown): boolean {
  if (expected === value) return true;
  // A number in the pattern matches a DynamoDB N string holding the same number ({"N": [42]} vs {"N": "42"}).
  if (typeof expected === 'number') return toNumber(value) === expected;
  return false;
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
