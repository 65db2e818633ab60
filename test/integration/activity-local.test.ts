import { randomUUID } from 'node:crypto';
import {
  connectionIdOf as connectionIdOfSocket,
  type Frame,
  type RecordingSocket,
  refusedHandshake,
  startTestPlatform,
  type TestPlatform,
} from '@real-time-platform/test-support';

// The activity history end to end: real sockets with real tokens through the local runtime of template.yaml
// (AuthMode=jwt), the presence sweep on its own schedule (sped up 60×, PresenceTimeoutSeconds=5) to produce a real
// TIMEOUT, the stream fan-out delivering entries live to the owner's subscription of activity:<userId>, and
// GET /users/me/activity reading them back. Its tables are its own (startTestPlatform), so its sweep closes only its
// own silent connections.

// Starting the platform can take minutes on a loaded 2-core machine.
jest.setTimeout(240_000);

// Long enough that heartbeats every 500 ms keep the other sockets open on a loaded machine.
const TIMEOUT_SECONDS = 5;
// How long an answer or a live entry may take: first invocations pay a cold start, slow on a loaded machine.
const LIVE_MS = 30_000;

let platform: TestPlatform;
const open: RecordingSocket[] = [];

beforeAll(async () => {
  platform = await startTestPlatform({
    auth: 'jwt',
    parameterOverrides: { PresenceTimeoutSeconds: String(TIMEOUT_SECONDS) },
    scheduleSpeed: 60,
  });
});
afterAll(async () => {
  for (const socket of open) socket.socket.terminate();
  await platform?.stop();
});

/** A signed-in socket; it heartbeats unless `silent` (a client that vanished without closing). */
async function signedIn(userId: string, keys: string[] = [], silent = false): Promise<RecordingSocket> {
  const user = await platform.signIn(userId);
  const socket = await user.connect(keys, silent ? {} : { heartbeatMs: 500 });
  open.push(socket);
  return socket;
}

async function get(path: string, userId: string): Promise<{ status: number; body: Frame }> {
  const { status, body } = await platform.http('GET', path, { as: userId });
  return { status, body: body as Frame };
}

const entryOf = (connectionId: string, type: string) => (frame: Frame) =>
  frame.type === 'item' &&
  frame.event === 'INSERT' &&
  frame.item?.connectionId === connectionId &&
  frame.item?.type === type;

const connectionIdOf = (socket: RecordingSocket): Promise<string> => connectionIdOfSocket(socket, LIVE_MS);

