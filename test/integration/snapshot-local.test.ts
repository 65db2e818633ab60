import { randomUUID } from 'node:crypto';
import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import {
  connectionIdOf,
  openRecordingSocket,
  type RecordingSocket,
  startTestPlatform,
  type TestPlatform,
} from '@real-time-platform/test-support';
import { createConnectionSender } from '../../src/adapters/connection-sender';
import { createSignedPoster } from '../../src/adapters/signed-poster';
import { toPlainItem } from '../../src/domain/attribute-values';
import { MergedKey } from '../helpers/merge-rule';

// Catch-up end to end through the real local runtime of template.yaml: a key with 2,000 items written (and rewritten
// and deleted) while a subscriber leaves and another joins mid-write with `"snapshot":true`. The snapshot is served by
// the stream fan-out in stream order (the marker the subscribe wrote), and the newcomer, following the README's merge
// rule, must end with exactly the table's items.

jest.setTimeout(180_000);

const KEY = `catch-up-${randomUUID().slice(0, 8)}`;

let platform: TestPlatform;
let ddb: DynamoDBClient;
let TABLE: string;

beforeAll(async () => {
  platform = await startTestPlatform();
  TABLE = platform.tableName('RealTimeDataTable');
  ddb = platform.aws.dynamodb;
});

afterAll(async () => {
  await platform?.stop();
});

type Operation = { kind: 'put'; itemId: string; version: number } | { kind: 'delete'; itemId: string };

/** 2,000 inserts, every 4th followed by a rewrite of an earlier item and every 9th by the delete of one. */
function operations(): Operation[] {
  const id = (n: number) => `i${String(n).padStart(4, '0')}`;
  const ops: Operation[] = [];
  for (let n = 0; n < 2000; n++) {
    ops.push({ kind: 'put', itemId: id(n), version: 0 });
    if (n % 4 === 3) ops.push({ kind: 'put', itemId: id(n - 2), version: n });
    if (n % 9 === 8) ops.push({ kind: 'delete', itemId: id(n - 5) });
  }
  return ops;
}

function run(op: Operation): Promise<unknown> {
  const key = { realTimeItemKey: { S: KEY }, itemId: { S: op.itemId } };
  if (op.kind === 'delete') return ddb.send(new DeleteItemCommand({ TableName: TABLE, Key: key }));
  return ddb.send(
    new PutItemCommand({
      TableName: TABLE,
      Item: { ...key, version: { N: String(op.version) }, note: { S: 'x'.repeat(250) } },
    }),
  );
}

/** The key's items in the table, as plain JSON, without the platform's "$" rows. */
async function tableItems(): Promise<Map<string, Record<string, unknown>>> {
  const items = new Map<string, Record<string, unknown>>();
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await ddb.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'realTimeItemKey = :k',
        ExpressionAttributeValues: { ':k': { S: KEY } },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const raw of page.Items ?? []) {
      const item = toPlainItem(raw);
      if (!String(item.itemId).startsWith('$')) items.set(item.itemId as string, item);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

test('a subscriber that joins mid-write with a snapshot ends with exactly the table’s items', async () => {
  const url = platform.urls.webSocket;
  const leaving: RecordingSocket = await openRecordingSocket(`${url}?realTimeItemKey=${encodeURIComponent(KEY)}`);
  let joining: RecordingSocket | undefined;
  const ops = operations();
  // Eight writes in flight, like several producers.
  let next = 0;
  const writer = async () => {
    while (next < ops.length) {
      const index = next++;
      if (index === 600) leaving.close();
      if (index === 800) {
        joining = await openRecordingSocket(url);
        joining.send({ action: 'subscribe', keys: [KEY], snapshot: true });
      }
      await run(ops[index] as Operation);
    }
  };
  await Promise.all(Array.from({ length: 8 }, writer));
  await run({ kind: 'put', itemId: 'zz-last', version: 1 });

  const client = joining as RecordingSocket;
  // The stream keeps each key's order: once the last write is here, every earlier change is too.
  await client.next((f) => f.type === 'item' && f.itemId === 'zz-last', 60_000);
  const merged = new MergedKey(KEY);
  for (const frame of client.frames) merged.handle(frame);

  const pages = client.frames.filter((f) => f.type === 'snapshot');
  expect(pages.length).toBeGreaterThan(1);
  expect(pages.at(-1)).toMatchObject({ complete: true });
  expect(merged.synced).toBe(true);
  // The snapshot was read mid-write: items arrived live before and after its position.
  expect(client.frames.some((f) => f.type === 'item' && f.itemId !== 'zz-last')).toBe(true);
  const expected = await tableItems();
  expect(merged.items.size).toBe(expected.size);
  expect(new Map([...merged.items].sort())).toEqual(new Map([...expected].sort()));
  client.close();
});

test('the lean signed sender against the local gateway: delivered, 413 over 128 KB, 410 once the socket is gone', async () => {
  const endpoint = platform.urls.management;
  const client = platform.aws.management;
  const sender = createConnectionSender({ poster: createSignedPoster({ client, endpoint, maxSockets: 4 }) });
  const socket = await openRecordingSocket(platform.urls.webSocket);
  const connectionId = await connectionIdOf(socket);
  expect(await sender.post(connectionId, Buffer.from('{"type":"hello"}'))).toEqual({ status: 'sent', attempts: 1 });
  expect(await socket.next((f) => f.type === 'hello')).toEqual({ type: 'hello' });
  const tooBig = Buffer.from(JSON.stringify({ type: 'big', blob: 'x'.repeat(130 * 1024) }));
  expect(await sender.post(connectionId, tooBig)).toEqual({ status: 'tooLarge', attempts: 1 });
  socket.close();
  await socket.closed;
  expect(await sender.post(connectionId, Buffer.from('{}'))).toEqual({ status: 'gone', attempts: 1 });
});
