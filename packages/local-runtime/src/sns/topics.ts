import { randomUUID } from 'node:crypto';
import type { QueueStore } from '../sqs/queues';

/** An SNS error, with the query protocol's code and HTTP status. */
export class SnsError extends Error {
  override name = 'SnsError';
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export interface SnsMessageAttribute {
  Type: string;
  Value: string;
}

export interface Notification {
  messageId: string;
  topicArn: string;
  subject?: string;
  message: string;
  timestamp: string;
  messageAttributes: Record<string, SnsMessageAttribute>;
}

export type Subscription =
  | { arn: string; topicArn: string; protocol: 'lambda'; endpoint: string; functionId: string; eventId: string }
  | { arn: string; topicArn: string; protocol: 'sqs'; endpoint: string; rawMessageDelivery: boolean };

/** A subscription before SNS gives it an ARN. */
export type SubscriptionInput = Subscription extends infer S
  ? S extends Subscription
    ? Omit<S, 'arn'>
    : never
  : never;

/** Delivers a notification to a Lambda subscription (asynchronously, with Lambda's retries). */
export type LambdaDelivery = (subscription: Extract<Subscription, { protocol: 'lambda' }>, event: unknown) => void;

const MAX_MESSAGE_BYTES = 262_144;

/** The local account's topics and their subscriptions; publishing fans a message out as SNS does. */
export class TopicStore {
  private readonly topics = new Map<string, { name: string; arn: string }>();
  private readonly subscriptions: Subscription[] = [];

  constructor(
    private readonly options: {
      region: string;
      accountId: string;
      queues: QueueStore;
      deliverToLambda: LambdaDelivery;
      /** Base URL of the local SNS, for the notification's UnsubscribeURL. */
      baseUrl: string;
    },
  ) {}

  create(name: string): string {
    if (!/^[A-Za-z0-9_-]{1,256}(\.fifo)?$/.test(name)) {
      throw new SnsError('InvalidParameter', 'Invalid parameter: Topic Name');
    }
    const arn = `arn:aws:sns:${this.options.region}:${this.options.accountId}:${name}`;
    if (!this.topics.has(arn)) this.topics.set(arn, { name, arn });
    return arn;
  }

  delete(arn: string): void {
    this.topics.delete(arn);
  }

  list(): string[] {
    return [...this.topics.keys()];
  }

  has(arn: string): boolean {
    return this.topics.has(arn);
  }

  subscribe(subscription: SubscriptionInput): Subscription {
    this.topic(subscription.topicArn);
    if (subscription.protocol === 'sqs' && !this.options.queues.byArn(subscription.endpoint)) {
      throw new SnsError(
        'InvalidParameter',
        `Invalid parameter: SQS endpoint ARN ${subscription.endpoint} is not a local queue`,
      );
    }
    const existing = this.subscriptions.find(
      (s) =>
        s.topicArn === subscription.topicArn &&
        s.protocol === subscription.protocol &&
        s.endpoint === subscription.endpoint,
    );
    if (existing) return existing;
    const created = { ...subscription, arn: `${subscription.topicArn}:${randomUUID()}` } as Subscription;
    this.subscriptions.push(created);
    return created;
  }

  unsubscribe(arn: string): void {
    const index = this.subscriptions.findIndex((s) => s.arn === arn);
    if (index >= 0) this.subscriptions.splice(index, 1);
  }

  subscriptionsOf(topicArn?: string): Subscription[] {
    return this.subscriptions.filter((s) => topicArn === undefined || s.topicArn === topicArn);
  }

