import { PassThrough, Readable } from 'node:stream';
import {
  cellValue,
  formatOf,
  type ItemFileFormat,
  MAX_LINE_BYTES,
  type ParsedLine,
  parseItemStream,
  parseItemText,
} from '../../src/domain/item-files';

/** Collects a stream fed in the given chunks (to split records, characters and CRLFs across chunk boundaries). */
async function parseChunks(chunks: (string | Buffer)[], format: ItemFileFormat): Promise<ParsedLine[]> {
  const out: ParsedLine[] = [];
  const input = Readable.from(chunks.map((chunk) => (typeof chunk === 'string' ? Buffer.from(chunk) : chunk)));
  for await (const parsed of parseItemStream(input, format)) out.push(parsed);
  return out;
}

describe('formatOf', () => {
  test.each([
    ['incoming/a.json', undefined, 'json'],
    ['incoming/a.NDJSON', undefined, 'ndjson'],
    ['a.jsonl', 'text/csv', 'ndjson'],
    ['dir.v2/a.csv', undefined, 'csv'],
    ['incoming/upload', 'application/x-ndjson; charset=utf-8', 'ndjson'],
    ['incoming/upload', 'text/csv', 'csv'],
    ['incoming/upload.bin', 'application/json', 'json'],
    ['incoming/a.txt', 'binary/octet-stream', undefined],
    ['incoming/.csv', undefined, undefined],
    ['incoming/a.json.gz', undefined, undefined],
  ] as const)('%s (%s) → %s', (name, contentType, expected) => {
    expect(formatOf(name, contentType)).toBe(expected);
  });
});

describe('NDJSON', () => {
  test('objects per line, with blank lines skipped but counted, CRLF, a BOM and no final newline', async () => {
    const text = '\ufeff{"vehicleId":"1"}\r\n\r\n   \n{"vehicleId":"2","n":1.5}\r\n{"vehicleId":"3"}';
    expect(await parseItemText(text, 'ndjson')).toEqual([
      { line: 1, item: { vehicleId: '1' } },
      { line: 4, item: { vehicleId: '2', n: 1.5 } },
      { line: 5, item: { vehicleId: '3' } },
    ]);
  });

  test('a malformed line, an array and a scalar are errors for their line; parsing goes on', async () => {
    const result = await parseItemText('{"a":1}\n{"a":\n[1,2]\n"text"\nnull\n{"a":2}\n', 'ndjson');
    expect(result).toEqual([
      { line: 1, item: { a: 1 } },
      { line: 2, error: expect.stringMatching(/^invalid JSON: /) },
      { line: 3, error: 'line is an array, not a JSON object' },
      { line: 4, error: 'line is a string, not a JSON object' },
      { line: 5, error: 'line is null, not a JSON object' },
      { line: 6, item: { a: 2 } },
    ]);
  });

  test('records, multi-byte characters and CRLF split across chunk boundaries', async () => {
    const text = '{"name":"Zoë 🚗"}\r\n{"name":"b"}\r\n';
    const bytes = Buffer.from(text);
    // Every split point, including inside the 4-byte emoji and between \r and \n.
    for (let at = 1; at < bytes.length; at += 1) {
      expect(await parseChunks([bytes.subarray(0, at), bytes.subarray(at)], 'ndjson')).toEqual([
        { line: 1, item: { name: 'Zoë 🚗' } },
        { line: 2, item: { name: 'b' } },
      ]);
    }
  });

  test('a line over MAX_LINE_BYTES is one error, neither buffered nor fatal, wherever the chunks split it', async () => {
    const huge = `{"x":"${'y'.repeat(MAX_LINE_BYTES)}"}`;
    const pieces = ['{"a":1}\n', huge.slice(0, 1000), huge.slice(1000, 700_000), huge.slice(700_000), '\n{"a":2}'];
    expect(await parseChunks(pieces, 'ndjson')).toEqual([
      { line: 1, item: { a: 1 } },
      { line: 2, error: `line is longer than ${MAX_LINE_BYTES} bytes` },
      { line: 3, item: { a: 2 } },
    ]);
    // A line of exactly the limit is still parsed.
    const exact = `{"x":"${'y'.repeat(MAX_LINE_BYTES - 8)}"}`;
    expect(Buffer.byteLength(exact)).toBe(MAX_LINE_BYTES);
    expect(await parseItemText(`${exact}\n${huge}`, 'ndjson')).toEqual([
      { line: 1, item: { x: 'y'.repeat(MAX_LINE_BYTES - 8) } },
      { line: 2, error: `line is longer than ${MAX_LINE_BYTES} bytes` },
    ]);
  });

  test('invalid UTF-8 is reported for its line', async () => {
    const bad = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n{"a":1}\n')]);
    expect(await parseChunks([bad], 'ndjson')).toEqual([
      { line: 1, error: 'line is not valid UTF-8' },
      { line: 2, item: { a: 1 } },
    ]);
  });

  test('an empty input has no records', async () => {
    expect(await parseItemText('', 'ndjson')).toEqual([]);
    expect(await parseItemText('\n\r\n', 'ndjson')).toEqual([]);
  });
});

