import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type Shard,
  type ShardIteratorType,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { functionArn } from '../arns';
import type { InvocationOutcome, Invoker, LocalLogger, StreamSourceSpec } from '../types';
import { compileFilters, type RecordFilter } from './filter';
import { laneOf } from './lanes';
import {
  buildOnFailureMessage,
  type DiscardCondition,
  type OnFailureDestination,
  type OnFailureMessage,
} from './on-failure';
import { judgeOutcome } from './outcome';
import {
  type BufferedRecord,
  batchEvent,
  type ConvertedRecord,
  EVENT_ENVELOPE_BYTES,
  toBufferedRecord,
  toLambdaRecord,
} from './records';
import { captureGetRecordsJson, wireBodyOf } from './wire-json';

/** What startStreamEventSource needs: the mapping, the stream, and the runtime's services. */
export interface StreamEventSourceOptions {
  spec: StreamSourceSpec;
  streamArn: string;
  streamsClient: DynamoDBStreamsClient;
  /** The table's region as Lambda reports it in awsRegion and the OnFailure functionArn. */
  region: string;
  accountId: string;
  invoker: Invoker;
  logger: LocalLogger;
  /** Receives Lambda's OnFailure document for every discarded batch (the runtime stores and logs it). */
  onFailure: (destination: OnFailureDestination, message: OnFailureMessage) => void | Promise<void>;
  /**
   * Pause between GetRecords calls on a shard that has been quiet for `busyPeriodMs` (default 40 ms). Each empty
   * GetRecords costs DynamoDB Local a few ms of CPU, so a quiet platform should not poll flat out.
   */
  pollIntervalMs?: number;
  /** Pause between GetRecords calls on a shard that returned records recently (default 2 ms): keeps write → invoke fast. */
  busyPollIntervalMs?: number;
  /** How long after its last record a shard keeps polling at the busy interval (default 2000 ms). */
  busyPeriodMs?: number;
  /**
   * After each batch a lane rests twice as long as its batches typically take, at most this long (default 250 ms,
   * AWS's poll interval; 0: no rest), unless a full batch is waiting. See `LANE_REST_MAX_MS`.
   */
  laneRestMaxMs?: number;
  /** How often DescribeStream looks for new shards (default 1000 ms). */
  shardDiscoveryIntervalMs?: number;
  /** Pause before retrying a failed batch: `initialMs`, doubling per retry, capped at `maxMs` (default 100 → 1000). */
  retryBackoff?: { initialMs: number; maxMs: number };
  /** Function name for the functionArn in OnFailure messages (default: the logical id, as `sam local` names it). */
  functionName?: string;
  /** The function's ARN, when the runtime already has one (FunctionSpec.functionArn); wins over functionName. */
  functionArn?: string;
  /**
   * Who made a change, when DynamoDB Local cannot say: the local TTL sweeper's deletes get the TTL service's
   * identity (dynamodb/ttl-sweeper.ts). Consulted before FilterCriteria, which may match on userIdentity.
   */
  userIdentityOf?: (record: DynamoDBRecord) => DynamoDBRecord['userIdentity'];
}

/** Counters for logs, tests and the banner. */
export interface StreamEventSourceStats {
  shardsKnown: number;
  shardsReading: number;
  shardsFinished: number;
  getRecordsCalls: number;
  recordsRead: number;
  /** Records dropped by FilterCriteria (they count as processed, as on AWS). */
  recordsFilteredOut: number;
  invocations: number;
  /** Records whose batch (or part of a batch) succeeded. */
  recordsSucceeded: number;
  failedInvocations: number;
  retries: number;
  bisections: number;
  batchesDiscarded: number;
  recordsDiscarded: number;
  /** Records without a sequence number: they cannot be checkpointed, so they are logged and skipped. */
  recordsUnreadable: number;
  /** Records delivered with parts left out because they were not DynamoDB JSON (each logged). */
  recordsMalformed: number;
  /** Shard loops that failed unexpectedly and were restarted from their checkpoint. */
  loopRestarts: number;
  /** How far behind the mapping is: age of the oldest record read but not yet delivered (0 when caught up). */
  iteratorAgeMs: number;
  /** `failing` while a stream operation fails (DynamoDB Local down, a loop restarting). */
  status: 'ok' | 'failing' | 'stopped';
  /** The latest error, kept after recovery so /health can show what happened. */
  lastError?: { operation: string; message: string; at: string };
  /** Most batches of one shard in flight at once (ParallelizationFactor lanes). */
  maxConcurrentBatches: number;
}

