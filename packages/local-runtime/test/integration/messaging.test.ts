import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startTestPlatform, type TestPlatform } from '@real-time-platform/test-support';
import { fixtures } from '../helpers/paths';

// The local SQS and SNS as a user reaches them: the AWS CLI and SDK v3 with --endpoint-url, and the template's
// functions invoked by the SQS event source mapping and the SNS subscription, as on AWS.

jest.setTimeout(60_000);

const run = promisify(execFile);
let platform: TestPlatform;
let endpoint: string;
let sdk: SQSClient;

const credentials = { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_DEFAULT_REGION: 'us-east-1' };
const aws = async (...args: string[]) => {
  const { stdout } = await run('aws', [...args, '--endpoint-url', endpoint, '--output', 'json'], {
    env: { ...process.env, ...credentials },
  });
  return stdout.trim() === '' ? {} : JSON.parse(stdout);
};
const queueUrl = (logicalId: string) => {
  const queue = platform.model.queues.find((q) => q.logicalId === logicalId);
  return `${endpoint}/${platform.model.accountId}/${queue?.queueName}`;
};
/** `aws sqs get-queue-attributes --attribute-names All` of a template queue. */
const queueAttributes = async (logicalId: string): Promise<Record<string, string>> => {
  const { Attributes } = await aws(
    'sqs',
    'get-queue-attributes',
    '--queue-url',
    queueUrl(logicalId),
    '--attribute-names',
    'All',
  );
  return Attributes;
};
interface Received {
  Body: string;
  ReceiptHandle: string;
  Attributes?: Record<string, string>;
  MessageAttributes?: Record<string, unknown>;
}
/**
 * Messages of a queue until `count` of those `wanted` have arrived (long polls; the test's timeout bounds it); all
 * are deleted. SeenQueue is shared by the tests, and an earlier test's consumer may copy a record again after that
 * test ended: SQS delivers at least once, and a loaded machine can outlast the 1 s visibility timeout.
 */
const receive = async (logicalId: string, count: number, wanted: (message: Received) => boolean = () => true) => {
  const out: Received[] = [];
  const all: Received[] = [];
  while (out.length < count) {
    const { Messages = [] } = await sdk.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl(logicalId),
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 5,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    all.push(...(Messages as Received[]));
    out.push(...(Messages as Received[]).filter(wanted));
  }
  for (const { ReceiptHandle } of all) {
    await sdk.send(new DeleteMessageCommand({ QueueUrl: queueUrl(logicalId), ReceiptHandle }));
  }
  return out;
};

beforeAll(async () => {
  platform = await startTestPlatform({ templatePath: join(fixtures, 'templates/messaging.yaml') });
  endpoint = platform.urls.sqs ?? '';
  sdk = new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});
afterAll(async () => {
  sdk?.destroy();
  await platform?.stop();
});

test("the template's queues and topic exist; their URLs are the templates's !Ref values", async () => {
  const { QueueUrls } = await aws('sqs', 'list-queues');
  expect(QueueUrls).toHaveLength(5);
  expect(QueueUrls).toContain(queueUrl('WorkQueue'));
  const Attributes = await queueAttributes('WorkQueue');
  expect(Attributes).toMatchObject({
    VisibilityTimeout: '1',
    RedrivePolicy: expect.stringContaining('"maxReceiveCount":2'),
  });
  expect(platform.model.functions.get('Consumer')?.environment.SEEN_QUEUE_URL).toBe(queueUrl('SeenQueue'));
  const { Topics } = await aws('sns', 'list-topics');
  expect(Topics).toEqual([{ TopicArn: platform.model.topics[0]?.topicArn }]);
});

