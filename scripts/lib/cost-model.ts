/**
 * The monthly AWS bill of a fan-out load, by component, as `npm run cost` prints it. Pure arithmetic over one dated
 * price table, so a unit test can check a worked example by hand.
 *
 * The model (every assumption is a flag of `npm run cost`):
 * - `producers` each write `hz` items per second of `bytes` bytes, spread evenly over `keys` keys; `subscribers`
 *   connections are spread evenly over the keys, one key each. Each producer updates its own item (`itemsPerKey`
 *   distinct items per key, by default the producers per key).
 * - A stream shard takes about 1,000 writes/s; each shard hands Lambda a batch every `batchSeconds` (Lambda polls a
 *   DynamoDB stream shard four times a second; a busy shard's next batch comes when the previous one is done), of at
 *   most 100 records (the template's BatchSize). A key's records per batch are its writes in that interval.
 * - One post per frame (before coalescing): every change is one PutToConnection per subscriber. Coalesced: one post
 *   per subscriber per batch (more when the batch's frames exceed 128 KB). Conflated: a batch carries at most one
 *   frame per distinct item.
 * - API Gateway bills each message in 32 KB units; connection minutes for every subscriber all month.
 * - Lambda: one request per batch; duration = the CPU of the posts at the function's share of a vCPU (1,769 MB = one
 *   vCPU) plus a fixed part per invocation, or the time the posts take at FanoutConcurrency in flight, whichever is
 *   longer; billed per GB-s at the template's 1,024 MB on arm64.
 * - DynamoDB on demand: one write request unit per KB written; one subscriber lookup (a Query of a KEYS_ONLY index,
 *   0.5 read unit per 4 KB) per key per batch. Stream reads by Lambda triggers are free.
 */

/**
 * us-east-1 list prices, written down on 2026-12-03 from what we knew of the pages below — not re-read from the live
 * pages that day: check them before relying on a figure.
 */
export const PRICES = {
  asOf: '2026-12-03',
  region: 'us-east-1',
  apiGatewayWebSocket: {
    source: 'https://aws.amazon.com/api-gateway/pricing/ (WebSocket APIs)',
    /** USD per million messages, each metered in 32 KB units: the first billion a month, then the rest. */
    perMillionMessages: 1.0,
    perMillionMessagesOverBillion: 0.8,
    messageUnitBytes: 32 * 1024,
    /** USD per million connection minutes. */
    perMillionConnectionMinutes: 0.25,
  },
  lambda: {
    source: 'https://aws.amazon.com/lambda/pricing/',
    perMillionRequests: 0.2,
    /** USD per GB-second in the first tier (7.5 billion GB-s a month; arm64 is the template's, x86_64: 0.0000166667). */
    perGbSecondArm64: 0.0000133334,
  },
  dynamodb: {
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    perMillionWriteUnits: 0.625,
    perMillionReadUnits: 0.125,
    /** GetRecords by Lambda triggers cost nothing. */
    streamReadsByLambda: 0,
  },
} as const;

/** The account's default @connections (and every other API Gateway) request rate per region. */
export const ACCOUNT_REQUESTS_PER_SECOND = 10_000;
const SECONDS_PER_MONTH = 30 * 24 * 3600;
const MAX_MESSAGE_BYTES = 128 * 1024;
const BATCH_SIZE = 100;
const WRITES_PER_SHARD = 1000;
/** Bytes a frame adds to the item's own JSON: type, event, key, itemId, seq, at. */
const FRAME_OVERHEAD_BYTES = 160;
/** A subscriber row in the KEYS_ONLY index: key + connection id + base table keys. */
const INDEX_ENTRY_BYTES = 80;

export interface CostInputs {
  producers: number;
  hz: number;
  subscribers: number;
  bytes: number;
  keys: number;
  /** Distinct items written per key (conflation keeps one frame per item per batch). */
  itemsPerKey?: number;
  /** Time between a shard's batches. */
  batchSeconds: number;
  /** Fan-out CPU per post, ms (measured by `npm run bench`). */
  cpuMsPerPost: number;
  /** The fan-out function's memory (template: 1,024 MB). */
  memoryMb: number;
  /** Round trip of one post, ms, and posts in flight (FanoutConcurrency): the other bound on duration. */
  postLatencyMs: number;
  concurrency: number;
}

