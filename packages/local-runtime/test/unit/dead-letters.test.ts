import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deadLetterSink } from '../../src/dead-letters';
import { QUEUE_DEFAULTS, QueueStore } from '../../src/sqs/queues';

// Where a dead letter goes: the template's queue in the local SQS when it has one, a .jsonl file only otherwise.

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rtp-dead-letters-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const storeWith = (...names: string[]) => {
  const store = new QueueStore({ region: 'us-east-1', accountId: '123456789012', baseUrl: 'http://localhost:9324' });
  for (const queueName of names) store.create({ ...QUEUE_DEFAULTS, queueName });
  return store;
};

test('a letter for a queue of the template (by logical id or by name) is a message of that queue, with its attributes', async () => {
  const queues = storeWith('stack-Failures-ABC', 'async-dlq');
  const sink = deadLetterSink({ dir, queues: () => queues, queueNames: { Failures: 'stack-Failures-ABC' } });
  await expect(sink.send({ queue: { logicalId: 'Failures' }, fileName: 'Failures', body: { n: 1 } })).resolves.toBe(
    'queue stack-Failures-ABC',
  );
  const attributes = { ErrorCode: { DataType: 'Number', StringValue: '200' } };
  await sink.send({ queue: { name: 'async-dlq' }, fileName: 'Fn-async', body: { n: 2 }, attributes });
  expect(
    queues
      .get('stack-Failures-ABC')
      ?.receive(10)
      .map((m) => JSON.parse(m.body)),
  ).toEqual([{ n: 1 }]);
  expect(queues.get('async-dlq')?.receive(10)).toEqual([
    expect.objectContaining({ body: '{"n":2}', messageAttributes: attributes }),
  ]);
  expect(sink.sentToQueues().map((letter) => letter.queueName)).toEqual(['stack-Failures-ABC', 'async-dlq']);
  expect(await readdir(dir)).toEqual([]);
});

test('without such a queue (not the template’s, or no local SQS running) the letter is a line of <fileName>.jsonl', async () => {
  const sink = deadLetterSink({ dir, queues: () => storeWith('other'), queueNames: { Failures: 'missing' } });
  await sink.send({ queue: { logicalId: 'Failures' }, fileName: 'Failures', body: { n: 1 } });
  await sink.send({ fileName: 'Failures', body: { n: 2 }, fileLine: { n: 2, attempts: 3 } });
  const noSqs = deadLetterSink({ dir });
  await expect(noSqs.send({ queue: { name: 'other' }, fileName: 'Failures', body: { n: 3 } })).resolves.toBe(
    join(dir, 'Failures.jsonl'),
  );
  const lines = (await readFile(join(dir, 'Failures.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(lines).toEqual([{ n: 1 }, { n: 2, attempts: 3 }, { n: 3 }]);
  expect(sink.sentToQueues()).toEqual([]);
});
