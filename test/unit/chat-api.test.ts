import { directConversationId } from '../../src/domain/chat-ids';
import { createChatApiHandler } from '../../src/handlers/logic/chat-api';
import type { HttpEvent } from '../../src/handlers/logic/http';
import { MemoryChatStore } from '../helpers/chat-memory-store';
import { captureLog } from '../helpers/fakes';

let clock = Date.parse('2026-11-22T08:00:00.000Z');
const now = () => clock;
let groups = 0;

/** Users who have connected once; u9 never has. */
const KNOWN = ['u1', 'u2', 'u3', 'x0', 'x1', 'x2', 'x3', 'x4'];

function setup(participantCheck?: 'none' | 'connected') {
  const store = new MemoryChatStore(now, KNOWN);
  const api = createChatApiHandler({
    store,
    ...(participantCheck === undefined ? {} : { participantCheck }),
    logger: captureLog(),
    now,
    newGroupId: () => `g_01JQ${String(++groups).padStart(22, '0')}`,
  });
  const call = async (
    userId: string | undefined,
    routeKey: string,
    options: { path?: Record<string, string>; query?: Record<string, string>; body?: unknown } = {},
  ) => {
    const event: HttpEvent = {
      routeKey,
      pathParameters: options.path ?? null,
      queryStringParameters: options.query ?? null,
      body:
        options.body === undefined
          ? null
          : typeof options.body === 'string'
            ? options.body
            : JSON.stringify(options.body),
      requestContext: { requestId: 'r1', ...(userId === undefined ? {} : { authorizer: { lambda: { userId } } }) },
    };
    const result = await api(event);
    return { status: result.statusCode, body: result.body === undefined ? undefined : JSON.parse(result.body) };
  };
  const create = (userId: string, body: unknown) => call(userId, 'POST /conversations', { body });
  const send = async (conversationId: string, senderId: string, content: string) => {
    clock += 1000;
    await store.appendMessage({ conversationId, senderId, content });
  };
  return { store, call, create, send };
}

