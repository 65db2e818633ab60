import { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import { parser as jsonParser } from 'stream-json';
import Assembler from 'stream-json/Assembler';
import { toError } from '../lib/errors';

/**
 * Streaming parsers for item files (S3 uploads, the producer CLI): a JSON array, NDJSON or CSV with a header row.
 * Each record comes out as soon as it is read, so memory stays bounded by the longest record, never the file.
 * A bad record becomes an error entry for its line and parsing goes on, except where the format cannot be
 * resynchronised (below): then the file ends with one error. Validating the items is src/domain/items.ts's job.
 *
 * Decisions, visible to producers:
 * - `line` is the 1-based line of the file. For a JSON array it is the element's position (index + 1), since a
 *   pretty-printed array has no "one record per line".
 * - NDJSON: blank lines are skipped (they still count for line numbers), CRLF is accepted, the last line needs no
 *   newline, a line must be one JSON object (not an array or a scalar), valid UTF-8 and at most MAX_LINE_BYTES;
 *   a line breaking any of these is an error for that line only.
 * - CSV: the first non-blank row is the header (names trimmed; empty or duplicate names stop the file with one
 *   error, as every row would be ambiguous). Cells are typed by their text alone, not by quoting (many writers
 *   quote every cell): an empty cell is omitted; `true`/`false` (lowercase, like JSON) become booleans; a
 *   JSON-style number becomes a number unless it has leading zeros (`007`, a zip code or id) or more than 15
 *   significant digits (it would not survive a JavaScript number); everything else — `null`, `TRUE`, ` 42` —
 *   stays the exact string. The key attribute's column (ParseOptions) and `itemId` are never typed. A row whose
 *   cell count differs from the header's is an error for that row. A row over MAX_LINE_BYTES (or an unclosed
 *   quote running on) ends the file with one error: the next newline may be inside the quote.
 * - JSON: the file must be one array of objects; a non-object element is an error for that element. A syntax
 *   error or an element over MAX_LINE_BYTES ends the file with one error; the elements before it are kept.
 * - A UTF-8 byte order mark is stripped in every format.
 */

/** The file formats items can be uploaded in. */
export type ItemFileFormat = 'json' | 'ndjson' | 'csv';

/** One record of a file: a parsed item (not yet validated), or why its line could not be parsed. */
export type ParsedLine = { line: number; item: unknown } | { line: number; error: string };

/** How to read a file. */
export interface ParseOptions {
  /**
   * REAL_TIME_ITEM_KEY (e.g. vehicleId): its CSV column, like `itemId`'s, is never typed, since key attributes
   * are strings in DynamoDB and a vehicle "3" must not become the number 3. JSON input is taken as written.
   */
  keyAttribute?: string;
}

/** The longest NDJSON line, CSV row or JSON array element accepted; a longer one is reported, never buffered whole. */
export const MAX_LINE_BYTES = 1024 * 1024;

/** Chunks are cut to this size so that one huge in-memory chunk (parseItemText) is still parsed record by record. */
const CHUNK_BYTES = 64 * 1024;

const EXTENSIONS: Record<string, ItemFileFormat> = {
  '.json': 'json',
  '.ndjson': 'ndjson',
  '.jsonl': 'ndjson',
  '.csv': 'csv',
};

const CONTENT_TYPES: Record<string, ItemFileFormat> = {
  'application/json': 'json',
  'text/json': 'json',
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
  'application/x-jsonlines': 'ndjson',
  'application/jsonlines': 'ndjson',
  'text/csv': 'csv',
  'application/csv': 'csv',
};

/** The format of a file by its name's extension, else by its content type; undefined when neither is known. */
export function formatOf(name: string, contentType?: string): ItemFileFormat | undefined {
  const base = name.slice(name.lastIndexOf('/') + 1).toLowerCase();
  const dot = base.lastIndexOf('.');
  if (dot > 0) {
    const byExtension = EXTENSIONS[base.slice(dot)];
    if (byExtension !== undefined) return byExtension;
  }
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  return mediaType === undefined ? undefined : CONTENT_TYPES[mediaType];
}

/**
 * Parses a file stream record by record. Never throws for bad content (that becomes error entries); a failing
 * source stream (a dropped S3 connection) does throw, so the caller can retry the whole file.
 */
export function parseItemStream(
  input: NodeJS.ReadableStream | Readable | AsyncIterable<Uint8Array | string>,
  format: ItemFileFormat,
  options: ParseOptions = {},
): AsyncIterable<ParsedLine> {
  switch (format) {
    case 'ndjson':
      return parseNdjson(input);
    case 'csv':
      return parseCsvRows(input, options);
    case 'json':
      return parseJsonArray(input);
  }
}

/** parseItemStream over a string already in memory (CLI arguments, small stdin); the same records and errors. */
export async function parseItemText(
  text: string,
  format: ItemFileFormat,
  options: ParseOptions = {},
): Promise<ParsedLine[]> {
  const results: ParsedLine[] = [];
  const input = Readable.from([Buffer.from(text, 'utf8')]);
  for await (const parsed of parseItemStream(input, format, options)) results.push(parsed);
  return results;
}

// ---------------------------------------------------------------------------------------------------- NDJSON

const NEWLINE = 0x0a;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

async function* parseNdjson(input: AsyncIterable<Uint8Array | string>): AsyncGenerator<ParsedLine> {
  // Bytes of the current, unfinished line. Split on bytes, not text, so a multi-byte character across a chunk
  // boundary is never cut, and a line over the limit is dropped as it arrives instead of being kept.
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let oversized = false;
  let line = 0;

  const finish = (tail: Buffer): ParsedLine | undefined => {
    line += 1;
    const tooLong = oversized || pendingBytes + tail.length > MAX_LINE_BYTES;
    const bytes = tooLong ? undefined : pending.length === 0 ? tail : Buffer.concat([...pending, tail]);
    pending = [];
    pendingBytes = 0;
    oversized = false;
    if (bytes === undefined) return { line, error: `line is longer than ${MAX_LINE_BYTES} bytes` };
    return parseNdjsonLine(bytes, line);
  };

  for await (const chunk of chunksOf(input)) {
    let start = 0;
    for (let newline = chunk.indexOf(NEWLINE, start); newline !== -1; newline = chunk.indexOf(NEWLINE, start)) {
      const parsed = finish(chunk.subarray(start, newline));
      start = newline + 1;
      if (parsed !== undefined) yield parsed;
    }
    const rest = chunk.subarray(start);
    if (oversized || rest.length === 0) continue;
    if (pendingBytes + rest.length > MAX_LINE_BYTES) {
      oversized = true;
      pending = [];
      pendingBytes = 0;
    } else {
      pending.push(rest);
      pendingBytes += rest.length;
    }
  }
  if (oversized || pendingBytes > 0) {
    const parsed = finish(Buffer.alloc(0));
    if (parsed !== undefined) yield parsed;
  }
}

function parseNdjsonLine(bytes: Buffer, line: number): ParsedLine | undefined {
  let text: string;
  try {
    // The decoder drops a leading BOM itself (ignoreBOM: false): the file's own on line 1, a stray one elsewhere.
    text = utf8.decode(bytes);
  } catch {
    return { line, error: 'line is not valid UTF-8' };
  }
  // JSON.parse accepts surrounding whitespace, including the \r of a CRLF line end; a blank line is not a record.
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { line, error: `invalid JSON: ${toError(error).message}` };
  }
  return isObject(value) ? { line, item: value } : { line, error: `line is ${describe(value)}, not a JSON object` };
}

