import { randomUUID } from 'node:crypto';
import {
  type Frame,
  type RecordingSocket,
  startTestPlatform,
  type TestPlatform,
} from '@real-time-platform/test-support';
import { directConversationId } from '../../src/domain/chat-ids';

// Two things the systems we consolidate did and we now do too, through the local runtime of template.yaml with its
// default parameters (AuthMode=jwt aside) and real clients: conversations with people who have never connected
// (ChatParticipantCheck=none, the default), and public holidays computed offline (alone and merged into a calendar).

// Starting the platform (bundling every function) can take over a minute on a loaded 2-core machine.
jest.setTimeout(180_000);

let platform: TestPlatform;

beforeAll(async () => {
  platform = await startTestPlatform({ auth: 'jwt', parameterOverrides: { Environment: 'staging' } });
});

afterAll(async () => {
  await platform?.stop();
});

const user = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;

async function http(caller: string | undefined, method: string, path: string, body?: unknown) {
  const reply = await platform.http(method, path, {
    ...(caller === undefined ? {} : { as: caller }),
    ...(body === undefined ? {} : { body }),
  });
  return { status: reply.status, body: reply.body as Frame };
}

async function connect(userId: string): Promise<RecordingSocket> {
  return (await platform.signIn(userId)).connect();
}

const messageFrame = (conversationId: string, content: string) => (frame: Frame) =>
  frame.type === 'item' && frame.key === `chat:${conversationId}` && frame.item?.content === content;

describe('conversations with people who have never connected', () => {
  test('created at once; the newcomer finds it with its unread count when they sign in, then gets messages live', async () => {
    const [ana, newbie] = [user('ana'), user('newbie')];
    const anaSocket = await connect(ana);
    const created = await http(ana, 'POST', '/conversations', { type: 'direct', participants: [newbie] });
    expect(created).toMatchObject({
      status: 201,
      body: { conversationId: directConversationId(ana, newbie), participants: [ana, newbie].sort() },
    });
    const id = created.body.conversationId as string;
    anaSocket.send({ action: 'send-message', conversationId: id, content: 'welcome!', tempMessageId: 't1' });
    await anaSocket.next(messageFrame(id, 'welcome!'));

    // The newcomer's first connection: the conversation is in their list, unread.
    const newbieSocket = await connect(newbie);
    const mine = await http(newbie, 'GET', '/users/me/conversations');
    expect(mine.status).toBe(200);
    expect(mine.body.conversations).toEqual([
      expect.objectContaining({
        conversationId: id,
        unreadCount: 1,
        lastMessage: expect.objectContaining({ content: 'welcome!', senderId: ana }),
      }),
    ]);
    // From then on, messages reach them live (through their inbox: they subscribe to nothing).
    anaSocket.send({ action: 'send-message', conversationId: id, content: 'are you there?', tempMessageId: 't2' });
    const live = await newbieSocket.next(messageFrame(id, 'are you there?'));
    expect(live).toMatchObject({ event: 'INSERT', item: { senderId: ana, messageId: '000000000002' } });
    // And they can answer.
    newbieSocket.send({ action: 'send-message', conversationId: id, content: 'hi!', tempMessageId: 'n1' });
    await anaSocket.next(messageFrame(id, 'hi!'));

    // Still one direct conversation for the pair, whoever asks.
    expect(await http(newbie, 'POST', '/conversations', { type: 'direct', participants: [ana] })).toMatchObject({
      status: 200,
      body: { conversationId: id },
    });
    expect((await http(newbie, 'GET', `/users/me/direct/${ana}`)).body.conversationId).toBe(id);
  });

  test('a group with people nobody has seen yet; bad participants → 400, nothing created', async () => {
    const [ana, x, y] = [user('ana'), user('x'), user('y')];
    const group = await http(ana, 'POST', '/conversations', { type: 'group', participants: [x, y], title: 'New' });
    expect(group.status).toBe(201);
    expect((await http(y, 'GET', '/users/me/conversations')).body.conversations).toEqual([
      expect.objectContaining({ conversationId: group.body.conversationId, title: 'New', lastMessage: null }),
    ]);

    const many = Array.from({ length: 49 }, (_, i) => `p${i}-${randomUUID().slice(0, 4)}`);
    for (const [body, message] of [
      [{ type: 'direct', participants: [ana] }, /yourself/],
      [{ type: 'group', participants: many, title: 'Crowd' }, /at most 49 participants/],
      [{ type: 'direct', participants: ['u'.repeat(129)] }, /at most 128 bytes/],
    ] as const) {
      const answer = await http(ana, 'POST', '/conversations', body);
      expect({ status: answer.status, code: answer.body.error.code }).toEqual({ status: 400, code: 'BAD_REQUEST' });
      expect(answer.body.error.message).toMatch(message);
    }
    // Only the group above was created for ana.
    expect((await http(ana, 'GET', '/users/me/conversations')).body.conversations).toHaveLength(1);
  });
});

describe('public holidays, offline', () => {
  test('GET /holidays: a country and a region, no token needed', async () => {
    const answer = await http(undefined, 'GET', '/holidays?country=NZ&region=AUK&year=2026');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ country: 'NZ', region: 'AUK', year: 2026 });
    expect(answer.body.holidays).toContainEqual({
      holiday: true,
      country: 'NZ',
      region: 'AUK',
      name: 'Waitangi Day',
      allDay: true,
      start: '2026-02-06',
      end: '2026-02-07',
    });
    expect(answer.body.holidays.map((h: Frame) => h.name)).toContain('Provincial anniversary day');
    const countries = await http(undefined, 'GET', '/holidays/countries');
    expect(countries.body.countries).toContainEqual(expect.objectContaining({ code: 'DE', name: 'Germany' }));
  });

  test('?holidays= merges them into a calendar listing, sorted by start', async () => {
    const ana = user('ana');
    const created = await http(ana, 'POST', `/calendars/${ana}/events`, {
      title: 'Standup',
      start: '2026-12-24T09:00:00Z',
      end: '2026-12-24T09:15:00Z',
    });
    expect(created.status).toBe(201);
    const listed = await http(ana, 'GET', `/calendars/${ana}/events?from=2026-12-20&to=2026-12-27&holidays=NZ`);
    expect(listed.status).toBe(200);
    expect(listed.body.events.map((e: Frame) => (e.holiday === true ? e.name : e.title))).toEqual([
      'Standup',
      'Christmas Day',
      'Boxing Day',
    ]);
    expect(listed.body.events[1]).toEqual({
      holiday: true,
      country: 'NZ',
      name: 'Christmas Day',
      allDay: true,
      start: '2026-12-25',
      end: '2026-12-26',
    });
  });

  test('unknown country or region, years outside 1970–2100 → 400 saying where valid codes are', async () => {
    for (const [query, message] of [
      ['country=XX&year=2026', /GET \/holidays\/countries/],
      ['country=NZ&region=NOPE&year=2026', /unknown region "NOPE" of NZ: one of AUK/],
      ['country=NZ&year=1969', /1970 to 2100/],
      ['country=NZ&year=2101', /1970 to 2100/],
    ] as const) {
      const answer = await http(undefined, 'GET', `/holidays?${query}`);
      expect([query, answer.status, answer.body.error.code]).toEqual([query, 400, 'BAD_REQUEST']);
      expect(answer.body.error.message).toMatch(message);
    }
  });
});