describe('POST /conversations', () => {
  test('direct: 201 the first time, then 200 with the same conversation, whichever of the pair asks', async () => {
    const { create } = setup();
    const first = await create('u1', { type: 'direct', participants: ['u2'] });
    expect(first).toEqual({
      status: 201,
      body: {
        conversationId: directConversationId('u1', 'u2'),
        type: 'direct',
        participants: ['u1', 'u2'],
        createdBy: 'u1',
        createdAt: new Date(clock).toISOString(),
      },
    });
    expect(await create('u1', { type: 'direct', participants: ['u2'] })).toEqual({ status: 200, body: first.body });
    expect(await create('u2', { type: 'direct', participants: ['u1'] })).toEqual({ status: 200, body: first.body });
  });

  test('group: 201 with the title saved and the creator included', async () => {
    const { create, call } = setup();
    const created = await create('u1', { type: 'group', participants: ['u3', 'u2'], title: 'Team' });
    expect(created).toMatchObject({
      status: 201,
      body: { type: 'group', title: 'Team', participants: ['u1', 'u2', 'u3'], createdBy: 'u1' },
    });
    const read = await call('u3', 'GET /conversations/{conversationId}', {
      path: { conversationId: created.body.conversationId },
    });
    expect(read).toEqual({ status: 200, body: created.body });
  });

  test.each([
    ['a group with one other user', { type: 'group', participants: ['u2'], title: 'T' }, /at least two other users/],
    ['a group without a title', { type: 'group', participants: ['u2', 'u3'] }, /needs a title/],
    ['a direct conversation with oneself', { type: 'direct', participants: ['u1'] }, /yourself/],
    ['a direct conversation with two others', { type: 'direct', participants: ['u2', 'u3'] }, /exactly one/],
    ['an invalid user id', { type: 'direct', participants: ['u 2'] }, /must not contain spaces/],
    ['a user id over 128 characters', { type: 'direct', participants: ['u'.repeat(129)] }, /at most 128 bytes/],
    [
      'a group of 50 participants',
      { type: 'group', participants: Array.from({ length: 49 }, (_, i) => `p${i}`), title: 'T' },
      /at most 49 participants/,
    ],
    [
      'a group of over 50 ids',
      { type: 'group', participants: Array.from({ length: 60 }, (_, i) => `p${i}`), title: 'T' },
      /at most 49 participants/,
    ],
    ['a forged creator', { type: 'group', participants: ['u2', 'u3'], title: 'T', createdBy: 'u9' }, /createdBy/],
    ['an unknown type', { type: 'channel', participants: ['u2'] }, /"direct" or "group"/],
    ['invalid JSON', '{"type":', /not valid JSON/],
  ])('%s → 400 and nothing created', async (_name, body, message) => {
    const { create, store } = setup();
    const answer = await create('u1', body);
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toMatch(message);
    expect(store.conversations.size).toBe(0);
  });

  test('by default, users who have never connected can be named (shape only); direct ones stay de-duplicated', async () => {
    const { create, store } = setup();
    const first = await create('u1', { type: 'direct', participants: ['u9'] });
    expect(first).toMatchObject({ status: 201, body: { participants: ['u1', 'u9'] } });
    // The never-seen user asking for the same pair gets the same conversation.
    expect(await create('u9', { type: 'direct', participants: ['u1'] })).toEqual({ status: 200, body: first.body });
    const group = await create('u1', { type: 'group', participants: ['u8', 'u9'], title: 'T' });
    expect(group).toMatchObject({ status: 201, body: { participants: ['u1', 'u8', 'u9'] } });
    expect(store.conversations.size).toBe(2);
  });

  test('participantCheck connected: a participant who never connected → 404 naming them; once they have, it works', async () => {
    const { create, store } = setup('connected');
    expect(await create('u1', { type: 'direct', participants: ['u9'] })).toEqual({
      status: 404,
      body: {
        error: {
          code: 'NOT_FOUND',
          message: 'no user "u9": they have never connected',
          details: { unknownUsers: ['u9'] },
        },
      },
    });
    const group = await create('u1', { type: 'group', participants: ['u2', 'u8', 'u9'], title: 'T' });
    expect(group).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND', message: 'no users "u8", "u9": they have never connected' } },
    });
    expect(store.conversations.size).toBe(0);
    // The creator is the signed-in caller: they need not have connected.
    store.knownUsers.add('u9');
    expect((await create('u7', { type: 'direct', participants: ['u9'] })).status).toBe(201);
  });

  test('nobody signed in → 401', async () => {
    const { call } = setup();
    expect(
      await call(undefined, 'POST /conversations', { body: { type: 'direct', participants: ['u2'] } }),
    ).toMatchObject({
      status: 401,
      body: { error: { code: 'UNAUTHORIZED' } },
    });
  });
});

describe('membership on every route', () => {
  test.each([
    'GET /conversations/{conversationId}',
    'GET /conversations/{conversationId}/participants',
    'GET /conversations/{conversationId}/messages',
  ])('%s: 403 for a non-member and for an unknown conversation alike; 400 for a malformed id', async (routeKey) => {
    const { create, call } = setup();
    const { body } = await create('u1', { type: 'group', participants: ['u2', 'u3'], title: 'T' });
    const stranger = await call('u9', routeKey, { path: { conversationId: body.conversationId } });
    const unknown = await call('u9', routeKey, { path: { conversationId: directConversationId('u7', 'u8') } });
    expect(stranger.status).toBe(403);
    expect(unknown.status).toBe(403);
    expect(stranger.body.error.code).toBe('FORBIDDEN');
    expect(unknown.body.error.code).toBe('FORBIDDEN');
    expect((await call('u1', routeKey, { path: { conversationId: 'nope' } })).status).toBe(400);
    expect((await call('u1', routeKey, { path: { conversationId: body.conversationId } })).status).toBe(200);
  });
});

