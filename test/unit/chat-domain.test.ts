import {
  chatItemKind,
  conversationIdOfKey,
  createConversationBodySchema,
  MAX_CONTENT_BYTES,
  MAX_MESSAGE_SEQ,
  MAX_PARTICIPANTS,
  messageIdOf,
  readMessagesActionSchema,
  sendMessageActionSchema,
  validateFrame,
} from '@real-time-platform/protocol';
import {
  compareByActivity,
  countUnread,
  type MessageRange,
  messagesQuerySchema,
  nextRange,
  planConversation,
  seqWindow,
  unreadWindow,
} from '../../src/domain/chat';
import {
  decodeConversationsToken,
  decodeMessagesToken,
  directConversationId,
  encodeConversationsToken,
  encodeMessagesToken,
  newGroupConversationId,
} from '../../src/domain/chat-ids';
import { InvalidPageTokenError } from '../../src/lib/page-token';

const GROUP = newGroupConversationId(1_763_800_000_000);
const DIRECT = directConversationId('u1', 'u2');

describe('send-message frames', () => {
  const send = (fields: Record<string, unknown>) =>
    validateFrame(sendMessageActionSchema, { action: 'send-message', conversationId: GROUP, ...fields });

  test('content is trimmed and may be up to 4,096 UTF-8 bytes; multi-byte characters count as bytes', () => {
    expect(send({ content: '  hi\n' })).toEqual({
      ok: true,
      frame: { action: 'send-message', conversationId: GROUP, content: 'hi' },
    });
    expect(send({ content: 'x'.repeat(MAX_CONTENT_BYTES) }).ok).toBe(true);
    expect(send({ content: 'x'.repeat(MAX_CONTENT_BYTES + 1) })).toEqual({
      ok: false,
      message: 'content must be at most 4096 bytes (UTF-8)',
    });
    // 1,366 three-byte characters = 4,098 bytes, though only 1,366 UTF-16 code units.
    expect(send({ content: '€'.repeat(1366) }).ok).toBe(false);
    expect(send({ content: '€'.repeat(1365) }).ok).toBe(true);
  });

  test.each([
    ['', 'content must not be empty'],
    [' \n\t ', 'content must not be empty'],
    [42, 'content must be a string'],
    ['\ud800', 'content is not valid Unicode text'],
  ])('content %j is refused: %s', (content, message) => {
    expect(send({ content })).toEqual({ ok: false, message });
  });

  test('tempMessageId: optional, 1–64 printable ASCII characters', () => {
    expect(send({ content: 'a', tempMessageId: 't-1' }).ok).toBe(true);
    expect(send({ content: 'a', tempMessageId: 'x'.repeat(64) }).ok).toBe(true);
    for (const bad of ['', 'x'.repeat(65), 'has space', 'é', 7]) {
      expect(send({ content: 'a', tempMessageId: bad }).ok).toBe(false);
    }
  });

  test('the sender, the time or an id cannot be supplied: unknown fields are refused', () => {
    expect(send({ content: 'a', senderId: 'u9' })).toEqual({
      ok: false,
      message: 'unknown field "senderId" in send-message (the sender and time are set by the platform)',
    });
    expect(send({ content: 'a', sentAt: 'x', messageId: '000000000001' }).ok).toBe(false);
  });

  test('conversation ids must be d_… or g_… ids', () => {
    for (const bad of ['c1', '', 'g_short', `${GROUP}x`, 'chat:g_x', 7]) {
      expect(send({ conversationId: bad, content: 'a' }).ok).toBe(false);
    }
    expect(send({ conversationId: DIRECT, content: 'a' }).ok).toBe(true);
  });
});

test('read-messages: upTo is an optional 12-digit message id above zero', () => {
  const read = (fields: Record<string, unknown>) =>
    validateFrame(readMessagesActionSchema, { conversationId: GROUP, ...fields });
  expect(read({})).toEqual({ ok: true, frame: { conversationId: GROUP } });
  expect(read({ upTo: '000000000042' }).ok).toBe(true);
  for (const bad of ['42', '000000000000', 'abc', 42, '0000000000421']) expect(read({ upTo: bad }).ok).toBe(false);
});

