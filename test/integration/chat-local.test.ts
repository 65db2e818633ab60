import { randomUUID } from 'node:crypto';
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import {
  type Json,
  type RecordingSocket,
  refusedHandshake,
  startTestPlatform,
  type TestPlatform,
} from '@real-time-platform/test-support';
import { directConversationId } from '../../src/domain/chat-ids';

// Chat through the whole local platform of template.yaml with AuthMode=jwt, driven only by real clients: HTTP
// requests with Bearer tokens (the HTTP API's Lambda authorizer, then ChatApiFunction), ws sockets that never
// subscribe to a conversation (messages arrive through each user's inbox), and DynamoDB reads to see what was (not)
// stored. RealTimeItemKey=vehicleId: chat must use the configured key attribute, never a literal. This suite runs with
// ChatParticipantCheck=connected: a conversation may only include users who have connected once, so every test
// connects its users before it names them (chat-new-users.test.ts covers the default, where anyone may be named).

// Starting the platform (bundling every function) can take over a minute on a loaded 2-core machine.
jest.setTimeout(180_000);

// prod and the vehicleId key: the platform as the prod stage of a fleet app would run it.
const KEY = 'vehicleId';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

let platform: TestPlatform;
let ddb: DynamoDBClient;

beforeAll(async () => {
  platform = await startTestPlatform({
    auth: 'jwt',
    parameterOverrides: { Environment: 'prod', RealTimeItemKey: KEY, ChatParticipantCheck: 'connected' },
  });
  ddb = new DynamoDBClient({ endpoint: platform.urls.dynamodb, region: 'us-east-1', credentials });
});

afterAll(async () => {
  ddb?.destroy();
  await platform?.stop();
});

/** A user id of its own per test. */
const user = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;

/** One HTTP request as `caller` (anonymous when undefined). */
async function http(caller: string | undefined, method: string, path: string, body?: unknown) {
  const { status, body: answer } = await platform.http(method, path, { as: caller, body });
  return { status, body: answer as Json };
}

const createConversation = (caller: string, body: unknown) => http(caller, 'POST', '/conversations', body);

async function group(creator: string, others: string[], title = 'Team'): Promise<string> {
  const created = await createConversation(creator, { type: 'group', participants: others, title });
  expect(created.status).toBe(201);
  return created.body.conversationId as string;
}

/** Every message of a conversation as `caller` sees the history: all pages, oldest first. */
async function history(caller: string, conversationId: string, query = 'order=asc&limit=100'): Promise<Json[]> {
  const messages: Json[] = [];
  let nextToken: string | undefined;
  do {
    const suffix = nextToken === undefined ? '' : `&nextToken=${nextToken}`;
    const page = await http(caller, 'GET', `/conversations/${conversationId}/messages?${query}${suffix}`);
    expect(page.status).toBe(200);
    messages.push(...page.body.messages);
    nextToken = page.body.nextToken;
  } while (nextToken !== undefined);
  return messages;
}

/** A socket of `userId` that records every frame; it never subscribes to anything itself. */
type Client = RecordingSocket;

async function connect(userId: string, keys: string[] = []): Promise<Client> {
  return (await platform.signIn(userId)).connect(keys);
}

/** Users become known to the platform the real way: by connecting once with a token (the sockets stay open). */
async function haveConnected(...userIds: string[]): Promise<void> {
  await Promise.all(userIds.map((userId) => connect(userId)));
}

/** The HTTP status of a refused handshake. */
async function refusedHandshakeStatus(userId: string, key: string): Promise<number> {
  return (await refusedHandshake((await platform.signIn(userId)).webSocketUrl([key]))).status;
}

/** The itemIds stored under a key, read straight from DynamoDB. */
async function storedItemIds(key: string): Promise<string[]> {
  const { Items = [] } = await ddb.send(
    new QueryCommand({
      TableName: platform.tableName('RealTimeDataTable'),
      KeyConditionExpression: '#k = :k',
      ExpressionAttributeNames: { '#k': KEY },
      ExpressionAttributeValues: { ':k': { S: key } },
      ConsistentRead: true,
    }),
  );
  return Items.map((item) => item.itemId?.S ?? '?');
}

/** A message as the fan-out delivers it (not the answer to a re-send, which has no seq). */
const isMessage = (conversationId: string) => (frame: Json) =>
  frame.type === 'item' &&
  frame.key === `chat:${conversationId}` &&
  String(frame.itemId).startsWith('msg#') &&
  frame.duplicate !== true;
