import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { createEventBus } from '../../src/adapters/event-bus';
import { presenceOrItemMessage } from '../../src/domain/presence';
import { runFanout } from '../../src/handlers/logic/fanout';
import { createMessageHandler } from '../../src/handlers/logic/message';
import { createPresenceApiHandler } from '../../src/handlers/logic/presence-api';
import { publishPresenceEvents } from '../../src/handlers/logic/presence-events';
import {
  captureLog,
  MemoryConnections,
  memoryData,
  RecordingSender,
  recordingSnapshotRequests,
} from '../helpers/fakes';
import { MemoryPresence, publicKeys } from '../helpers/presence-fakes';

// The presence samples in events/ (for `npm run invoke` and `sam local invoke`) drive the handlers as documented.

const sample = (name: string) =>
  JSON.parse(readFileSync(join(__dirname, '..', '..', 'events', `${name}.json`), 'utf8'));

test('message-update-presence.json: the signed-in caller sets their page', async () => {
  const connections = new MemoryConnections();
  const presence = new MemoryPresence(connections);
  await presence.openConnection({ connectionId: 'R1kmxc2VNjMCFIA=', userId: 'u1' }, []);
  const sender = new RecordingSender();
  const handle = createMessageHandler({
    connections,
    snapshots: recordingSnapshotRequests(),
    sender,
    keyAccess: publicKeys,
    presence,
    logger: captureLog(),
  });
  await handle(sample('message-update-presence'));
  expect(sender.messagesTo('R1kmxc2VNjMCFIA=')).toEqual([
    {
      type: 'presence-updated',
      changed: true,
      page: { url: 'https://docs.example.com/guide', title: 'Guide', domain: 'example.com' },
    },
  ]);
});

test('presence-get-many.json: GET /presence?userIds=u2,u3 for u1', async () => {
  const connections = new MemoryConnections();
  const presence = new MemoryPresence(connections);
  await presence.openConnection({ connectionId: 'c2', userId: 'u2' }, []);
  const api = createPresenceApiHandler({
    presence,
    friends: {} as never,
    connections,
    activity: {} as never,
    keyAccess: publicKeys,
    visibility: 'all',
    logger: captureLog(),
  });
  const result = await api(sample('presence-get-many'));
  expect(result.statusCode).toBe(200);
  expect(JSON.parse(result.body ?? '')).toMatchObject({
    presence: [
      { userId: 'u2', status: 'online', connections: 1 },
      { userId: 'u3', status: 'offline', connections: 0 },
    ],
  });
});

test('presence-stream-batch.json: join, update, leave frames to watchers and three EventBridge events', async () => {
  const sender = new RecordingSender();
  const { response } = await runFanout(
    {
      connections: new MemoryConnections().seed({ watcher: ['presence:u1'] }),
      sender,
      keyAttribute: 'vehicleId',
      concurrency: 4,
      logger: captureLog(),
      messageOf: presenceOrItemMessage,
      snapshots: { reader: memoryData({}) },
    },
    sample('presence-stream-batch'),
  );
  expect(response.batchItemFailures).toEqual([]);
  expect(sender.messagesTo('watcher').map((m) => [m.type, m.event])).toEqual([
    ['presence', 'join'],
    ['presence', 'update'],
    ['presence', 'leave'],
  ]);

  const client = new EventBridgeClient({ region: 'eu-west-1' });
  const eventBridge = mockClient(client);
  eventBridge
    .on(PutEventsCommand)
    .resolves({ FailedEntryCount: 0, Entries: [{}, {}, {}].map((_, i) => ({ EventId: `${i}` })) });
  await publishPresenceEvents(
    { events: createEventBus(client), eventBusName: 'presence-bus', keyAttribute: 'vehicleId', logger: captureLog() },
    sample('presence-stream-batch'),
  );
  expect(eventBridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.map((e) => e.DetailType)).toEqual([
    'presence.connected',
    'presence.updated',
    'presence.disconnected',
  ]);
  eventBridge.restore();
});
