import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { parseEventJson } from '../../src/functions/protocol';
import { type InvocationOutcome, type Invoker, SerializedEvent, type StreamSourceSpec } from '../../src/types';
import { attributeDefinitions, keySchema } from './key-schema';

/** Alphanumeric, as DynamoDB Local requires. */
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** What a stream mapping gets when its template says nothing more (TRIM_HORIZON: the position the tests start at). */
export const STREAM_DEFAULTS = {
  startingPosition: 'TRIM_HORIZON',
  batchSize: 100,
  maximumBatchingWindowSeconds: 0,
  parallelizationFactor: 1,
  bisectBatchOnFunctionError: false,
  maximumRetryAttempts: -1,
  maximumRecordAgeSeconds: -1,
  reportBatchItemFailures: false,
  enabled: true,
} as const satisfies Partial<StreamSourceSpec>;

/** A mapping spec with AWS's defaults; override what the test is about. */
export function streamSpec(overrides: Partial<StreamSourceSpec> = {}): StreamSourceSpec {
  return {
    functionId: 'OnReceiveRealTimeItem',
    eventId: 'RealTimeDataStream',
    tableLogicalId: 'RealTimeDataTable',
    tableName: 'RealTimeData',
    ...STREAM_DEFAULTS,
    filterPatterns: [],
    ...overrides,
  };
}

/** A fresh table with a NEW_AND_OLD_IMAGES stream on the integration run's DynamoDB Local. */
export interface StreamTable {
  tableName: string;
  streamArn: string;
  dynamodb: DynamoDBClient;
  streams: DynamoDBStreamsClient;
  /** Writes `{pk, sk, ...attributes}`; `sk` defaults to "latest". */
  put(pk: string, attributes?: Record<string, string | number>, sk?: string): Promise<void>;
  /** Deletes the table and destroys the clients. */
  dispose(): Promise<void>;
}

/** Creates a uniquely named table (pk/sk strings) with a stream, against process.env.DYNAMODB_ENDPOINT. */
export async function createStreamTable(prefix = 'streams'): Promise<StreamTable> {
  const endpoint = process.env.DYNAMODB_ENDPOINT;
  if (!endpoint) throw new Error('DYNAMODB_ENDPOINT is not set: run through the integration jest project');
  const config = { endpoint, region: 'us-east-1', credentials };
  const dynamodb = new DynamoDBClient(config);
  const streams = new DynamoDBStreamsClient(config);
  const tableName = `${prefix}-${randomUUID().slice(0, 8)}`;
  const created = await dynamodb.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: attributeDefinitions({ pk: 'S', sk: 'S' }),
      KeySchema: keySchema('pk', 'sk'),
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    }),
  );
  const streamArn = created.TableDescription?.LatestStreamArn;
  if (!streamArn) throw new Error(`table ${tableName} has no stream`);
  return {
    tableName,
    streamArn,
    dynamodb,
    streams,
    async put(pk, attributes = {}, sk = 'latest') {
      const item: Record<string, { S: string } | { N: string }> = { pk: { S: pk }, sk: { S: sk } };
      for (const [name, value] of Object.entries(attributes)) {
        item[name] = typeof value === 'number' ? { N: String(value) } : { S: value };
      }
      await dynamodb.send(new PutItemCommand({ TableName: tableName, Item: item }));
    },
    async dispose() {
      await dynamodb.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
      dynamodb.destroy();
      streams.destroy();
    },
  };
}

/** One call the fake function received. */
export interface ReceivedBatch {
  records: DynamoDBRecord[];
  receivedAt: number;
}

/** What the fake function does with a batch: return a result, throw (a function error), or wait. */
export type FakeBehaviour = (records: DynamoDBRecord[], call: number) => unknown | Promise<unknown>;

/** A small recording Invoker: every batch is kept; a throw in the behaviour becomes a function error outcome. */
export class RecordingInvoker implements Invoker {
  readonly batches: ReceivedBatch[] = [];
  private calls = 0;

  constructor(private behaviour: FakeBehaviour = () => null) {}

  /** Swaps the function's behaviour mid-test. */
  setBehaviour(behaviour: FakeBehaviour): void {
    this.behaviour = behaviour;
  }

  /** Every record delivered, in delivery order (duplicates included). */
  get records(): DynamoDBRecord[] {
    return this.batches.flatMap((b) => b.records);
  }

  async invoke(_functionId: string, received: unknown): Promise<InvocationOutcome> {
    const started = performance.now();
    const event = received instanceof SerializedEvent ? parseEventJson(received.json) : received;
    const records = (event as { Records: DynamoDBRecord[] }).Records;
    this.batches.push({ records, receivedAt: Date.now() });
    const requestId = randomUUID();
    try {
      const result = await this.behaviour(records, this.calls++);
      return { ok: true, result, durationMs: performance.now() - started, requestId };
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      return {
        ok: false,
        error: { errorType: e.name, errorMessage: e.message },
        durationMs: performance.now() - started,
        requestId,
      };
    }
  }
}

/** The `pk` of a delivered record (from Keys). */
export function keyOf(record: DynamoDBRecord): string | undefined {
  return record.dynamodb?.Keys?.pk?.S;
}

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
