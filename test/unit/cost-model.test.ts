import { type CostInputs, estimateCosts, renderCosts } from '../../scripts/lib/cost-model';

// The example, worked by hand: 10 producers × 1 write/s, 1,000 subscribers of one key, 1 KB items.
const example: CostInputs = {
  producers: 10,
  hz: 1,
  subscribers: 1000,
  bytes: 1024,
  keys: 1,
  batchSeconds: 0.25,
  cpuMsPerPost: 0.25,
  memoryMb: 1024,
  postLatencyMs: 20,
  concurrency: 64,
};
const MONTH = 30 * 24 * 3600; // 2,592,000 s

describe('the cost model on a worked example', () => {
  const [perFrame, coalesced, conflated] = estimateCosts(example, [
    'one post per frame',
    'coalesced',
    'coalesced + conflated',
  ]);

  test('one post per frame: 10,000 posts/s, 25.92 billion messages a month, tiered at $1.00 then $0.80 per million', () => {
    expect(perFrame?.postsPerSecond).toBe(10_000);
    // 10,000/s × 2,592,000 s = 25.92e9 messages (1 KB + envelope: one 32 KB unit each).
    // First 1e9 at $1.00/M = $1,000; the other 24.92e9 at $0.80/M = $19,936.
    expect(perFrame?.monthly.apiGatewayMessages).toBeCloseTo(20_936, 6);
    // The account's default 10,000 @connections requests/s: fully used.
    expect(perFrame?.accountThroughputShare).toBe(1);
  });

  test('coalesced: a batch every 0.25 s holds 2.5 records, so each subscriber gets 4 posts/s instead of 10', () => {
    expect(coalesced?.framesPerSecond).toBe(10_000);
    expect(coalesced?.postsPerSecond).toBe(4000);
    // 4,000/s × 2,592,000 = 10.368e9 messages: $1,000 + 9.368e9 × $0.80/M = $8,494.40.
    expect(coalesced?.monthly.apiGatewayMessages).toBeCloseTo(8494.4, 6);
    // 4 invocations/s × 2,592,000 = 10.368e6 requests × $0.20/M.
    expect(coalesced?.monthly.lambdaRequests).toBeCloseTo(2.0736, 6);
    // 1,000 posts per invocation × 0.25 ms at 1,024/1,769 of a vCPU, + 5 ms = 0.43689 s (more than the 16 × 20 ms
    // the posts take at 64 in flight), × 10.368e6 invocations × 1 GB × $0.0000133334.
    const invocationSeconds = (5 + (1000 * 0.25) / (1024 / 1769)) / 1000;
    expect(coalesced?.monthly.lambdaDuration).toBeCloseTo(4 * MONTH * invocationSeconds * 0.0000133334, 6);
    // 1,000 subscribers × 43,200 minutes × $0.25/M; 10 writes/s × 1 KB × 2,592,000 × $0.625/M.
    expect(coalesced?.monthly.apiGatewayConnectionMinutes).toBeCloseTo(10.8, 6);
    expect(coalesced?.monthly.dynamodbWrites).toBeCloseTo(16.2, 6);
    // One lookup of 1,000 index entries (80 KB: 20 × 4 KB × 0.5 unit = 10 units) per batch, 4 a second, $0.125/M.
    expect(coalesced?.monthly.dynamodbLookups).toBeCloseTo((4 * MONTH * 10 * 0.125) / 1e6, 6);
    expect(coalesced?.monthly.streamReads).toBe(0);
  });

  test('conflation changes nothing when every write is to another item; it caps frames at the items per batch', () => {
    expect(conflated?.total).toBeCloseTo(coalesced?.total as number, 6);
    // One vehicle reporting 40 times a second: 10 records per batch, one item → one frame per batch.
    const [hot] = estimateCosts({ ...example, producers: 1, hz: 40 }, ['coalesced + conflated']);
    expect(hot?.framesPerSecond).toBe(4000);
    expect(hot?.postsPerSecond).toBe(4000);
  });

  test('frames beyond 128 KB take several posts; the report names every component and the price pages', () => {
    const [big] = estimateCosts({ ...example, bytes: 100_000 }, ['coalesced']);
    // 2.5 frames of ~100 KB per batch: 2 posts per subscriber per batch (8,000/s), each billed in 32 KB units.
    expect(big?.postsPerSecond).toBe(8000);
    const report = renderCosts(example, [coalesced as NonNullable<typeof coalesced>]);
    expect(report).toContain('https://aws.amazon.com/api-gateway/pricing/');
    expect(report).toContain('| **Total** | **$8,596.83** |');
    expect(report).toMatch(/4,000\/s \(40\.0%\)/);
  });
});