/** A running DynamoDB Streams → Lambda event source mapping. */
export interface StreamEventSource {
  readonly functionId: string;
  readonly eventId: string;
  readonly streamArn: string;
  /** Current counters (a copy). */
  stats(): StreamEventSourceStats;
  /** Resolves once every record written to the stream before the call has been delivered, filtered or discarded. */
  idle(): Promise<void>;
  /** Stops polling and waits for the in-flight invocation of every shard; batches still being retried are dropped. */
  stop(): Promise<void>;
}

type ShardStatus = 'waiting' | 'reading' | 'done';

interface ShardState {
  shardId: string;
  parentShardId: string | undefined;
  /** Where to begin when no record has been read yet. */
  startAt: 'TRIM_HORIZON' | 'LATEST';
  status: ShardStatus;
  /** Start time of the latest GetRecords that found the shard empty with nothing left to deliver. */
  drainedAt: number;
  /** The last sequence number handled (delivered, discarded or filtered): a restarted shard loop resumes after it. */
  checkpoint?: string;
  /** Arrival time of the oldest record read but not yet handled (iteratorAgeMs). */
  oldestPendingMs?: number;
}

/** One ParallelizationFactor lane of a shard: records of its partition keys, in stream order. */
interface Lane {
  buffer: BufferedRecord[];
  /** The buffered records' size in event JSON. */
  bytes: number;
  /** When the lane's oldest waiting record was read (the batching window counts from it). */
  since: number;
  /** A batch of this lane is being delivered. */
  busy: boolean;
  /** Until when the lane rests after its last batch (see LANE_REST_MAX_MS). */
  restUntil: number;
  /** How long its batches typically take: a moving average, so that one slow batch does not make a long rest. */
  typicalBatchMs?: number;
  /** Arrival time of the oldest record of the batch in flight (iteratorAgeMs). */
  inFlightArrivalMs?: number;
}

/** A slice of a batch on its way through retries and bisection. */
interface BatchPart {
  records: BufferedRecord[];
  /** Retries used; bisecting does not consume them ("splitting a batch does not consume the retry quota"). */
  retries: number;
  invokeCount: number;
  lastRequestId?: string;
  lastFunctionError?: string;
}

/** GetRecords answers at most 1,000 records… */
const GET_RECORDS_LIMIT = 1000;
/**
 * … and at most 1 MB on AWS, but DynamoDB Local has no byte bound: after a pause one answer carried 71 items of
 * 100 KB (7.3 MB), decoded, parsed and converted at once. So each shard asks for as many records as 1 MB holds at
 * the size of the last ones read, starting from 100 until it has seen some.
 */
const GET_RECORDS_MAX_BYTES = 1024 * 1024;
const GET_RECORDS_FIRST_LIMIT = 100;
/**
 * Lambda passes a batch "in a single call, up to the payload limit for synchronous invocation (6 MB)": a batch ends at
 * BatchSize records or at 6 MB of event JSON, whichever comes first. A record is at most two 400 KB images, so a batch
 * always holds at least one.
 */
const MAX_EVENT_BYTES = 6 * 1024 * 1024;
const ERROR_BACKOFF_MAX_MS = 2000;
/**
 * A lane rests after each batch twice as long as its batches typically take, up to this bound, before it takes the
 * next one (a full batch goes at once). AWS polls a shard 4 times a second, so a busy key reaches the function in
 * batches of what arrived meanwhile; polled every 2 ms, the same key came here in batches of 2–3 records, and a
 * fan-out to many subscribers posted to each of them for every 2 or 3 records. With the rest, one busy lane keeps its
 * function busy a third of the time at most, and the next batch grows; a quiet key (batches of a few ms) still goes
 * out within a few ms. The typical time is a moving average: resting after one slow batch (a GC pause) as long as it
 * took delayed the next change of a quiet key by 100 ms and more.
 */
const LANE_REST_MAX_MS = 250;

/** Starts polling the stream and invoking the function as Lambda's event source mapping would. */
export function startStreamEventSource(options: StreamEventSourceOptions): StreamEventSource {
  return new StreamPoller(options);
}

class StreamPoller implements StreamEventSource {
  readonly functionId: string;
  readonly eventId: string;
  readonly streamArn: string;

  private readonly spec: StreamSourceSpec;
  private readonly client: DynamoDBStreamsClient;
  private readonly logger: LocalLogger;
  private readonly filter: RecordFilter;
  private readonly functionArn: string;
  private readonly trigger: string;
  private readonly idlePollMs: number;
  private readonly busyPollMs: number;
  private readonly laneRestMaxMs: number;
  private readonly busyPeriodMs: number;
  private readonly discoveryMs: number;
  private readonly backoff: { initialMs: number; maxMs: number };