/** The answer to a re-sent message: the stored message, to the re-sending connection only. */
const isResentAnswer = (frame: Json) => frame.type === 'item' && frame.duplicate === true;
/** Delivery is at least once: a client de-duplicates on the stream sequence number. */
const unique = (frames: Json[]) => [...new Map(frames.map((frame) => [frame.seq, frame])).values()];
const isError = (frame: Json) => frame.type === 'error';

test('direct conversations are de-duplicated: repeated and concurrent requests from either side get one id', async () => {
  const [ana, bea, cy] = [user('ana'), user('bea'), user('cy')];
  const [dan, eve] = [user('dan'), user('eve')];
  await haveConnected(bea, dan, eve);
  const first = await createConversation(ana, { type: 'direct', participants: [bea] });
  expect(first.status).toBe(201);
  expect(first.body).toMatchObject({ type: 'direct', participants: [ana, bea].sort(), createdBy: ana });
  const again = await createConversation(ana, { type: 'direct', participants: [bea] });
  expect(again).toEqual({ status: 200, body: first.body });

  // A new pair asked for from both sides at once: exactly one creation wins.
  const racing = await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      i % 2
        ? createConversation(dan, { type: 'direct', participants: [eve] })
        : createConversation(eve, { type: 'direct', participants: [dan] }),
    ),
  );
  expect(racing.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 201]);
  expect(new Set(racing.map((r) => r.body.conversationId)).size).toBe(1);

  expect(await http(bea, 'GET', `/users/me/direct/${ana}`)).toEqual({ status: 200, body: first.body });
  expect((await http(cy, 'GET', `/users/me/direct/${ana}`)).status).toBe(404);
  expect((await http(ana, 'GET', `/users/me/direct/${ana}`)).status).toBe(400);
});

test('group rules: at least two others and a title; the title is saved', async () => {
  const [ana, bea, cy] = [user('ana'), user('bea'), user('cy')];
  await haveConnected(bea, cy);
  const oneOther = await createConversation(ana, { type: 'group', participants: [bea], title: 'Pair' });
  expect(oneOther).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } });
  const untitled = await createConversation(ana, { type: 'group', participants: [bea, cy] });
  expect(untitled).toMatchObject({
    status: 400,
    body: { error: { message: 'title: a group conversation needs a title' } },
  });
  expect((await createConversation(ana, { type: 'direct', participants: [bea, cy] })).status).toBe(400);
  expect((await http(undefined, 'POST', '/conversations', { type: 'direct', participants: [bea] })).status).toBe(401);
  expect((await http(ana, 'GET', '/users/me/conversations')).body.conversations).toEqual([]);

  const id = await group(ana, [bea, cy], ' Team ');
  expect((await http(cy, 'GET', `/conversations/${id}`)).body).toMatchObject({ title: 'Team', type: 'group' });
  expect((await http(bea, 'GET', `/conversations/${id}/participants`)).body).toEqual({
    conversationId: id,
    participants: [ana, bea, cy].sort().map((userId) => ({ userId })),
  });
});