// ---------------------------------------------------------------------------------------------------- CSV

interface CsvRow {
  record: string[];
  info: { lines: number };
  raw: string;
}

async function* parseCsvRows(
  input: AsyncIterable<Uint8Array | string>,
  options: ParseOptions,
): AsyncGenerator<ParsedLine> {
  const textColumns = new Set(['itemId', ...(options.keyAttribute === undefined ? [] : [options.keyAttribute])]);
  // Records of the chunk being parsed, in file order. csv-parse hands over rows and skipped rows through
  // callbacks while it parses a chunk synchronously; the rows never enter its output stream, so it has no
  // back-pressure to apply and each write finishes before the next chunk is read.
  let out: ParsedLine[] = [];
  let header: string[] | undefined;
  let stopped = false;
  let lastLine = 0;

  const onRow = ({ record, info, raw }: CsvRow): undefined => {
    if (stopped) return undefined;
    const line = firstLineOf(info.lines, raw);
    lastLine = info.lines;
    if (header === undefined) {
      header = record.map((name) => name.trim());
      const problem = headerProblem(header);
      if (problem !== undefined) {
        out.push({ line, error: problem });
        stopped = true;
      }
    } else if (record.length !== header.length) {
      out.push({ line, error: `row has ${record.length} cells, the header has ${header.length}` });
    } else {
      out.push({ line, item: toItem(header, record, textColumns) });
    }
    return undefined;
  };

  const csv = parseCsv({
    bom: true,
    // The header is read here rather than with `columns: true`, so that empty or duplicate names are refused and
    // a wrong cell count is reported in our words instead of csv-parse silently merging or dropping columns.
    columns: false,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    // No max_record_size: with skip_records_with_error, csv-parse 7 abandons the rest of the chunk after an
    // oversize record. The size guard below does the job.
    info: true,
    raw: true,
    on_record: (row) => onRow(row as unknown as CsvRow),
    on_skip: (error) => {
      if (stopped) return;
      const at = (error as { lines?: unknown } | undefined)?.lines;
      const line = typeof at === 'number' ? at : lastLine + 1;
      lastLine = line;
      out.push({ line, error: csvReason(error) });
    },
  });
  // Failures arrive through the write callbacks; an unheard 'error' event would crash the process.
  csv.on('error', () => undefined);
  csv.resume();
  const write = (chunk: Buffer | undefined) =>
    new Promise<void>((resolve, reject) => {
      const done = (error?: Error | null) => (error ? reject(error) : resolve());
      if (chunk === undefined) csv.end(done);
      else csv.write(chunk, done);
    });

  // Bytes read since a row last completed: an unclosed quote or a giant row would otherwise grow in memory. CSV
  // cannot be resynchronised after it (the next newline may be inside the quote), so the file ends there.
  let sinceRow = 0;
  try {
    for await (const chunk of chunksOf(input)) {
      let failure: unknown;
      await write(chunk).catch((error: unknown) => {
        failure = error;
      });
      const rows = out;
      out = [];
      yield* rows;
      if (stopped) return;
      if (failure !== undefined) {
        yield { line: lastLine + 1, error: csvReason(failure) };
        return;
      }
      sinceRow = rows.length > 0 ? 0 : sinceRow + chunk.length;
      if (sinceRow > MAX_LINE_BYTES) {
        yield {
          line: lastLine + 1,
          error: `row is longer than ${MAX_LINE_BYTES} bytes (an unclosed quote?); the rest of the file was not read`,
        };
        return;
      }
    }
    let failure: unknown;
    await write(undefined).catch((error: unknown) => {
      failure = error;
    });
    yield* out;
    if (failure !== undefined && !stopped) yield { line: lastLine + 1, error: csvReason(failure) };
  } finally {
    csv.destroy();
  }
}

