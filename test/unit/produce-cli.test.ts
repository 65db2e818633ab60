import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { UsageError } from '../../scripts/lib/cli-support';
import { argumentRecords, openInput, parseProduceArgs } from '../../scripts/lib/produce-cli';
import type { SourceRecord } from '../../scripts/lib/produce-core';
import { parseSimulateArgs } from '../../scripts/lib/simulator';

const tty = { stdinIsTTY: true, env: {} };
const piped = { stdinIsTTY: false, env: {} };

function run(argv: string[], context = tty) {
  const command = parseProduceArgs(argv, context);
  if (command.help) throw new Error('unexpected --help');
  return command;
}

async function collect(records: AsyncIterable<SourceRecord>): Promise<SourceRecord[]> {
  const all: SourceRecord[] = [];
  for await (const record of records) all.push(record);
  return all;
}

describe('produce: argument parsing', () => {
  test('defaults: the local HTTP API, realTimeItemKey, 4 in flight, batches of 25', () => {
    const command = run(['{"realTimeItemKey":"3"}']);
    expect(command.input).toEqual({ kind: 'arguments', values: ['{"realTimeItemKey":"3"}'] });
    expect(command.transport).toEqual({
      to: 'http',
      url: 'http://localhost:3000',
      endpoint: 'http://localhost:8000',
      table: 'RealTimeData-develop',
      keyAttribute: 'realTimeItemKey',
      retries: 5,
    });
    expect(command).toMatchObject({ concurrency: 4, batchSize: 25, maxReasons: 10, json: false, quiet: false });
  });

  test('--help wins over everything else', () => {
    expect(parseProduceArgs(['--help', '--to', 'nowhere'], tty)).toEqual({ help: true });
    expect(parseProduceArgs(['-h'], tty)).toEqual({ help: true });
  });

  test('a file: format from the extension, or --format when the name does not say', () => {
    expect(run(['--file', 'a.ndjson']).input).toEqual({ kind: 'file', path: 'a.ndjson', format: 'ndjson' });
    expect(run(['-f', 'b.CSV']).input).toEqual({ kind: 'file', path: 'b.CSV', format: 'csv' });
    expect(run(['--file', 'c.json']).input).toMatchObject({ format: 'json' });
    expect(run(['--file', 'dump.txt', '--format', 'csv']).input).toMatchObject({ format: 'csv' });
    expect(() => run(['--file', 'dump.txt'])).toThrow(/cannot tell the format of "dump.txt".*--format/);
    expect(() => run(['--file', 'a.json', '--format', 'xml'])).toThrow(/--format must be json, ndjson or csv/);
  });

  test('stdin: "-" or a pipe, NDJSON unless --format; a terminal with no input is a mistake', () => {
    expect(run(['-']).input).toEqual({ kind: 'stdin', format: 'ndjson' });
    expect(run([], piped).input).toEqual({ kind: 'stdin', format: 'ndjson' });
    expect(run(['--format', 'csv'], piped).input).toEqual({ kind: 'stdin', format: 'csv' });
    expect(() => run([], tty)).toThrow(/nothing to send/);
  });

  test('one input source at a time', () => {
    expect(() => run(['{}', '--file', 'a.ndjson'])).toThrow(UsageError);
    expect(() => run(['-', '--file', 'a.ndjson'])).toThrow(/one of them/);
    expect(() => run(['{}', '--format', 'csv'])).toThrow(/arguments are JSON/);
  });

  test('destination flags are checked', () => {
    const direct = run(['{}', '--to', 'dynamodb', '--endpoint', 'aws', '--table', 'T', '--key-attribute', 'vehicleId']);
    expect(direct.transport).toEqual({
      to: 'dynamodb',
      url: 'http://localhost:3000',
      table: 'T',
      keyAttribute: 'vehicleId',
      retries: 5,
    });
    expect(() => run(['{}', '--to', 'kafka'])).toThrow(/--to must be http or dynamodb/);
    expect(() => run(['{}', '--url', 'localhost:3000'])).toThrow(/--url must be an http\(s\) URL/);
    expect(() => run(['{}', '--endpoint', 'db:8000'])).toThrow(/--endpoint/);
    expect(() => run(['{}', '--sign', '--no-sign'])).toThrow(/contradict/);
    expect(run(['{}', '--sign', '--region', 'eu-west-1']).transport).toMatchObject({ sign: true, region: 'eu-west-1' });
    expect(run(['{}', '--no-sign']).transport).toMatchObject({ sign: false });
  });

  test('environment defaults: RTP_URL, AWS_ENDPOINT_URL_DYNAMODB, AWS_REGION', () => {
    const env = {
      RTP_URL: 'http://127.0.0.1:4000',
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9000',
      AWS_REGION: 'eu-central-1',
    };
    expect(run(['{}'], { stdinIsTTY: true, env }).transport).toMatchObject({
      url: 'http://127.0.0.1:4000',
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-central-1',
    });
  });

  test('empty environment variables count as unset', () => {
    const env = { RTP_URL: '', AWS_ENDPOINT_URL_DYNAMODB: '', AWS_REGION: '' };
    const { transport } = run(['{}'], { stdinIsTTY: true, env });
    expect(transport).toMatchObject({ url: 'http://localhost:3000', endpoint: 'http://localhost:8000' });
    expect(transport).not.toHaveProperty('region');
  });

  test('numbers are checked with the flag named', () => {
    expect(run(['{}', '--concurrency', '8', '--batch-size', '10', '--retries', '0'])).toMatchObject({
      concurrency: 8,
      batchSize: 10,
      transport: { retries: 0 },
    });
    expect(() => run(['{}', '--batch-size', '26'])).toThrow(/--batch-size must be a whole number from 1 to 25/);
    expect(() => run(['{}', '--concurrency', '0'])).toThrow(/--concurrency/);
    expect(() => run(['{}', '--concurrency', 'four'])).toThrow(/--concurrency/);
    expect(() => run(['{}', '--retries=-1'])).toThrow(/--retries must be a whole number/);
  });

  test('unknown flags are refused (parseArgs strict)', () => {
    expect(() => run(['{}', '--fromat', 'csv'])).toThrow(/Unknown option '--fromat'/);
  });
});

