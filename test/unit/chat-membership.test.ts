import type { Conversation } from '@real-time-platform/protocol';
import { lambdaContext, streamEvent, streamRecord } from '@real-time-platform/test-support';
import { directConversationId, newGroupConversationId } from '../../src/domain/chat-ids';
import { createKeyAccessPolicy } from '../../src/domain/key-access';
import { chatKeyAccessRule, createChatAudience } from '../../src/handlers/logic/chat-membership';
import { runFanout } from '../../src/handlers/logic/fanout';
import { MemoryChatStore } from '../helpers/chat-memory-store';
import { captureLog, MemoryConnections, memoryData, RecordingSender } from '../helpers/fakes';

const GROUP = newGroupConversationId(Date.parse('2026-11-22T08:00:00.000Z'));
const group: Conversation = {
  conversationId: GROUP,
  type: 'group',
  title: 'Team',
  participants: ['u1', 'u2', 'u3'],
  createdBy: 'u1',
  createdAt: '2026-11-22T08:00:00.000Z',
};

async function storeWithGroup() {
  const store = new MemoryChatStore(Date.now, ['u2', 'u3']);
  await store.createConversation(group);
  store.calls = [];
  return store;
}

test('chat:<id> is readable by its participants only; strangers, unknown ids and anonymous callers are refused', async () => {
  const policy = createKeyAccessPolicy([chatKeyAccessRule(await storeWithGroup())]);
  expect(await policy({ userId: 'u2' }, `chat:${GROUP}`)).toEqual({ allowed: true });
  expect(await policy({ userId: 'u9' }, `chat:${GROUP}`)).toMatchObject({ allowed: false, code: 'FORBIDDEN' });
  expect(await policy({ userId: 'u9' }, `chat:${directConversationId('u9', 'u8')}`)).toMatchObject({
    allowed: false,
    code: 'FORBIDDEN',
  });
  expect(await policy({ userId: 'u1' }, 'chat:whatever')).toMatchObject({ allowed: false, code: 'FORBIDDEN' });
  expect(await policy(undefined, `chat:${GROUP}`)).toMatchObject({ allowed: false, code: 'UNAUTHORIZED' });
  expect(await policy(undefined, 'vehicle-3')).toEqual({ allowed: true });
});

test('the audience of chat:<id> is its participants’ inboxes; other keys have none and cost no lookup', async () => {
  const store = await storeWithGroup();
  const audienceOf = createChatAudience(store);
  expect(await audienceOf(`chat:${GROUP}`)).toEqual(['inbox:u1', 'inbox:u2', 'inbox:u3']);
  expect(await audienceOf(`chat:${directConversationId('a', 'b')}`)).toEqual([]);
  store.calls = [];
  expect(await audienceOf('3')).toEqual([]);
  expect(await audienceOf('presence:u1')).toEqual([]);
  expect(store.calls).toEqual([]);
});

test('fan-out: a message reaches every connection of every participant once (inbox or chat key), nobody else', async () => {
  const connections = new MemoryConnections().seed({
    // u1 has two tabs; one of them also subscribed to the conversation itself.
    'u1-tab-a': ['inbox:u1'],
    'u1-tab-b': ['inbox:u1', `chat:${GROUP}`],
    'u2-phone': ['inbox:u2'],
    'u9-stranger': ['inbox:u9'],
    anonymous: ['3'],
  });
  const sender = new RecordingSender();
  const message = {
    messageId: '000000000001',
    conversationId: GROUP,
    senderId: 'u1',
    content: 'hi',
    sentAt: '2026-11-22T08:00:01.000Z',
    tempMessageId: 't-1',
  };
  const records = [
    streamRecord({ key: `chat:${GROUP}`, seq: 1, itemId: 'msg#000000000001', item: message }),
    streamRecord({
      key: `chat:${GROUP}`,
      seq: 2,
      itemId: 'read#u2',
      item: { conversationId: GROUP, userId: 'u2', upTo: '000000000001', readAt: '2026-11-22T08:00:02.000Z' },
    }),
  ];
  const { response } = await runFanout(
    {
      connections,
      sender,
      keyAttribute: 'vehicleId',
      concurrency: 4,
      logger: captureLog(),
      audienceOf: createChatAudience(await storeWithGroup()),
      snapshots: { reader: memoryData({}) },
    },
    streamEvent(records),
    lambdaContext(),
  );
  expect(response.batchItemFailures).toEqual([]);
  for (const connection of ['u1-tab-a', 'u1-tab-b', 'u2-phone']) {
    expect(sender.messagesTo(connection).map((m) => m.itemId)).toEqual(['msg#000000000001', 'read#u2']);
  }
  expect(sender.messagesTo('u1-tab-a')[0]).toMatchObject({
    type: 'item',
    key: `chat:${GROUP}`,
    item: { messageId: '000000000001', senderId: 'u1', content: 'hi', tempMessageId: 't-1' },
  });
  expect(sender.messagesTo('u9-stranger')).toEqual([]);
  expect(sender.messagesTo('anonymous')).toEqual([]);
  // One subscriber lookup for the key and one per participant: proportional to participants.
  expect(connections.lookups).toBe(1 + group.participants.length);
});
