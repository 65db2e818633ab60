import type { MessageAttributeValue } from './message-attributes';
import { QUEUE_DEFAULTS, type Queue, type QueueSettings, type QueueStore, SqsError, type SqsMessage } from './queues';

/**
 * The SQS JSON protocol (`X-Amz-Target: AmazonSQS.<Action>`, what SDK v3 and the AWS CLI speak): each action takes
 * the request's JSON and answers the JSON SQS answers, or throws an SqsError.
 */
type Input = Record<string, unknown>;

const MAX_BATCH = 10;

export async function sqsAction(
  store: QueueStore,
  action: string,
  input: Input,
  signal?: AbortSignal,
): Promise<unknown> {
  switch (action) {
    case 'CreateQueue':
      return { QueueUrl: store.create(settingsOf(string(input, 'QueueName'), record(input.Attributes))).url };
    case 'GetQueueUrl': {
      const queue = store.get(string(input, 'QueueName'));
      if (!queue)
        throw new SqsError(
          'QueueDoesNotExist',
          'The specified queue does not exist.',
          'AWS.SimpleQueueService.NonExistentQueue',
        );
      return { QueueUrl: queue.url };
    }
    case 'ListQueues':
      return { QueueUrls: store.list(optionalString(input, 'QueueNamePrefix')).map((q) => q.url) };
    case 'DeleteQueue':
      store.delete(queueOf(store, input).name);
      return {};
    case 'PurgeQueue':
      queueOf(store, input).purge();
      return {};
    case 'GetQueueAttributes':
      return { Attributes: attributesOf(queueOf(store, input), names(input.AttributeNames)) };
    case 'SendMessage':
      return sent(queueOf(store, input).send(sendInput(input)));
    case 'SendMessageBatch': {
      const queue = queueOf(store, input);
      return batch(input, (entry) => ({ Id: entry.Id, ...sent(queue.send(sendInput(entry))) }));
    }
    case 'ReceiveMessage':
      return receive(queueOf(store, input), input, signal);
    case 'DeleteMessage':
      queueOf(store, input).delete(string(input, 'ReceiptHandle'));
      return {};
    case 'DeleteMessageBatch': {
      const queue = queueOf(store, input);
      return batch(input, (entry) => {
        queue.delete(string(entry, 'ReceiptHandle'));
        return { Id: entry.Id };
      });
    }
    case 'ChangeMessageVisibility':
      queueOf(store, input).changeVisibility(string(input, 'ReceiptHandle'), integer(input, 'VisibilityTimeout'));
      return {};
    case 'ChangeMessageVisibilityBatch': {
      const queue = queueOf(store, input);
      return batch(input, (entry) => {
        queue.changeVisibility(string(entry, 'ReceiptHandle'), integer(entry, 'VisibilityTimeout'));
        return { Id: entry.Id };
      });
    }
    default:
      throw new SqsError(
        'InvalidAction',
        `The action ${action} is not valid for this endpoint (the local SQS runs the queue and message actions).`,
        'InvalidAction',
      );
  }
}

/** Queue attributes as CreateQueue takes them (strings), with SQS's defaults. */
export function settingsOf(queueName: string, attributes: Record<string, unknown>): QueueSettings {
  const number = (name: string, fallback: number) => {
    const value = attributes[name];
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw new SqsError('InvalidAttributeValue', `Invalid value for the parameter ${name}.`);
    return n;
  };
  const redrive = attributes.RedrivePolicy;
  let parsed: QueueSettings['redrive'];
  if (redrive !== undefined) {
    const policy = (typeof redrive === 'string' ? JSON.parse(redrive) : redrive) as Record<string, unknown>;
    const target = String(policy.deadLetterTargetArn ?? '');
    const max = Number(policy.maxReceiveCount);
    if (!target.startsWith('arn:') || !Number.isInteger(max) || max < 1 || max > 1000) {
      throw new SqsError(
        'InvalidAttributeValue',
        'Value for parameter RedrivePolicy is invalid: it needs deadLetterTargetArn and maxReceiveCount 1–1000.',
      );
    }
    parsed = { deadLetterQueueName: target.slice(target.lastIndexOf(':') + 1), maxReceiveCount: max };
  }
  return {
    queueName,
    visibilityTimeoutSeconds: number('VisibilityTimeout', QUEUE_DEFAULTS.visibilityTimeoutSeconds),
    delaySeconds: number('DelaySeconds', QUEUE_DEFAULTS.delaySeconds),
    receiveMessageWaitTimeSeconds: number(
      'ReceiveMessageWaitTimeSeconds',
      QUEUE_DEFAULTS.receiveMessageWaitTimeSeconds,
    ),
    messageRetentionSeconds: number('MessageRetentionPeriod', QUEUE_DEFAULTS.messageRetentionSeconds),
    maximumMessageSize: number('MaximumMessageSize', QUEUE_DEFAULTS.maximumMessageSize),
    ...(parsed ? { redrive: parsed } : {}),
  };
}

