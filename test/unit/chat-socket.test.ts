import type { Conversation } from '@real-time-platform/protocol';
import { lambdaContext } from '@real-time-platform/test-support';
import { directConversationId, newGroupConversationId } from '../../src/domain/chat-ids';
import { createChatSocketHandler } from '../../src/handlers/logic/chat-socket';
import { StorageError } from '../../src/lib/errors';
import { MemoryChatStore } from '../helpers/chat-memory-store';
import { wsEvent } from '../helpers/events';
import { captureLog, RecordingSender } from '../helpers/fakes';

const NOW = Date.parse('2026-11-22T08:00:00.000Z');
const GROUP = newGroupConversationId(NOW);
const DIRECT = directConversationId('u1', 'u2');

function setup() {
  const store = new MemoryChatStore(() => NOW, ['u2', 'u3']);
  const group: Conversation = {
    conversationId: GROUP,
    type: 'group',
    title: 'Team',
    participants: ['u1', 'u2', 'u3'],
    createdBy: 'u1',
    createdAt: new Date(NOW).toISOString(),
  };
  void store.createConversation(group);
  const sender = new RecordingSender();
  const logger = captureLog();
  const handle = createChatSocketHandler({ store, sender, logger, now: () => NOW });
  /** Sends one frame as `userId` (undefined: an anonymous connection) on connection "c-<user>". */
  const frame = async (userId: string | undefined, routeKey: string, body: unknown) => {
    const event = wsEvent({ routeKey, connectionId: `c-${userId}`, body: body as object });
    if (userId !== undefined && event.requestContext) event.requestContext.authorizer = { principalId: userId };
    const result = await handle(event, lambdaContext());
    return { result, replies: sender.messagesTo(`c-${userId}`) };
  };
  return { store, sender, logger, frame };
}

const stored = (store: MemoryChatStore) => [...store.log.values()].flat();

