import { PORTS } from '../ports';
import { type Subscription, TopicStore } from '../sns/topics';
import { type SqsEventSource, startSqsEventSource } from '../sqs/event-source';
import { QueueStore } from '../sqs/queues';
import type { Invoker, LocalLogger, PlatformModel } from '../types';
import { startMessagingServer } from './server';

/**
 * The template's queues and topics, served locally: the SQS/SNS endpoint (`aws sqs|sns --endpoint-url`), the SQS
 * event source mappings of its functions, and its SNS subscriptions (SQS queues, and functions through SNS events,
 * invoked asynchronously with Lambda's retries and then their DeadLetterQueue).
 */
export interface LocalMessagingOptions {
  model: PlatformModel;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The URL queue URLs start with (the model's !Ref values use it), e.g. http://localhost:9324. */
  baseUrl: string;
  invoker: Invoker;
  logger: LocalLogger;
  /** Waits before the retries of a failed asynchronous invocation; Lambda waits about 1 and 2 minutes. */
  retryDelaysMs?: number[];
}

export interface LocalMessaging {
  url: string;
  queues: QueueStore;
  topics: TopicStore;
  close(): Promise<void>;
}

/** Locally Lambda's two retries of an asynchronous event come after 1 and 2 seconds instead of minutes. */
const RETRY_DELAYS_MS = [1000, 2000];

export async function startLocalMessaging(options: LocalMessagingOptions): Promise<LocalMessaging> {
  const { model, invoker, logger } = options;
  const queues = new QueueStore({ region: model.region, accountId: model.accountId, baseUrl: options.baseUrl });
  for (const spec of model.queues) {
    const { logicalId: _id, ...settings } = spec;
    queues.create(settings);
  }
  const pending = new Set<NodeJS.Timeout>();
  let closed = false;
  const deliverToLambda = (subscription: Extract<Subscription, { protocol: 'lambda' }>, event: unknown) => {
    const delays = options.retryDelaysMs ?? RETRY_DELAYS_MS;
    const attempt = async (n: number): Promise<void> => {
      if (closed) return;
      const outcome = await invoker.invoke(subscription.functionId, event, `sns ${subscription.eventId}`);
      if (outcome.ok) return;
      const delay = delays[n - 1];
      if (delay !== undefined) {
        logger.warn(`${subscription.functionId} failed on an SNS message; Lambda retries it`, {
          attempt: n,
          retryInMs: delay,
          error: outcome.error.errorMessage,
        });
        const timer = setTimeout(() => {
          pending.delete(timer);
          void attempt(n + 1);
        }, delay);
        pending.add(timer);
        return;
      }
      const dlqName = model.asyncDeadLetterQueues[subscription.functionId];
      const dlq = dlqName ? queues.get(dlqName) : undefined;
      if (!dlq) {
        logger.error(
          `${subscription.functionId} failed on an SNS message ${n} times; it has no DeadLetterQueue, the event is dropped`,
          {
            error: outcome.error.errorMessage,
          },
        );
        return;
      }
      // What Lambda sends to a function's dead-letter queue: the event, with the error as message attributes.
      dlq.send({
        body: JSON.stringify(event),
        messageAttributes: {
          RequestID: { DataType: 'String', StringValue: outcome.requestId },
          ErrorCode: { DataType: 'Number', StringValue: '200' },
          ErrorMessage: {
            DataType: 'String',
            StringValue: `${outcome.error.errorType}: ${outcome.error.errorMessage}`.slice(0, 1000),
          },
        },
      });
      logger.error(
        `${subscription.functionId} failed on an SNS message ${n} times; event sent to its DeadLetterQueue ${dlq.name}`,
        {
          error: outcome.error.errorMessage,
        },
      );
    };
    void attempt(1).catch((error: unknown) =>
      logger.error(
        `SNS delivery to ${subscription.functionId} failed: ${error instanceof Error ? error.message : String(error)}`,
      ),
    );
  };

  const topics = new TopicStore({
    region: model.region,
    accountId: model.accountId,
    queues,
    deliverToLambda,
    baseUrl: options.baseUrl,
  });
  for (const topic of model.topics) topics.create(topic.topicName);
  for (const subscription of model.snsQueueSubscriptions) {
    topics.subscribe({
      protocol: 'sqs',
      topicArn: subscription.topicArn,
      endpoint: subscription.queueArn,
      rawMessageDelivery: subscription.rawMessageDelivery,
    });
  }
  for (const event of model.snsEvents) {
    const topic = model.topics.find((t) => t.logicalId === event.topicLogicalId);
    const fn = model.functions.get(event.functionId);
    if (!topic || !fn) continue;
    topics.subscribe({
      protocol: 'lambda',
      topicArn: topic.topicArn,
      endpoint: fn.functionArn ?? event.functionId,
      functionId: event.functionId,
      eventId: event.eventId,
    });
  }

  const functionOf = (arn: string) =>
    [...model.functions.values()].find(
      (fn) => fn.functionArn === arn || fn.functionName === arn || fn.logicalId === arn,
    )?.logicalId;
  const server = await startMessagingServer({
    host: options.host,
    port: options.port,
    setting: PORTS.sqs,
    queues,
    topics,
    functionOf,
    logger,
  });

  const sources: SqsEventSource[] = [];
  for (const spec of model.sqsEvents) {
    if (!spec.enabled) continue;
    const queueName = model.queues.find((q) => q.logicalId === spec.queueLogicalId)?.queueName;
    const queue = queueName ? queues.get(queueName) : undefined;
    if (!queue) continue;
    sources.push(startSqsEventSource({ spec, queue, invoker, logger, region: model.region }));
  }

  return {
    url: server.url,
    queues,
    topics,
    close: async () => {
      closed = true;
      for (const timer of pending) clearTimeout(timer);
      await Promise.all(sources.map((source) => source.stop()));
      await server.close();
    },
  };
}
