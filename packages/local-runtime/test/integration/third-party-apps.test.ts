import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  localDynamoDb,
  openRecordingSocket,
  startTestPlatform,
  type TestPlatform,
} from '@real-time-platform/test-support';
import { fixtures, repoRoot } from '../helpers/paths';
import { type LogLine, recordingLogger } from '../helpers/recording-logger';

// SAM WebSocket apps nobody on this project wrote, in the style of the public samples (fixtures/apps/*): each is
// copied to the system's temporary folder, so no node_modules of this repository can stand in for what Lambda's
// runtime provides, started once, and must deliver through real WebSocket clients without a line changed.

jest.setTimeout(60_000);

/** Letters only: the samples' TableName pattern allows no digits. */
const uniqueSuffix = () => [...randomBytes(8)].map((byte) => String.fromCharCode(97 + (byte % 26))).join('');

interface RunningApp {
  platform: TestPlatform;
  log: LogLine[];
  stop(): Promise<void>;
}

async function startApp(name: string, parameterOverrides: Record<string, string>): Promise<RunningApp> {
  const copy = mkdtempSync(join(tmpdir(), `rtp-${name}-`));
  cpSync(join(fixtures, 'apps', name), copy, { recursive: true });
  // Functions that declare aws-sdk v2 in their package.json get it as `sam build` would install it.
  for (const dir of readdirSync(copy, { withFileTypes: true })) {
    if (!dir.isDirectory() || !readdirSync(join(copy, dir.name)).includes('package.json')) continue;
    mkdirSync(join(copy, dir.name, 'node_modules'));
    symlinkSync(join(repoRoot, 'node_modules', 'aws-sdk'), join(copy, dir.name, 'node_modules', 'aws-sdk'));
  }
  const log: LogLine[] = [];
  try {
    const platform = await startTestPlatform({
      templatePath: join(copy, 'template.yaml'),
      parameterOverrides,
      logger: recordingLogger(log),
    });
    return {
      platform,
      log,
      stop: async () => {
        await platform.stop();
        rmSync(copy, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(copy, { recursive: true, force: true });
    throw error;
  }
}

const problems = (log: LogLine[]) =>
  log.filter((line) => line.level === 'warn' || line.level === 'error').map((line) => line.message);

/**
 * The chat samples: two clients connect, one sends `data`, and both receive `heard` (the samples post the data as it
 * came; esm-chat wraps it with its sender). Each app's own quirk is in its title.
 */
describe.each([
  {
    title: 'simple-chat: SDK v3 from the runtime, endpoint https://{domainName}/{stage}, stage Prod',
    app: 'simple-chat',
    tableName: 'simplechat',
    stage: 'Prod',
    data: '{"text":"hello from alice"}',
    heard: { text: 'hello from alice' },
    timeoutMs: 10_000,
  },
  {
    title: 'esm-chat: .mjs handlers with top-level await, endpoint from the apiId, stage v1',
    app: 'esm-chat',
    tableName: 'esmchat',
    stage: 'v1',
    data: 'hi from esm',
    heard: { from: expect.any(String), data: 'hi from esm' },
    timeoutMs: 10_000,
  },
  {
    // MemorySize 256: connecting proves the bundled SDK v2 does not die out of memory.
    title: 'sdk-v2-chat: aws-sdk v2 bundled, MemorySize 256, endpoint {domainName}/{stage} without a scheme',
    app: 'sdk-v2-chat',
    tableName: 'simplechatvtwo',
    stage: 'Prod',
    data: '{"text":"from sdk v2"}',
    heard: { text: 'from sdk v2' },
    timeoutMs: 20_000,
  },
])('$title', ({ app: name, tableName, stage, data, heard, timeoutMs }) => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await startApp(name, { TableName: `${tableName}_${uniqueSuffix()}` });
  });
  afterAll(() => app?.stop());

  test('a message reaches every connected client, the sender included', async () => {
    expect(app.platform.urls.webSocket).toMatch(new RegExp(`/${stage}$`));
    const alice = await openRecordingSocket(app.platform.urls.webSocket);
    const bob = await openRecordingSocket(app.platform.urls.webSocket);
    alice.send({ action: 'sendmessage', data });
    for (const socket of [alice, bob]) {
      const frame = await socket.next(
        (received) => received.text !== undefined || received.data !== undefined,
        timeoutMs,
      );
      expect(frame).toEqual(heard);
      socket.close();
    }
    expect(problems(app.log)).toEqual([]);
  });
});

describe('stream-notifier: a Streams consumer posting to WS_ENDPOINT, an execute-api URL set by !Sub', () => {
  let app: RunningApp;
  let sqs: SQSClient;
  const notesTable = `notifier-notes-${uniqueSuffix()}`;
  const dynamodb = localDynamoDb();
  const putNote = (item: Record<string, string>) =>
    dynamodb.send(
      new PutItemCommand({
        TableName: notesTable,
        Item: Object.fromEntries(Object.entries(item).map(([name, value]) => [name, { S: value }])),
      }),
    );
  beforeAll(async () => {
    app = await startApp('stream-notifier', {
      ConnectionsTableName: `notifier-connections-${uniqueSuffix()}`,
      NotesTableName: notesTable,
    });
    sqs = new SQSClient({
      endpoint: app.platform.urls.sqs,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });
  afterAll(async () => {
    sqs?.destroy();
    dynamodb.destroy();
    await app?.stop();
  });

  test('each new note reaches every connected client, in order', async () => {
    // The runtime gives every function WS_ENDPOINT as its local management URL (the template's execute-api value
    // would reach it too: lambda-environment.test.ts posts to such URLs from every HTTP client).
    expect(app.platform.model.functions.get('NotifyFunction')?.environment.WS_ENDPOINT).toBe(
      app.platform.urls.management,
    );
    const clients = [
      await openRecordingSocket(app.platform.urls.webSocket),
      await openRecordingSocket(app.platform.urls.webSocket),
    ];
    await putNote({ noteId: 'n1', text: 'first' });
    await putNote({ noteId: 'n2', text: 'second' });
    for (const client of clients) {
      await client.count((frame) => typeof frame.noteId === 'string', 2, 10_000);
      expect(client.frames).toEqual([
        { noteId: 'n1', text: 'first' },
        { noteId: 'n2', text: 'second' },
      ]);
      client.close();
    }
  });

  test('a batch the consumer fails on lands in the OnFailure SQS queue, where the SDK receives it', async () => {
    await putNote({ noteId: 'broken' });
    const queueUrl = `${app.platform.urls.sqs}/${app.platform.model.accountId}/${
      app.platform.model.queues.find((queue) => queue.logicalId === 'UndeliveredQueue')?.queueName
    }`;
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 10, MaxNumberOfMessages: 10 }),
    );
    expect(Messages).toHaveLength(1);
    const message = JSON.parse(Messages[0]?.Body ?? '{}');
    expect(message).toMatchObject({
      requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 1 },
      responseContext: { functionError: 'Unhandled' },
      DDBStreamBatchInfo: { batchSize: 1 },
    });
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: Messages[0]?.ReceiptHandle }));
    expect(readdirSync(app.platform.workDir)).not.toContain('dead-letters');
  });
});