describe('send-message', () => {
  test('a participant stores the next message; the echo comes from the fan-out, not as a reply', async () => {
    const { store, frame } = setup();
    const { result, replies } = await frame('u2', 'send-message', {
      action: 'send-message',
      conversationId: GROUP,
      content: ' hello ',
      tempMessageId: 't-1',
    });
    expect(result).toEqual({ statusCode: 200 });
    expect(replies).toEqual([]);
    expect(stored(store)).toEqual([
      {
        messageId: '000000000001',
        conversationId: GROUP,
        senderId: 'u2',
        content: 'hello',
        sentAt: '2026-11-22T08:00:00.000Z',
        tempMessageId: 't-1',
      },
    ]);
  });

  test.each([
    ['no signed-in user', undefined, { conversationId: GROUP, content: 'x' }, 'UNAUTHORIZED'],
    ['invalid JSON', 'u1', '{"action":', 'BAD_REQUEST'],
    ['empty content', 'u1', { conversationId: GROUP, content: '   ' }, 'BAD_REQUEST'],
    ['oversize content', 'u1', { conversationId: GROUP, content: 'x'.repeat(4097) }, 'BAD_REQUEST'],
    ['a forged sender', 'u1', { conversationId: GROUP, content: 'x', senderId: 'u2' }, 'BAD_REQUEST'],
    ['a malformed conversation id', 'u1', { conversationId: 'c1', content: 'x' }, 'BAD_REQUEST'],
    ['a conversation the caller is not in', 'u9', { conversationId: GROUP, content: 'x' }, 'FORBIDDEN'],
    ['a conversation that does not exist', 'u1', { conversationId: DIRECT, content: 'x' }, 'FORBIDDEN'],
  ])('%s → an error frame to the caller and nothing stored', async (_name, userId, body, code) => {
    const { store, frame } = setup();
    const sent = typeof body === 'string' ? body : { action: 'send-message', ...body };
    const { result, replies } = await frame(userId, 'send-message', sent);
    expect(result).toEqual({ statusCode: 200 });
    expect(replies).toEqual([expect.objectContaining({ type: 'error', code, message: expect.any(String) })]);
    expect(stored(store)).toEqual([]);
  });

  test('an error frame names the action, conversation and tempMessageId it refuses (never the content)', async () => {
    const { frame } = setup();
    const { replies } = await frame('u1', 'send-message', {
      conversationId: GROUP,
      content: 'x'.repeat(5000),
      tempMessageId: 't-9',
    });
    expect(replies).toEqual([
      {
        type: 'error',
        code: 'BAD_REQUEST',
        message: 'content must be at most 4096 bytes (UTF-8)',
        action: 'send-message',
        conversationId: GROUP,
        tempMessageId: 't-9',
      },
    ]);
  });

  test('non-members learn nothing about whether a conversation exists', async () => {
    const { frame } = setup();
    const existing = await frame('u9', 'send-message', { conversationId: GROUP, content: 'x' });
    const missing = await frame('u9', 'send-message', { conversationId: DIRECT, content: 'x' });
    const shape = (m: Record<string, unknown> | undefined) => String(m?.message).replace(/[dg]_[\w-]+/, '<id>');
    expect(shape(missing.replies[1])).toBe(shape(existing.replies[0]));
  });

  test('a re-sent message (same tempMessageId and content) is stored once and answered, to the re-sender only, with the stored message', async () => {
    const { store, sender, frame } = setup();
    const body = { conversationId: GROUP, content: 'once', tempMessageId: 't-7' };
    expect((await frame('u1', 'send-message', body)).replies).toEqual([]);
    // The client missed the echo (e.g. it reconnected) and sends the same frame again.
    const again = await frame('u1', 'send-message', body);
    expect(again.result).toEqual({ statusCode: 200 });
    expect(again.replies).toEqual([
      {
        type: 'item',
        event: 'INSERT',
        key: `chat:${GROUP}`,
        itemId: 'msg#000000000001',
        item: {
          realTimeItemKey: `chat:${GROUP}`,
          itemId: 'msg#000000000001',
          messageId: '000000000001',
          conversationId: GROUP,
          senderId: 'u1',
          content: 'once',
          sentAt: '2026-11-22T08:00:00.000Z',
          tempMessageId: 't-7',
        },
        duplicate: true,
        at: NOW,
      },
    ]);
    expect(again.replies[0]).not.toHaveProperty('seq');
    // A reused tempMessageId with other content is a new message; another sender's t-7 is theirs.
    await frame('u1', 'send-message', { ...body, content: 'a new one' });
    await frame('u2', 'send-message', body);
    expect(stored(store).map((m) => [m.senderId, m.content])).toEqual([
      ['u1', 'once'],
      ['u1', 'a new one'],
      ['u2', 'once'],
    ]);
    expect(sender.messagesTo('c-u1')).toHaveLength(1);
    expect(sender.messagesTo('c-u2')).toEqual([]);
  });

  test('a re-send whose answer cannot be posted is still stored once and answers 200 (the client sends again)', async () => {
    const { store, sender, logger, frame } = setup();
    const body = { conversationId: GROUP, content: 'once', tempMessageId: 't-8' };
    await frame('u1', 'send-message', body);
    sender.script.set('c-u1', ['gone']);
    expect((await frame('u1', 'send-message', body)).result).toEqual({ statusCode: 200 });
    expect(stored(store)).toHaveLength(1);
    expect(logger.lines.some((line) => /caller is gone/.test(line.message))).toBe(true);
  });

  test('a storage failure → INTERNAL_ERROR (retry advice) and a 500, never the raw error', async () => {
    const { store, frame } = setup();
    store.failOn.appendMessage = new StorageError('Could not store the message: ThrottlingException', {
      retryable: true,
    });
    const { result, replies } = await frame('u1', 'send-message', { conversationId: GROUP, content: 'x' });
    expect(result).toEqual({ statusCode: 500 });
    expect(replies).toEqual([
      expect.objectContaining({
        type: 'error',
        code: 'INTERNAL_ERROR',
        message: expect.stringMatching(/send the frame again/),
      }),
    ]);
    expect(JSON.stringify(replies)).not.toMatch(/Throttling/);
  });
});

