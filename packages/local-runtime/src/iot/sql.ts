/**
 * The subset of AWS IoT SQL (version 2016-03-23) that the template's topic rules use, parsed once at start-up
 * and evaluated per MQTT message. Anything outside the subset is refused when the rule is compiled, naming the
 * construct, so a rule never silently behaves differently locally than on AWS.
 *
 * Semantics follow the AWS IoT SQL reference: a missing attribute is `Undefined` (here `undefined`) and is left
 * out of the output; a CASE whose subject is Undefined is Undefined; WHERE passes only when it is `true`.
 */
import { randomUUID } from 'node:crypto';

/** A rule's SQL is outside the supported subset, or is not valid IoT SQL. The only error the parser throws. */
export class IotSqlError extends Error {
  override name = 'IotSqlError';
  constructor(
    message: string,
    /** The construct that was refused, e.g. "SET clause" or "function md5()". */
    readonly construct?: string,
  ) {
    super(message);
  }
}

/** One MQTT message as the rules engine sees it. */
export interface IotMessage {
  topic: string;
  /** The payload parsed as JSON, or a Buffer when it is not JSON (AWS treats those as binary). */
  payload: unknown;
  clientId?: string;
}

/** A rule's SQL, ready to run against messages. */
export interface CompiledRule {
  /** The FROM clause's topic filter, e.g. "rtp/items/#". */
  readonly topicFilter: string;
  /** The SELECT list includes `*`, which copies a JSON object payload (and is raw bytes for any other payload). */
  readonly selectsWildcard: boolean;
  /** Whether a message published on `topic` reaches this rule. */
  matches(topic: string): boolean;
  /** The rule's output for a message, or undefined when the WHERE clause is not true. */
  evaluate(message: IotMessage): Record<string, unknown> | undefined;
}

// ------------------------------------------------------------------ syntax tree

type Expr =
  | { kind: 'literal'; value: unknown }
  | { kind: 'path'; segments: string[] }
  | { kind: 'call'; name: FunctionName; args: Expr[] }
  | { kind: 'case'; subject?: Expr; whens: { when: Expr; result: Expr }[]; otherwise?: Expr }
  | { kind: 'not'; operand: Expr }
  | { kind: 'logical'; op: 'AND' | 'OR'; left: Expr; right: Expr }
  | { kind: 'compare'; op: CompareOp; left: Expr; right: Expr };

type CompareOp = '=' | '<>' | '<' | '>' | '<=' | '>=';

type SelectItem = { kind: 'wildcard' } | { kind: 'expr'; expr: Expr; alias: string[] };

// Name → [min args, max args]. Everything else in the AWS function list is refused at compile time.
const FUNCTIONS = {
  topic: [0, 1],
  isundefined: [1, 1],
  isnull: [1, 1],
  timestamp: [0, 0],
  clientid: [0, 0],
  newuuid: [0, 0],
  lower: [1, 1],
  upper: [1, 1],
  concat: [2, Number.POSITIVE_INFINITY],
  startswith: [2, 2],
} as const;
type FunctionName = keyof typeof FUNCTIONS;

const KEYWORDS = new Set([
  'SELECT',
  'FROM',
  'WHERE',
  'AS',
  'CASE',
  'WHEN',
  'THEN',
  'ELSE',
  'END',
  'AND',
  'OR',
  'NOT',
  'TRUE',
  'FALSE',
  'NULL',
  'SET',
  'VALUE',
]);

// Deeply nested input ("((((…") must fail with IotSqlError, not overflow the stack.
const MAX_DEPTH = 64;

// ------------------------------------------------------------------ tokens