async function receive(queue: Queue, input: Input, signal?: AbortSignal): Promise<unknown> {
  const max = input.MaxNumberOfMessages === undefined ? 1 : integer(input, 'MaxNumberOfMessages');
  if (max < 1 || max > MAX_BATCH) {
    throw new SqsError(
      'InvalidParameterValue',
      `Value ${max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.`,
    );
  }
  const wait =
    input.WaitTimeSeconds === undefined
      ? queue.settings.receiveMessageWaitTimeSeconds
      : integer(input, 'WaitTimeSeconds');
  if (wait < 0 || wait > 20) {
    throw new SqsError(
      'InvalidParameterValue',
      `Value ${wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.`,
    );
  }
  const visibility = input.VisibilityTimeout === undefined ? undefined : integer(input, 'VisibilityTimeout');
  const deadline = Date.now() + wait * 1000;
  let messages = queue.receive(max, visibility);
  while (messages.length === 0 && Date.now() < deadline && !signal?.aborted) {
    await queue.waitForMessages(deadline, signal);
    messages = queue.receive(max, visibility);
  }
  if (messages.length === 0) return {};
  const systemNames = [...names(input.AttributeNames), ...names(input.MessageSystemAttributeNames)];
  const attributeNames = names(input.MessageAttributeNames);
  return { Messages: messages.map((m) => received(m, systemNames, attributeNames)) };
}

function received(m: SqsMessage, systemNames: string[], attributeNames: string[]) {
  const system = systemAttributes(m);
  const wanted = systemNames.includes('All') ? Object.keys(system) : systemNames.filter((n) => n in system);
  const attributes = Object.fromEntries(
    Object.entries(m.messageAttributes).filter(([name]) =>
      attributeNames.some(
        (w) => w === 'All' || w === '.*' || w === name || (w.endsWith('.*') && name.startsWith(w.slice(0, -1))),
      ),
    ),
  );
  return {
    MessageId: m.messageId,
    ReceiptHandle: m.receiptHandle,
    MD5OfBody: m.md5OfBody,
    Body: m.body,
    ...(wanted.length > 0 ? { Attributes: Object.fromEntries(wanted.map((n) => [n, system[n]])) } : {}),
    ...(Object.keys(attributes).length > 0
      ? { MessageAttributes: attributes, MD5OfMessageAttributes: m.md5OfMessageAttributes }
      : {}),
  };
}

/** The system attributes SQS gives a received message (and Lambda's SQS event carries). */
export function systemAttributes(m: SqsMessage): Record<string, string> {
  return {
    ApproximateReceiveCount: String(m.receiveCount),
    SentTimestamp: String(m.sentTimestamp),
    SenderId: m.senderId,
    ApproximateFirstReceiveTimestamp: String(m.firstReceiveTimestamp ?? m.sentTimestamp),
    ...(m.deadLetterQueueSourceArn ? { DeadLetterQueueSourceArn: m.deadLetterQueueSourceArn } : {}),
  };
}