  private readonly shards = new Map<string, ShardState>();
  private readonly loops = new Set<Promise<void>>();
  private readonly sleepers = new Set<() => void>();
  /** Error kinds currently failing, so a DynamoDB Local outage logs one warning per kind, not one per poll. */
  private readonly failing = new Set<string>();
  private readonly counters: Omit<
    StreamEventSourceStats,
    'shardsKnown' | 'shardsReading' | 'shardsFinished' | 'iteratorAgeMs' | 'status' | 'lastError'
  > = {
    getRecordsCalls: 0,
    recordsRead: 0,
    recordsFilteredOut: 0,
    invocations: 0,
    recordsSucceeded: 0,
    failedInvocations: 0,
    retries: 0,
    bisections: 0,
    batchesDiscarded: 0,
    recordsDiscarded: 0,
    recordsUnreadable: 0,
    recordsMalformed: 0,
    loopRestarts: 0,
    maxConcurrentBatches: 0,
  };
  private lastError: StreamEventSourceStats['lastError'];
  /** The table's partition key attribute (DescribeStream's KeySchema): what ParallelizationFactor lanes hash. */
  private hashKey: string | undefined;
  private initialDiscoveryDone = false;
  private stopped = false;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: StreamEventSourceOptions) {
    this.spec = options.spec;
    this.functionId = options.spec.functionId;
    this.eventId = options.spec.eventId;
    this.streamArn = options.streamArn;
    this.client = options.streamsClient;
    captureGetRecordsJson(this.client);
    this.logger = options.logger;
    // Compiled up front so a bad FilterCriteria fails `npm start`, not the first record.
    this.filter = compileFilters(options.spec.filterPatterns);
    this.functionArn =
      options.functionArn ??
      functionArn(options.region, options.accountId, options.functionName ?? options.spec.functionId);
    this.trigger = `stream ${options.spec.eventId}`;
    this.idlePollMs = options.pollIntervalMs ?? 40;
    this.busyPollMs = options.busyPollIntervalMs ?? 2;
    this.busyPeriodMs = options.busyPeriodMs ?? 2000;
    this.laneRestMaxMs = options.laneRestMaxMs ?? LANE_REST_MAX_MS;
    this.discoveryMs = options.shardDiscoveryIntervalMs ?? 1000;
    this.backoff = options.retryBackoff ?? { initialMs: 100, maxMs: 1000 };

    if (!options.spec.enabled) {
      this.logger.info(`stream ${this.eventId}: mapping disabled (Enabled: false); not polling`, {
        function: this.functionId,
      });
      this.stopped = true;
      return;
    }
    if (options.spec.parallelizationFactor > 1) {
      this.logger.debug(
        `stream ${this.eventId}: ParallelizationFactor ${options.spec.parallelizationFactor}: that many batches of a shard in flight, one per lane of partition keys`,
      );
    }
    this.track(this.discoveryLoop());
  }

  stats(): StreamEventSourceStats {
    let reading = 0;
    let finished = 0;
    let oldest = Number.POSITIVE_INFINITY;
    for (const shard of this.shards.values()) {
      if (shard.status === 'reading') reading++;
      if (shard.status === 'done') finished++;
      if (shard.oldestPendingMs !== undefined) oldest = Math.min(oldest, shard.oldestPendingMs);
    }
    return {
      shardsKnown: this.shards.size,
      shardsReading: reading,
      shardsFinished: finished,
      ...this.counters,
      iteratorAgeMs: Number.isFinite(oldest) ? Math.max(0, Date.now() - oldest) : 0,
      status: this.stopped ? 'stopped' : this.failing.size > 0 ? 'failing' : 'ok',
      ...(this.lastError ? { lastError: { ...this.lastError } } : {}),
    };
  }

  async idle(): Promise<void> {
    const since = Date.now();
    // A fresh DescribeStream, so shards created before the call are known too.
    while (!this.stopped && !(await this.discover())) await delay(20);
    while (!this.stopped) {
      const settled = [...this.shards.values()].every(
        (shard) => shard.status !== 'reading' || shard.drainedAt >= since,
      );
      if (settled) return;
      await delay(5);
    }
  }

  stop(): Promise<void> {
    if (!this.stopping) {
      this.stopped = true;
      for (const wake of this.sleepers) wake();
      this.stopping = (async () => {
        // Loops can start shard loops while we wait, so drain until the set stays empty.
        while (this.loops.size > 0) await Promise.all([...this.loops]);
      })();
    }
    return this.stopping;
  }

  // ---------------------------------------------------------------- shards

  private async discoveryLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      const ok = await this.discover();
      failures = ok ? 0 : failures + 1;
      await this.sleep(ok ? this.discoveryMs : this.errorBackoffMs(failures));
    }
  }

  /** One DescribeStream pass (all pages); returns false when it failed. */
  private async discover(): Promise<boolean> {
    const found: Shard[] = [];
    let hashKey: string | undefined;
    try {
      let exclusiveStartShardId: string | undefined;
      do {
        const page = await this.client.send(
          new DescribeStreamCommand({ StreamArn: this.streamArn, ExclusiveStartShardId: exclusiveStartShardId }),
        );
        found.push(...(page.StreamDescription?.Shards ?? []));
        hashKey ??= page.StreamDescription?.KeySchema?.find((key) => key.KeyType === 'HASH')?.AttributeName;
        exclusiveStartShardId = page.StreamDescription?.LastEvaluatedShardId;
      } while (exclusiveStartShardId);
    } catch (error) {
      this.reportError('DescribeStream', error);
      return false;
    }
    this.recovered('DescribeStream');
    this.hashKey ??= hashKey;
    this.addShards(found);
    return true;
  }

  private addShards(found: Shard[]): void {
    const initial = !this.initialDiscoveryDone;
    this.initialDiscoveryDone = true;
    for (const shard of found) {
      const shardId = shard.ShardId;
      if (!shardId || this.shards.has(shardId)) continue;
      // LATEST applies to the shards that exist when the mapping starts; shards that appear later begin at
      // TRIM_HORIZON, otherwise records written to a new shard before we saw it would be lost.
      const latest = initial && this.spec.startingPosition === 'LATEST';
      const closed = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
      this.shards.set(shardId, {
        shardId,
        parentShardId: shard.ParentShardId,
        startAt: latest ? 'LATEST' : 'TRIM_HORIZON',
        // A shard already closed at a LATEST start holds nothing newer than the start.
        status: latest && closed ? 'done' : 'waiting',
        drainedAt: Number.NEGATIVE_INFINITY,
      });
    }
    this.startReadyShards();
  }

  /** Starts every waiting shard whose parent is finished or gone (trimmed), so a key's changes stay in order. */
  private startReadyShards(): void {
    if (this.stopped) return;
    for (const shard of this.shards.values()) {
      if (shard.status !== 'waiting') continue;
      const parent = shard.parentShardId ? this.shards.get(shard.parentShardId) : undefined;
      if (parent && parent.status !== 'done') continue;
      shard.status = 'reading';
      this.track(
        this.readShard(shard).then(
          () => {
            shard.status = 'done';
            this.startReadyShards();
          },
          // Never a silent stall: a loop that fails is logged, counted and started again from its checkpoint.
          async (error: unknown) => {
            this.counters.loopRestarts++;
            this.noteError(`shard ${shard.shardId} loop`, error);
            this.logger.error(`stream ${this.eventId}: the reader of shard ${shard.shardId} failed; restarting it`, {
              function: this.functionId,
              error: errorMessage(error),
              checkpoint: shard.checkpoint,
            });
            shard.oldestPendingMs = undefined;
            await this.sleep(this.errorBackoffMs(this.counters.loopRestarts));
            shard.status = 'waiting';
            this.startReadyShards();
          },
        ),
      );
    }
  }

  /**
   * The per-shard loop: read, deal the records to ParallelizationFactor lanes by partition key (lanes.ts), and keep one
   * batch in flight per lane. With a factor of 1 there is one lane: the shard is delivered one batch at a time.
   */
  private async readShard(shard: ShardState): Promise<void> {
    const batchSize = Math.max(1, this.spec.batchSize);
    const windowMs = Math.max(0, this.spec.maximumBatchingWindowSeconds) * 1000;
    const factor = Math.max(1, Math.floor(this.spec.parallelizationFactor));
    const lanes: Lane[] = Array.from({ length: factor }, () => ({
      buffer: [],
      bytes: 0,
      since: 0,
      busy: false,
      restUntil: 0,
    }));
    // Records read but not yet delivered: reading pauses past this count or two full payloads per lane, so neither a
    // lane stuck in retries nor a slow function fed large items can grow memory.
    const readAhead = Math.max(GET_RECORDS_LIMIT, factor * batchSize) * 2;
    const readAheadBytes = factor * MAX_EVENT_BYTES * 2;
    const deliveries = new Set<Promise<void>>();
    let undelivered = 0;
    let undeliveredBytes = 0;
    const roomToRead = () => undelivered < readAhead && undeliveredBytes < readAheadBytes;
    let inFlight = 0;
    let wakeReader: (() => void) | undefined;
    let iterator: string | undefined;
    let limit = GET_RECORDS_FIRST_LIMIT;
    let lastReadSequence: string | undefined = shard.checkpoint;
    let closed = false;
    let lastRecordAt = Number.NEGATIVE_INFINITY;
    let errors = 0;

    // iteratorAgeMs counts from the oldest record not yet handled; the checkpoint (where a restarted loop resumes)
    // moves only when nothing read is still waiting or in flight, so a restart may repeat records but never skip one.
    const noteProgress = () => {
      let oldest: number | undefined;
      for (const lane of lanes) {
        const arrival = lane.inFlightArrivalMs ?? lane.buffer[0]?.arrivalMs;
        if (arrival !== undefined) oldest = Math.min(oldest ?? arrival, arrival);
      }
      shard.oldestPendingMs = oldest;
      if (undelivered === 0 && !this.stopped) shard.checkpoint = lastReadSequence;
    };

    const dispatch = (lane: Lane, now: number) => {
      let count = 0;
      let bytes = EVENT_ENVELOPE_BYTES;
      for (const record of lane.buffer) {
        if (count === batchSize || (count > 0 && bytes + record.bytes > MAX_EVENT_BYTES)) break;
        bytes += record.bytes;
        count++;
      }
      const batch = lane.buffer.splice(0, count);
      const batchBytes = bytes - EVENT_ENVELOPE_BYTES;
      lane.bytes -= batchBytes;
      lane.since = now;
      lane.busy = true;
      lane.inFlightArrivalMs = batch[0]?.arrivalMs;
      inFlight++;
      this.counters.maxConcurrentBatches = Math.max(this.counters.maxConcurrentBatches, inFlight);
      const delivery = this.deliver(shard.shardId, batch)
        .catch((error: unknown) => {
          this.logger.error(`stream ${this.eventId}: delivery failed unexpectedly`, { error: errorMessage(error) });
        })
        .finally(() => {
          lane.busy = false;
          const ended = Date.now();
          const took = ended - now;
          lane.typicalBatchMs = lane.typicalBatchMs === undefined ? took : 0.75 * lane.typicalBatchMs + 0.25 * took;
          lane.restUntil = ended + Math.min(this.laneRestMaxMs, 2 * lane.typicalBatchMs);
          lane.inFlightArrivalMs = undefined;
          inFlight--;
          undelivered -= batch.length;
          undeliveredBytes -= batchBytes;
          noteProgress();
          deliveries.delete(delivery);
          wakeReader?.();
        });
      deliveries.add(delivery);
    };

    while (!this.stopped) {
      let fetched = 0;
      // The page asked for (`limit` adapts to what this read brings).
      const asked = limit;
      // While every lane is busy, nothing read now could be dispatched: wait for one to finish rather than poll.
      const anyLaneFree = lanes.some((lane) => !lane.busy);
      if (!closed && anyLaneFree && roomToRead()) {
        if (!iterator) {
          iterator = await this.shardIterator(shard, lastReadSequence);
          if (!iterator) {
            await this.sleep(this.errorBackoffMs(++errors));
            continue;
          }
        }
        const pollStartedAt = Date.now();
        let answer: GetRecordsCommandOutput;
        try {
          answer = await this.getRecords(iterator, asked);
        } catch (error) {
          iterator = undefined;
          const name = errorName(error);
          if (name === 'ExpiredIteratorException') {
            // Normal after a long pause (iterators live 15 minutes); a fresh iterator that expires again is not.
            if (++errors > 1) await this.sleep(this.errorBackoffMs(errors));
            continue;
          }
          if (name === 'TrimmedDataAccessException') {
            // Our position aged out of the 24 h retention: continue from the oldest record still there.
            this.logger.warn(
              `stream ${this.eventId}: records past the checkpoint were trimmed; resuming at TRIM_HORIZON`,
              {
                shardId: shard.shardId,
              },
            );
            lastReadSequence = undefined;
            shard.startAt = 'TRIM_HORIZON';
            continue;
          }
          this.reportError('GetRecords', error);
          await this.sleep(this.errorBackoffMs(++errors));
          continue;
        }
        errors = 0;
        this.recovered('GetRecords');
        iterator = answer.NextShardIterator;
        // No next iterator: the shard is closed and we have read all of it.
        if (!iterator) closed = true;
        const readAtMs = Date.now();
        // GetRecords' own JSON when the client kept it (see wire-json.ts), else the SDK's records.
        const wire = wireBodyOf(answer);
        const records: unknown[] = wire?.records ?? answer.Records ?? [];
        if (wire !== undefined && records.length > 0) limit = recordsPerMegabyte(wire.bytes / records.length);
        for (const raw of records) {
          fetched++;
          const converted = this.readRecord(shard, raw, readAtMs);
          if (converted === undefined) continue;
          // DynamoDB Local cannot mark TTL deletions: the runtime's TTL sweeper names its own (ttl-sweeper.ts).
          const { record } = converted;
          if (record.userIdentity === undefined) {
            const identity = this.options.userIdentityOf?.(record);
            if (identity) record.userIdentity = identity;
          }
          lastReadSequence = converted.sequenceNumber;
          if (this.matches(converted)) {
            const lane = lanes[laneOf(record, this.hashKey, factor)] as Lane;
            const buffered = toBufferedRecord(converted);
            if (lane.buffer.length === 0) lane.since = readAtMs;
            lane.buffer.push(buffered);
            lane.bytes += buffered.bytes;
            undelivered++;
            undeliveredBytes += buffered.bytes;
          } else {
            this.counters.recordsFilteredOut++;
          }
        }
        this.counters.recordsRead += fetched;
        if (fetched > 0) lastRecordAt = readAtMs;
        else if (undelivered === 0) shard.drainedAt = pollStartedAt;
        noteProgress();
      }

      const now = Date.now();
      for (const lane of lanes) {
        if (lane.busy || lane.buffer.length === 0) continue;
        const full = lane.buffer.length >= batchSize || lane.bytes + EVENT_ENVELOPE_BYTES >= MAX_EVENT_BYTES;
        if (full || closed || (now - lane.since >= windowMs && now >= lane.restUntil)) dispatch(lane, now);
      }
      if (closed && undelivered === 0) {
        // A shard ends when DynamoDB splits or rolls it (every few hours on AWS); its children carry on.
        this.logger.info(`stream ${this.eventId}: shard ${shard.shardId} ended and is fully processed`, {
          function: this.functionId,
          lastSequenceNumber: lastReadSequence,
        });
        return;
      }
      // A full page means more records are waiting right now.
      if (fetched >= asked && roomToRead() && lanes.some((lane) => !lane.busy)) continue;
      let pause = now - lastRecordAt < this.busyPeriodMs ? this.busyPollMs : this.idlePollMs;
      for (const lane of lanes) {
        if (!lane.busy && lane.buffer.length > 0)
          pause = Math.min(pause, Math.max(lane.since + windowMs, lane.restUntil) - now);
      }
      // Every lane busy (or the read-ahead full): sleep until a delivery ends (or stop()).
      // A free lane with records waits for its batching window, not for another lane's delivery.
      const freeLaneWaiting = lanes.some((lane) => !lane.busy && lane.buffer.length > 0);
      const waitForLane = lanes.every((lane) => lane.busy) || (!roomToRead() && inFlight > 0 && !freeLaneWaiting);
      await this.sleep(waitForLane ? 60_000 : Math.max(0, pause), (wake) => {
        wakeReader = wake;
      });
      wakeReader = undefined;
    }
    // Stopped: let the batches in flight finish (a batch waiting between retries gives up, see deliver()).
    await Promise.all([...deliveries]);
  }

  /** One GetRecords record → Lambda's record; undefined (logged, counted) for one that cannot be checkpointed. */
  private readRecord(shard: ShardState, raw: unknown, readAtMs: number): ConvertedRecord | undefined {
    const converted = toLambdaRecord(raw, { streamArn: this.streamArn, region: this.options.region, readAtMs });
    if (converted.sequenceNumber === '') {
      // Lambda checkpoints by sequence number; a record without one can be neither delivered nor retried.
      this.counters.recordsUnreadable++;
      this.logger.warn(`stream ${this.eventId}: skipped a record without a sequence number`, {
        shardId: shard.shardId,
        eventID: converted.record.eventID,
        problems: converted.problems,
      });
      return undefined;
    }
    if (converted.problems) {
      this.counters.recordsMalformed++;
      this.logger.warn(
        `stream ${this.eventId}: record ${converted.sequenceNumber} has parts that are not DynamoDB JSON`,
        {
          shardId: shard.shardId,
          problems: converted.problems.slice(0, 5),
        },
      );
    }
    return converted;
  }

  /** FilterCriteria; a record a pattern cannot even be evaluated on is delivered (the function decides), not lost. */
  private matches(converted: ConvertedRecord): boolean {
    try {
      return this.filter(converted.record);
    } catch (error) {
      this.logger.warn(
        `stream ${this.eventId}: FilterCriteria failed on record ${converted.sequenceNumber}; delivering it`,
        {
          error: errorMessage(error),
        },
      );
      return true;
    }
  }

  private async shardIterator(shard: ShardState, afterSequence: string | undefined): Promise<string | undefined> {
    // After the first read we always resume right after the last record read, which is how expired iterators
    // and DynamoDB Local restarts (with --persist) continue without gaps or duplicates.
    const position: { ShardIteratorType: ShardIteratorType; SequenceNumber?: string } = afterSequence
      ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: afterSequence }
      : { ShardIteratorType: shard.startAt };
    try {
      const answer = await this.client.send(
        new GetShardIteratorCommand({ StreamArn: this.streamArn, ShardId: shard.shardId, ...position }),
      );
      this.recovered('GetShardIterator');
      return answer.ShardIterator;
    } catch (error) {
      this.reportError('GetShardIterator', error);
      return undefined;
    }
  }

  private getRecords(iterator: string, limit: number): Promise<GetRecordsCommandOutput> {
    this.counters.getRecordsCalls++;
    return this.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }));
  }

  // ---------------------------------------------------------------- batches

  /**
   * Invokes the function with one batch until every record is delivered or discarded. Failed parts are retried
   * (with backoff), bisected on function errors when configured, and discarded to OnFailure when they run out of
   * retries or age; the shard does not move on before that, which is what keeps per-key order.
   */
  private async deliver(shardId: string, records: BufferedRecord[]): Promise<void> {
    const queue: BatchPart[] = [{ records, retries: 0, invokeCount: 0 }];
    const maxAgeMs = this.spec.maximumRecordAgeSeconds >= 0 ? this.spec.maximumRecordAgeSeconds * 1000 : undefined;
    const maxRetries = this.spec.maximumRetryAttempts;

    while (queue.length > 0 && !this.stopped) {
      const part = queue[0] as BatchPart;
      if (maxAgeMs !== undefined) {
        const now = Date.now();
        // Records are in stream order, so the expired ones are a prefix.
        const expired = part.records.findIndex((r) => now - r.arrivalMs <= maxAgeMs);
        const count = expired === -1 ? part.records.length : expired;
        if (count > 0) {
          await this.discard(shardId, part, part.records.slice(0, count), 'RecordAgeExceeded');
          part.records = part.records.slice(count);
          if (part.records.length === 0) {
            queue.shift();
            continue;
          }
        }
      }

      const outcome = await this.invoke(part.records);
      if (outcome === undefined) {
        // Failing before the invocation (as Lambda's throttling) does not use the retry quota: AWS retries until the
        // records expire or pass MaximumRecordAgeInSeconds.
        this.counters.retries++;
        await this.sleep(this.backoff.maxMs);
        continue;
      }
      part.invokeCount++;
      part.lastRequestId = outcome.requestId;
      const verdict = judgeOutcome(
        outcome,
        part.records.map((r) => r.sequenceNumber),
        this.spec.reportBatchItemFailures,
      );
      this.logger.debug(`stream ${this.eventId}: batch of ${part.records.length} → ${verdict.kind}`, {
        function: this.functionId,
        shardId,
        firstSequenceNumber: part.records[0]?.sequenceNumber,
        lastSequenceNumber: part.records[part.records.length - 1]?.sequenceNumber,
        durationMs: outcome.durationMs,
        requestId: outcome.requestId,
        ...(verdict.kind === 'failed' ? { reason: verdict.detail } : {}),
        ...(verdict.kind === 'partial'
          ? { failedSequenceNumber: part.records[verdict.failedIndex]?.sequenceNumber }
          : {}),
      });

      if (verdict.kind === 'success') {
        this.counters.recordsSucceeded += part.records.length;
        queue.shift();
        continue;
      }
      this.counters.failedInvocations++;
      if (verdict.kind === 'partial') {
        // Checkpoint just before the lowest failed record; everything from it on is retried.
        this.counters.recordsSucceeded += verdict.failedIndex;
        part.records = part.records.slice(verdict.failedIndex);
        part.lastFunctionError = undefined;
      } else {
        part.lastFunctionError = verdict.reason === 'function-error' ? 'Unhandled' : undefined;
        if (verdict.reason === 'function-error' && this.spec.bisectBatchOnFunctionError && part.records.length > 1) {
          const middle = Math.ceil(part.records.length / 2);
          const halves = [part.records.slice(0, middle), part.records.slice(middle)].map((half) => ({
            ...part,
            records: half,
          }));
          queue.splice(0, 1, ...halves);
          this.counters.bisections++;
          continue;
        }
      }
      part.retries++;
      if (maxRetries >= 0 && part.retries > maxRetries) {
        await this.discard(shardId, part, part.records, 'RetryAttemptsExhausted');
        queue.shift();
        continue;
      }
      this.counters.retries++;
      await this.sleep(Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** (part.retries - 1)));
    }
  }

  /** The invocation's outcome; undefined when the runtime could not run the function at all. */
  private async invoke(records: BufferedRecord[]): Promise<InvocationOutcome | undefined> {
    this.counters.invocations++;
    try {
      return await this.options.invoker.invoke(this.functionId, batchEvent(records), this.trigger);
    } catch (error) {
      // The invoker reports handler errors as outcomes; a throw is the runtime failing to run the function at
      // all. Lambda retries that too, so it is logged and retried rather than allowed to kill the shard.
      this.noteError('Invoke', error);
      this.logger.error(`stream ${this.eventId}: could not invoke ${this.functionId}; retrying`, {
        error: errorMessage(error),
      });
      return undefined;
    }
  }

  private async discard(
    shardId: string,
    part: BatchPart,
    records: BufferedRecord[],
    condition: DiscardCondition,
  ): Promise<void> {
    const message = buildOnFailureMessage({
      condition,
      functionArn: this.functionArn,
      streamArn: this.streamArn,
      shardId,
      records,
      approximateInvokeCount: part.invokeCount,
      lastRequestId: part.lastRequestId,
      functionError: part.lastFunctionError,
    });
    this.counters.batchesDiscarded++;
    this.counters.recordsDiscarded += records.length;
    const destination = this.spec.onFailure;
    this.logger.warn(`stream ${this.eventId}: discarded ${records.length} record(s) after ${condition}`, {
      function: this.functionId,
      shardId,
      startSequenceNumber: message.DDBStreamBatchInfo.startSequenceNumber,
      endSequenceNumber: message.DDBStreamBatchInfo.endSequenceNumber,
      approximateInvokeCount: part.invokeCount,
      destination: destination ? destination.destinationLogicalId : 'none (records dropped)',
    });
    try {
      await this.options.onFailure(destination, message);
    } catch (error) {
      // AWS would retry the destination; locally losing the metadata must not stall the shard.
      this.logger.error(`stream ${this.eventId}: could not deliver the OnFailure message`, {
        error: errorMessage(error),
      });
    }
  }

  // ---------------------------------------------------------------- plumbing

  private track(loop: Promise<void>): void {
    const guarded = loop.catch((error: unknown) => {
      this.logger.error(`stream ${this.eventId}: event source loop crashed`, { error: errorMessage(error) });
    });
    this.loops.add(guarded);
    void guarded.finally(() => this.loops.delete(guarded));
  }

  /** A pause that stop() cuts short; `onWake` receives a function that ends it early too. */
  private sleep(ms: number, onWake?: (wake: () => void) => void): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
      onWake?.(wake);
    });
  }

  private errorBackoffMs(consecutive: number): number {
    return Math.min(ERROR_BACKOFF_MAX_MS, 100 * 2 ** Math.max(0, consecutive - 1));
  }

  private noteError(operation: string, error: unknown): void {
    this.lastError = { operation, message: errorMessage(error), at: new Date().toISOString() };
  }

  private reportError(operation: string, error: unknown): void {
    this.noteError(operation, error);
    const fields = { function: this.functionId, streamArn: this.streamArn, error: errorMessage(error) };
    if (this.failing.has(operation)) {
      this.logger.debug(`stream ${this.eventId}: ${operation} still failing`, fields);
      return;
    }
    this.failing.add(operation);
    this.logger.warn(`stream ${this.eventId}: ${operation} failed; retrying with backoff`, fields);
  }

  private recovered(operation: string): void {
    if (this.failing.delete(operation)) {
      this.logger.info(`stream ${this.eventId}: ${operation} works again`, { function: this.functionId });
    }
  }
}

/** GetRecords' Limit for records of about `recordBytes` each (see GET_RECORDS_MAX_BYTES). */
export function recordsPerMegabyte(recordBytes: number): number {
  return Math.min(GET_RECORDS_LIMIT, Math.max(1, Math.floor(GET_RECORDS_MAX_BYTES / Math.max(1, recordBytes))));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
