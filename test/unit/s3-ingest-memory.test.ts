import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { S3Event } from 'aws-lambda';
import type { ItemIngestor } from '../../src/adapters/item-store';
import type { ObjectStore } from '../../src/adapters/object-store';
import { createS3IngestHandler } from '../../src/handlers/logic/s3-ingest';
import { captureLog } from '../helpers/fakes';

// The S3 producer must not need the file's size in memory (issue: "a 100 MB NDJSON object must not need 100 MB").
// A 24 MB NDJSON file is generated while it is read and goes through the whole ingest logic. Every 500 batches the
// ingestor collects garbage and measures what is still reachable (JS heap + Buffers): that retained memory must
// stay under a quarter of the file. Measured: 0.3 MB streaming; 24.8 MB when the body is buffered first.
// Peak usage without collection is not asserted: it measures how lazily V8 collects, not what the code keeps.
// The 100 MB run with peak RSS is `node --expose-gc --import tsx scripts/bench-s3-ingest.ts`.

// jest runs without --expose-gc; the flag can still be set at run time, and a fresh context then sees `gc`.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const FILE_BYTES = 24 * 1024 * 1024;
const BOUND_BYTES = FILE_BYTES / 4;

async function* generated(): AsyncGenerator<Buffer> {
  let sent = 0;
  let line = 0;
  while (sent < FILE_BYTES) {
    const lines: string[] = [];
    for (let i = 0; i < 400; i += 1) {
      line += 1;
      lines.push(
        line % 500 === 0
          ? '{"broken": '
          : `{"vehicleId":"v${line % 2000}","lat":${(52 + (line % 997) / 1e4).toFixed(4)},"seq":${line},"status":"moving"}`,
      );
    }
    const chunk = Buffer.from(`${lines.join('\n')}\n`);
    sent += chunk.length;
    yield chunk;
  }
}

test('a 24 MB NDJSON object streams through the S3 ingest with bounded memory', async () => {
  const retained = () => {
    gc();
    const { heapUsed, arrayBuffers } = process.memoryUsage();
    return heapUsed + arrayBuffers;
  };
  let written = 0;
  let batches = 0;
  let peak = 0;
  const ingestor: ItemIngestor = {
    async ingest(items) {
      written += items.length;
      batches += 1;
      // A full collection per checkpoint: in a jest worker that already ran other suites one can take a second, so
      // six checkpoints over the ~3,000 batches rather than thirty (a buffered body is held at every one of them).
      if (batches % 500 === 0) peak = Math.max(peak, retained());
      return items.map((_, index) => ({ index, status: 'written' }));
    },
  };
  let summary = '';
  const objects: ObjectStore = {
    async get() {
      return { body: Readable.from(generated()) };
    },
    async put(_bucket, _key, body) {
      summary = body;
    },
  };
  const handle = createS3IngestHandler({ objects, ingestor, logger: captureLog(), keyAttribute: 'vehicleId' });
  const event = {
    Records: [
      { eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' }, object: { key: 'incoming/big.ndjson' } } },
    ],
  } as unknown as S3Event;

  const base = retained();
  await handle(event);

  const parsed = JSON.parse(summary) as { lines: number; written: number; rejected: number };
  expect(parsed.written).toBe(written);
  expect(parsed.rejected).toBe(Math.floor(parsed.lines / 500));
  expect(parsed.lines).toBeGreaterThan(250_000);
  expect(batches).toBeGreaterThan(2000);
  expect(peak - base).toBeLessThan(BOUND_BYTES);
});
