import { readMessagesActionSchema, seqOf } from '@real-time-platform/protocol';
import fc from 'fast-check';
import { directConversationId } from '../../src/domain/chat-ids';
import { createChatApiHandler } from '../../src/handlers/logic/chat-api';
import { createChatSocketHandler } from '../../src/handlers/logic/chat-socket';
import { MemoryChatStore } from '../helpers/chat-memory-store';
import { wsEvent } from '../helpers/events';
import { captureLog, RecordingSender } from '../helpers/fakes';

// Properties: nothing a client sends to the chat routes makes a handler throw or answer 5xx. Every socket frame
// gets exactly one visible outcome: it stores one message or moves one marker (and the fan-out answers), or the
// caller gets exactly one frame back (an `error`, or the stored message for a re-send), or it is one of the listed
// legitimate no-ops (see silentRead). A frame that is dropped without a word fails. Every HTTP request gets a 2xx or
// 4xx.

const DIRECT = directConversationId('u1', 'u2');

async function seeded() {
  const store = new MemoryChatStore(Date.now, ['u2']);
  await store.createConversation({
    conversationId: DIRECT,
    type: 'direct',
    participants: ['u1', 'u2'],
    createdBy: 'u1',
    createdAt: '2026-11-22T08:00:00.000Z',
  });
  return store;
}

const userId = fc.constantFrom('u1', 'u2', 'u9', undefined);
const conversationId = fc.oneof(fc.constant(DIRECT), fc.string(), fc.anything());
const anyFrameBody = fc.oneof(
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
// Valid frames from small sets, so that sequences reach the stateful cases: re-sends (same tempMessageId and
// content), tempMessageIds reused for other content, markers at, before or past upTo, upTo beyond the newest.
const wellFormedFrame = fc.oneof(
  fc.record(
    {
      action: fc.constant('send-message'),
      conversationId: fc.constant(DIRECT),
      content: fc.constantFrom('hi', ' hi ', 'yo'),
      tempMessageId: fc.constantFrom('t-1', 't-2'),
    },
    { requiredKeys: ['action', 'conversationId', 'content'] },
  ),
  fc.record(
    {
      action: fc.constant('read-messages'),
      conversationId: fc.constant(DIRECT),
      upTo: fc.constantFrom('000000000001', '000000000002', '000000000003'),
    },
    { requiredKeys: ['action', 'conversationId'] },
  ),
);

interface Step {
  routeKey: string;
  body: string | undefined;
  userId: string | undefined;
}
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.record({
      routeKey: fc.constantFrom('send-message', 'read-messages', 'other'),
      body: fc.option(anyFrameBody, { nil: undefined }),
      userId,
    }),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({ frame: wellFormedFrame, userId })
      .map(({ frame, userId }) => ({ routeKey: frame.action, body: JSON.stringify(frame), userId })),
  },
);

/**
 * The only frames that may change nothing and get no answer: a participant's valid read-messages whose target (upTo,
 * or the newest message) is not beyond the newest message and not ahead of their marker — nothing new to read, so
 * no receipt. (A re-sent message is answered; anything refused gets an error frame.)
 */
function silentRead(store: MemoryChatStore, { routeKey, body, userId }: Step): boolean {
  if (routeKey !== 'read-messages' || (userId !== 'u1' && userId !== 'u2') || body === undefined) return false;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return false;
  }
  const frame = readMessagesActionSchema.safeParse(value);
  if (!frame.success || frame.data.conversationId !== DIRECT) return false;
  const lastSeq = store.log.get(DIRECT)?.length ?? 0;
  const marker = store.markers.get(DIRECT)?.get(userId);
  const readSeq = marker === undefined ? 0 : seqOf(marker.upTo);
  const target = frame.data.upTo === undefined ? lastSeq : seqOf(frame.data.upTo);
  return target <= lastSeq && target <= readSeq;
}

/** The message an accepted re-send of `body` by `userId` names, if it is one. */
function resentOriginal(store: MemoryChatStore, { routeKey, body, userId }: Step) {
  if (routeKey !== 'send-message' || body === undefined) return undefined;
  const frame = JSON.parse(body) as { content?: unknown; tempMessageId?: unknown };
  if (typeof frame.content !== 'string' || frame.tempMessageId === undefined) return undefined;
  return store.log
    .get(DIRECT)
    ?.find(
      (m) =>
        m.senderId === userId && m.tempMessageId === frame.tempMessageId && m.content === String(frame.content).trim(),
    );
}

test('no frame makes the chat socket handler throw; each stores one thing, gets one answer, or is a listed no-op', async () => {
  const seen = new Set<string>();
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 6 }), async (steps) => {
      const store = await seeded();
      const sender = new RecordingSender();
      const handle = createChatSocketHandler({ store, sender, logger: captureLog() });
      for (const [i, current] of steps.entries()) {
        const connectionId = `c${i}`;
        const silent = silentRead(store, current);
        const messagesBefore = store.log.get(DIRECT)?.length ?? 0;
        const markersBefore = JSON.stringify([...(store.markers.get(DIRECT)?.values() ?? [])]);
        const event = wsEvent({
          routeKey: current.routeKey,
          connectionId,
          ...(current.body === undefined ? {} : { body: current.body }),
        });
        if (current.userId !== undefined && event.requestContext) {
          event.requestContext.authorizer = { principalId: current.userId };
        }
        const result = await handle(event);
        expect(result.statusCode).toBe(200);
        const replies = sender.messagesTo(connectionId);
        const stored = (store.log.get(DIRECT)?.length ?? 0) - messagesBefore;
        const markerMoved = JSON.stringify([...(store.markers.get(DIRECT)?.values() ?? [])]) !== markersBefore;
        if (silent) {
          expect({ stored, markerMoved, replies }).toEqual({ stored: 0, markerMoved: false, replies: [] });
          seen.add('silent read');
        } else if (stored > 0 || markerMoved) {
          // Exactly one effect; the fan-out (not this handler) tells everyone, the sender included.
          expect(stored + (markerMoved ? 1 : 0)).toBe(1);
          expect(replies).toEqual([]);
          seen.add(stored > 0 ? 'stored' : 'marker moved');
        } else {
          expect(replies).toHaveLength(1);
          const reply = replies[0] as Record<string, unknown>;
          if (reply.type === 'item') {
            // Only a re-send is answered with an item: the caller's own stored message.
            const original = resentOriginal(store, current);
            expect(original).toBeDefined();
            expect(reply).toMatchObject({ duplicate: true, item: original });
            seen.add('re-send answered');
          } else {
            expect(reply.type).toBe('error');
            seen.add('error');
          }
        }
      }
    }),
    { numRuns: 300 },
  );
  // The runs reached every outcome, so each branch above was checked.
  expect([...seen].sort()).toEqual(['error', 'marker moved', 're-send answered', 'silent read', 'stored']);
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
