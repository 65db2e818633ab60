import { randomBytes, randomUUID } from 'node:crypto';
import {
  attributesSize,
  type MessageAttributeValue,
  md5OfBody,
  md5OfMessageAttributes,
  messageAttributesProblem,
} from './message-attributes';

/** A queue's settings, as the template (or CreateQueue) gives them; AWS's defaults otherwise. */
export interface QueueSettings {
  queueName: string;
  visibilityTimeoutSeconds: number;
  delaySeconds: number;
  receiveMessageWaitTimeSeconds: number;
  messageRetentionSeconds: number;
  maximumMessageSize: number;
  /** RedrivePolicy: after maxReceiveCount receives, the next receive moves a message to this queue instead. */
  redrive?: { deadLetterQueueName: string; maxReceiveCount: number };
}

export const QUEUE_DEFAULTS = {
  visibilityTimeoutSeconds: 30,
  delaySeconds: 0,
  receiveMessageWaitTimeSeconds: 0,
  messageRetentionSeconds: 345_600,
  // SQS raised its message limit from 256 KiB to 1 MiB in 2025; the default of a new queue is the new maximum.
  maximumMessageSize: 1_048_576,
} as const;

/** An SQS error: the JSON protocol's `__type` shape and the query protocol code the SDKs map it from. */
export class SqsError extends Error {
  override name = 'SqsError';
  constructor(
    readonly code: string,
    message: string,
    readonly queryCode = code,
    readonly status = 400,
  ) {
    super(message);
  }
}

export const queueDoesNotExist = () =>
  new SqsError('QueueDoesNotExist', 'The specified queue does not exist.', 'AWS.SimpleQueueService.NonExistentQueue');

export interface SqsMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  messageAttributes: Record<string, MessageAttributeValue>;
  md5OfMessageAttributes?: string;
  sentTimestamp: number;
  senderId: string;
  /** When it may be received: after its delay, or after the visibility timeout of its last receive. */
  visibleAt: number;
  receiveCount: number;
  firstReceiveTimestamp?: number;
  /** The handle of its latest receive; older handles no longer change it. */
  receiptHandle?: string;
  deadLetterQueueSourceArn?: string;
}

export interface SendInput {
  body: string;
  delaySeconds?: number;
  messageAttributes?: Record<string, MessageAttributeValue>;
  senderId?: string;
}

/** The sender id SQS reports for the local account's credentials. */
export const LOCAL_SENDER_ID = 'AIDALOCALSQSSENDER0001';

// XML 1.0 characters, the only ones SQS accepts in a body.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters SQS refuses are what it matches.
const INVALID_CHARACTERS = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** One queue, in memory: visibility timeouts, delays, receive counts, redrive and long polling as SQS has them. */
export class Queue {
  private messages: SqsMessage[] = [];
  private readonly waiters = new Set<() => void>();
  readonly createdAt: number;

  constructor(
    readonly settings: QueueSettings,
    readonly arn: string,
    readonly url: string,
    private readonly store: QueueStore,
  ) {
    this.createdAt = store.now();
  }

  get name(): string {
    return this.settings.queueName;
  }

  send(input: SendInput): SqsMessage {
    const attributes = input.messageAttributes ?? {};
    if (input.body.length === 0) {
      throw new SqsError('MissingParameter', 'The request must contain the parameter MessageBody.');
    }
    if (INVALID_CHARACTERS.test(input.body)) {
      throw new SqsError(
        'InvalidMessageContents',
        'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF',
      );
    }
    const problem = messageAttributesProblem(attributes);
    if (problem) throw new SqsError('InvalidParameterValue', problem);
    const size = Buffer.byteLength(input.body) + attributesSize(attributes);
    if (size > this.settings.maximumMessageSize) {
      throw new SqsError(
        'InvalidParameterValue',
        `One or more parameters are invalid. Reason: Message must be shorter than ${this.settings.maximumMessageSize} bytes.`,
      );
    }
    const delay = input.delaySeconds ?? this.settings.delaySeconds;
    if (!Number.isInteger(delay) || delay < 0 || delay > 900) {
      throw new SqsError(
        'InvalidParameterValue',
        `Value ${delay} for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided.`,
      );
    }
    const now = this.store.now();
    const message: SqsMessage = {
      messageId: randomUUID(),
      body: input.body,
      md5OfBody: md5OfBody(input.body),
      messageAttributes: attributes,
      ...(Object.keys(attributes).length > 0 ? { md5OfMessageAttributes: md5OfMessageAttributes(attributes) } : {}),
      sentTimestamp: now,
      senderId: input.senderId ?? LOCAL_SENDER_ID,
      visibleAt: now + delay * 1000,
      receiveCount: 0,
    };
    this.messages.push(message);
    this.wake();
    return message;
  }

  /**
   * Up to `max` visible messages, hidden for the visibility timeout. A message already received maxReceiveCount
   * times goes to the dead-letter queue instead, as SQS's redrive does on the receive after the last allowed one.
   */
  receive(max: number, visibilityTimeoutSeconds = this.settings.visibilityTimeoutSeconds): SqsMessage[] {
    const now = this.store.now();
    this.expire(now);
    const out: SqsMessage[] = [];
    for (const message of [...this.messages]) {
      if (out.length >= max) break;
      if (message.visibleAt > now) continue;
      const redrive = this.settings.redrive;
      if (redrive && message.receiveCount >= redrive.maxReceiveCount) {
        const target = this.store.get(redrive.deadLetterQueueName);
        if (target) {
          this.remove(message);
          target.adopt({ ...message, deadLetterQueueSourceArn: this.arn });
          continue;
        }
      }
      message.receiveCount += 1;
      message.firstReceiveTimestamp ??= now;
      message.receiptHandle = receiptHandle(message.messageId);
      message.visibleAt = now + visibilityTimeoutSeconds * 1000;
      out.push({ ...message });
    }
    return out;
  }