describe('conversation rules', () => {
  const plan = (creator: string, body: unknown) => {
    const parsed = createConversationBodySchema.safeParse(body);
    if (!parsed.success) return { ok: false as const, message: parsed.error.issues[0]?.message ?? '' };
    return planConversation(creator, parsed.data);
  };

  test('direct: exactly one other user; the creator may list themself; the pair comes out sorted', () => {
    expect(plan('u2', { type: 'direct', participants: ['u1'] })).toEqual({
      ok: true,
      type: 'direct',
      participants: ['u1', 'u2'],
    });
    expect(plan('u2', { type: 'direct', participants: ['u2', 'u1', 'u1'] })).toMatchObject({
      participants: ['u1', 'u2'],
    });
    expect(plan('u1', { type: 'direct', participants: ['u1'] })).toMatchObject({ ok: false });
    expect(plan('u1', { type: 'direct', participants: ['u1', 'u1'] })).toMatchObject({ ok: false });
    expect(plan('u1', { type: 'direct', participants: ['u2', 'u3'] })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/exactly one other user/),
    });
    expect(plan('u1', { type: 'direct', participants: ['u2'], title: 'x' })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/unknown field "title"/),
    });
  });

  test('group: at least two others, a non-blank title, at most 49 participants with the creator', () => {
    expect(plan('u1', { type: 'group', participants: ['u3', 'u2'], title: ' Team ' })).toEqual({
      ok: true,
      type: 'group',
      participants: ['u1', 'u2', 'u3'],
      title: 'Team',
    });
    expect(plan('u1', { type: 'group', participants: ['u2'], title: 'T' })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/at least two other users/),
    });
    // The creator and a repeated user do not count as the second other user.
    expect(plan('u1', { type: 'group', participants: ['u1', 'u2', 'u2'], title: 'T' })).toMatchObject({ ok: false });
    expect(plan('u1', { type: 'group', participants: ['u2', 'u3'] })).toEqual({
      ok: false,
      message: 'a group conversation needs a title',
    });
    expect(plan('u1', { type: 'group', participants: ['u2', 'u3'], title: '   ' })).toMatchObject({ ok: false });
    expect(MAX_PARTICIPANTS).toBe(49); // the README's limit
    const others = (n: number) => Array.from({ length: n }, (_, i) => `p${i}`);
    expect(plan('u1', { type: 'group', participants: others(MAX_PARTICIPANTS - 1), title: 'T' }).ok).toBe(true);
    expect(plan('u1', { type: 'group', participants: others(MAX_PARTICIPANTS), title: 'T' }).ok).toBe(false);
  });

  test('participants must be valid user ids; the type must be known', () => {
    expect(plan('u1', { type: 'direct', participants: ['a,b'] })).toMatchObject({ ok: false });
    expect(plan('u1', { type: 'direct', participants: [''] })).toMatchObject({ ok: false });
    expect(plan('u1', { type: 'direct', participants: 'u2' })).toMatchObject({ ok: false });
    expect(plan('u1', { type: 'channel', participants: ['u2'] })).toEqual({
      ok: false,
      message: 'type must be "direct" or "group"',
    });
  });
});

describe('ids', () => {
  test('a direct id depends on the pair only, not on the order, and differs between pairs', () => {
    expect(directConversationId('alice', 'bob')).toBe(directConversationId('bob', 'alice'));
    expect(directConversationId('alice', 'bob')).toMatch(/^d_[A-Za-z0-9_-]{22}$/);
    expect(directConversationId('alice', 'bob')).not.toBe(directConversationId('alice', 'bob2'));
    expect(directConversationId('a', 'bc')).not.toBe(directConversationId('ab', 'c'));
  });

  test('group ids are unique and valid conversation ids; keys map back to ids', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newGroupConversationId()));
    expect(ids.size).toBe(100);
    expect(conversationIdOfKey(`chat:${GROUP}`)).toBe(GROUP);
    expect(conversationIdOfKey(`chat:${DIRECT}`)).toBe(DIRECT);
    expect(conversationIdOfKey('chat:nope')).toBeUndefined();
    expect(conversationIdOfKey(`inbox:${GROUP}`)).toBeUndefined();
  });

  test('message ids sort as strings in number order; item kinds', () => {
    expect(messageIdOf(1)).toBe('000000000001');
    expect(messageIdOf(10) > messageIdOf(9)).toBe(true);
    expect(chatItemKind('msg#000000000001')).toBe('message');
    expect(chatItemKind('read#u1')).toBe('receipt');
    expect(chatItemKind('conversation')).toBe('conversation');
  });
});