export type Scenario = 'one post per frame' | 'coalesced' | 'coalesced + conflated';

export interface ScenarioCost {
  scenario: Scenario;
  /** Frames (changes) delivered per second, all subscribers. */
  framesPerSecond: number;
  /** @connections calls per second: what counts against the account's 10,000/s. */
  postsPerSecond: number;
  monthly: {
    apiGatewayMessages: number;
    apiGatewayConnectionMinutes: number;
    lambdaRequests: number;
    lambdaDuration: number;
    dynamodbWrites: number;
    dynamodbLookups: number;
    streamReads: number;
  };
  total: number;
  /** Share of the account's default @connections rate. */
  accountThroughputShare: number;
}

/** The monthly cost of the load under each scenario. */
export function estimateCosts(inputs: CostInputs, scenarios: readonly Scenario[]): ScenarioCost[] {
  return scenarios.map((scenario) => estimate(inputs, scenario));
}

function estimate(inputs: CostInputs, scenario: Scenario): ScenarioCost {
  const writesPerSecond = inputs.producers * inputs.hz;
  const writesPerKey = writesPerSecond / inputs.keys;
  const subscribersPerKey = inputs.subscribers / inputs.keys;
  const itemsPerKey = inputs.itemsPerKey ?? Math.max(1, inputs.producers / inputs.keys);
  const shards = Math.max(1, Math.ceil(writesPerSecond / WRITES_PER_SHARD));
  const recordsPerBatch = Math.min(BATCH_SIZE, Math.max(1, (writesPerSecond / shards) * inputs.batchSeconds));
  const batchesPerSecond = writesPerSecond / recordsPerBatch;
  // A key's share of a batch: the records it wrote in the interval, at least one when it wrote at all.
  const keyRecordsPerBatch = Math.min(recordsPerBatch, Math.max(1, writesPerKey * inputs.batchSeconds));
  const keyBatchesPerSecond = writesPerKey / keyRecordsPerBatch;
  const frameBytes = inputs.bytes + FRAME_OVERHEAD_BYTES;

  const framesPerKeyBatch =
    scenario === 'coalesced + conflated' ? Math.min(keyRecordsPerBatch, itemsPerKey) : keyRecordsPerBatch;
  const framesPerSecond = framesPerKeyBatch * keyBatchesPerSecond * inputs.subscribers;
  let postsPerSecond: number;
  let unitsPerPost: number;
  if (scenario === 'one post per frame') {
    postsPerSecond = framesPerSecond;
    unitsPerPost = Math.ceil(frameBytes / PRICES.apiGatewayWebSocket.messageUnitBytes);
  } else {
    const batchBytes = framesPerKeyBatch * (frameBytes + 1) + 30;
    const postsPerKeyBatch = Math.max(1, Math.ceil(batchBytes / MAX_MESSAGE_BYTES));
    postsPerSecond = postsPerKeyBatch * keyBatchesPerSecond * inputs.subscribers;
    unitsPerPost = Math.ceil(batchBytes / postsPerKeyBatch / PRICES.apiGatewayWebSocket.messageUnitBytes);
  }

  const perMonth = (perSecond: number) => perSecond * SECONDS_PER_MONTH;
  const millions = (n: number) => n / 1e6;
  const vcpuShare = Math.min(1, inputs.memoryMb / 1769);
  const postsPerBatch = postsPerSecond / batchesPerSecond;
  const cpuSeconds = (5 + (postsPerBatch * inputs.cpuMsPerPost) / vcpuShare) / 1000;
  const latencySeconds = (Math.ceil(postsPerBatch / inputs.concurrency) * inputs.postLatencyMs) / 1000;
  const invocationSeconds = Math.max(cpuSeconds, latencySeconds);
  const gbSeconds = perMonth(batchesPerSecond) * invocationSeconds * (inputs.memoryMb / 1024);
  const lookupUnits = Math.max(0.5, Math.ceil((subscribersPerKey * INDEX_ENTRY_BYTES) / 4096) * 0.5);

  const monthly = {
    apiGatewayMessages: messagesCost(perMonth(postsPerSecond) * unitsPerPost),
    apiGatewayConnectionMinutes:
      millions(inputs.subscribers * (SECONDS_PER_MONTH / 60)) * PRICES.apiGatewayWebSocket.perMillionConnectionMinutes,
    lambdaRequests: millions(perMonth(batchesPerSecond)) * PRICES.lambda.perMillionRequests,
    lambdaDuration: gbSeconds * PRICES.lambda.perGbSecondArm64,
    dynamodbWrites:
      millions(perMonth(writesPerSecond) * Math.ceil(inputs.bytes / 1024)) * PRICES.dynamodb.perMillionWriteUnits,
    dynamodbLookups:
      millions(perMonth(keyBatchesPerSecond * inputs.keys) * lookupUnits) * PRICES.dynamodb.perMillionReadUnits,
    streamReads: PRICES.dynamodb.streamReadsByLambda,
  };
  const total = Object.values(monthly).reduce((sum, n) => sum + n, 0);
  return {
    scenario,
    framesPerSecond,
    postsPerSecond,
    monthly,
    total,
    accountThroughputShare: postsPerSecond / ACCOUNT_REQUESTS_PER_SECOND,
  };
}

