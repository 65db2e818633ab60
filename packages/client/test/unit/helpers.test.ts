import { ServerError } from '../../src';
import { watchCalendar } from '../../src/calendar';
import { createChat } from '../../src/chat';
import { setPage, watchPresence } from '../../src/presence';
import { FakeSocket } from '../fake-socket';
import { connected, harness, settle } from '../harness';

// The presence, chat and calendar helpers on the client, on fake sockets.

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

const CONVERSATION = 'd_k52t2DwUKI0I2w-t9WwIK1';

/** Answers every subscribe of the socket so far with `subscribed` and an empty snapshot. */
function answerSubscribes(socket: FakeSocket, items: Record<string, unknown[]> = {}): void {
  for (let answered = 0; answered < socket.actions('subscribe').length; answered++) {
    const action = socket.actions('subscribe')[answered];
    socket.push({ type: 'subscribed', keys: action?.keys });
    for (const key of action?.keys ?? []) {
      if (action?.snapshot) socket.push({ type: 'snapshot', key, items: items[key] ?? [], position: '0', page: 0 });
    }
  }
}

describe('presence', () => {
  test('a live map of the watched users: from the snapshot, then from presence frames', async () => {
    const h = harness();
    const socket = await connected(h);
    const watch = watchPresence(h.client, ['u1', 'u2', 'u1']);
    const seen: string[] = [];
    watch.on('change', (p) => seen.push(`${p.userId}:${p.status}`));
    const page = { url: 'https://example.com/a', title: 'A', domain: 'example.com' };
    answerSubscribes(socket, {
      'presence:u1': [
        { itemId: 'state', status: 'online', connections: 2, since: 5, page, realTimeItemKey: 'presence:u1' },
      ],
    });
    expect(socket.actions('subscribe').map((a) => a.keys)).toEqual([['presence:u1'], ['presence:u2']]);
    expect(watch.users.get('u1')).toEqual({ userId: 'u1', status: 'online', connections: 2, since: 5, page });
    expect(watch.users.get('u2')).toEqual({ userId: 'u2', status: 'offline', connections: 0 });
    socket.push({
      type: 'presence',
      event: 'leave',
      key: 'presence:u1',
      userId: 'u1',
      presence: { status: 'offline', connections: 0, latestPage: page },
      seq: '9',
      at: 9,
    });
    expect(watch.users.get('u1')).toEqual({ userId: 'u1', status: 'offline', connections: 0, latestPage: page });
    expect(seen).toEqual(['u1:online', 'u1:offline']);
    watch.stop();
    socket.push({ type: 'unsubscribed', keys: ['presence:u1'] });
    expect(socket.actions('unsubscribe').map((a) => a.keys)).toEqual([['presence:u1'], ['presence:u2']]);
  });

  test('the shared page is sent again on every new connection; null hides it for good', async () => {
    const h = harness();
    const first = await connected(h);
    setPage(h.client, { url: 'https://example.com/a', title: 'A' });
    expect(first.actions('update-presence')).toEqual([
      { action: 'update-presence', url: 'https://example.com/a', title: 'A' },
    ]);
    first.serverClose(1001);
    await jest.advanceTimersByTimeAsync(1000);
    const second = FakeSocket.last();
    second.accept();
    expect(second.actions('update-presence')).toEqual([
      { action: 'update-presence', url: 'https://example.com/a', title: 'A' },
    ]);
    second.push({ type: 'presence-updated', changed: false, page: null });
    setPage(h.client, null);
    expect(second.actions('update-presence').at(-1)).toEqual({ action: 'update-presence', url: '' });
    second.serverClose(1001);
    await jest.advanceTimersByTimeAsync(1000);
    FakeSocket.last().accept();
    expect(FakeSocket.last().actions('update-presence')).toEqual([]);
  });
});