  /** Publishes to every subscription of the topic; answers the MessageId before any Lambda delivery runs. */
  publish(input: {
    topicArn: string;
    message: string;
    subject?: string;
    messageAttributes?: Record<string, SnsMessageAttribute>;
  }): string {
    this.topic(input.topicArn);
    if (input.message === '') throw new SnsError('InvalidParameter', 'Invalid parameter: Empty message');
    if (Buffer.byteLength(input.message) > MAX_MESSAGE_BYTES) {
      throw new SnsError('InvalidParameter', 'Invalid parameter: Message too long');
    }
    if (
      input.subject !== undefined &&
      (input.subject.length === 0 || input.subject.length > 100 || /[\r\n]/.test(input.subject))
    ) {
      throw new SnsError('InvalidParameter', 'Invalid parameter: Subject');
    }
    const notification: Notification = {
      messageId: randomUUID(),
      topicArn: input.topicArn,
      ...(input.subject !== undefined ? { subject: input.subject } : {}),
      message: input.message,
      timestamp: new Date().toISOString(),
      messageAttributes: input.messageAttributes ?? {},
    };
    for (const subscription of this.subscriptionsOf(input.topicArn)) {
      if (subscription.protocol === 'lambda') {
        this.options.deliverToLambda(subscription, this.lambdaEvent(subscription, notification));
      } else {
        const queue = this.options.queues.byArn(subscription.endpoint);
        queue?.send({
          body: subscription.rawMessageDelivery
            ? notification.message
            : JSON.stringify(this.envelope(subscription, notification)),
          ...(subscription.rawMessageDelivery
            ? { messageAttributes: sqsAttributes(notification.messageAttributes) }
            : {}),
        });
      }
    }
    return notification.messageId;
  }

  /** The event SNS sends a Lambda subscriber (one record per invocation). */
  lambdaEvent(subscription: Subscription, n: Notification): unknown {
    return {
      Records: [
        {
          EventSource: 'aws:sns',
          EventVersion: '1.0',
          EventSubscriptionArn: subscription.arn,
          Sns: {
            Type: 'Notification',
            MessageId: n.messageId,
            TopicArn: n.topicArn,
            Subject: n.subject ?? null,
            Message: n.message,
            Timestamp: n.timestamp,
            SignatureVersion: '1',
            Signature: LOCAL_SIGNATURE,
            SigningCertUrl: `${this.options.baseUrl}/SimpleNotificationService-local.pem`,
            UnsubscribeUrl: this.unsubscribeUrl(subscription),
            MessageAttributes: n.messageAttributes,
          },
        },
      ],
    };
  }

  /** The JSON document an SQS subscriber receives as the message body unless RawMessageDelivery is on. */
  envelope(subscription: Subscription, n: Notification): Record<string, unknown> {
    return {
      Type: 'Notification',
      MessageId: n.messageId,
      TopicArn: n.topicArn,
      ...(n.subject !== undefined ? { Subject: n.subject } : {}),
      Message: n.message,
      Timestamp: n.timestamp,
      SignatureVersion: '1',
      Signature: LOCAL_SIGNATURE,
      SigningCertURL: `${this.options.baseUrl}/SimpleNotificationService-local.pem`,
      UnsubscribeURL: this.unsubscribeUrl(subscription),
      ...(Object.keys(n.messageAttributes).length > 0 ? { MessageAttributes: n.messageAttributes } : {}),
    };
  }

  private unsubscribeUrl(subscription: Subscription): string {
    return `${this.options.baseUrl}/?Action=Unsubscribe&SubscriptionArn=${encodeURIComponent(subscription.arn)}`;
  }

  private topic(arn: string): { name: string; arn: string } {
    const topic = this.topics.get(arn);
    if (!topic) throw new SnsError('NotFound', 'Topic does not exist', 404);
    return topic;
  }
}

// Locally nothing signs: a fixed value in the field's shape, which a verifier rejects as it should.
const LOCAL_SIGNATURE = Buffer.from('local SNS: not signed').toString('base64');

/** SNS message attributes as the SQS message attributes of a raw delivery. */
function sqsAttributes(attributes: Record<string, SnsMessageAttribute>) {
  return Object.fromEntries(
    Object.entries(attributes).map(([name, { Type, Value }]) => [
      name,
      Type === 'Binary'
        ? { DataType: Type, BinaryValue: Value }
        : { DataType: Type === 'String.Array' ? 'String' : Type, StringValue: Value },
    ]),
  );
}