test('aws sqs send-message reaches the SQS event source; a bad message ends in the DLQ after maxReceiveCount', async () => {
  const sent = await aws('sqs', 'send-message', '--queue-url', queueUrl('WorkQueue'), '--message-body', '{"n":1}');
  expect(sent).toMatchObject({ MessageId: expect.any(String), MD5OfMessageBody: '082c26c8a6bc75226a31da5495cc9292' });
  await aws('sqs', 'send-message', '--queue-url', queueUrl('WorkQueue'), '--message-body', 'bad one');

  const [seen] = await receive('SeenQueue', 1);
  const copy = JSON.parse(seen?.Body ?? '{}');
  expect(copy.from).toBe('sqs');
  expect(copy.record).toMatchObject({
    messageId: sent.MessageId,
    body: '{"n":1}',
    md5OfBody: sent.MD5OfMessageBody,
    eventSource: 'aws:sqs',
    eventSourceARN: expect.stringMatching(/^arn:aws:sqs:us-east-1:\d{12}:.*WorkQueue/),
    awsRegion: 'us-east-1',
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: expect.stringMatching(/^\d{13}$/) },
    messageAttributes: {},
  });

  // Received twice (maxReceiveCount 2), failed each time; the next receive moves it to the DLQ.
  const { Messages } = await aws(
    'sqs',
    'receive-message',
    '--queue-url',
    queueUrl('WorkDeadLetterQueue'),
    '--wait-time-seconds',
    '20',
    '--attribute-names',
    'All',
  );
  expect(Messages).toEqual([
    expect.objectContaining({
      Body: 'bad one',
      Attributes: expect.objectContaining({ DeadLetterQueueSourceArn: copy.record.eventSourceARN }),
    }),
  ]);
  const Attributes = await queueAttributes('WorkQueue');
  expect(Attributes).toMatchObject({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
});

test('aws sns publish invokes the subscribed function with the SNS event and copies to the subscribed queue', async () => {
  const topicArn = platform.model.topics[0]?.topicArn ?? '';
  const { MessageId } = await aws(
    'sns',
    'publish',
    '--topic-arn',
    topicArn,
    '--message',
    '{"hello":"sns"}',
    '--subject',
    'greeting',
  );
  expect(MessageId).toEqual(expect.any(String));

  const [seen] = await receive('SeenQueue', 1, (message) => message.Body.includes('"from":"sns"'));
  const copy = JSON.parse(seen?.Body ?? '{}');
  expect(copy).toMatchObject({
    from: 'sns',
    records: 1,
    record: {
      EventSource: 'aws:sns',
      EventVersion: '1.0',
      EventSubscriptionArn: expect.stringMatching(new RegExp(`^${topicArn}:`)),
      Sns: { Type: 'Notification', MessageId, TopicArn: topicArn, Subject: 'greeting', Message: '{"hello":"sns"}' },
    },
  });
  const [envelope] = await receive('NotificationCopies', 1);
  expect(JSON.parse(envelope?.Body ?? '{}')).toMatchObject({
    Type: 'Notification',
    MessageId,
    TopicArn: topicArn,
    Subject: 'greeting',
    Message: '{"hello":"sns"}',
  });
});

test('a function failing on an SNS message is retried twice, then the event goes to its DeadLetterQueue', async () => {
  const topicArn = platform.model.topics[0]?.topicArn ?? '';
  await aws('sns', 'publish', '--topic-arn', topicArn, '--message', 'fail');
  const [dead] = await receive('FailedNotifications', 1);
  expect(JSON.parse(dead?.Body ?? '{}').Records[0].Sns.Message).toBe('fail');
  expect(dead?.MessageAttributes).toMatchObject({
    ErrorMessage: { DataType: 'String', StringValue: 'Error: cannot take this message' },
  });
});

test('SDK v3 message attributes round-trip with the MD5s it checks; unknown queues and topics are clear errors', async () => {
  const sent = await sdk.send(
    new SendMessageCommand({
      QueueUrl: queueUrl('SeenQueue'),
      MessageBody: 'with attributes',
      MessageAttributes: {
        kind: { DataType: 'String', StringValue: 'test' },
        n: { DataType: 'Number', StringValue: '7' },
      },
    }),
  );
  expect(sent.MD5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
  const [got] = await receive('SeenQueue', 1, (message) => message.Body === 'with attributes');
  expect(got?.MessageAttributes).toEqual({
    kind: { DataType: 'String', StringValue: 'test' },
    n: { DataType: 'Number', StringValue: '7' },
  });

  await expect(
    aws('sqs', 'send-message', '--queue-url', `${endpoint}/000000000000/nope`, '--message-body', 'x'),
  ).rejects.toThrow(/NonExistentQueue|QueueDoesNotExist/);
  await expect(
    aws('sns', 'publish', '--topic-arn', 'arn:aws:sns:us-east-1:000000000000:nope', '--message', 'x'),
  ).rejects.toThrow(/NotFound.*Topic does not exist/);
});