type Token =
  | { type: 'ident'; text: string; upper: string; pos: number }
  | { type: 'number'; value: number; text: string; pos: number }
  | { type: 'string'; value: string; pos: number }
  | { type: 'punct'; text: string; pos: number }
  | { type: 'eof'; pos: number };

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (/[A-Za-z_]/.test(c)) {
      while (i < sql.length && /[A-Za-z0-9_]/.test(sql[i] as string)) i++;
      const text = sql.slice(start, i);
      tokens.push({ type: 'ident', text, upper: text.toUpperCase(), pos: start });
      continue;
    }
    if (/[0-9]/.test(c)) {
      const match = /^(?:\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(sql.slice(i)) as RegExpExecArray;
      i += match[0].length;
      if (i < sql.length && /[A-Za-z_]/.test(sql[i] as string)) {
        throw new IotSqlError(`unexpected character '${sql[i]}' after the number at position ${start}`);
      }
      tokens.push({ type: 'number', value: Number(match[0]), text: match[0], pos: start });
      continue;
    }
    if (c === "'") {
      const end = sql.indexOf("'", i + 1);
      if (end < 0) throw new IotSqlError(`unterminated string literal at position ${start}`);
      tokens.push({ type: 'string', value: sql.slice(i + 1, end), pos: start });
      i = end + 1;
      continue;
    }
    const two = sql.slice(i, i + 2);
    if (two === '<>' || two === '<=' || two === '>=') {
      tokens.push({ type: 'punct', text: two, pos: start });
      i += 2;
      continue;
    }
    if (two === '!=') throw new IotSqlError("operator '!=' is not supported locally (use '<>')", "operator '!='");
    if ('*,().=<>-'.includes(c)) {
      tokens.push({ type: 'punct', text: c, pos: start });
      i++;
      continue;
    }
    if ('+/%'.includes(c)) {
      throw new IotSqlError(`arithmetic operator '${c}' is not supported locally`, `operator '${c}'`);
    }
    if (c === '"') throw new IotSqlError('double-quoted strings are not supported locally (use single quotes)', '"…"');
    if (c === '[') throw new IotSqlError('array indexing ([…]) is not supported locally', 'array indexing');
    if (c === '`') throw new IotSqlError('backtick-quoted names are not supported locally', '`…`');
    if (c === '@') throw new IotSqlError('variables (@name) are not supported locally', 'variables');
    if (c === '$') throw new IotSqlError("'$' (substitution templates) is not supported in the SQL", "'$'");
    throw new IotSqlError(`unexpected character '${c}' at position ${start}`);
  }
  tokens.push({ type: 'eof', pos: sql.length });
  return tokens;
}

// ------------------------------------------------------------------ parser

class Parser {
  private i = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  parseStatement(): { select: SelectItem[]; from: string; where?: Expr } {
    const first = this.peek();
    if (first.type === 'ident' && first.upper === 'SET') {
      throw new IotSqlError('the SET clause (variables) is not supported locally', 'SET clause');
    }
    this.expectKeyword('SELECT');
    if (this.isKeyword('VALUE')) throw new IotSqlError('SELECT VALUE is not supported locally', 'SELECT VALUE');
    const select: SelectItem[] = [this.parseSelectItem()];
    while (this.isPunct(',')) {
      this.i++;
      select.push(this.parseSelectItem());
    }
    this.expectKeyword('FROM');
    const from = this.next();
    if (from.type !== 'string') {
      throw new IotSqlError(`FROM needs a quoted topic filter, e.g. FROM 'a/b/#' (at position ${from.pos})`);
    }
    validateTopicFilter(from.value);
    let where: Expr | undefined;
    if (this.isKeyword('WHERE')) {
      this.i++;
      where = this.parseExpr();
    }
    const rest = this.peek();
    if (rest.type !== 'eof') throw new IotSqlError(`unexpected ${describe(rest)} at position ${rest.pos}`);
    return { select, from: from.value, where };
  }

