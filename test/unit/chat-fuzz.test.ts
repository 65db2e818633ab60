import fc from 'fast-check';
import { directConversationId } from '../../src/domain/chat-ids';
import { createChatApiHandler } from '../../src/handlers/logic/chat-api';
import { createChatSocketHandler } from '../../src/handlers/logic/chat-socket';
import { MemoryChatStore } from '../helpers/chat-memory-store';
import { wsEvent } from '../helpers/events';
import { captureLog, RecordingSender } from '../helpers/fakes';

// Properties: nothing a client sends to the chat routes makes a handler throw or answer 5xx. Every socket frame
// either stores exactly one message / marker or gets exactly one `error` frame; every HTTP request gets a 2xx or 4xx.

const DIRECT = directConversationId('u1', 'u2');

async function seeded() {
  const store = new MemoryChatStore();
  await store.createConversation({
    conversationId: DIRECT,
    type: 'direct',
    participants: ['u1', 'u2'],
    createdBy: 'u1',
    createdAt: '2026-11-22T08:00:00.000Z',
  });
  return store;
}

const conversationId = fc.oneof(fc.constant(DIRECT), fc.string(), fc.anything());
const frameBody = fc.oneof(
  fc.string(),
  fc.json(),
  fc
    .record(
      {
        action: fc.constantFrom('send-message', 'read-messages', 'x'),
        conversationId,
        content: fc.oneof(fc.string({ unit: 'binary', maxLength: 5000 }), fc.anything()),
        tempMessageId: fc.anything(),
        upTo: fc.oneof(fc.stringMatching(/^\d{12}$/), fc.anything()),
        senderId: fc.string(),
      },
      { requiredKeys: ['action'] },
    )
    .map((value) => JSON.stringify(value)),
);

test('no frame makes the chat socket handler throw; each either acts or gets one error frame', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('send-message', 'read-messages', 'other'),
      fc.option(frameBody),
      fc.constantFrom('u1', 'u9', undefined),
      async (routeKey, body, userId) => {
        const store = await seeded();
        const sender = new RecordingSender();
        const handle = createChatSocketHandler({ store, sender, logger: captureLog() });
        const event = wsEvent({ routeKey, connectionId: 'c1', ...(body === null ? {} : { body }) });
        if (userId !== undefined && event.requestContext) event.requestContext.authorizer = { principalId: userId };
        const result = await handle(event);
        expect(result.statusCode).toBe(200);
        const replies = sender.messagesTo('c1');
        const acted = (store.log.get(DIRECT)?.length ?? 0) + (store.markers.get(DIRECT)?.size ?? 0);
        if (acted > 0) expect(replies).toEqual([]);
        else if (replies.length > 0) expect(replies).toHaveLength(1);
        for (const reply of replies) expect(['error']).toContain(reply.type);
      },
    ),
    { numRuns: 300 },
  );
});

test('no request makes the chat API answer 5xx', async () => {
  const routes = [
    'POST /conversations',
    'GET /conversations/{conversationId}',
    'GET /conversations/{conversationId}/participants',
    'GET /conversations/{conversationId}/messages',
    'GET /users/me/conversations',
    'GET /users/me/direct/{otherUserId}',
    'DELETE /conversations',
  ];
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...routes),
      fc.option(fc.oneof(fc.json(), fc.string())),
      fc.dictionary(fc.constantFrom('limit', 'before', 'after', 'order', 'nextToken'), fc.string()),
      fc.dictionary(fc.constantFrom('conversationId', 'otherUserId'), fc.oneof(fc.constant(DIRECT), fc.string())),
      fc.constantFrom('u1', 'u9', undefined),
      async (routeKey, body, query, path, userId) => {
        const api = createChatApiHandler({ store: await seeded(), logger: captureLog() });
        const result = await api({
          routeKey,
          body,
          queryStringParameters: query,
          pathParameters: path,
          requestContext: userId === undefined ? {} : { authorizer: { lambda: { userId } } },
        });
        expect(result.statusCode).toBeLessThan(500);
        expect(() => JSON.parse(result.body ?? '')).not.toThrow();
      },
    ),
    { numRuns: 300 },
  );
});
