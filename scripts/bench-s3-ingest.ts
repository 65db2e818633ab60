/**
 * Memory proof of the S3 producer: streams a generated item file (100 MB NDJSON by default) through the real
 * S3IngestFunction logic — parseItemStream, batching, item validation, the errors/ summary — with an in-memory
 * object store and an ingestor that validates items (src/domain/items.ts) but writes nothing. Samples
 * process.memoryUsage() every 10 ms and prints the peak growth over the baseline, which must stay far below the
 * file's size: a parser that buffered the file would grow by at least as much. Peak RSS and heap include garbage
 * V8 has not collected yet (more of it on a busy machine); with --expose-gc the memory still reachable after a
 * collection is sampled too, which is what the code itself keeps.
 *
 *   node --expose-gc --import tsx scripts/bench-s3-ingest.ts [--mb 100] [--format ndjson|csv|json] [--bad-every 1000]
 *
 * (--expose-gc only makes the baseline steadier; without it the numbers include more uncollected garbage.)
 */
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { S3Event } from 'aws-lambda';
import type { ItemIngestor, ItemOutcome } from '../src/adapters/item-store';
import type { ObjectStore } from '../src/adapters/object-store';
import type { ItemFileFormat } from '../src/domain/item-files';
import { validateItem } from '../src/domain/items';
import { createS3IngestHandler } from '../src/handlers/logic/s3-ingest';

const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '100' },
    format: { type: 'string', default: 'ndjson' },
    'bad-every': { type: 'string', default: '1000' },
  },
});
const targetBytes = Number(values.mb) * 1024 * 1024;
const format = values.format as ItemFileFormat;
const badEvery = Number(values['bad-every']);
if (!['ndjson', 'csv', 'json'].includes(format) || !(targetBytes > 0) || !(badEvery > 0)) {
  throw new Error('usage: --mb <positive> --format ndjson|csv|json --bad-every <positive>');
}

/** The file, generated as it is read in 64 KB chunks: never in memory as a whole, like an S3 response body. */
async function* generateFile(): AsyncGenerator<Buffer> {
  let produced = 0;
  let line = 0;
  let chunk: string[] = [];
  let chunkBytes = 0;
  const push = (text: string) => {
    chunk.push(text);
    chunkBytes += text.length;
  };
  if (format === 'csv') push('vehicleId,itemId,lat,lng,speedKmh,status,seq\n');
  if (format === 'json') push('[\n');
  while (produced + chunkBytes < targetBytes) {
    line += 1;
    const id = `v${line % 5000}`;
    const lat = (52 + (line % 1000) / 1e4).toFixed(4);
    const lng = (4 + (line % 777) / 1e4).toFixed(4);
    const bad = line % badEvery === 0;
    if (format === 'csv') {
      push(bad ? `${id},latest,${lat}\n` : `${id},latest,${lat},${lng},${line % 120},moving,${line}\n`);
    } else {
      const item = bad
        ? `{"lat":${lat},"lng":${lng},"note":"missing its key"}`
        : `{"vehicleId":"${id}","itemId":"latest","lat":${lat},"lng":${lng},"speedKmh":${line % 120},"status":"moving","seq":${line}}`;
      push(format === 'json' ? `${line > 1 ? ',' : ''}${item}\n` : `${item}\n`);
    }
    if (chunkBytes >= 64 * 1024) {
      produced += chunkBytes;
      yield Buffer.from(chunk.join(''));
      chunk = [];
      chunkBytes = 0;
    }
  }
  if (format === 'json') push(']\n');
  produced += chunkBytes;
  yield Buffer.from(chunk.join(''));
  fileBytes = produced;
}
let fileBytes = 0;

const gc = (globalThis as { gc?: () => void }).gc;
let batches = 0;
/** Reachable memory (JS heap + Buffers) after a full collection, sampled every 500 batches when gc is exposed. */
let retainedPeak = 0;

const ingestor: ItemIngestor = {
  async ingest(rawItems) {
    batches += 1;
    if (gc !== undefined && batches % 500 === 0) {
      gc();
      const { heapUsed, arrayBuffers } = process.memoryUsage();
      retainedPeak = Math.max(retainedPeak, heapUsed + arrayBuffers);
    }
    // Validation is the per-item CPU and allocation a real ingest does before BatchWriteItem.
    return rawItems.map((raw, index): ItemOutcome => {
      const result = validateItem(raw, { keyAttribute: 'vehicleId' });
      return result.ok
        ? { index, status: 'written', key: result.key, itemId: result.itemId }
        : { index, status: 'rejected', reason: result.reason };
    });
  },
};

let summaryBytes = 0;
const objects: ObjectStore = {
  async get() {
    return { body: Readable.from(generateFile()), contentType: 'application/octet-stream' };
  },
  async put(_bucket, _key, body) {
    summaryBytes = body.length;
  },
};

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const handler = createS3IngestHandler({ objects, ingestor, logger: silent, keyAttribute: 'vehicleId' });
const event = {
  Records: [
    {
      eventName: 'ObjectCreated:Put',
      s3: { bucket: { name: 'bench-bucket' }, object: { key: `incoming/bench.${format}` } },
    },
  ],
} as unknown as S3Event;

async function main(): Promise<void> {
  gc?.();
  const base = process.memoryUsage();
  const peak = { rss: base.rss, heapUsed: base.heapUsed, external: base.external + base.arrayBuffers };
  const sample = () => {
    const now = process.memoryUsage();
    peak.rss = Math.max(peak.rss, now.rss);
    peak.heapUsed = Math.max(peak.heapUsed, now.heapUsed);
    peak.external = Math.max(peak.external, now.external + now.arrayBuffers);
  };
  const timer = setInterval(sample, 10);
  const started = performance.now();
  const [report] = await handler(event);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(timer);
  sample();

  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  const summary = report?.summary;
  console.log(`| measure | value |
|---|---|
| file | ${format}, ${mb(fileBytes)}, ${summary?.lines.toLocaleString('en')} records |
| written / rejected / failed | ${summary?.written} / ${summary?.rejected} / ${summary?.failed} (errors listed: ${summary?.errors.length}, truncated: ${summary?.truncatedErrors ?? 0}; summary ${mb(summaryBytes)}) |
| time | ${seconds.toFixed(1)} s (${(fileBytes / 1024 / 1024 / seconds).toFixed(1)} MB/s) |
| peak RSS growth | ${mb(peak.rss - base.rss)} (baseline ${mb(base.rss)}) |
| peak heap growth | ${mb(peak.heapUsed - base.heapUsed)} (baseline ${mb(base.heapUsed)}) |
| peak external + array buffers growth | ${mb(peak.external - base.external - base.arrayBuffers)} |
| peak retained growth (heap + Buffers after gc, every 500 batches) | ${gc === undefined ? 'n/a (run with --expose-gc)' : mb(retainedPeak - base.heapUsed - base.arrayBuffers)} |
| gc exposed | ${gc === undefined ? 'no' : 'yes'} |`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
