import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createTestTables, freePort, type TestTables } from '@real-time-platform/test-support';
import { openInput } from '../../scripts/lib/produce-cli';
import { exitCodeOf, produce } from '../../scripts/lib/produce-core';
import { runSimulation } from '../../scripts/lib/simulator';
import { createDynamoDbTransport, createHttpTransport } from '../../scripts/lib/transport';
import { validateItem } from '../../src/domain/items';

// The producer CLI and the simulator against the real DynamoDB Local (started by the integration globalSetup) and
// a stand-in for the HTTP API's POST /items. At least some runs spawn the scripts exactly as `npm run` does.

const root = join(__dirname, '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const KEY = 'realTimeItemKey';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runScript(script: string, args: string[], stdin?: string, timeoutMs = 45_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, [script, ...args], {
      cwd: root,
      env: {
        ...process.env,
        NO_COLOR: '1',
        // DynamoDB Local wants letters and digits only; never a developer's real credentials in a test.
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_DYNAMODB: '',
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    if (stdin !== undefined) child.stdin.end(stdin);
    else child.stdin.end();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} ${args.join(' ')} did not exit within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A stand-in for POST /items: answers per the script (`429` first, …) then 201/207 like the real API. */
interface StandIn {
  url: string;
  requests: unknown[][];
  /** Every POST /items, scripted answers included. */
  hits: number;
  /** Statuses to answer before behaving normally. */
  script: number[];
  close(): Promise<void>;
}

async function startStandIn(): Promise<StandIn> {
  const standIn: StandIn = { url: '', requests: [], hits: 0, script: [], close: async () => undefined };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      if (req.method !== 'POST' || req.url !== '/items') return reply(404, { message: 'Not Found' });
      standIn.hits++;
      const scripted = standIn.script.shift();
      if (scripted !== undefined) return reply(scripted, { error: { code: 'THROTTLED', message: 'slow down' } });
      const parsed = JSON.parse(body) as unknown;
      const items = Array.isArray(parsed) ? parsed : [parsed];
      standIn.requests.push(items);
      const results = items.map((item, index) => {
        const verdict = validateItem(item, { keyAttribute: KEY });
        return verdict.ok
          ? { index, status: 'written', key: verdict.key, itemId: verdict.itemId }
          : { index, status: 'rejected', reason: verdict.reason };
      });
      const rejected = results.filter((r) => r.status !== 'written').length;
      if (rejected === items.length) {
        return reply(400, { error: { code: 'BAD_REQUEST', message: 'no valid item', details: results } });
      }
      reply(rejected > 0 ? 207 : 201, { results });
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  standIn.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  standIn.close = () => new Promise((done) => server.close(() => done()));
  return standIn;
}

async function tempFile(name: string, content: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'produce-it-'));
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

const validate = (raw: unknown) => {
  const verdict = validateItem(raw, { keyAttribute: KEY });
  return verdict.ok ? { ok: true as const } : verdict;
};

let tables: TestTables;
let standIn: StandIn;

beforeAll(async () => {
  tables = await createTestTables('produce', KEY);
  standIn = await startStandIn();
});

afterAll(async () => {
  await standIn.close();
  await tables.drop();
});

beforeEach(() => {
  standIn.requests.length = 0;
  standIn.script.length = 0;
  standIn.hits = 0;
});

async function itemsOfKey(key: string): Promise<Record<string, unknown>[]> {
  const answer = await tables.documents.send(
    new QueryCommand({
      TableName: tables.dataTable,
      KeyConditionExpression: '#k = :k',
      ExpressionAttributeNames: { '#k': KEY },
      ExpressionAttributeValues: { ':k': key },
    }),
  );
  return (answer.Items ?? []) as Record<string, unknown>[];
}