describe('chat', () => {
  const message = (tempMessageId: string, messageId = '000000000001') => ({
    realTimeItemKey: `chat:${CONVERSATION}`,
    itemId: `msg#${messageId}`,
    messageId,
    conversationId: CONVERSATION,
    senderId: 'u1',
    content: 'hi',
    sentAt: '2026-12-03T10:00:00.000Z',
    tempMessageId,
  });
  const echo = (tempMessageId: string, extra: Record<string, unknown> = { seq: '7' }) => ({
    type: 'item',
    event: 'INSERT',
    key: `chat:${CONVERSATION}`,
    itemId: 'msg#000000000001',
    item: message(tempMessageId),
    at: 1,
    ...extra,
  });

  test('a message lost with its connection is sent again, same tempMessageId; the replay resolves it', async () => {
    const h = harness();
    const first = await connected(h);
    const chat = createChat(h.client);
    const messages: string[] = [];
    chat.on('message', (m) => messages.push(m.messageId));
    const sending = chat.send(CONVERSATION, 'hi');
    const sent = first.actions('send-message')[0];
    expect(sent).toMatchObject({ conversationId: CONVERSATION, content: 'hi' });
    expect(sent?.tempMessageId).toMatch(/^t-[A-Za-z0-9_-]{16}$/);

    first.serverClose(1006);
    await jest.advanceTimersByTimeAsync(1000);
    const second = FakeSocket.last();
    second.accept();
    expect(second.actions('send-message')).toEqual([sent]);
    // The platform stored the first send: the re-send gets the stored message back, without seq.
    second.push(echo(sent?.tempMessageId, { duplicate: true }));
    await expect(sending).resolves.toMatchObject({ messageId: '000000000001', tempMessageId: sent?.tempMessageId });
    // The same message again (an inbox frame and a conversation subscription): one event.
    second.push(echo(sent?.tempMessageId));
    expect(messages).toEqual(['000000000001']);
  });

  test('queued while offline: sent once when the connection opens, not twice', async () => {
    const h = harness();
    const chat = createChat(h.client);
    void chat.send(CONVERSATION, 'hi');
    await settle();
    FakeSocket.last().accept();
    expect(FakeSocket.last().actions('send-message')).toHaveLength(1);
  });

  test('a refusal rejects the promise and is an error event; an ignored promise is no unhandled rejection', async () => {
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    const h = harness();
    const socket = await connected(h);
    const chat = createChat(h.client);
    const errors: Error[] = [];
    chat.on('error', (e) => errors.push(e));
    const refused = chat.send(CONVERSATION, 'hi');
    void chat.send(CONVERSATION, 'ignored');
    const [first, second] = socket.actions('send-message');
    for (const frame of [first, second]) {
      socket.push({
        type: 'error',
        code: 'FORBIDDEN',
        message: 'not a participant',
        action: 'send-message',
        conversationId: CONVERSATION,
        tempMessageId: frame?.tempMessageId,
      });
    }
    await expect(refused).rejects.toBeInstanceOf(ServerError);
    expect(errors).toHaveLength(2);
    jest.useRealTimers();
    await new Promise((resolve) => setImmediate(resolve));
    process.off('unhandledRejection', unhandled);
    expect(unhandled).not.toHaveBeenCalled();
  });

  test('read markers, history and conversations', async () => {
    const fetch = jest.fn(async () => new Response(JSON.stringify({ messages: [] }), { status: 200 }));
    const h = harness({ httpUrl: 'http://api.test/', token: 'tok', fetch: fetch as never });
    const socket = await connected(h);
    const chat = createChat(h.client);
    chat.markRead(CONVERSATION, '000000000003');
    expect(socket.actions('read-messages')).toEqual([
      { action: 'read-messages', conversationId: CONVERSATION, upTo: '000000000003' },
    ]);
    await expect(chat.history(CONVERSATION, { limit: 10, order: 'asc' })).resolves.toEqual({ messages: [] });
    expect(fetch).toHaveBeenCalledWith(`http://api.test/conversations/${CONVERSATION}/messages?limit=10&order=asc`, {
      method: 'GET',
      headers: { authorization: 'Bearer tok' },
    });
  });
});

describe('calendar', () => {
  const event = (eventId: string, startsAt: string, endsAt: string) => ({
    itemId: eventId,
    eventId,
    title: eventId,
    start: startsAt,
    end: endsAt,
    ownerId: 'u1',
    version: 1,
    startsAt,
    endsAt,
  });

  test('the events overlapping the range, sorted, kept live', async () => {
    const h = harness();
    const socket = await connected(h);
    const calendar = watchCalendar(h.client, 'u1', { from: '2026-12-01T00:00:00Z', to: '2026-12-02T00:00:00Z' });
    const changes: string[][] = [];
    calendar.on('change', (events) => changes.push(events.map((e) => e.eventId)));
    answerSubscribes(socket, {
      'calendar:u1': [
        event('late', '2026-12-01T15:00:00.000Z', '2026-12-01T16:00:00.000Z'),
        event('early', '2026-12-01T09:00:00.000Z', '2026-12-01T10:00:00.000Z'),
        event('before', '2026-11-30T09:00:00.000Z', '2026-12-01T00:00:00.000Z'),
        event('spanning', '2026-11-30T09:00:00.000Z', '2026-12-03T00:00:00.000Z'),
      ],
    });
    expect(calendar.synced).toBe(true);
    expect(calendar.events.map((e) => e.eventId)).toEqual(['spanning', 'early', 'late']);
    socket.push({
      type: 'item',
      event: 'REMOVE',
      key: 'calendar:u1',
      itemId: 'early',
      item: event('early', '2026-12-01T09:00:00.000Z', '2026-12-01T10:00:00.000Z'),
      seq: '10',
      at: 1,
    });
    expect(changes.at(-1)).toEqual(['spanning', 'late']);
    calendar.setRange(undefined);
    expect(calendar.events.map((e) => e.eventId)).toEqual(['before', 'spanning', 'late']);
    expect(() => calendar.setRange({ from: 'soon', to: 'later' })).toThrow(/not a date/);
  });
});
