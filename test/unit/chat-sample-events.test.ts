import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { directConversationId } from '../../src/domain/chat-ids';
import { createChatApiHandler } from '../../src/handlers/logic/chat-api';
import { createChatAudience } from '../../src/handlers/logic/chat-membership';
import { createChatSocketHandler } from '../../src/handlers/logic/chat-socket';
import { runFanout } from '../../src/handlers/logic/fanout';
import { MemoryChatStore } from '../helpers/chat-memory-store';
import { captureLog, MemoryConnections, memoryData, RecordingSender } from '../helpers/fakes';

// The chat samples in events/ (for `npm run invoke` and `sam local invoke`) drive the handlers as documented: the
// caller is u1 (what the JWT authorizer would put in the request context), the conversation is u1's and u2's.

const sample = (name: string) =>
  JSON.parse(readFileSync(join(__dirname, '..', '..', 'events', `${name}.json`), 'utf8'));
const DIRECT = directConversationId('u1', 'u2');

test('chat-create-conversation.json: 201, then 200 with the same id; chat-create-group.json: 201 with its title', async () => {
  // u2 and u3 have connected once (the samples' conversations include them).
  const api = createChatApiHandler({ store: new MemoryChatStore(Date.now, ['u2', 'u3']), logger: captureLog() });
  const first = await api(sample('chat-create-conversation'));
  expect(first.statusCode).toBe(201);
  expect(JSON.parse(first.body ?? '')).toMatchObject({ conversationId: DIRECT, participants: ['u1', 'u2'] });
  expect((await api(sample('chat-create-conversation'))).statusCode).toBe(200);
  const group = await api(sample('chat-create-group'));
  expect(group.statusCode).toBe(201);
  expect(JSON.parse(group.body ?? '')).toMatchObject({
    type: 'group',
    title: 'Team',
    participants: ['u1', 'u2', 'u3'],
  });
});

test('chat-send-message.json stores a message; chat-read-messages.json marks it read; the list samples show both', async () => {
  const store = new MemoryChatStore(Date.now, ['u2']);
  const api = createChatApiHandler({ store, logger: captureLog() });
  await api(sample('chat-create-conversation'));
  const sender = new RecordingSender();
  const socket = createChatSocketHandler({ store, sender, logger: captureLog() });
  expect(await socket(sample('chat-send-message'))).toEqual({ statusCode: 200 });
  expect(await socket(sample('chat-read-messages'))).toEqual({ statusCode: 200 });
  expect(sender.messagesTo('R1kmxc2VNjMCFIA=')).toEqual([]);
  const history = JSON.parse((await api(sample('chat-list-messages'))).body ?? '');
  expect(history.messages).toEqual([
    expect.objectContaining({
      messageId: '000000000001',
      senderId: 'u1',
      content: 'Hi Bea, lunch at noon?',
      tempMessageId: 't-1',
    }),
  ]);
  const mine = JSON.parse((await api(sample('chat-my-conversations'))).body ?? '');
  expect(mine.conversations).toEqual([
    expect.objectContaining({ conversationId: DIRECT, unreadCount: 0, readUpTo: '000000000001' }),
  ]);
});

test('chat-stream-batch.json: the message and u2’s receipt reach both users’ inboxes', async () => {
  const store = new MemoryChatStore(Date.now, ['u2']);
  await store.createConversation({
    conversationId: DIRECT,
    type: 'direct',
    participants: ['u1', 'u2'],
    createdBy: 'u1',
    createdAt: '2026-11-22T08:00:00.000Z',
  });
  const sender = new RecordingSender();
  const { response } = await runFanout(
    {
      connections: new MemoryConnections().seed({ a: ['inbox:u1'], b: ['inbox:u2'], c: ['inbox:u3'] }),
      sender,
      keyAttribute: 'vehicleId',
      concurrency: 4,
      logger: captureLog(),
      audienceOf: createChatAudience(store),
      snapshots: { reader: memoryData({}) },
    },
    sample('chat-stream-batch'),
  );
  expect(response.batchItemFailures).toEqual([]);
  for (const connection of ['a', 'b']) {
    expect(sender.messagesTo(connection).map((m) => m.itemId)).toEqual(['msg#000000000001', 'read#u2']);
  }
  expect(sender.messagesTo('c')).toEqual([]);
});