describe('produce: argument items', () => {
  test('objects and arrays count on as item positions; a non-JSON argument is a rejected record', () => {
    const records = [...argumentRecords(['{"k":"1"}', '[{"k":"2"},{"k":"3"}]', 'oops', '{"k":"4"}'])];
    expect(records).toEqual([
      { line: 1, item: { k: '1' } },
      { line: 2, item: { k: '2' } },
      { line: 3, item: { k: '3' } },
      { line: 4, error: expect.stringMatching(/^argument 3 is not JSON/) },
      { line: 5, item: { k: '4' } },
    ]);
  });

  test('openInput streams a file and reports its size and progress', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'produce-'));
    const file = join(dir, 'items.ndjson');
    await writeFile(file, '{"k":"1"}\nnot json\n{"k":"2"}\n');
    const input = await openInput({ kind: 'file', path: file, format: 'ndjson' });
    expect(input.unit).toBe('line');
    expect(input.totalBytes).toBe(29);
    const records = await collect(input.records);
    expect(records).toEqual([
      { line: 1, item: { k: '1' } },
      { line: 2, error: expect.stringMatching(/invalid JSON/) },
      { line: 3, item: { k: '2' } },
    ]);
    expect(input.bytesRead?.()).toBe(29);
  });

  test('openInput: a missing file is a usage error naming it', async () => {
    await expect(openInput({ kind: 'file', path: '/nonexistent/x.ndjson', format: 'ndjson' })).rejects.toThrow(
      '--file /nonexistent/x.ndjson: no such file',
    );
  });

  test('openInput reads stdin in the given format', async () => {
    const input = await openInput({ kind: 'stdin', format: 'csv' }, Readable.from(['k,speed\n', 'a,1\n']));
    expect(await collect(input.records)).toEqual([{ line: 2, item: { k: 'a', speed: 1 } }]);
  });
});

describe('simulate: argument parsing', () => {
  test('defaults and flags', () => {
    const command = parseSimulateArgs(['--vehicles', '50', '--hz', '2', '--seed', '7'], {});
    expect(command).toMatchObject({
      help: false,
      vehicles: 50,
      hz: 2,
      seed: 7,
      area: { lat: 52.52, lon: 13.405, radiusKm: 5 },
      idPrefix: 'v-',
      concurrency: 8,
      statusIntervalS: 5,
      transport: { to: 'http', keyAttribute: 'realTimeItemKey' },
    });
    expect(command).not.toHaveProperty('durationS');
    expect(
      parseSimulateArgs(['--duration', '0.5', '--hz', '0.2', '--center', '48.85, 2.35', '--radius', '2'], {}),
    ).toMatchObject({
      durationS: 0.5,
      hz: 0.2,
      area: { lat: 48.85, lon: 2.35, radiusKm: 2 },
    });
  });

  test('bad values name their flag', () => {
    expect(() => parseSimulateArgs(['--vehicles', '0'], {})).toThrow(/--vehicles/);
    expect(() => parseSimulateArgs(['--hz=-1'], {})).toThrow(/--hz must be a positive number/);
    expect(() => parseSimulateArgs(['--duration', 'soon'], {})).toThrow(/--duration/);
    expect(() => parseSimulateArgs(['--center', '52.5'], {})).toThrow(/--center must be LAT,LON/);
    expect(() => parseSimulateArgs(['--center', '91,0'], {})).toThrow(/--center/);
    expect(() => parseSimulateArgs(['--seed', 'abc'], {})).toThrow(/--seed/);
    expect(() => parseSimulateArgs(['fifty'], {})).toThrow(/unexpected argument "fifty"/);
    expect(parseSimulateArgs(['-h'], {})).toEqual({ help: true });
  });

  test('without --seed a random one is chosen (and reported in the summary)', () => {
    const command = parseSimulateArgs([], {});
    expect(command.help).toBe(false);
    if (!command.help) expect(Number.isInteger(command.seed)).toBe(true);
  });
});
