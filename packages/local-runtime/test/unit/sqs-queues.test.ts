import { sqsAction } from '../../src/sqs/api';
import { failedIds } from '../../src/sqs/event-source';
import { QUEUE_DEFAULTS, QueueStore, SqsError } from '../../src/sqs/queues';

// The queue semantics a consumer relies on, on a clock the test moves: visibility, delay, redrive, batch replies.

function storeAt(start = 1_000_000) {
  let now = start;
  const store = new QueueStore({
    region: 'us-east-1',
    accountId: '123456789012',
    baseUrl: 'http://localhost:9324',
    now: () => now,
  });
  return { store, advance: (ms: number) => (now += ms) };
}
const settings = (queueName: string, extra = {}) => ({ ...QUEUE_DEFAULTS, queueName, ...extra });

test('a received message is hidden for the visibility timeout, then comes back with a higher receive count', () => {
  const { store, advance } = storeAt();
  const queue = store.create(settings('work', { visibilityTimeoutSeconds: 10 }));
  queue.send({ body: 'hello' });
  const [first] = queue.receive(10);
  expect(first).toMatchObject({ body: 'hello', receiveCount: 1 });
  expect(queue.receive(10)).toEqual([]);
  advance(9_999);
  expect(queue.receive(10)).toEqual([]);
  advance(1);
  const [again] = queue.receive(10);
  expect(again).toMatchObject({ messageId: first?.messageId, receiveCount: 2 });
  // The first receive's handle no longer deletes it; the latest one does.
  queue.delete(first?.receiptHandle ?? '');
  expect(queue.counts()).toEqual({ visible: 0, inFlight: 1, delayed: 0 });
  queue.delete(again?.receiptHandle ?? '');
  expect(queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
});

test('after maxReceiveCount receives the next receive moves the message to the DLQ, keeping its id and body', () => {
  const { store, advance } = storeAt();
  const dlq = store.create(settings('dlq'));
  const queue = store.create(
    settings('work', { visibilityTimeoutSeconds: 1, redrive: { deadLetterQueueName: 'dlq', maxReceiveCount: 2 } }),
  );
  const sent = queue.send({ body: 'poison' });
  expect(queue.receive(1)).toHaveLength(1);
  advance(1000);
  expect(queue.receive(1)).toHaveLength(1);
  advance(1000);
  expect(queue.receive(1)).toEqual([]);
  const [moved] = dlq.receive(1);
  expect(moved).toMatchObject({
    messageId: sent.messageId,
    body: 'poison',
    receiveCount: 1,
    deadLetterQueueSourceArn: 'arn:aws:sqs:us-east-1:123456789012:work',
  });
});

test('DelaySeconds hides a new message; bodies SQS refuses are errors, not stored', () => {
  const { store, advance } = storeAt();
  const queue = store.create(settings('work', { maximumMessageSize: 1024 }));
  queue.send({ body: 'later', delaySeconds: 5 });
  expect(queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 1 });
  advance(5000);
  expect(queue.receive(1)).toHaveLength(1);
  expect(() => queue.send({ body: 'x'.repeat(1025) })).toThrow(/shorter than 1024 bytes/);
  expect(() => queue.send({ body: 'bell \u0007' })).toThrow(
    expect.objectContaining({ code: 'InvalidMessageContents' }),
  );
  expect(() => queue.send({ body: 'x', delaySeconds: 901 })).toThrow(SqsError);
  expect(() =>
    queue.send({ body: 'x', messageAttributes: { n: { DataType: 'Number', StringValue: 'seven' } } }),
  ).toThrow(/cast the value of message attribute 'n' to a number/);
});

test('the JSON actions: batches answer per entry, unknown queues and actions are named errors', async () => {
  const { store } = storeAt();
  const { QueueUrl } = (await sqsAction(store, 'CreateQueue', { QueueName: 'work' })) as { QueueUrl: string };
  expect(QueueUrl).toBe('http://localhost:9324/123456789012/work');
  const result = await sqsAction(store, 'SendMessageBatch', {
    QueueUrl,
    Entries: [
      { Id: 'a', MessageBody: 'one' },
      { Id: 'b', MessageBody: '' },
    ],
  });
  expect(result).toEqual({
    Successful: [{ Id: 'a', MessageId: expect.any(String), MD5OfMessageBody: 'f97c5d29941bfb1b2fdab0874906ab82' }],
    Failed: [{ Id: 'b', SenderFault: true, Code: 'MissingParameter', Message: expect.stringContaining('MessageBody') }],
  });
  await expect(
    sqsAction(store, 'SendMessage', { QueueUrl: `${QueueUrl}-nope`, MessageBody: 'x' }),
  ).rejects.toMatchObject({
    code: 'QueueDoesNotExist',
    queryCode: 'AWS.SimpleQueueService.NonExistentQueue',
  });
  await expect(sqsAction(store, 'ReceiveMessage', { QueueUrl, MaxNumberOfMessages: 11 })).rejects.toThrow(
    /between 1 and 10/,
  );
  await expect(sqsAction(store, 'TagQueue', { QueueUrl })).rejects.toMatchObject({ code: 'InvalidAction' });
});

test('a ReportBatchItemFailures reply: empty means success, an unknown id or a malformed reply fails the batch', () => {
  const batch = [{ messageId: 'm1' }, { messageId: 'm2' }] as Parameters<typeof failedIds>[1];
  expect(failedIds(undefined, batch)).toEqual(new Set());
  expect(failedIds({ batchItemFailures: [] }, batch)).toEqual(new Set());
  expect(failedIds({ batchItemFailures: [{ itemIdentifier: 'm2' }] }, batch)).toEqual(new Set(['m2']));
  expect(failedIds({ batchItemFailures: [{ itemIdentifier: 'other' }] }, batch)).toBe('all');
  expect(failedIds({ batchItemFailures: 'm1' }, batch)).toBe('all');
});