function attributesOf(queue: Queue, wanted: string[]): Record<string, string> {
  const { visible, inFlight, delayed } = queue.counts();
  const s = queue.settings;
  const all: Record<string, string> = {
    QueueArn: queue.arn,
    ApproximateNumberOfMessages: String(visible),
    ApproximateNumberOfMessagesNotVisible: String(inFlight),
    ApproximateNumberOfMessagesDelayed: String(delayed),
    CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
    LastModifiedTimestamp: String(Math.floor(queue.createdAt / 1000)),
    VisibilityTimeout: String(s.visibilityTimeoutSeconds),
    DelaySeconds: String(s.delaySeconds),
    ReceiveMessageWaitTimeSeconds: String(s.receiveMessageWaitTimeSeconds),
    MessageRetentionPeriod: String(s.messageRetentionSeconds),
    MaximumMessageSize: String(s.maximumMessageSize),
    SqsManagedSseEnabled: 'true',
  };
  if (s.redrive) {
    const target = queue.arn.replace(/[^:]+$/, s.redrive.deadLetterQueueName);
    all.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: target, maxReceiveCount: s.redrive.maxReceiveCount });
  }
  if (wanted.length === 0 || wanted.includes('All')) return all;
  return Object.fromEntries(wanted.filter((n) => n in all).map((n) => [n, all[n] as string]));
}

function sent(m: SqsMessage) {
  return {
    MessageId: m.messageId,
    MD5OfMessageBody: m.md5OfBody,
    ...(m.md5OfMessageAttributes ? { MD5OfMessageAttributes: m.md5OfMessageAttributes } : {}),
  };
}

function sendInput(input: Input) {
  return {
    body: string(input, 'MessageBody'),
    ...(input.DelaySeconds !== undefined ? { delaySeconds: integer(input, 'DelaySeconds') } : {}),
    ...(input.MessageAttributes !== undefined
      ? { messageAttributes: record(input.MessageAttributes) as Record<string, MessageAttributeValue> }
      : {}),
  };
}

/** A batch action: entries succeed or fail one by one, as SQS reports them. */
function batch(input: Input, each: (entry: Input & { Id: string }) => Record<string, unknown>) {
  const entries = Array.isArray(input.Entries) ? (input.Entries as (Input & { Id: string })[]) : [];
  if (entries.length === 0)
    throw new SqsError(
      'EmptyBatchRequest',
      'There should be at least one entry in the request.',
      'AWS.SimpleQueueService.EmptyBatchRequest',
    );
  if (entries.length > MAX_BATCH) {
    throw new SqsError(
      'TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are 10. You have sent ${entries.length}.`,
      'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
    );
  }
  if (new Set(entries.map((e) => e.Id)).size !== entries.length) {
    throw new SqsError(
      'BatchEntryIdsNotDistinct',
      'Two or more batch entries in the request have the same Id.',
      'AWS.SimpleQueueService.BatchEntryIdsNotDistinct',
    );
  }
  const Successful: unknown[] = [];
  const Failed: unknown[] = [];
  for (const entry of entries) {
    try {
      Successful.push(each(entry));
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      Failed.push({ Id: entry.Id, SenderFault: true, Code: error.code, Message: error.message });
    }
  }
  return { Successful, Failed };
}

function queueOf(store: QueueStore, input: Input): Queue {
  return store.byUrl(string(input, 'QueueUrl'));
}

function string(input: Input, name: string): string {
  const value = input[name];
  if (typeof value !== 'string' || value === '') {
    if (value === undefined || value === '')
      throw new SqsError('MissingParameter', `The request must contain the parameter ${name}.`);
    throw new SqsError('InvalidParameterValue', `Value for parameter ${name} must be a string.`);
  }
  return value;
}

function optionalString(input: Input, name: string): string | undefined {
  return input[name] === undefined ? undefined : string(input, name);
}

function integer(input: Input, name: string): number {
  const value = Number(input[name]);
  if (input[name] === undefined || !Number.isInteger(value)) {
    throw new SqsError(
      'InvalidParameterValue',
      `Value ${JSON.stringify(input[name])} for parameter ${name} is invalid. Reason: must be an integer.`,
    );
  }
  return value;
}

function record(value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SqsError('InvalidParameterValue', 'Attributes must be a map.');
  }
  return value as Record<string, unknown>;
}

function names(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}