  private parseSelectItem(): SelectItem {
    if (this.isPunct('*')) {
      this.i++;
      return { kind: 'wildcard' };
    }
    const start = this.peek();
    const expr = this.parseExpr();
    if (this.isKeyword('AS')) {
      this.i++;
      return { kind: 'expr', expr, alias: this.parseAlias() };
    }
    // Without AS, AWS names a selected attribute after its last segment and a function after its name.
    if (expr.kind === 'path') return { kind: 'expr', expr, alias: [expr.segments.at(-1) as string] };
    if (expr.kind === 'call') return { kind: 'expr', expr, alias: [expr.name] };
    throw new IotSqlError(`the SELECT item at position ${start.pos} needs a name: add AS <name>`);
  }

  private parseAlias(): string[] {
    // Any word may name an output key ("AS value", "AS timestamp"); only attribute paths exclude keywords.
    const segments = [this.expectName('a name after AS', true)];
    while (this.isPunct('.')) {
      this.i++;
      segments.push(this.expectName('a name after "."', true));
    }
    return segments;
  }

  private parseExpr(): Expr {
    if (++this.depth > MAX_DEPTH) throw new IotSqlError(`expression nested more than ${MAX_DEPTH} levels deep`);
    try {
      return this.parseOr();
    } finally {
      this.depth--;
    }
  }

  private parseOr(): Expr {
    return this.parseLogical('OR', () => this.parseAnd());
  }

  private parseAnd(): Expr {
    return this.parseLogical('AND', () => this.parseNot());
  }

  /** A left-associative chain of one operator over operands of the next tighter level. */
  private parseLogical(op: 'OR' | 'AND', operand: () => Expr): Expr {
    let left = operand();
    while (this.isKeyword(op)) {
      this.i++;
      left = { kind: 'logical', op, left, right: operand() };
    }
    return left;
  }

  private parseNot(): Expr {
    if (this.isKeyword('NOT')) {
      this.i++;
      if (++this.depth > MAX_DEPTH) throw new IotSqlError(`expression nested more than ${MAX_DEPTH} levels deep`);
      try {
        return { kind: 'not', operand: this.parseNot() };
      } finally {
        this.depth--;
      }
    }
    return this.parseComparison();
  }

  private parseComparison(): Expr {
    const left = this.parsePrimary();
    const token = this.peek();
    if (token.type === 'punct' && ['=', '<>', '<', '>', '<=', '>='].includes(token.text)) {
      this.i++;
      const right = this.parsePrimary();
      const after = this.peek();
      if (after.type === 'punct' && ['=', '<>', '<', '>', '<=', '>='].includes(after.text)) {
        throw new IotSqlError(`chained comparison at position ${after.pos}: use AND`);
      }
      return { kind: 'compare', op: token.text as CompareOp, left, right };
    }
    if (token.type === 'ident' && ['IN', 'LIKE', 'BETWEEN', 'IS'].includes(token.upper)) {
      throw new IotSqlError(`operator ${token.upper} is not supported locally`, `operator ${token.upper}`);
    }
    return left;
  }

  private parsePrimary(): Expr {
    const token = this.next();
    switch (token.type) {
      case 'number':
        return { kind: 'literal', value: token.value };
      case 'string':
        return { kind: 'literal', value: token.value };
      case 'punct':
        if (token.text === '(') {
          const inner = this.parseExpr();
          this.expectPunct(')');
          return inner;
        }
        if (token.text === '-') {
          const number = this.next();
          if (number.type !== 'number') {
            throw new IotSqlError(`arithmetic negation is only supported on number literals (position ${token.pos})`);
          }
          return { kind: 'literal', value: -number.value };
        }
        if (token.text === '*') {
          throw new IotSqlError(`'*' is only supported as a SELECT item of its own (position ${token.pos})`);
        }
        throw new IotSqlError(`unexpected '${token.text}' at position ${token.pos}`);
      case 'eof':
        throw new IotSqlError('unexpected end of the statement');
      case 'ident':
        return this.parseIdentifier(token);
    }
  }

