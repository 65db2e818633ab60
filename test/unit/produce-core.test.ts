import {
  exitCodeOf,
  FirstProblems,
  formatSummary,
  type ProduceSummary,
  produce,
  type SourceRecord,
  type Validate,
} from '../../scripts/lib/produce-core';
import { type ItemOutcome, type Transport, TransportAbort } from '../../scripts/lib/transport';

const hasKey: Validate = (raw) =>
  typeof (raw as { k?: unknown })?.k === 'string'
    ? { ok: true }
    : { ok: false, reason: 'the key attribute "k" is missing' };

async function* from(records: SourceRecord[]): AsyncGenerator<SourceRecord> {
  for (const record of records) yield record;
}

function items(n: number, start = 1): SourceRecord[] {
  return Array.from({ length: n }, (_, i) => ({ line: start + i, item: { k: String(start + i) } }));
}

/** A transport that records batches and answers with `answer` (written by default), after `delayMs`. */
function fakeTransport(
  answer: (item: unknown) => ItemOutcome = () => ({ status: 'written' }),
  delayMs = 0,
): Transport & { batches: unknown[][]; maxInFlight: number } {
  let inFlight = 0;
  const fake = {
    description: 'fake',
    batches: [] as unknown[][],
    maxInFlight: 0,
    async send(batch: readonly unknown[]) {
      fake.batches.push([...batch]);
      inFlight++;
      fake.maxInFlight = Math.max(fake.maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      inFlight--;
      return batch.map(answer);
    },
    close: async () => undefined,
  };
  return fake;
}

describe('produce: batching and concurrency', () => {
  test('sends batches of 25 in input order; the last one shorter', async () => {
    const transport = fakeTransport();
    const summary = await produce({ records: from(items(60)), transport, validate: hasKey });
    expect(transport.batches.map((b) => b.length)).toEqual([25, 25, 10]);
    expect(transport.batches.flat()).toEqual(items(60).map((r) => (r as { item: unknown }).item));
    expect(summary).toMatchObject({ read: 60, written: 60, rejected: 0, failed: 0, rejections: [], failures: [] });
    expect(exitCodeOf(summary)).toBe(0);
  });

  test('--batch-size is honoured and capped at 25', async () => {
    const small = fakeTransport();
    await produce({ records: from(items(7)), transport: small, validate: hasKey, batchSize: 3 });
    expect(small.batches.map((b) => b.length)).toEqual([3, 3, 1]);
    const capped = fakeTransport();
    await produce({ records: from(items(30)), transport: capped, validate: hasKey, batchSize: 100 });
    expect(capped.batches.map((b) => b.length)).toEqual([25, 5]);
  });

  test('a batch closes early rather than grow past maxBatchBytes', async () => {
    const transport = fakeTransport();
    const big = (n: number): SourceRecord => ({ line: n, item: { k: String(n), blob: 'x'.repeat(300) } });
    await produce({
      records: from([big(1), big(2), big(3), big(4), big(5)]),
      transport,
      validate: hasKey,
      maxBatchBytes: 700,
    });
    expect(transport.batches.map((b) => b.length)).toEqual([2, 2, 1]);
  });

  test('never more than `concurrency` requests in flight, and reading waits for a free slot', async () => {
    const transport = fakeTransport(undefined, 20);
    let readAhead = 0;
    async function* counted(): AsyncGenerator<SourceRecord> {
      for (const record of items(250)) {
        readAhead = record.line - (transport.batches.length - 0) * 25;
        yield record;
      }
    }
    const summary = await produce({ records: counted(), transport, validate: hasKey, concurrency: 3 });
    expect(transport.maxInFlight).toBe(3);
    expect(summary.written).toBe(250);
    // Never more than one batch read beyond what was handed to the transport.
    expect(readAhead).toBeLessThanOrEqual(25);
  });

  test('invalid records are not sent: counted as rejected with line and reason', async () => {
    const transport = fakeTransport();
    const records: SourceRecord[] = [
      { line: 1, item: { k: 'a' } },
      { line: 2, error: 'invalid JSON: Unexpected token' },
      { line: 3, item: { nokey: true } },
      { line: 4, item: { k: 'b' } },
    ];
    const summary = await produce({ records: from(records), transport, validate: hasKey });
    expect(transport.batches).toEqual([[{ k: 'a' }, { k: 'b' }]]);
    expect(summary).toMatchObject({ read: 4, written: 2, rejected: 2, failed: 0 });
    expect(summary.rejections).toEqual([
      { line: 2, reason: 'invalid JSON: Unexpected token' },
      { line: 3, reason: 'the key attribute "k" is missing' },
    ]);
    expect(exitCodeOf(summary)).toBe(2);
  });

  test("the destination's per-item outcomes are tallied against the right lines", async () => {
    const transport = fakeTransport((item) => {
      const k = (item as { k: string }).k;
      if (k === '2') return { status: 'rejected', reason: 'item too large' };
      if (k === '5') return { status: 'failed', reason: 'throttled' };
      return { status: 'written' };
    });
    const summary = await produce({ records: from(items(6)), transport, validate: hasKey, batchSize: 2 });
    expect(summary).toMatchObject({ read: 6, written: 4, rejected: 1, failed: 1 });
    expect(summary.rejections).toEqual([{ line: 2, reason: 'item too large' }]);
    expect(summary.failures).toEqual([{ line: 5, reason: 'throttled' }]);
    expect(exitCodeOf(summary)).toBe(1);
  });

  test('an abort (destination unreachable) stops reading; what was read counts as failed', async () => {
    let sends = 0;
    const transport: Transport = {
      description: 'down',
      send: async () => {
        sends++;
        throw new TransportAbort('cannot reach http://localhost:3000 (ECONNREFUSED)');
      },
      close: async () => undefined,
    };
    let pulled = 0;
    async function* endless(): AsyncGenerator<SourceRecord> {
      for (let line = 1; ; line++) {
        pulled++;
        yield { line, item: { k: String(line) } };
      }
    }
    const summary = await produce({ records: endless(), transport, validate: hasKey, concurrency: 2 });
    expect(summary.aborted).toBe('cannot reach http://localhost:3000 (ECONNREFUSED)');
    expect(summary.written).toBe(0);
    expect(summary.failed).toBe(summary.read);
    expect(pulled).toBeLessThan(200);
    expect(sends).toBeLessThanOrEqual(3);
    expect(exitCodeOf(summary)).toBe(1);
    expect(formatSummary(summary)).toContain('stopped early: cannot reach http://localhost:3000 (ECONNREFUSED)');
    expect(formatSummary(summary)).not.toContain('line 1:');
  });

  test('an abort signal stops reading, the batches in flight still finish', async () => {
    const transport = fakeTransport(undefined, 10);
    const controller = new AbortController();
    async function* slow(): AsyncGenerator<SourceRecord> {
      for (let line = 1; line <= 1000; line++) {
        if (line === 60) controller.abort();
        yield { line, item: { k: String(line) } };
      }
    }
    const summary = await produce({ records: slow(), transport, validate: hasKey, signal: controller.signal });
    expect(summary.read).toBe(59);
    expect(summary.written).toBe(59);
    expect(summary.aborted).toBe('interrupted');
  });

  test('a failing input still sends what was read, then reports', async () => {
    const transport = fakeTransport();
    async function* broken(): AsyncGenerator<SourceRecord> {
      yield { line: 1, item: { k: '1' } };
      throw new Error('EIO: read error');
    }
    const summary = await produce({ records: broken(), transport, validate: hasKey });
    expect(summary).toMatchObject({ read: 1, written: 1, aborted: 'reading the input failed: EIO: read error' });
    expect(exitCodeOf(summary)).toBe(1);
  });

  test('progress is reported as batches complete, and once at the end', async () => {
    const seen: number[] = [];
    await produce({
      records: from(items(50)),
      transport: fakeTransport(),
      validate: hasKey,
      onProgress: (c) => seen.push(c.written),
    });
    expect(seen.at(-1)).toBe(50);
    expect(seen).toContain(25);
  });
});

describe('produce: summary and exit code', () => {
  const base: ProduceSummary = {
    read: 0,
    written: 0,
    rejected: 0,
    failed: 0,
    rejections: [],
    failures: [],
    elapsedMs: 2000,
  };

  test('exit codes: 0 all written (or nothing read), 2 some rejected, 1 any failure or abort', () => {
    expect(exitCodeOf({ ...base, read: 3, written: 3 })).toBe(0);
    expect(exitCodeOf(base)).toBe(0);
    expect(exitCodeOf({ ...base, read: 3, written: 2, rejected: 1 })).toBe(2);
    expect(exitCodeOf({ ...base, read: 3, written: 1, rejected: 1, failed: 1 })).toBe(1);
    expect(exitCodeOf({ ...base, aborted: 'interrupted' })).toBe(1);
  });

  test('the summary lists the first reasons by line, and says how many there were', () => {
    const text = formatSummary(
      {
        ...base,
        read: 1200,
        written: 1000,
        rejected: 150,
        failed: 50,
        rejections: [
          { line: 3, reason: 'invalid JSON' },
          { line: 9, reason: 'the key attribute "k" is missing' },
        ],
        failures: [{ line: 40, reason: 'HTTP 503 (gave up after 6 attempts)' }],
      },
      'line',
    );
    expect(text).toBe(
      [
        'read 1,200 · written 1,000 · rejected 150 · failed 50 · 2.0 s (500 items/s)',
        'rejected (first 2 of 150):',
        '  line 3: invalid JSON',
        '  line 9: the key attribute "k" is missing',
        'failed (first 1 of 50):',
        '  line 40: HTTP 503 (gave up after 6 attempts)',
        '',
      ].join('\n'),
    );
    expect(formatSummary({ ...base, read: 1, rejected: 1, rejections: [{ line: 1, reason: 'x' }] }, 'item')).toContain(
      '  item 1: x',
    );
    expect(formatSummary(base)).toContain('the input held no items');
  });

  test('FirstProblems keeps the lowest lines whatever order results arrive in', () => {
    const first = new FirstProblems(3);
    for (const line of [50, 7, 99, 3, 8, 1, 60]) first.add({ line, reason: `r${line}` });
    expect(first.list.map((p) => p.line)).toEqual([1, 3, 7]);
  });
});