/** API Gateway's tiered message price: the first billion a month at one rate, the rest at the lower one. */
function messagesCost(messages: number): number {
  const prices = PRICES.apiGatewayWebSocket;
  const first = Math.min(messages, 1e9);
  return (first / 1e6) * prices.perMillionMessages + ((messages - first) / 1e6) * prices.perMillionMessagesOverBillion;
}

const COMPONENTS: [keyof ScenarioCost['monthly'], string][] = [
  ['apiGatewayMessages', 'API Gateway messages (32 KB units)'],
  ['apiGatewayConnectionMinutes', 'API Gateway connection minutes'],
  ['lambdaRequests', 'Lambda requests'],
  ['lambdaDuration', 'Lambda duration (GB-s, arm64)'],
  ['dynamodbWrites', 'DynamoDB writes'],
  ['dynamodbLookups', 'DynamoDB subscriber lookups'],
  ['streamReads', 'DynamoDB Streams reads (Lambda trigger)'],
];

const usd = (n: number) => `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const rate = (n: number) => `${Math.round(n).toLocaleString('en-US')}/s`;

/** The report as a markdown table, with the assumptions and the price sources. */
export function renderCosts(inputs: CostInputs, costs: readonly ScenarioCost[]): string {
  const header = `| Monthly (30 days) | ${costs.map((c) => c.scenario).join(' | ')} |`;
  const lines = [
    `Load: ${inputs.producers} producers × ${inputs.hz} writes/s of ${inputs.bytes} B over ${inputs.keys} key(s); ` +
      `${inputs.subscribers.toLocaleString('en-US')} subscribers; a shard's batch every ${inputs.batchSeconds} s; ` +
      `${inputs.cpuMsPerPost} ms CPU per post; ${inputs.memoryMb} MB arm64.`,
    '',
    header,
    `|---|${costs.map(() => '---:').join('|')}|`,
    ...COMPONENTS.map(([field, label]) => `| ${label} | ${costs.map((c) => usd(c.monthly[field])).join(' | ')} |`),
    `| **Total** | ${costs.map((c) => `**${usd(c.total)}**`).join(' | ')} |`,
    `| Frames delivered | ${costs.map((c) => rate(c.framesPerSecond)).join(' | ')} |`,
    `| @connections posts (account limit ${ACCOUNT_REQUESTS_PER_SECOND.toLocaleString('en-US')}/s) | ${costs
      .map(
        (c) =>
          `${rate(c.postsPerSecond)} (${(c.accountThroughputShare * 100).toFixed(1)}%${c.accountThroughputShare > 1 ? ' — over the limit' : ''})`,
      )
      .join(' | ')} |`,
    '',
    `Prices: ${PRICES.region} list prices written down on ${PRICES.asOf}, not re-read from the live pages — check them: ` +
      `${PRICES.apiGatewayWebSocket.source}; ${PRICES.lambda.source}; ${PRICES.dynamodb.source}. Data transfer out, ` +
      'storage, logs and metrics are not included.',
  ];
  return lines.join('\n');
}