  private parseIdentifier(token: Extract<Token, { type: 'ident' }>): Expr {
    switch (token.upper) {
      case 'TRUE':
        return { kind: 'literal', value: true };
      case 'FALSE':
        return { kind: 'literal', value: false };
      case 'NULL':
        return { kind: 'literal', value: null };
      case 'CASE':
        return this.parseCase();
      case 'SELECT':
        throw new IotSqlError('nested SELECT queries are not supported locally', 'nested SELECT');
    }
    if (this.isPunct('(')) {
      this.i++;
      const name = token.text.toLowerCase();
      if (!Object.hasOwn(FUNCTIONS, name)) {
        throw new IotSqlError(`function ${token.text}() is not supported locally`, `function ${token.text}()`);
      }
      const args: Expr[] = [];
      if (!this.isPunct(')')) {
        args.push(this.parseExpr());
        while (this.isPunct(',')) {
          this.i++;
          args.push(this.parseExpr());
        }
      }
      this.expectPunct(')');
      const [min, max] = FUNCTIONS[name as FunctionName];
      if (args.length < min || args.length > max) {
        const expected =
          min === max ? `${min}` : max === Number.POSITIVE_INFINITY ? `at least ${min}` : `${min}–${max}`;
        throw new IotSqlError(`${token.text}() takes ${expected} argument(s), got ${args.length}`);
      }
      return { kind: 'call', name: name as FunctionName, args };
    }
    if (KEYWORDS.has(token.upper)) throw new IotSqlError(`unexpected keyword ${token.upper} at position ${token.pos}`);
    const segments = [token.text];
    while (this.isPunct('.')) {
      this.i++;
      segments.push(this.expectName('an attribute name after "."'));
    }
    return { kind: 'path', segments };
  }

  private parseCase(): Expr {
    // CASE v WHEN t THEN r … (simple) or CASE WHEN cond THEN r … (searched).
    const subject = this.isKeyword('WHEN') ? undefined : this.parseExpr();
    const whens: { when: Expr; result: Expr }[] = [];
    while (this.isKeyword('WHEN')) {
      this.i++;
      const when = this.parseExpr();
      this.expectKeyword('THEN');
      whens.push({ when, result: this.parseExpr() });
    }
    if (whens.length === 0) throw new IotSqlError('CASE needs at least one WHEN clause');
    let otherwise: Expr | undefined;
    if (this.isKeyword('ELSE')) {
      this.i++;
      otherwise = this.parseExpr();
    }
    this.expectKeyword('END');
    return { kind: 'case', subject, whens, otherwise };
  }

  private peek(): Token {
    return this.tokens[this.i] as Token;
  }

  private next(): Token {
    const token = this.tokens[this.i] as Token;
    if (token.type !== 'eof') this.i++;
    return token;
  }

  private isKeyword(upper: string): boolean {
    const token = this.peek();
    return token.type === 'ident' && token.upper === upper;
  }

  private isPunct(text: string): boolean {
    const token = this.peek();
    return token.type === 'punct' && token.text === text;
  }

  private expectKeyword(upper: string): void {
    const token = this.next();
    if (token.type !== 'ident' || token.upper !== upper) {
      throw new IotSqlError(`expected ${upper} but found ${describe(token)} at position ${token.pos}`);
    }
  }

  private expectPunct(text: string): void {
    const token = this.next();
    if (token.type !== 'punct' || token.text !== text) {
      throw new IotSqlError(`expected '${text}' but found ${describe(token)} at position ${token.pos}`);
    }
  }

  private expectName(what: string, allowKeywords = false): string {
    const token = this.next();
    if (token.type !== 'ident' || (!allowKeywords && KEYWORDS.has(token.upper))) {
      throw new IotSqlError(`expected ${what} but found ${describe(token)} at position ${token.pos}`);
    }
    return token.text;
  }
}

function describe(token: Token): string {
  switch (token.type) {
    case 'eof':
      return 'the end of the statement';
    case 'ident':
      return `'${token.text}'`;
    case 'number':
      return `the number ${token.text}`;
    case 'string':
      return 'a string literal';
    case 'punct':
      return `'${token.text}'`;
  }
}

// ------------------------------------------------------------------ topic filters