describe('npm run produce --to dynamodb (real DynamoDB Local)', () => {
  test('an NDJSON file with bad lines: valid lines land in the table, bad ones rejected with line numbers, exit 2', async () => {
    const lines = [
      JSON.stringify({ [KEY]: 'file-1', speed: 1 }),
      '{"realTimeItemKey": "file-2", "speed": ', // malformed JSON
      JSON.stringify({ speed: 3 }), // no key
      '',
      JSON.stringify({ [KEY]: 'file-4', itemId: 'a', speed: 4 }),
      JSON.stringify({ [KEY]: 'file-5', blob: 'x'.repeat(410 * 1024) }), // over 400 KB
      ...Array.from({ length: 60 }, (_, i) => JSON.stringify({ [KEY]: 'file-bulk', itemId: `n${i}`, n: i })),
    ];
    const file = await tempFile('items.ndjson', `${lines.join('\n')}\n`);
    const run = await runScript('scripts/produce.ts', [
      '--file',
      file,
      '--to',
      'dynamodb',
      '--endpoint',
      process.env.DYNAMODB_ENDPOINT as string,
      '--table',
      tables.dataTable,
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/^read 65 · written 62 · rejected 3 · failed 0 · /);
    expect(run.stdout).toMatch(/line 2: invalid JSON/);
    expect(run.stdout).toContain('line 3: the key attribute "realTimeItemKey" is missing');
    expect(run.stdout).toMatch(/line 6: the item is \d+ bytes/);

    expect(await itemsOfKey('file-1')).toEqual([{ [KEY]: 'file-1', itemId: 'latest', speed: 1 }]);
    expect(await itemsOfKey('file-4')).toEqual([{ [KEY]: 'file-4', itemId: 'a', speed: 4 }]);
    expect(await itemsOfKey('file-5')).toEqual([]);
    expect(await itemsOfKey('file-bulk')).toHaveLength(60);
  });

  test('a CSV from stdin, with --json: a machine-readable summary, exit 0', async () => {
    const csv = `${KEY},itemId,speed,note\ncsv-1,latest,42,ok\ncsv-2,x,7,\n`;
    const run = await runScript(
      'scripts/produce.ts',
      [
        '-',
        '--format',
        'csv',
        '--to',
        'dynamodb',
        '--endpoint',
        process.env.DYNAMODB_ENDPOINT as string,
        '--table',
        tables.dataTable,
        '--json',
      ],
      csv,
    );
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({ read: 2, written: 2, rejected: 0, failed: 0, exitCode: 0 });
    expect(await itemsOfKey('csv-1')).toEqual([{ [KEY]: 'csv-1', itemId: 'latest', speed: 42, note: 'ok' }]);
    expect(await itemsOfKey('csv-2')).toEqual([{ [KEY]: 'csv-2', itemId: 'x', speed: 7 }]);
  });

  test('a missing table or a wrong key attribute stops the run with the fix, exit 1', async () => {
    const endpoint = process.env.DYNAMODB_ENDPOINT as string;
    const missing = await runScript('scripts/produce.ts', [
      '{"realTimeItemKey":"x"}',
      '--to',
      'dynamodb',
      '--endpoint',
      endpoint,
      '--table',
      'NoSuchTable',
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain(
      `stopped early: table NoSuchTable not found at ${endpoint} — check --table / --endpoint`,
    );

    const transport = createDynamoDbTransport({
      endpoint,
      region: 'us-east-1',
      tableName: tables.dataTable,
      keyAttribute: 'vehicleId',
    });
    const summary = await produce({
      records: (async function* () {
        yield { line: 1, item: { vehicleId: 'v1' } };
      })(),
      transport,
      validate: () => ({ ok: true }),
    });
    await transport.close();
    expect(summary.aborted).toBe(
      `table ${tables.dataTable}'s partition key is "realTimeItemKey", not "vehicleId" — use --key-attribute realTimeItemKey`,
    );
    expect(exitCodeOf(summary)).toBe(1);
  });

  test('in-process: a JSON array file streamed through several batches in flight', async () => {
    const items = Array.from({ length: 120 }, (_, i) => ({ [KEY]: 'array', itemId: String(i).padStart(3, '0'), i }));
    const file = await tempFile('items.json', JSON.stringify(items, null, 2));
    const input = await openInput({ kind: 'file', path: file, format: 'json' });
    const transport = createDynamoDbTransport({
      endpoint: process.env.DYNAMODB_ENDPOINT as string,
      region: 'us-east-1',
      tableName: tables.dataTable,
      keyAttribute: KEY,
    });
    const summary = await produce({ records: input.records, transport, validate, concurrency: 3 });
    await transport.close();
    expect(summary).toMatchObject({ read: 120, written: 120, rejected: 0, failed: 0 });
    expect(input.bytesRead?.()).toBe(input.totalBytes);
    expect(await itemsOfKey('array')).toHaveLength(120);
  });
});

describe('npm run produce --to http (stand-in POST /items)', () => {
  test('a 429 is retried and then written; arguments are sent in batches of ≤ 25', async () => {
    standIn.script.push(429);
    const many = JSON.stringify(Array.from({ length: 30 }, (_, i) => ({ [KEY]: `h-${i}` })));
    const run = await runScript('scripts/produce.ts', [
      many,
      '{"realTimeItemKey":"h-last","speed":1}',
      '--url',
      standIn.url,
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^read 31 · written 31 · rejected 0 · failed 0 · /);
    expect(standIn.requests.map((r) => r.length).sort((a, b) => b - a)).toEqual([25, 6]);
    // Three POSTs: one answered 429, and its batch again.
    expect(standIn.hits).toBe(3);
    expect(standIn.requests.flat()).toContainEqual({ [KEY]: 'h-last', speed: 1 });
  });

  test('invalid items are not sent; the API rejecting one is reported by item number; exit 2', async () => {
    const transport = createHttpTransport({ url: standIn.url });
    const summary = await produce({
      records: (async function* () {
        yield { line: 1, item: { [KEY]: 'ok' } };
        yield { line: 2, item: { nokey: 1 } };
        // Valid locally (we pretend), refused by the API: its reason comes back through the 207.
        yield { line: 3, item: { [KEY]: '' } };
      })(),
      transport,
      validate: (raw) => ((raw as { nokey?: unknown }).nokey ? { ok: false, reason: 'no key' } : { ok: true }),
    });
    expect(summary).toMatchObject({ read: 3, written: 1, rejected: 2, failed: 0 });
    expect(summary.rejections[0]).toEqual({ line: 2, reason: 'no key' });
    expect(summary.rejections[1]?.line).toBe(3);
    expect(summary.rejections[1]?.reason).toMatch(/realTimeItemKey/);
    expect(standIn.requests).toEqual([[{ [KEY]: 'ok' }, { [KEY]: '' }]]);
    expect(exitCodeOf(summary)).toBe(2);
  });

  test('5xx until retries run out: failed, exit 1', async () => {
    standIn.script.push(503, 503, 503);
    const run = await runScript('scripts/produce.ts', [
      '{"realTimeItemKey":"x"}',
      '--url',
      standIn.url,
      '--retries',
      '2',
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('failed 1');
    expect(run.stdout).toContain('item 1: HTTP 503 THROTTLED: slow down (gave up after 3 attempts)');
    expect(standIn.hits).toBe(3);
  });

  test('nothing listening: one clear message, exit 1', async () => {
    const port = await freePort();
    const run = await runScript('scripts/produce.ts', [
      '{"realTimeItemKey":"x"}',
      '--url',
      `http://127.0.0.1:${port}`,
      '--retries',
      '1',
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`stopped early: cannot reach http://127.0.0.1:${port} (ECONNREFUSED)`);
  });

  test('usage errors exit 1 with the fix and no stack', async () => {
    const run = await runScript('scripts/produce.ts', ['--file', 'data.txt']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('cannot tell the format of "data.txt" from its name: add --format json|ndjson|csv');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    const help = await runScript('scripts/produce.ts', ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('npm run produce -- --file FILE [options]');
  });
});

describe('npm run simulate', () => {
  test('spawned: 4 vehicles × 5 Hz for 1 s send 20 writes (±1 tick) to the HTTP API', async () => {
    const run = await runScript('scripts/simulate.ts', [
      '--vehicles',
      '4',
      '--hz',
      '5',
      '--duration',
      '1',
      '--url',
      standIn.url,
      '--seed',
      '11',
      '--json',
    ]);
    expect(run.code).toBe(0);
    const received = standIn.requests.flat() as Record<string, unknown>[];
    expect(received.length).toBeGreaterThanOrEqual(19);
    expect(received.length).toBeLessThanOrEqual(21);
    const summary = JSON.parse(run.stdout) as { written: number; seed: number };
    expect(summary.written).toBe(received.length);
    expect(summary.seed).toBe(11);
    expect(new Set(received.map((item) => item[KEY]))).toEqual(new Set(['v-001', 'v-002', 'v-003', 'v-004']));
  });

  test('in-process into DynamoDB Local: one "latest" item per vehicle, with a plausible state', async () => {
    const transport = createDynamoDbTransport({
      endpoint: process.env.DYNAMODB_ENDPOINT as string,
      region: 'us-east-1',
      tableName: tables.dataTable,
      keyAttribute: KEY,
    });
    const before = Date.now();
    const summary = await runSimulation({
      vehicles: 3,
      hz: 4,
      durationS: 1,
      seed: 5,
      idPrefix: 'sim-',
      keyAttribute: KEY,
      transport,
    });
    await transport.close();
    expect(summary.written).toBeGreaterThanOrEqual(11);
    expect(summary.written).toBeLessThanOrEqual(13);
    expect(summary.failed + summary.rejected).toBe(0);
    const scan = await tables.documents.send(new ScanCommand({ TableName: tables.dataTable }));
    const vehicles = (scan.Items ?? []).filter((item) => String(item[KEY]).startsWith('sim-'));
    expect(vehicles.map((v) => v[KEY]).sort()).toEqual(['sim-001', 'sim-002', 'sim-003']);
    for (const v of vehicles) {
      expect(v).toMatchObject({ itemId: 'latest', charging: false });
      expect(Math.abs((v.lat as number) - 52.52)).toBeLessThan(0.1);
      expect(Math.abs((v.lon as number) - 13.405)).toBeLessThan(0.15);
      expect(v.ts as number).toBeGreaterThanOrEqual(before);
    }
  });
});