describe('JSON array', () => {
  test('elements are numbered from 1; a BOM is skipped; a non-object element is an error', async () => {
    const text = '\ufeff[\n  {"vehicleId":"1","tags":["a"]},\n  42,\n  null,\n  {"vehicleId":"2"}\n]\n';
    expect(await parseItemText(text, 'json')).toEqual([
      { line: 1, item: { vehicleId: '1', tags: ['a'] } },
      { line: 2, error: 'element is a number, not a JSON object' },
      { line: 3, error: 'element is null, not a JSON object' },
      { line: 4, item: { vehicleId: '2' } },
    ]);
  });

  test('a syntax error keeps the elements before it and ends the file with one error', async () => {
    expect(await parseItemText('[{"a":1},{"b":2},{"c":', 'json')).toEqual([
      { line: 1, item: { a: 1 } },
      { line: 2, item: { b: 2 } },
      { line: 3, error: expect.stringMatching(/^invalid JSON after element 2 .*the rest of the file was not read$/) },
    ]);
  });

  test.each([
    ['{"vehicleId":"1"}', 'the file is not a JSON array of items'],
    ['"text"', 'the file is not a JSON array of items'],
    ['', 'the file is empty, not a JSON array of items'],
    ['  \n', 'the file is empty, not a JSON array of items'],
  ])('%j is one error', async (text, error) => {
    expect(await parseItemText(text, 'json')).toEqual([{ line: 1, error }]);
  });

  test('an empty array has no records', async () => {
    expect(await parseItemText('[ ]', 'json')).toEqual([]);
  });

  test('an element over MAX_LINE_BYTES stops the file instead of being assembled', async () => {
    const result = await parseItemText(`[{"a":1},{"x":"${'y'.repeat(3 * MAX_LINE_BYTES)}"},{"a":2}]`, 'json');
    expect(result).toEqual([
      { line: 1, item: { a: 1 } },
      { line: 2, error: `element is longer than ${MAX_LINE_BYTES} bytes; the rest of the file was not read` },
    ]);
  });

  test('elements split across chunks, one byte at a time', async () => {
    const text = '[{"name":"Zoë","n":-1.5e2,"ok":true,"nested":{"a":[1,{"b":null}]}}, {"k":"2"}]';
    const bytes = [...Buffer.from(text)].map((byte) => Buffer.from([byte]));
    expect(await parseChunks(bytes, 'json')).toEqual([
      { line: 1, item: { name: 'Zoë', n: -150, ok: true, nested: { a: [1, { b: null }] } } },
      { line: 2, item: { k: '2' } },
    ]);
  });
});