describe('GET /conversations/{id}/messages', () => {
  async function withMessages(count: number) {
    const chat = setup();
    const { body } = await chat.create('u1', { type: 'group', participants: ['u2', 'u3'], title: 'T' });
    for (let i = 1; i <= count; i++) await chat.send(body.conversationId, i % 2 ? 'u1' : 'u2', `m${i}`);
    const page = (query: Record<string, string>) =>
      chat.call('u2', 'GET /conversations/{conversationId}/messages', {
        path: { conversationId: body.conversationId },
        query,
      });
    return { ...chat, id: body.conversationId as string, page };
  }

  async function all(
    page: (q: Record<string, string>) => Promise<{ body: { messages: { content: string }[]; nextToken?: string } }>,
    query: Record<string, string>,
  ) {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const { body } = await page({ ...query, ...(token ? { nextToken: token } : {}) });
      seen.push(...body.messages.map((m) => m.content));
      token = body.nextToken;
      pages++;
    } while (token);
    return { seen, pages };
  }

  test('newest first by default, 50 a page; nextToken walks back without gaps or repeats', async () => {
    const { page } = await withMessages(12);
    const first = await page({ limit: '5' });
    expect(first.body.messages.map((m: { messageId: string }) => m.messageId)).toEqual([
      '000000000012',
      '000000000011',
      '000000000010',
      '000000000009',
      '000000000008',
    ]);
    const { seen, pages } = await all(page, { limit: '5' });
    expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => `m${12 - i}`));
    expect(pages).toBe(3);
    expect((await page({})).body).toEqual({ messages: expect.any(Array) });
  });

  test('order=asc pages forward from the oldest; messages arriving meanwhile come in later pages', async () => {
    const { page, send, id } = await withMessages(7);
    const first = await page({ order: 'asc', limit: '3' });
    expect(first.body.messages.map((m: { content: string }) => m.content)).toEqual(['m1', 'm2', 'm3']);
    await send(id, 'u3', 'm8');
    const { seen } = await all(async (q) => page(q), { order: 'asc', limit: '3', after: '000000000003' });
    expect(seen).toEqual(['m4', 'm5', 'm6', 'm7', 'm8']);
  });

  test('before/after bound the range; the last page has no nextToken', async () => {
    const { page } = await withMessages(10);
    const answer = await page({ before: '000000000006', after: '000000000002' });
    expect(answer.body).toEqual({ messages: expect.any(Array) });
    expect(answer.body.messages.map((m: { content: string }) => m.content)).toEqual(['m5', 'm4', 'm3']);
  });

  test.each([
    [{ limit: 'NaN' }, /limit/],
    [{ limit: '0' }, /limit/],
    [{ limit: '101' }, /limit/],
    [{ order: 'up' }, /order/],
    [{ before: '12' }, /message id/],
    [{ nextToken: 'garbage!' }, /nextToken/],
  ])('%j → 400', async (query, message) => {
    const { page } = await withMessages(3);
    const answer = await page(query);
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toMatch(message);
  });

  test('a token is refused with another conversation, with another order, or altered', async () => {
    const chat = await withMessages(6);
    const { body } = await chat.page({ limit: '2' });
    expect((await chat.page({ limit: '2', nextToken: body.nextToken })).status).toBe(200);
    expect((await chat.page({ order: 'asc', nextToken: body.nextToken })).status).toBe(400);
    expect((await chat.page({ nextToken: `${body.nextToken.slice(0, -2)}` })).status).toBe(400);
    const other = await chat.create('u2', { type: 'direct', participants: ['u1'] });
    const elsewhere = await chat.call('u2', 'GET /conversations/{conversationId}/messages', {
      path: { conversationId: other.body.conversationId },
      query: { nextToken: body.nextToken },
    });
    expect(elsewhere.status).toBe(400);
  });
});