/** csv-parse counts the line a record ends on; a quoted cell with newlines started it earlier. */
function firstLineOf(endLine: number, raw: string): number {
  // Blank lines skipped before the record are part of its raw text; the record's own trailing newline too.
  const own = raw.replace(/^[\r\n]+/, '').replace(/\r?\n$/, '');
  let newlines = 0;
  for (let at = own.indexOf('\n'); at !== -1; at = own.indexOf('\n', at + 1)) newlines += 1;
  return Math.max(1, endLine - newlines);
}

function headerProblem(header: readonly string[]): string | undefined {
  const seen = new Set<string>();
  for (const [index, name] of header.entries()) {
    if (name === '') return `header: column ${index + 1} has no name`;
    if (seen.has(name)) return `header: column "${name}" appears twice`;
    seen.add(name);
  }
  return undefined;
}

function toItem(
  header: readonly string[],
  record: readonly string[],
  textColumns: ReadonlySet<string>,
): Record<string, unknown> {
  const item: Record<string, unknown> = {};
  for (const [index, name] of header.entries()) {
    const cell = record[index];
    if (cell === undefined || cell === '') continue;
    // defineProperty keeps a column called "__proto__" an ordinary attribute, as JSON.parse would.
    const value = textColumns.has(name) ? cell : cellValue(cell);
    Object.defineProperty(item, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return item;
}

const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** A CSV cell's value: a number or boolean when its text is one exactly (see the module comment), else the text. */
export function cellValue(cell: string): string | number | boolean {
  if (cell === 'true') return true;
  if (cell === 'false') return false;
  if (!JSON_NUMBER.test(cell)) return cell;
  const mantissa = cell
    .replace(/^-/, '')
    .replace(/[eE].*$/, '')
    .replace('.', '');
  const significant = mantissa.replace(/^0+/, '').replace(/0+$/, '');
  if (significant.length > 15) return cell;
  const value = Number(cell);
  return Number.isFinite(value) ? value : cell;
}

function csvReason(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  switch (code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quoted cell is not closed before the end of the file';
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'a quoted cell has text after its closing quote';
    default:
      return `invalid CSV: ${typeof message === 'string' ? message : String(error)}`;
  }
}

// ---------------------------------------------------------------------------------------------------- JSON

interface Token {
  name: string;
  value?: unknown;
}

async function* parseJsonArray(input: AsyncIterable<Uint8Array | string>): AsyncGenerator<ParsedLine> {
  // stream-json's tokenizer and Assembler are driven synchronously, chunk by chunk, instead of being piped: a
  // piped parser that meets a syntax error destroys itself and drops the elements it had already produced from
  // the same chunk, and buffers between piped streams would blur the element-size guard below.
  // Packed values only: the Assembler needs whole keys, strings and numbers, and the piecewise tokens stream-json
  // also emits by default would double the work per value.
  const tokenizer = jsonParser({ streamValues: false });
  let tokens: Token[] = [];
  tokenizer.push = (token: Token | null) => {
    if (token !== null) tokens.push(token);
    return true;
  };
  const feed = (chunk: Buffer | undefined): Error | undefined => {
    let failure: Error | undefined;
    const done = (error?: Error | null) => {
      failure = error ?? undefined;
    };
    if (chunk === undefined) tokenizer._flush(done);
    else tokenizer._transform(chunk, 'utf8', done);
    return failure;
  };

  const assembler = new Assembler();
  const consume = assembler as unknown as Record<string, ((value: unknown) => void) | undefined>;
  let started = false;
  let count = 0;
  // Bytes read since an element last completed: one huge element (or an unterminated string) would otherwise be
  // assembled in memory whole. JSON cannot be resynchronised after it, so the file ends there.
  let sinceElement = 0;
  let blank = true;

  function* drain(): Generator<ParsedLine, boolean> {
    const batch = tokens;
    tokens = [];
    for (const token of batch) {
      if (!started) {
        if (token.name !== 'startArray') {
          yield { line: 1, error: 'the file is not a JSON array of items' };
          return false;
        }
        started = true;
      }
      consume[token.name]?.call(assembler, token.value);
      // Depth 1 is inside the top-level array: a value just completed there is an element.
      const array = assembler.current as unknown[] | null;
      if (assembler.depth === 1 && Array.isArray(array) && array.length > 0) {
        const value = array.pop();
        count += 1;
        sinceElement = 0;
        yield isObject(value)
          ? { line: count, item: value }
          : { line: count, error: `element is ${describe(value)}, not a JSON object` };
      }
    }
    return true;
  }

  const fail = (error: Error): ParsedLine => ({ line: count + 1, error: jsonReason(error.message, count) });

  for await (const chunk of withoutBom(chunksOf(input))) {
    blank &&= isJsonWhitespace(chunk);
    const before = count;
    const error = feed(chunk);
    if (!(yield* drain())) return;
    if (error !== undefined) {
      yield fail(error);
      return;
    }
    sinceElement = count === before ? sinceElement + chunk.length : 0;
    if (sinceElement > MAX_LINE_BYTES) {
      yield {
        line: count + 1,
        error: `element is longer than ${MAX_LINE_BYTES} bytes; the rest of the file was not read`,
      };
      return;
    }
  }
  const error = feed(undefined);
  if (!(yield* drain())) return;
  if (blank) yield { line: 1, error: 'the file is empty, not a JSON array of items' };
  else if (error !== undefined) yield fail(error);
}

function jsonReason(message: string, count: number): string {
  const where = count === 0 ? 'at the start of the file' : `after element ${count}`;
  return `invalid JSON ${where} (${message}); the rest of the file was not read`;
}

// ---------------------------------------------------------------------------------------------------- helpers

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** The chunks without a leading UTF-8 byte order mark, even one split across chunks (stream-json keeps it). */
async function* withoutBom(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let head = Buffer.alloc(0);
  let decided = false;
  for await (const chunk of chunks) {
    if (decided) {
      yield chunk;
      continue;
    }
    head = Buffer.concat([head, chunk]);
    // Fewer than 3 bytes that could still be the start of a BOM: wait for more.
    if (head.length < BOM.length && BOM.subarray(0, head.length).equals(head)) continue;
    decided = true;
    const rest = head.subarray(0, BOM.length).equals(BOM) ? head.subarray(BOM.length) : head;
    if (rest.length > 0) yield rest;
  }
  if (!decided && head.length > 0) yield head;
}

/** Whether the bytes are all JSON whitespace (space, tab, CR, LF), judged on bytes so chunking cannot matter. */
function isJsonWhitespace(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) return false;
  return true;
}

/** The input as Buffers of at most CHUNK_BYTES, so a parser never holds the records of one giant chunk at once. */
async function* chunksOf(input: AsyncIterable<Uint8Array | string>): AsyncGenerator<Buffer> {
  for await (const raw of input) {
    const chunk = toBuffer(raw);
    for (let start = 0; start < chunk.length; start += CHUNK_BYTES) yield chunk.subarray(start, start + CHUNK_BYTES);
  }
}

function toBuffer(chunk: Uint8Array | string): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
