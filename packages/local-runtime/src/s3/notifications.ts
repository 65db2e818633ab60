import { createHash, randomBytes } from 'node:crypto';
import type { DeadLetterSink } from '../dead-letters';
import type { Invoker, LocalLogger, S3EventSpec } from '../types';

/** One object change, as the S3 server saw it. */
export interface ObjectChange {
  bucket: string;
  key: string;
  /** "ObjectCreated:Put", "ObjectCreated:CompleteMultipartUpload", "ObjectRemoved:Delete". */
  eventName: string;
  size?: number;
  etag?: string;
  sourceIp: string;
  requestId: string;
  hostId: string;
  principalId: string;
}

export interface NotifierOptions {
  s3Events: S3EventSpec[];
  invoker: Invoker;
  logger: LocalLogger;
  region: string;
  /** Where invocations that failed every attempt go: the function's DeadLetterQueue, or `<FunctionId>-async.jsonl`. */
  deadLetters: DeadLetterSink;
  /** The functions' DeadLetterQueue names, by function id. */
  deadLetterQueues: Record<string, string>;
  /** Waits before the retries of a failed invocation; Lambda waits about 1 and 2 minutes, locally 1 and 2 seconds. */
  retryDelaysMs: number[];
}

/** The owner S3 reports in events for buckets of the (local) account. */
const OWNER_PRINCIPAL_ID = 'A3LOCALS3OWNER1';

/**
 * A key as S3 writes it into event notifications: form-URL-encoded (space as "+", "/" kept), the reason Lambda
 * handlers decode with `decodeURIComponent(key.replace(/\+/g, ' '))`.
 */
export function eventKey(key: string): string {
  return Array.from(Buffer.from(key, 'utf8'))
    .map((byte) => {
      const c = String.fromCharCode(byte);
      if (/[A-Za-z0-9.\-*_/]/.test(c)) return c;
      if (c === ' ') return '+';
      return `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

/** Whether a configured event ("s3:ObjectCreated:*", "s3:ObjectCreated:Put") covers an event name. */
export function eventMatches(configured: string, eventName: string): boolean {
  const name = `s3:${eventName}`;
  if (configured.endsWith(':*')) return name.startsWith(configured.slice(0, -1));
  return configured === name;
}

/** Sends S3 event notifications to the functions whose S3 events match, asynchronously and with Lambda's retries. */
export class Notifier {
  private sequence = 0n;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: NotifierOptions) {}

  /** Queues the notifications for a change; never waits for the functions (S3 answers the request first). */
  publish(change: ObjectChange): void {
    const specs = this.options.s3Events.filter(
      (spec) =>
        spec.bucketName === change.bucket &&
        spec.events.some((configured) => eventMatches(configured, change.eventName)) &&
        (spec.prefix === undefined || change.key.startsWith(spec.prefix)) &&
        (spec.suffix === undefined || change.key.endsWith(spec.suffix)),
    );
    if (specs.length === 0) return;
    const sequencer = this.nextSequencer();
    for (const spec of specs) {
      const event = this.event(spec, change, sequencer);
      this.attempt(spec, event, 1);
    }
  }

  private nextSequencer(): string {
    // S3's sequencer is a hex string that grows with every change of a key; time plus a counter does that here.
    this.sequence += 1n;
    return (BigInt(Date.now()) * 1_000_000n + (this.sequence % 1_000_000n))
      .toString(16)
      .toUpperCase()
      .padStart(18, '0');
  }

  /** The event exactly as S3 delivers it to Lambda (event version 2.1). */
  event(spec: S3EventSpec, change: ObjectChange, sequencer: string): { Records: unknown[] } {
    const object: Record<string, unknown> = { key: eventKey(change.key) };
    if (change.size !== undefined) object.size = change.size;
    if (change.etag !== undefined) object.eTag = change.etag;
    object.sequencer = sequencer;
    return {
      Records: [
        {
          eventVersion: '2.1',
          eventSource: 'aws:s3',
          awsRegion: this.options.region,
          eventTime: new Date().toISOString(),
          eventName: change.eventName,
          userIdentity: { principalId: change.principalId },
          requestParameters: { sourceIPAddress: change.sourceIp },
          responseElements: { 'x-amz-request-id': change.requestId, 'x-amz-id-2': change.hostId },
          s3: {
            s3SchemaVersion: '1.0',
            configurationId: configurationId(spec),
            bucket: {
              name: change.bucket,
              ownerIdentity: { principalId: OWNER_PRINCIPAL_ID },
              arn: `arn:aws:s3:::${change.bucket}`,
            },
            object,
          },
        },
      ],
    };
  }

  private attempt(spec: S3EventSpec, event: { Records: unknown[] }, attempt: number): void {
    if (this.closed) return;
    const run = (async () => {
      const outcome = await this.options.invoker.invoke(spec.functionId, event, `s3 ${spec.eventId}`);
      if (outcome.ok) return;
      const delay = this.options.retryDelaysMs[attempt - 1];
      if (delay !== undefined && !this.closed) {
        this.options.logger.warn(`${spec.functionId} failed on an S3 event; Lambda retries it`, {
          attempt,
          retryInMs: delay,
          error: outcome.error.errorMessage,
        });
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.attempt(spec, event, attempt + 1);
        }, delay);
        this.timers.add(timer);
        return;
      }
      await this.deadLetter(
        spec,
        event,
        attempt,
        outcome.requestId,
        outcome.error.errorType,
        outcome.error.errorMessage,
      );
    })().catch((error: unknown) => {
      this.options.logger.error(`S3 notification to ${spec.functionId} could not be delivered`, {
        error: error instanceof Error ? error.message : String(error),
      });
    });
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  }

  /** What Lambda sends to an async invocation's dead-letter queue: the event, with the error as attributes. */
  private async deadLetter(
    spec: S3EventSpec,
    event: unknown,
    attempts: number,
    requestId: string,
    errorType: string,
    errorMessage: string,
  ): Promise<void> {
    const queueName = this.options.deadLetterQueues[spec.functionId];
    const errorText = `${errorType}: ${errorMessage}`;
    const where = await this.options.deadLetters.send({
      ...(queueName ? { queue: { name: queueName } } : {}),
      fileName: `${spec.functionId}-async`,
      body: event,
      // The message attributes Lambda adds to DLQ messages.
      attributes: {
        RequestID: { DataType: 'String', StringValue: requestId },
        ErrorCode: { DataType: 'Number', StringValue: '200' },
        ErrorMessage: { DataType: 'String', StringValue: errorText.slice(0, 1000) },
      },
      fileLine: {
        deadLetteredAt: new Date().toISOString(),
        functionId: spec.functionId,
        trigger: `s3 ${spec.eventId}`,
        attempts,
        RequestID: requestId,
        ErrorCode: '200',
        ErrorMessage: errorText,
        event,
      },
    });
    this.options.logger.error(`${spec.functionId} failed on an S3 event ${attempts} times; event dead-lettered`, {
      to: where,
      error: errorMessage,
    });
  }

  /** Waits for invocations in progress (not for retries that are still scheduled). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  /** Cancels scheduled retries and waits for running invocations. */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await this.settle();
  }
}

/** S3 names a notification configuration without an Id with a generated one; this is a stable stand-in. */
function configurationId(spec: S3EventSpec): string {
  return createHash('sha256').update(`${spec.functionId}/${spec.eventId}`).digest('base64').slice(0, 43);
}

/** 16 upper-case hex characters, like S3's x-amz-request-id. */
export function requestId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

/** A base64 string shaped like S3's x-amz-id-2. */
export function hostId(): string {
  return randomBytes(48).toString('base64');
}
