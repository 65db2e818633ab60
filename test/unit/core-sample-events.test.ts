import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConnectHandler } from '../../src/handlers/logic/connect';
import { createDisconnectHandler } from '../../src/handlers/logic/disconnect';
import { runFanout } from '../../src/handlers/logic/fanout';
import { createMessageHandler } from '../../src/handlers/logic/message';
import {
  captureLog,
  MemoryConnections,
  memoryData,
  RecordingSender,
  recordingSnapshotRequests,
} from '../helpers/fakes';
import { MemoryPresence, publicKeys } from '../helpers/presence-fakes';

// The sample events in events/ (for `npm run invoke` and `sam local invoke`) must drive the handlers the way the
// docs say. The samples use vehicleId, as a deployment with RealTimeItemKey=vehicleId (samconfig.toml) receives them.

const root = join(__dirname, '..', '..');
const sample = (name: string) => JSON.parse(readFileSync(join(root, 'events', `${name}.json`), 'utf8'));

test('connect.json subscribes to vehicle 3; disconnect.json removes it', async () => {
  const connections = new MemoryConnections();
  const connect = createConnectHandler({
    connections,
    presence: new MemoryPresence(connections),
    keyAccess: publicKeys,
    keyName: 'vehicleId',
    isQueryParam: true,
    logger: captureLog(),
  });
  expect((await connect(sample('connect'))).statusCode).toBe(200);
  expect([...(connections.subscriptions.get('R1kmxc2VNjMCFIA=') ?? [])]).toEqual(['3']);
  const disconnect = createDisconnectHandler({
    connections,
    presence: new MemoryPresence(connections),
    logger: captureLog(),
  });
  expect((await disconnect(sample('disconnect'))).statusCode).toBe(200);
  expect(connections.deleted).toEqual(['R1kmxc2VNjMCFIA=']);
});

test.each([
  ['message-subscribe', { type: 'subscribed', keys: ['3', '7'] }],
  ['message-subscribe-snapshot', { type: 'subscribed', keys: ['3'] }],
  ['message-unsubscribe', { type: 'unsubscribed', keys: ['7'] }],
  ['message-heartbeat', { type: 'pong', connectionId: 'R1kmxc2VNjMCFIA=' }],
  ['message-unknown-action', { type: 'error', code: 'UNKNOWN_ACTION' }],
  ['message-invalid-json', { type: 'error', code: 'BAD_REQUEST' }],
])('%s gets its documented first reply', async (name, reply) => {
  const sender = new RecordingSender();
  const connections = new MemoryConnections().seed({ 'R1kmxc2VNjMCFIA=': [] });
  const handle = createMessageHandler({
    connections,
    snapshots: recordingSnapshotRequests(),
    sender,
    keyAccess: publicKeys,
    presence: new MemoryPresence(connections),
    logger: captureLog(),
  });
  await handle(sample(name));
  expect(sender.messagesTo('R1kmxc2VNjMCFIA=')[0]).toMatchObject(reply);
});

test('stream-batch.json: INSERT, MODIFY and REMOVE over two keys, none skipped', async () => {
  const sender = new RecordingSender();
  const { response, summary } = await runFanout(
    {
      connections: new MemoryConnections().seed({ a: ['3'], b: ['7'] }),
      sender,
      keyAttribute: 'vehicleId',
      concurrency: 4,
      logger: captureLog(),
      snapshots: { reader: memoryData({}) },
    },
    sample('stream-batch'),
  );
  expect(response.batchItemFailures).toEqual([]);
  expect(summary).toMatchObject({ records: 5, keys: 2, skipped: 0 });
  expect(sender.messagesTo('a').map((m) => m.event)).toEqual(['INSERT', 'MODIFY', 'REMOVE']);
  expect(sender.messagesTo('a')[0]?.item).toMatchObject({ tags: ['electric', 'city'], lat: 52.1 });
  expect(sender.messagesTo('b').map((m) => m.event)).toEqual(['INSERT', 'MODIFY']);
});