describe('GET /users/me/conversations', () => {
  test('newest activity first, conversations without messages included, with latest message and unread count', async () => {
    const { create, send, call, store } = setup();
    const quiet = (await create('u1', { type: 'group', participants: ['u2', 'u3'], title: 'Quiet' })).body
      .conversationId;
    clock += 10_000;
    const busy = (await create('u2', { type: 'direct', participants: ['u1'] })).body.conversationId;
    clock += 10_000;
    const newest = (await create('u3', { type: 'group', participants: ['u1', 'u2'], title: 'New' })).body
      .conversationId;
    await send(busy, 'u2', 'one');
    await send(busy, 'u1', 'mine');
    await send(busy, 'u2', 'three');
    await store.markRead({ conversationId: busy, userId: 'u1', upTo: '000000000001', readAt: 'x' });

    const { status, body } = await call('u1', 'GET /users/me/conversations');
    expect(status).toBe(200);
    expect(body.conversations.map((c: { conversationId: string }) => c.conversationId)).toEqual([busy, newest, quiet]);
    expect(body.conversations[0]).toMatchObject({
      type: 'direct',
      lastMessage: { messageId: '000000000003', senderId: 'u2', content: 'three' },
      unreadCount: 1,
      unreadCountCapped: false,
      readUpTo: '000000000001',
    });
    expect(body.conversations[2]).toMatchObject({
      title: 'Quiet',
      lastMessage: null,
      unreadCount: 0,
      lastActivityAt: body.conversations[2].createdAt,
    });
    expect(body.nextToken).toBeUndefined();
  });

  test('unread counting looks at the newest 100 after the marker at most and says when it stopped', async () => {
    const { create, send, call } = setup();
    const id = (await create('u1', { type: 'direct', participants: ['u2'] })).body.conversationId;
    for (let i = 0; i < 105; i++) await send(id, i === 104 ? 'u1' : 'u2', `m${i}`);
    const { body } = await call('u1', 'GET /users/me/conversations');
    expect(body.conversations[0]).toMatchObject({ unreadCount: 99, unreadCountCapped: true });
    const other = await call('u2', 'GET /users/me/conversations');
    expect(other.body.conversations[0]).toMatchObject({ unreadCount: 1, unreadCountCapped: true });
  });

  test('pages of `limit` with nextToken; every conversation once; a token of another user is refused', async () => {
    const { create, call } = setup();
    for (let i = 0; i < 5; i++) {
      clock += 1000;
      await create('u1', { type: 'group', participants: ['u2', `x${i}`], title: `G${i}` });
    }
    const titles: string[] = [];
    let token: string | undefined;
    do {
      const { body } = await call('u1', 'GET /users/me/conversations', {
        query: { limit: '2', ...(token ? { nextToken: token } : {}) },
      });
      titles.push(...body.conversations.map((c: { title: string }) => c.title));
      token = body.nextToken;
    } while (token);
    expect(titles).toEqual(['G4', 'G3', 'G2', 'G1', 'G0']);
    const first = await call('u1', 'GET /users/me/conversations', { query: { limit: '2' } });
    expect(
      (await call('u2', 'GET /users/me/conversations', { query: { nextToken: first.body.nextToken } })).status,
    ).toBe(400);
  });
});

describe('GET /users/me/direct/{otherUserId}', () => {
  test('200 with the pair’s conversation, 404 when there is none, 400 for oneself or an invalid id', async () => {
    const { create, call } = setup();
    const { body } = await create('u1', { type: 'direct', participants: ['u2'] });
    expect(await call('u2', 'GET /users/me/direct/{otherUserId}', { path: { otherUserId: 'u1' } })).toEqual({
      status: 200,
      body,
    });
    expect(await call('u1', 'GET /users/me/direct/{otherUserId}', { path: { otherUserId: 'u3' } })).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND' } },
    });
    expect((await call('u1', 'GET /users/me/direct/{otherUserId}', { path: { otherUserId: 'u1' } })).status).toBe(400);
    expect((await call('u1', 'GET /users/me/direct/{otherUserId}', { path: { otherUserId: 'a,b' } })).status).toBe(400);
  });
});

test('participants come with their read markers', async () => {
  const { create, send, call, store } = setup();
  const id = (await create('u1', { type: 'group', participants: ['u2', 'u3'], title: 'T' })).body.conversationId;
  await send(id, 'u1', 'a');
  await store.markRead({ conversationId: id, userId: 'u2', upTo: '000000000001', readAt: '2026-11-22T09:00:00.000Z' });
  expect(
    (await call('u3', 'GET /conversations/{conversationId}/participants', { path: { conversationId: id } })).body,
  ).toEqual({
    conversationId: id,
    participants: [
      { userId: 'u1' },
      { userId: 'u2', readUpTo: '000000000001', readAt: '2026-11-22T09:00:00.000Z' },
      { userId: 'u3' },
    ],
  });
});