describe('CSV', () => {
  test('header row, typed cells, omitted empty cells, CRLF and a BOM', async () => {
    const text = '\ufeffvehicleId, lat ,speed,zip,active,note,big\r\n7,52.37,-3e2,007,true,,12345678901234567890\r\n';
    expect(await parseItemText(text, 'csv')).toEqual([
      {
        line: 2,
        item: { vehicleId: 7, lat: 52.37, speed: -300, zip: '007', active: true, big: '12345678901234567890' },
      },
    ]);
  });

  test('quoted cells keep commas, quotes and newlines; a multi-line record reports its first line', async () => {
    const text = 'id,note\n1,"a, b"\n2,"say ""hi"""\n3,"line one\nline two"\n4,x\n';
    expect(await parseItemText(text, 'csv')).toEqual([
      { line: 2, item: { id: 1, note: 'a, b' } },
      { line: 3, item: { id: 2, note: 'say "hi"' } },
      { line: 4, item: { id: 3, note: 'line one\nline two' } },
      { line: 6, item: { id: 4, note: 'x' } },
    ]);
  });

  test('a row with the wrong cell count is an error for that row; blank lines are skipped but counted', async () => {
    expect(await parseItemText('a,b\n1,2\n\n3\n4,5,6\n7,8', 'csv')).toEqual([
      { line: 2, item: { a: 1, b: 2 } },
      { line: 4, error: 'row has 1 cells, the header has 2' },
      { line: 5, error: 'row has 3 cells, the header has 2' },
      { line: 6, item: { a: 7, b: 8 } },
    ]);
  });

  test.each([
    ['a,,c\n1,2,3\n', 'header: column 2 has no name'],
    ['a,b,a\n1,2,3\n', 'header: column "a" appears twice'],
  ])('a bad header stops the file: %j', async (text, error) => {
    expect(await parseItemText(text, 'csv')).toEqual([{ line: 1, error }]);
  });

  test('an unclosed quote is an error at the end, after the rows before it', async () => {
    expect(await parseItemText('a,b\n1,2\n3,"open\n4,5\n', 'csv')).toEqual([
      { line: 2, item: { a: 1, b: 2 } },
      { line: 4, error: 'a quoted cell is not closed before the end of the file' },
    ]);
  });

  test.each([
    ['a giant row', `a,b\n1,2\n${'x'.repeat(2 * MAX_LINE_BYTES)},3\n4,5\n`],
    ['an unclosed quote', `a,b\n1,2\n3,"${'x\n'.repeat(MAX_LINE_BYTES)}`],
  ])('%s stops the file after a MiB instead of growing in memory', async (_name, text) => {
    expect(await parseItemText(text, 'csv')).toEqual([
      { line: 2, item: { a: 1, b: 2 } },
      {
        line: 3,
        error: `row is longer than ${MAX_LINE_BYTES} bytes (an unclosed quote?); the rest of the file was not read`,
      },
    ]);
  });

  test('the key attribute and itemId columns stay text', async () => {
    const text = 'vehicleId,itemId,speed\n3,1,4\n007,2e3,5\n';
    expect(await parseItemText(text, 'csv', { keyAttribute: 'vehicleId' })).toEqual([
      { line: 2, item: { vehicleId: '3', itemId: '1', speed: 4 } },
      { line: 3, item: { vehicleId: '007', itemId: '2e3', speed: 5 } },
    ]);
    expect(await parseItemText(text, 'csv')).toEqual([
      { line: 2, item: { vehicleId: 3, itemId: '1', speed: 4 } },
      { line: 3, item: { vehicleId: '007', itemId: '2e3', speed: 5 } },
    ]);
  });

  test('a column called __proto__ is an ordinary attribute', async () => {
    const [first] = await parseItemText('id,__proto__\n1,x\n', 'csv');
    const item = (first as { item: Record<string, unknown> }).item;
    expect(Object.keys(item)).toEqual(['id', '__proto__']);
    expect(Object.getPrototypeOf(item)).toBe(Object.prototype);
  });

  test('only a header, or nothing, has no records', async () => {
    expect(await parseItemText('a,b\n', 'csv')).toEqual([]);
    expect(await parseItemText('', 'csv')).toEqual([]);
  });

  test.each([
    ['0', 0],
    ['-0.25', -0.25],
    ['1e3', 1000],
    ['123456789012345', 123456789012345],
    ['1234567890123456', '1234567890123456'],
    ['0.000000000000001', 1e-15],
    ['007', '007'],
    ['00', '00'],
    ['+1', '+1'],
    ['1.', '1.'],
    ['.5', '.5'],
    [' 42', ' 42'],
    ['0x10', '0x10'],
    ['1e999', '1e999'],
    ['true', true],
    ['false', false],
    ['TRUE', 'TRUE'],
    ['null', 'null'],
  ])('cell %j → %j', (cell, value) => {
    expect(cellValue(cell)).toBe(value);
  });
});

describe('sources', () => {
  test('a source that fails midway throws (the caller retries), in every format', async () => {
    for (const format of ['ndjson', 'csv', 'json'] as const) {
      const source = new PassThrough();
      const first = format === 'csv' ? 'a\n1\n' : format === 'json' ? '[{"a":1},' : '{"a":1}\n';
      source.write(first);
      setImmediate(() => source.destroy(new Error('socket hang up')));
      const seen: ParsedLine[] = [];
      await expect(
        (async () => {
          for await (const parsed of parseItemStream(source, format)) seen.push(parsed);
        })(),
      ).rejects.toThrow('socket hang up');
      expect(seen.every((parsed) => 'item' in parsed)).toBe(true);
    }
  });

  test('a consumer that stops early releases the source', async () => {
    for (const format of ['ndjson', 'csv', 'json'] as const) {
      const text = format === 'csv' ? 'a\n1\n2\n3\n' : format === 'json' ? '[{"a":1},{"a":2}]' : '{"a":1}\n{"a":2}\n';
      const source = Readable.from([Buffer.from(text)]);
      for await (const parsed of parseItemStream(source, format)) {
        expect(parsed).toHaveProperty('item');
        break;
      }
      await new Promise((resolve) => setImmediate(resolve));
      expect(source.destroyed).toBe(true);
    }
  });
});