test('a message reaches every connection of every participant, the sender’s included, with tempMessageId, without subscribing', async () => {
  const [ana, bea, cy, outsider] = [user('ana'), user('bea'), user('cy'), user('zed')];
  const [anaTab1, anaTab2, beaPhone, cyLaptop, zed] = await Promise.all([
    connect(ana),
    connect(ana),
    connect(bea),
    connect(cy),
    connect(outsider),
  ]);
  const id = await group(ana, [bea, cy]);
  // The new conversation is announced to its participants too.
  await beaPhone.next((f) => f.type === 'item' && f.key === `chat:${id}` && f.itemId === 'conversation');

  anaTab1.send({ action: 'send-message', conversationId: id, content: 'Hello team', tempMessageId: 'tmp-1' });
  for (const client of [anaTab1, anaTab2, beaPhone, cyLaptop]) {
    const frame = await client.next(isMessage(id));
    expect(frame).toMatchObject({
      type: 'item',
      event: 'INSERT',
      key: `chat:${id}`,
      itemId: 'msg#000000000001',
      item: {
        messageId: '000000000001',
        conversationId: id,
        senderId: ana,
        content: 'Hello team',
        tempMessageId: 'tmp-1',
        sentAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
    });
  }
  // The same frame again (the client missed its echo, e.g. after a reconnect) is stored once, and answered to the
  // re-sending connection only with the stored message, so its pending message resolves.
  anaTab2.send({ action: 'send-message', conversationId: id, content: 'Hello team', tempMessageId: 'tmp-1' });
  const answer = await anaTab2.next(isResentAnswer);
  expect(answer).toEqual({
    type: 'item',
    event: 'INSERT',
    key: `chat:${id}`,
    itemId: 'msg#000000000001',
    item: (await anaTab1.next(isMessage(id))).item,
    duplicate: true,
    at: expect.any(Number),
  });
  // A message without tempMessageId carries none.
  beaPhone.send({ action: 'send-message', conversationId: id, content: 'Hi!' });
  const second = await cyLaptop.next((f) => isMessage(id)(f) && f.item.messageId === '000000000002');
  expect(second.item).not.toHaveProperty('tempMessageId');
  expect(second.item.senderId).toBe(bea);
  // Past this point a second copy of the re-sent message, or a frame for the outsider, would have arrived.
  await platform.settled(anaTab1, anaTab2, beaPhone, cyLaptop, zed);
  expect((await history(ana, id)).map((m) => m.content).sort()).toEqual(['Hello team', 'Hi!']);
  for (const client of [anaTab1, anaTab2, beaPhone, cyLaptop]) {
    const first = unique(client.frames.filter((f) => isMessage(id)(f) && f.item.tempMessageId === 'tmp-1'));
    expect(first).toHaveLength(1);
  }
  expect([anaTab1, beaPhone, cyLaptop].flatMap((client) => client.frames).filter(isResentAnswer)).toEqual([]);
  expect(anaTab2.frames.filter(isResentAnswer)).toHaveLength(1);
  expect(zed.frames.filter((f) => f.type === 'item')).toEqual([]);
  expect([...anaTab1.frames, beaPhone.frames].flat().filter(isError)).toEqual([]);
});

test('concurrent senders: every participant sees one order, the history’s, with gap-free ids', async () => {
  const people = [user('ana'), user('bea'), user('cy')];
  const [ana, bea, cy] = people as [string, string, string];
  const clients = await Promise.all(people.map((person) => connect(person)));
  const id = await group(ana, [bea, cy]);
  // Three senders racing for one counter: enough to lose transactions, few enough for a loaded CI machine.
  const perSender = 6;
  const sent = new Map<string, Json>();
  clients.forEach((client, s) => {
    for (let i = 0; i < perSender; i++) {
      const frame = {
        action: 'send-message',
        conversationId: id,
        content: `${people[s]} #${i}`,
        tempMessageId: `s${s}-${i}`,
      };
      sent.set(frame.tempMessageId, frame);
      client.send(frame);
    }
  });
  // What a client does with INTERNAL_ERROR ("busy" when a conversation stays contended beyond the function's time,
  // e.g. on a loaded machine): send the frame again. The error names the tempMessageId; a re-send is stored once.
  const retried = new Set<Json>();
  const resend = setInterval(() => {
    for (const client of clients) {
      for (const error of client.frames.filter((f) => f.code === 'INTERNAL_ERROR' && !retried.has(f))) {
        retried.add(error);
        client.send(sent.get(error.tempMessageId));
      }
    }
  }, 50);
  const total = people.length * perSender;
  const seen = await Promise.all(
    clients.map(async (client) => unique(await client.count(isMessage(id), total, 90_000))),
  ).finally(() => clearInterval(resend));
  const orders = seen.map((frames) => frames.map((f) => f.item.messageId));
  expect(orders[1]).toEqual(orders[0]);
  expect(orders[2]).toEqual(orders[0]);
  expect(orders[0]).toEqual(Array.from({ length: total }, (_, i) => String(i + 1).padStart(12, '0')));
  const stored = await history(cy, id);
  expect(stored.map((m) => [m.messageId, m.content])).toEqual(seen[0]?.map((f) => [f.item.messageId, f.item.content]));
  // Every tempMessageId echoed exactly once; sentAt never goes back in id order.
  expect(stored.map((m) => m.tempMessageId).sort()).toEqual(
    people.flatMap((_, s) => Array.from({ length: perSender }, (_, i) => `s${s}-${i}`)).sort(),
  );
  expect(stored.map((m) => m.sentAt)).toEqual(stored.map((m) => m.sentAt).sort());
  expect(clients.flatMap((c) => c.frames).filter((f) => isError(f) && f.code !== 'INTERNAL_ERROR')).toEqual([]);
  // Senders racing for one conversation's counter lose transactions and re-send (INTERNAL_ERROR is retryable, the
  // tempMessageId keeps it stored once); how many depends on the machine's load, so only "not every one" is asserted.
  expect(retried.size).toBeLessThan(total);

  // History pages: newest first by default, 7 at a time, while new messages arrive — none skipped, none repeated.
  const paged: string[] = [];
  let nextToken: string | undefined;
  let arrivals = 0;
  do {
    const page = await http(
      bea,
      'GET',
      `/conversations/${id}/messages?limit=7${nextToken ? `&nextToken=${nextToken}` : ''}`,
    );
    paged.push(...page.body.messages.map((m: Json) => m.messageId));
    nextToken = page.body.nextToken;
    if (arrivals++ < 2) clients[0]?.send({ action: 'send-message', conversationId: id, content: `late ${arrivals}` });
  } while (nextToken !== undefined);
  expect(paged).toEqual(orders[0]?.toReversed());
});

test('read receipts reach the participants; unread counts follow the markers', async () => {
  const [ana, bea, cy] = [user('ana'), user('bea'), user('cy')];
  const [anaSocket, beaSocket, cySocket] = await Promise.all([connect(ana), connect(bea), connect(cy)]);
  const id = await group(ana, [bea, cy]);
  const quiet = await group(cy, [ana, bea], 'Quiet');
  for (const content of ['one', 'two', 'three']) {
    anaSocket.send({ action: 'send-message', conversationId: id, content });
    await cySocket.next((f) => isMessage(id)(f) && f.item.content === content);
  }
  cySocket.send({ action: 'send-message', conversationId: id, content: 'four' });
  await beaSocket.next((f) => isMessage(id)(f) && f.item.content === 'four');

  const before = (await http(bea, 'GET', '/users/me/conversations')).body.conversations as Json[];
  expect(before.map((c) => c.conversationId)).toEqual([id, quiet]);
  expect(before[0]).toMatchObject({
    unreadCount: 4,
    unreadCountCapped: false,
    lastMessage: { content: 'four', senderId: cy },
  });
  expect(before[1]).toMatchObject({ title: 'Quiet', lastMessage: null, unreadCount: 0 });

  beaSocket.send({ action: 'read-messages', conversationId: id, upTo: '000000000002' });
  const isReceipt = (f: Json) => f.type === 'item' && f.key === `chat:${id}` && f.itemId === `read#${bea}`;
  for (const client of [anaSocket, beaSocket, cySocket]) {
    expect((await client.next(isReceipt)).item).toMatchObject({
      conversationId: id,
      userId: bea,
      upTo: '000000000002',
    });
  }
  expect((await http(bea, 'GET', '/users/me/conversations')).body.conversations[0]).toMatchObject({
    unreadCount: 2,
    readUpTo: '000000000002',
  });
  // Without upTo: up to the newest. The sender's own messages never count as unread.
  beaSocket.send({ action: 'read-messages', conversationId: id });
  await anaSocket.next((f) => isReceipt(f) && f.item.upTo === '000000000004');
  expect((await http(bea, 'GET', '/users/me/conversations')).body.conversations[0]).toMatchObject({ unreadCount: 0 });
  expect((await http(ana, 'GET', '/users/me/conversations')).body.conversations[0]).toMatchObject({ unreadCount: 1 });
  const participants = (await http(cy, 'GET', `/conversations/${id}/participants`)).body.participants as Json[];
  expect(participants.find((p) => p.userId === bea)).toMatchObject({ readUpTo: '000000000004' });
  expect([...anaSocket.frames, ...beaSocket.frames, ...cySocket.frames].filter(isError)).toEqual([]);
});

test('a non-member is refused on every route, action and subscription; nothing is stored', async () => {
  const [ana, bea, cy, mallory] = [user('ana'), user('bea'), user('cy'), user('mal')];
  await haveConnected(bea, cy);
  const id = await group(ana, [bea, cy]);
  const anaSocket = await connect(ana);
  anaSocket.send({ action: 'send-message', conversationId: id, content: 'members only' });
  await anaSocket.next(isMessage(id));
  for (const path of [`/conversations/${id}`, `/conversations/${id}/participants`, `/conversations/${id}/messages`]) {
    expect(await http(mallory, 'GET', path)).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
  }
  const mal = await connect(mallory);
  mal.send({ action: 'send-message', conversationId: id, content: 'let me in' });
  expect(await mal.next(isError)).toMatchObject({ code: 'FORBIDDEN' });
  mal.send({ action: 'read-messages', conversationId: id });
  await mal.count(isError, 2);
  expect(mal.frames.filter(isError)[1]).toMatchObject({ code: 'FORBIDDEN' });
  mal.send({ action: 'subscribe', keys: [`chat:${id}`] });
  await mal.count(isError, 3);
  expect(mal.frames.filter(isError)[2]).toMatchObject({ code: 'FORBIDDEN' });
  expect(await refusedHandshakeStatus(mallory, `chat:${id}`)).toBe(403);
  expect(await refusedHandshakeStatus(bea, `chat:${id}`).catch(() => 'accepted')).toBe('accepted');

  // Past this point an item the refused actions had written would have reached everyone subscribed to it.
  await platform.settled(mal);
  expect(mal.frames.filter((f) => f.type === 'item')).toEqual([]);
  expect((await storedItemIds(`chat:${id}`)).sort()).toEqual(['conversation', 'msg#000000000001']);
  expect((await http(mallory, 'GET', '/users/me/conversations')).body.conversations).toEqual([]);
});

test('bad frames: empty or oversize content, an unknown conversation, a forged sender → error frames, nothing stored', async () => {
  const [ana, bea, cy] = [user('ana'), user('bea'), user('cy')];
  await haveConnected(bea, cy);
  const id = await group(ana, [bea, cy]);
  const client = await connect(ana);
  const unknown = (await createConversation(bea, { type: 'direct', participants: [cy] })).body.conversationId;
  const lonely = unknown.replace(/.$/, (c: string) => (c === 'A' ? 'B' : 'A'));
  const frames = [
    { action: 'send-message', conversationId: id, content: '' },
    { action: 'send-message', conversationId: id, content: '   ' },
    { action: 'send-message', conversationId: id, content: 'é'.repeat(2049) },
    { action: 'send-message', conversationId: id, content: 'hi', senderId: bea },
    { action: 'send-message', conversationId: lonely, content: 'anyone?' },
    { action: 'send-message', conversationId: 'c1', content: 'hi' },
    { action: 'read-messages', conversationId: id, upTo: '000000000001' },
    '{"action":"send-message",',
  ];
  for (const frame of frames) client.send(frame);
  const errors = await client.count(isError, frames.length);
  expect(errors.map((e) => e.code).sort()).toEqual(
    [
      'BAD_REQUEST',
      'BAD_REQUEST',
      'BAD_REQUEST',
      'BAD_REQUEST',
      'FORBIDDEN',
      'BAD_REQUEST',
      'BAD_REQUEST',
      'BAD_REQUEST',
    ].sort(),
  );
  expect(errors.find((e) => /4096 bytes/.test(e.message))).toBeDefined();
  expect(await storedItemIds(`chat:${id}`)).toEqual(['conversation']);
  expect(await storedItemIds(`chat:${lonely}`)).toEqual([]);
  expect(await history(ana, id)).toEqual([]);
});

test('ChatParticipantCheck=connected: a conversation with a made-up user is refused, nothing written', async () => {
  const [ana, bea, ghost, phantom] = [user('ana'), user('bea'), user('ghost'), user('phantom')];
  const anaSocket = await connect(ana);
  await haveConnected(bea);
  const direct = directConversationId(ana, ghost);

  expect(await createConversation(ana, { type: 'direct', participants: [ghost] })).toEqual({
    status: 404,
    body: {
      error: {
        code: 'NOT_FOUND',
        message: `no user ${JSON.stringify(ghost)}: they have never connected`,
        details: { unknownUsers: [ghost] },
      },
    },
  });
  const refusedGroup = await createConversation(ana, {
    type: 'group',
    participants: [bea, ghost, phantom],
    title: 'T',
  });
  expect(refusedGroup.status).toBe(404);
  expect(refusedGroup.body.error.code).toBe('NOT_FOUND');
  // DynamoDB Local names every failed check of the cancelled transaction; the contract only promises the unknown
  // users it reports, and never a known one.
  expect(refusedGroup.body.error.details.unknownUsers).toEqual(expect.arrayContaining([ghost]));
  expect(refusedGroup.body.error.message).toContain(ghost);
  expect(refusedGroup.body.error.message).not.toContain(bea);

  // Nothing was written: no conversation, counter or index row, for anyone.
  for (const key of [
    `chat:${direct}`,
    `$chat:${direct}`,
    ...[ana, bea, ghost, phantom].map((u) => `$user-conversations:${u}`),
  ]) {
    expect(await storedItemIds(key)).toEqual([]);
  }
  expect((await http(ana, 'GET', '/users/me/conversations')).body.conversations).toEqual([]);
  expect((await http(ana, 'GET', `/users/me/direct/${ghost}`)).status).toBe(404);

  // Once they have connected, the same requests work.
  await haveConnected(ghost, phantom);
  const created = await createConversation(ana, { type: 'direct', participants: [ghost] });
  expect(created).toMatchObject({ status: 201, body: { conversationId: direct } });
  await group(ana, [bea, ghost, phantom], 'T');
  await anaSocket.count((f) => f.type === 'item' && f.itemId === 'conversation', 2);
  expect((await http(ghost, 'GET', '/users/me/conversations')).body.conversations).toHaveLength(2);
});