describe('read-messages', () => {
  test('upTo defaults to the newest message; the marker only moves forward', async () => {
    const { store, frame } = setup();
    for (const content of ['a', 'b', 'c']) await frame('u1', 'send-message', { conversationId: GROUP, content });
    await frame('u2', 'read-messages', { action: 'read-messages', conversationId: GROUP, upTo: '000000000002' });
    expect(store.markers.get(GROUP)?.get('u2')?.upTo).toBe('000000000002');
    await frame('u2', 'read-messages', { conversationId: GROUP });
    expect(store.markers.get(GROUP)?.get('u2')).toEqual({
      conversationId: GROUP,
      userId: 'u2',
      upTo: '000000000003',
      readAt: '2026-11-22T08:00:00.000Z',
    });
    const back = await frame('u2', 'read-messages', { conversationId: GROUP, upTo: '000000000001' });
    expect(back.replies).toEqual([]);
    expect(store.markers.get(GROUP)?.get('u2')?.upTo).toBe('000000000003');
  });

  test('upTo beyond the newest message, a non-member, or nobody signed in → error frames, no marker', async () => {
    const { store, frame } = setup();
    await frame('u1', 'send-message', { conversationId: GROUP, content: 'a' });
    const beyond = await frame('u2', 'read-messages', { conversationId: GROUP, upTo: '000000000002' });
    expect(beyond.replies).toEqual([
      expect.objectContaining({ code: 'BAD_REQUEST', message: expect.stringMatching(/has no message 000000000002/) }),
    ]);
    expect((await frame('u9', 'read-messages', { conversationId: GROUP })).replies[0]).toMatchObject({
      code: 'FORBIDDEN',
    });
    expect((await frame(undefined, 'read-messages', { conversationId: GROUP })).replies[0]).toMatchObject({
      code: 'UNAUTHORIZED',
    });
    expect(store.markers.get(GROUP)).toBeUndefined();
  });

  test('nothing to read yet: no marker, no error', async () => {
    const { store, frame } = setup();
    const { replies } = await frame('u2', 'read-messages', { conversationId: GROUP });
    expect(replies).toEqual([]);
    expect(store.calls).not.toContain('markRead');
  });
});

describe('a connection whose token expired (AuthMode=jwt)', () => {
  test('send-message and read-messages answer TOKEN_EXPIRED, echo the frame fields and store nothing', async () => {
    const { store, sender } = setup();
    const handle = createChatSocketHandler({ store, sender, logger: captureLog(), now: () => NOW });
    const expiredAt = NOW / 1000 - 6;
    for (const [routeKey, body] of [
      ['send-message', { action: 'send-message', conversationId: GROUP, content: 'late', tempMessageId: 't-9' }],
      ['read-messages', { action: 'read-messages', conversationId: GROUP }],
    ] as const) {
      const event = wsEvent({ routeKey, connectionId: 'c-u2', body });
      if (event.requestContext) {
        event.requestContext.authorizer = { principalId: 'u2', userId: 'u2', tokenExpiresAt: expiredAt };
      }
      expect(await handle(event, lambdaContext())).toEqual({ statusCode: 200 });
    }
    expect(stored(store)).toEqual([]);
    expect(sender.messagesTo('c-u2')).toEqual([
      expect.objectContaining({
        code: 'TOKEN_EXPIRED',
        action: 'send-message',
        conversationId: GROUP,
        tempMessageId: 't-9',
      }),
      expect.objectContaining({ code: 'TOKEN_EXPIRED', action: 'read-messages', conversationId: GROUP }),
    ]);
  });
});