describe('history pages', () => {
  /** Pages through messages 1..total the way the API does, returning the numbers each page holds. */
  function pageThrough(total: number, range: MessageRange, limit: number, arriving = 0): number[][] {
    let last = total;
    const pages: number[][] = [];
    let current: MessageRange | undefined = range;
    while (current) {
      const window: { from: number; to: number } | undefined = seqWindow(current);
      if (!window || pages.length > 1000) break;
      const inWindow: number[] = Array.from({ length: last }, (_, i) => i + 1).filter(
        (n) => n >= window.from && n <= window.to,
      );
      const ordered: number[] = current.order === 'asc' ? inWindow : inWindow.reverse();
      const page: number[] = ordered.slice(0, limit);
      pages.push(page);
      last += arriving; // Messages keep arriving between pages.
      current = ordered.length > limit ? nextRange(current, page.at(-1) as number) : undefined;
    }
    return pages;
  }

  test.each([
    ['desc', 1],
    ['desc', 7],
    ['asc', 3],
    ['asc', 100],
  ] as const)('order=%s, limit %i: every message exactly once, in order, while others arrive', (order, limit) => {
    const range: MessageRange = { after: 0, before: MAX_MESSAGE_SEQ + 1, order };
    const pages = pageThrough(23, range, limit, order === 'desc' ? 2 : 1);
    const seen = pages.flat();
    expect(seen).toEqual(
      order === 'desc' ? Array.from({ length: 23 }, (_, i) => 23 - i) : seen.toSorted((a, b) => a - b),
    );
    expect(new Set(seen).size).toBe(seen.length);
    if (order === 'asc') expect(seen.slice(0, 23)).toEqual(Array.from({ length: 23 }, (_, i) => i + 1));
  });

  test('before/after bound the range exclusively; an empty range reads nothing', () => {
    expect(seqWindow({ after: 3, before: 7, order: 'desc' })).toEqual({ from: 4, to: 6 });
    expect(seqWindow({ after: 3, before: 4, order: 'asc' })).toBeUndefined();
    expect(messagesQuerySchema.safeParse({ after: '000000000005', before: '000000000002' }).success).toBe(false);
  });

  test.each(['0', '101', 'NaN', '1e2', '-1', ' 5', '5.0', ''])('limit %j is refused', (limit) => {
    expect(messagesQuerySchema.safeParse({ limit }).success).toBe(false);
  });

  test('tokens round-trip and are refused for another conversation or when altered', () => {
    const cursor = {
      conversationId: GROUP,
      range: { after: 0, before: 42, order: 'desc' as const },
      originalAfter: undefined,
    };
    const token = encodeMessagesToken({ conversationId: GROUP, range: cursor.range });
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeMessagesToken(token, GROUP)).toEqual({ conversationId: GROUP, range: cursor.range });
    expect(() => decodeMessagesToken(token, DIRECT)).toThrow(InvalidPageTokenError);
    for (const bad of [`${token}!`, token.slice(0, -3), 'e30', Buffer.from('{"v":2}').toString('base64url'), '']) {
      expect(() => decodeMessagesToken(bad, GROUP)).toThrow(InvalidPageTokenError);
    }
    const mine = encodeConversationsToken({
      userId: 'u1',
      lastActivityAt: '2026-01-01T00:00:00.000Z',
      conversationId: GROUP,
    });
    expect(decodeConversationsToken(mine, 'u1').conversationId).toBe(GROUP);
    expect(() => decodeConversationsToken(mine, 'u2')).toThrow(InvalidPageTokenError);
    expect(() => decodeConversationsToken(token, 'u1')).toThrow(InvalidPageTokenError);
  });
});

describe('unread counting', () => {
  test('the messages after the marker, not sent by the reader, over at most the 100 newest', () => {
    expect(unreadWindow(5, 5)).toBeUndefined();
    expect(unreadWindow(7, 5)).toBeUndefined();
    expect(unreadWindow(0, 3)).toEqual({ from: 1, to: 3, capped: false });
    expect(unreadWindow(10, 110)).toEqual({ from: 11, to: 110, capped: false });
    expect(unreadWindow(9, 110)).toEqual({ from: 11, to: 110, capped: true });
    expect(countUnread(['u2', 'u1', 'u3', 'u1'], 'u1')).toBe(2);
  });

  test('conversations sort newest activity first, ties by id, so paging has one order', () => {
    const list = [
      { conversationId: 'g_a', lastActivityAt: '2026-01-01T00:00:00.000Z' },
      { conversationId: 'g_c', lastActivityAt: '2026-01-03T00:00:00.000Z' },
      { conversationId: 'g_b', lastActivityAt: '2026-01-01T00:00:00.000Z' },
    ];
    expect(list.sort(compareByActivity).map((c) => c.conversationId)).toEqual(['g_c', 'g_b', 'g_a']);
  });
});