test('connect, page update, close and timeout are recorded, pushed live to the owner and listed newest first', async () => {
  const userId = `ana-${randomUUID().slice(0, 8)}`;
  const watcher = await signedIn(userId, [`activity:${userId}`]);
  const watcherId = await connectionIdOf(watcher);

  const tab = await signedIn(userId);
  const tabId = await connectionIdOf(tab);
  const connected = await watcher.next(entryOf(tabId, 'CONNECT'), LIVE_MS);
  expect(connected).toMatchObject({ key: `activity:${userId}`, item: { type: 'CONNECT', at: expect.any(Number) } });

  tab.send({ action: 'update-presence', url: 'https://docs.example.co.uk/guide', title: 'Guide' });
  await tab.next((f) => f.type === 'presence-updated', LIVE_MS);
  const updated = await watcher.next(entryOf(tabId, 'UPDATE_PRESENCE'), LIVE_MS);
  expect(updated.item).toMatchObject({ url: 'https://docs.example.co.uk/guide', title: 'Guide' });
  tab.socket.close();
  await watcher.next(entryOf(tabId, 'CLOSE_CONNECTION'), LIVE_MS);

  // A client that vanishes: the sweep closes it (its $disconnect races the sweep; either way one TIMEOUT).
  const ghost = await signedIn(userId, [], true);
  const ghostId = await connectionIdOf(ghost);
  await watcher.next(entryOf(ghostId, 'TIMEOUT'), TIMEOUT_SECONDS * 1000 + LIVE_MS);
  await ghost.closed;

  // Newest first, paged two at a time: every entry once, in order, with nothing of other connections' ends.
  const items: Frame[] = [];
  let nextToken: string | undefined;
  do {
    const suffix = nextToken === undefined ? '' : `&nextToken=${encodeURIComponent(nextToken)}`;
    const page = await get(`/users/me/activity?limit=2${suffix}`, userId);
    expect(page.status).toBe(200);
    items.push(...page.body.items);
    nextToken = page.body.nextToken;
  } while (nextToken !== undefined);
  expect(items.map((e) => [e.type, e.connectionId])).toEqual([
    ['TIMEOUT', ghostId],
    ['CONNECT', ghostId],
    ['CLOSE_CONNECTION', tabId],
    ['UPDATE_PRESENCE', tabId],
    ['CONNECT', tabId],
    ['CONNECT', watcherId],
  ]);
  expect(items[3]).toEqual({
    type: 'UPDATE_PRESENCE',
    at: expect.any(Number),
    connectionId: tabId,
    url: 'https://docs.example.co.uk/guide',
    title: 'Guide',
  });
  const ats = items.map((e) => e.at as number);
  expect([...ats].sort((a, b) => b - a)).toEqual(ats);
  // The live frames said the same, once each (the stream pushes each entry once; de-duplicate on seq).
  const live = new Map(watcher.frames.filter((f) => f.type === 'item').map((f) => [f.seq, f.item.type]));
  expect([...live.values()].filter((type) => type === 'TIMEOUT')).toHaveLength(1);

  // A window: only what happened in it.
  const from = items[4]?.at as number;
  const to = (items[2]?.at as number) + 1;
  const window = await get(`/users/me/activity?from=${from}&to=${to}`, userId);
  expect(window.body.items.map((e: Frame) => e.type)).toEqual(['CLOSE_CONNECTION', 'UPDATE_PRESENCE', 'CONNECT']);
});

test("nobody reads or watches another user's history; bad windows and tokens are 400", async () => {
  const [ana, bob] = [`ana-${randomUUID().slice(0, 8)}`, `bob-${randomUUID().slice(0, 8)}`];
  await signedIn(ana);
  const bobUser = await platform.signIn(bob);
  expect((await refusedHandshake(bobUser.webSocketUrl([`activity:${ana}`]))).status).toBe(403);
  const bobSocket = await signedIn(bob);
  bobSocket.send({ action: 'subscribe', keys: [`activity:${ana}`] });
  expect(await bobSocket.next((f) => f.type === 'error', LIVE_MS)).toMatchObject({ code: 'FORBIDDEN' });

  expect(await get(`/users/${ana}/activity`, bob)).toMatchObject({
    status: 403,
    body: { error: { code: 'FORBIDDEN' } },
  });
  expect((await get(`/users/me/activity?userId=${ana}`, bob)).status).toBe(403);
  // Bob's own history has his connect; Ana's entries are not in it.
  const own = await get('/users/me/activity', bob);
  expect(own.body.items.map((e: Frame) => e.type)).toEqual(['CONNECT']);

  for (const query of [
    'from=2026-11-22T10:00:00Z&to=2026-11-22T09:00:00Z',
    'from=2025-01-01&to=2026-06-01',
    'nextToken=not-a-token',
    'limit=1000',
  ]) {
    const answer = await get(`/users/me/activity?${query}`, bob);
    expect([query, answer.status, answer.body.error?.code]).toEqual([query, 400, 'BAD_REQUEST']);
  }
  // A token of Ana's is no good for Bob.
  await signedIn(ana);
  const anaPage = await get('/users/me/activity?limit=1', ana);
  expect(anaPage.body.nextToken).toEqual(expect.any(String));
  expect((await get(`/users/me/activity?nextToken=${anaPage.body.nextToken}`, bob)).status).toBe(400);

  // Producers cannot forge entries: activity: keys belong to the platform.
  const forged = await platform.http('POST', '/items', {
    body: { realTimeItemKey: `activity:${ana}`, itemId: 'x', type: 'CONNECT' },
  });
  expect(forged.status).toBe(400);
});