  /** Waits until a message may be visible or the deadline passes (long polling). */
  async waitForMessages(deadline: number, signal?: AbortSignal): Promise<void> {
    while (this.store.now() < deadline && !signal?.aborted) {
      const now = this.store.now();
      this.expire(now);
      const nextVisible = Math.min(...this.messages.map((m) => m.visibleAt));
      if (nextVisible <= now) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(1, Math.min(deadline, nextVisible) - now));
        this.waiters.add(done);
        signal?.addEventListener('abort', done);
      });
    }
  }

  delete(handle: string): void {
    const message = this.messages.find((m) => m.receiptHandle === handle);
    if (message) this.remove(message);
    else if (!isReceiptHandle(handle)) {
      throw new SqsError(
        'ReceiptHandleIsInvalid',
        `The input receipt handle "${handle}" is not a valid receipt handle.`,
      );
    }
    // A handle of a message already deleted (or received again since) succeeds, as on SQS.
  }

  changeVisibility(handle: string, seconds: number): void {
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 43_200) {
      throw new SqsError(
        'InvalidParameterValue',
        `Value ${seconds} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.`,
      );
    }
    const message = this.messages.find((m) => m.receiptHandle === handle);
    if (!message) {
      throw new SqsError(
        'MessageNotInflight',
        'Value for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.',
        'AWS.SimpleQueueService.MessageNotInflight',
      );
    }
    message.visibleAt = this.store.now() + seconds * 1000;
    this.wake();
  }

  purge(): void {
    this.messages = [];
  }

  /** The counts GetQueueAttributes reports. */
  counts(): { visible: number; inFlight: number; delayed: number } {
    const now = this.store.now();
    this.expire(now);
    let visible = 0;
    let inFlight = 0;
    let delayed = 0;
    for (const m of this.messages) {
      if (m.visibleAt <= now) visible += 1;
      else if (m.receiveCount > 0) inFlight += 1;
      else delayed += 1;
    }
    return { visible, inFlight, delayed };
  }

  /** Takes a message moved here by redrive: its id, body and sent time stay, its receives start over. */
  private adopt(message: SqsMessage): void {
    const { receiptHandle: _handle, firstReceiveTimestamp: _first, ...rest } = message;
    this.messages.push({ ...rest, receiveCount: 0, visibleAt: this.store.now() });
    this.wake();
  }

  private remove(message: SqsMessage): void {
    this.messages = this.messages.filter((m) => m !== message);
  }

  private expire(now: number): void {
    const oldest = now - this.settings.messageRetentionSeconds * 1000;
    if (this.messages.some((m) => m.sentTimestamp < oldest)) {
      this.messages = this.messages.filter((m) => m.sentTimestamp >= oldest);
    }
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** The local account's queues, by name, URL and ARN. */
export class QueueStore {
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly options: {
      region: string;
      accountId: string;
      /** The local SQS's base URL, e.g. http://localhost:9324; queue URLs are `${baseUrl}/${accountId}/${name}`. */
      baseUrl: string;
      now?: () => number;
    },
  ) {}

  now(): number {
    return this.options.now ? this.options.now() : Date.now();
  }

  /** Creates a queue, or returns the one of that name when its settings are the same (as CreateQueue does). */
  create(settings: QueueSettings): Queue {
    const existing = this.queues.get(settings.queueName);
    if (existing) {
      if (JSON.stringify(existing.settings) !== JSON.stringify(settings)) {
        throw new SqsError(
          'QueueNameExists',
          `A queue already exists with the same name and a different value for attribute(s)`,
          'QueueAlreadyExists',
        );
      }
      return existing;
    }
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(settings.queueName.replace(/\.fifo$/, ''))) {
      throw new SqsError(
        'InvalidParameterValue',
        'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length',
      );
    }
    const { region, accountId, baseUrl } = this.options;
    const queue = new Queue(
      settings,
      `arn:aws:sqs:${region}:${accountId}:${settings.queueName}`,
      `${baseUrl.replace(/\/$/, '')}/${accountId}/${settings.queueName}`,
      this,
    );
    this.queues.set(settings.queueName, queue);
    return queue;
  }

  get(name: string): Queue | undefined {
    return this.queues.get(name);
  }

  /** The queue a QueueUrl names: any host (localhost, 127.0.0.1, sqs.<region>.amazonaws.com), its account and name. */
  byUrl(url: string): Queue {
    const name = /\/([0-9]{12}|queue)\/([^/?]+)\/?$/.exec(url)?.[2] ?? /^[A-Za-z0-9_.-]+$/.exec(url)?.[0];
    const queue = name === undefined ? undefined : this.queues.get(name);
    if (!queue) throw queueDoesNotExist();
    return queue;
  }

  byArn(arn: string): Queue | undefined {
    return [...this.queues.values()].find((q) => q.arn === arn);
  }

  delete(name: string): void {
    this.queues.delete(name);
  }

  list(prefix = ''): Queue[] {
    return [...this.queues.values()].filter((q) => q.name.startsWith(prefix));
  }
}

function receiptHandle(messageId: string): string {
  return Buffer.from(`${messageId} ${randomBytes(24).toString('hex')}`).toString('base64');
}

function isReceiptHandle(handle: string): boolean {
  return /^[0-9a-f-]{36} [0-9a-f]{48}$/.test(Buffer.from(handle, 'base64').toString('utf8'));
}