/** Checks an MQTT topic filter: `+` and `#` only as whole levels, `#` only last. Throws IotSqlError. */
export function validateTopicFilter(filter: string): void {
  if (filter.length === 0) throw new IotSqlError('the FROM topic filter is empty');
  const levels = filter.split('/');
  levels.forEach((level, index) => {
    if (level.includes('#') && (level !== '#' || index !== levels.length - 1)) {
      throw new IotSqlError(`'#' must be the whole last level of the topic filter '${filter}'`);
    }
    if (level.includes('+') && level !== '+') {
      throw new IotSqlError(`'+' must be a whole level of the topic filter '${filter}'`);
    }
  });
}

/** MQTT topic matching: `+` is one level, a trailing `#` is the parent level and everything below it. */
export function topicMatches(filter: string, topic: string): boolean {
  // MQTT 3.1.1 §4.7.2: filters starting with a wildcard do not match topics starting with '$' ($SYS, $aws …).
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i] as string;
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

// ------------------------------------------------------------------ evaluation

interface Context {
  topic: string;
  payload: unknown;
  clientId?: string;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

function lookup(payload: unknown, segments: string[]): unknown {
  let current = payload;
  for (const segment of segments) {
    // Own properties only: "__proto__" or "constructor" in a path must not reach Object.prototype.
    if (!isPlainObject(current) || !Object.hasOwn(current, segment)) return undefined;
    current = current[segment];
  }
  return current;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

function compare(op: CompareOp, left: unknown, right: unknown): boolean | undefined {
  if (left === undefined || right === undefined) return undefined;
  if (op === '=') return deepEqual(left, right);
  if (op === '<>') return !deepEqual(left, right);
  // Ordering is defined between two numbers or two strings; anything else is Undefined.
  const bothNumbers = typeof left === 'number' && typeof right === 'number';
  const bothStrings = typeof left === 'string' && typeof right === 'string';
  if (!bothNumbers && !bothStrings) return undefined;
  const l = left as number | string;
  const r = right as number | string;
  switch (op) {
    case '<':
      return l < r;
    case '>':
      return l > r;
    case '<=':
      return l <= r;
    case '>=':
      return l >= r;
  }
}

function stringify(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function callFunction(name: FunctionName, args: unknown[], ctx: Context): unknown {
  switch (name) {
    case 'topic': {
      if (args.length === 0) return ctx.topic;
      const n = args[0];
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) return undefined;
      return ctx.topic.split('/')[n - 1];
    }
    case 'isundefined':
      return args[0] === undefined;
    case 'isnull':
      return args[0] === null;
    case 'timestamp':
      return Date.now();
    case 'clientid':
      return ctx.clientId;
    case 'newuuid':
      return randomUUID();
    case 'lower':
      return typeof args[0] === 'string' ? args[0].toLowerCase() : undefined;
    case 'upper':
      return typeof args[0] === 'string' ? args[0].toUpperCase() : undefined;
    case 'startswith':
      // AWS: Undefined unless both arguments are strings.
      return typeof args[0] === 'string' && typeof args[1] === 'string' ? args[0].startsWith(args[1]) : undefined;
    case 'concat':
      if (args.some((arg) => arg === undefined)) return undefined;
      if (args.every(Array.isArray)) return (args as unknown[][]).flat(1);
      return args.map(stringify).join('');
  }
}

function evaluateExpr(expr: Expr, ctx: Context): unknown {
  switch (expr.kind) {
    case 'literal':
      return expr.value;
    case 'path':
      return lookup(ctx.payload, expr.segments);
    case 'call':
      return callFunction(
        expr.name,
        expr.args.map((arg) => evaluateExpr(arg, ctx)),
        ctx,
      );
    case 'not': {
      const value = evaluateExpr(expr.operand, ctx);
      return typeof value === 'boolean' ? !value : undefined;
    }
    case 'logical': {
      // Three-valued logic: a non-boolean operand is Undefined unless the other operand decides the result.
      const left = evaluateExpr(expr.left, ctx);
      if (expr.op === 'AND' && left === false) return false;
      if (expr.op === 'OR' && left === true) return true;
      const right = evaluateExpr(expr.right, ctx);
      if (expr.op === 'AND') {
        if (right === false) return false;
        return left === true && right === true ? true : undefined;
      }
      if (right === true) return true;
      return left === false && right === false ? false : undefined;
    }
    case 'compare':
      return compare(expr.op, evaluateExpr(expr.left, ctx), evaluateExpr(expr.right, ctx));
    case 'case': {
      if (expr.subject) {
        const subject = evaluateExpr(expr.subject, ctx);
        // AWS: "If v is Undefined, the result of the case statement is Undefined."
        if (subject === undefined) return undefined;
        for (const branch of expr.whens) {
          if (compare('=', subject, evaluateExpr(branch.when, ctx)) === true) return evaluateExpr(branch.result, ctx);
        }
      } else {
        for (const branch of expr.whens) {
          if (evaluateExpr(branch.when, ctx) === true) return evaluateExpr(branch.result, ctx);
        }
      }
      return expr.otherwise ? evaluateExpr(expr.otherwise, ctx) : undefined;
    }
  }
}

// defineProperty rather than assignment: a payload key "__proto__" must stay a plain key, not swap the prototype.
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function assign(target: Record<string, unknown>, alias: string[], value: unknown): void {
  let current = target;
  for (const segment of alias.slice(0, -1)) {
    const existing = Object.hasOwn(current, segment) ? current[segment] : undefined;
    if (isPlainObject(existing)) {
      current = existing;
    } else {
      const created: Record<string, unknown> = {};
      setOwn(current, segment, created);
      current = created;
    }
  }
  setOwn(current, alias.at(-1) as string, value);
}

/**
 * Compiles a topic rule's SQL. Throws IotSqlError (naming the rule when `ruleName` is given) for SQL outside the
 * supported subset: SELECT with `*`, attribute paths, literals, AS (dotted aliases nest), simple and searched CASE,
 * topic/isUndefined/isNull/timestamp/clientid/newuuid/lower/upper/concat/startswith; FROM '<filter>'; WHERE with comparisons,
 * AND/OR/NOT and parentheses.
 */
export function compileIotRule(sql: string, ruleName?: string): CompiledRule {
  let statement: ReturnType<Parser['parseStatement']>;
  try {
    if (typeof sql !== 'string') throw new IotSqlError('the rule SQL is not a string');
    // Checked before tokenizing so "SET @a = …" names the clause rather than the '@'.
    if (/^\s*SET\b/i.test(sql))
      throw new IotSqlError('the SET clause (variables) is not supported locally', 'SET clause');
    statement = new Parser(tokenize(sql)).parseStatement();
  } catch (err) {
    if (err instanceof IotSqlError && ruleName) {
      throw new IotSqlError(`IoT rule ${ruleName}: ${err.message}`, err.construct);
    }
    throw err;
  }
  const { select, from, where } = statement;
  return {
    topicFilter: from,
    selectsWildcard: select.some((item) => item.kind === 'wildcard'),
    matches: (topic) => topicMatches(from, topic),
    evaluate(message) {
      const ctx: Context = { topic: message.topic, payload: message.payload, clientId: message.clientId };
      if (where && evaluateExpr(where, ctx) !== true) return undefined;
      const output: Record<string, unknown> = {};
      for (const item of select) {
        if (item.kind === 'wildcard') {
          // A non-object payload has no attributes to copy; the caller sees selectsWildcard and decides.
          if (isPlainObject(ctx.payload)) {
            for (const [key, value] of Object.entries(ctx.payload)) setOwn(output, key, value);
          }
          continue;
        }
        const value = evaluateExpr(item.expr, ctx);
        // Undefined values are left out of the output, as AWS does; a later item overwrites an earlier key.
        if (value !== undefined) assign(output, item.alias, value);
      }
      return output;
    },
  };
}
