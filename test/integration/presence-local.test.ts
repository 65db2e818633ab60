import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LocalLogger } from '@real-time-platform/local-runtime';
import {
  type Frame,
  type RecordingSocket,
  refusedHandshake,
  startTestPlatform,
  type TestPlatform,
} from '@real-time-platform/test-support';
import WebSocket from 'ws';
import { createConnectionRepository } from '../../src/adapters/connection-repository';
import { authorizeKeys } from '../../src/domain/key-access';
import { createPlatformKeyAccess } from '../../src/handlers/wiring/dependencies';

// Presence end to end through the real local runtime of template.yaml with AuthMode=jwt: real sockets with real
// tokens, the real JWT authorizer, the HTTP API, the stream fan-out, the presence sweep on the template's own
// schedule (its clock sped up 60×, so rate(1 minute) runs every second) and the local EventBridge.

jest.setTimeout(90_000);

/**
 * Short enough for the vanished-client test, long enough that a live client's heartbeats (every 500 ms, each through
 * the message function) always land in time: at 2 s a loaded CI swept a heartbeating watcher before its first
 * heartbeat was processed (closed with 1000 before any frame).
 */
const TIMEOUT_SECONDS = 5;
/** The sweep runs every second (rate(1 minute) at 60×). */
const SWEEP_MS = 1000;

/** The runtime's log lines, for the events the local EventBridge logs. */
function capturingLogger(): LocalLogger & { lines: { message: string; fields?: Record<string, unknown> }[] } {
  const lines: { message: string; fields?: Record<string, unknown> }[] = [];
  const keep = (message: string, fields?: Record<string, unknown>) => {
    lines.push({ message, ...(fields ? { fields } : {}) });
  };
  return { lines, debug() {}, info: keep, warn: keep, error: keep };
}

function startPlatform(parameterOverrides: Record<string, string>, logger: LocalLogger): Promise<TestPlatform> {
  return startTestPlatform({
    auth: 'jwt',
    parameterOverrides: { PresenceTimeoutSeconds: String(TIMEOUT_SECONDS), ...parameterOverrides },
    scheduleSpeed: 60,
    logger,
  });
}

type Client = RecordingSocket;

/**
 * A socket of `userId` that records every frame. With AuthMode=jwt every connection takes part in presence, so a
 * client must heartbeat within PresenceTimeoutSeconds or the sweep closes it; `silent` leaves heartbeats out (a
 * vanished client).
 */
async function signedIn(platform: TestPlatform, userId: string, keys: string[] = [], silent = false): Promise<Client> {
  return (await platform.signIn(userId)).connect(keys, silent ? {} : { heartbeatMs: 500 });
}

/** The status and body of a refused handshake. */
function refused(platform: TestPlatform, query: string): Promise<{ status: number; body: string }> {
  return refusedHandshake(`${platform.urls.webSocket}?${query}`);
}

async function api(
  platform: TestPlatform,
  method: string,
  path: string,
  userId?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const { status, body = {} } = await platform.http(method, path, { as: userId });
  return { status, body };
}

const presenceOf = (userId: string, event?: string) => (frame: Frame) =>
  frame.type === 'presence' && frame.userId === userId && (event === undefined || frame.event === event);
const closeAndWait = async (c: Client) => {
  c.socket.close();
  await c.closed;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('PresenceVisibility=all', () => {
  let platform: TestPlatform;
  const logger = capturingLogger();
  const open: Client[] = [];
  const track = (c: Client) => {
    open.push(c);
    return c;
  };

  beforeAll(async () => {
    platform = await startPlatform({ Environment: 'develop', PresenceEventBusName: 'presence-bus' }, logger);
  });
  afterAll(async () => {
    for (const c of open) c.socket.terminate();
    await platform?.stop();
  });

  test('two tabs → close one → still online; close both → a leave frame within 1 s', async () => {
    const watcher = track(await signedIn(platform, 'watcher1', ['presence:alice']));
    const tab1 = track(await signedIn(platform, 'alice'));
    await watcher.next(presenceOf('alice', 'join'));
    const tab2 = track(await signedIn(platform, 'alice'));
    await watcher.next((f) => presenceOf('alice', 'update')(f) && (f.presence as Frame).connections === 2);

    const beforeClose = watcher.frames.length;
    await closeAndWait(tab1);
    const afterOne = await watcher.next(presenceOf('alice'), 5000, beforeClose);
    expect(afterOne).toMatchObject({ event: 'update', presence: { status: 'online', connections: 1 } });
    const rest = await api(platform, 'GET', '/presence/alice', 'watcher1');
    expect(rest).toMatchObject({ status: 200, body: { userId: 'alice', status: 'online', connections: 1 } });

    const closedAt = Date.now();
    tab2.socket.close();
    const leave = await watcher.next(presenceOf('alice', 'leave'), 1000);
    expect(Date.now() - closedAt).toBeLessThan(1000);
    expect(leave).toMatchObject({
      key: 'presence:alice',
      presence: { status: 'offline', connections: 0 },
      seq: expect.any(String),
      at: expect.any(Number),
    });
  });

  test('a client that vanishes without closing goes offline within the timeout plus one sweep, its socket closed by the server', async () => {
    const watcher = track(await signedIn(platform, 'watcher2', ['presence:ghost']));
    const alive = track(await signedIn(platform, 'steady'));
    const ghost = track(await signedIn(platform, 'ghost', [], true));
    const lastActivity = Date.now();
    await watcher.next(presenceOf('ghost', 'join'));

    // The ghost sends nothing more and never closes: only the sweep can notice.
    const leave = await watcher.next(presenceOf('ghost', 'leave'), (TIMEOUT_SECONDS * 1000 + SWEEP_MS) * 2);
    const elapsed = Date.now() - lastActivity;
    // Not before the timeout (measured from our side of the handshake, a few ms after the server's lastSeenAt).
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_SECONDS * 1000 - 250);
    // Timeout + one sweep, plus the stream and function hops.
    expect(elapsed).toBeLessThan(TIMEOUT_SECONDS * 1000 + SWEEP_MS + 1500);
    expect(leave).toMatchObject({ presence: { status: 'offline', connections: 0 } });
    // The server closed the socket (DELETE @connections closes with 1000), not a timeout of ours.
    const closed = await ghost.closed;
    expect(closed.code).toBe(1000);
    expect(ghost.socket.readyState).toBe(WebSocket.CLOSED);
    // The heartbeating clients outlived several sweeps.
    expect(alive.socket.readyState).toBe(WebSocket.OPEN);
    expect((await api(platform, 'GET', '/presence/steady', 'watcher2')).body).toMatchObject({ status: 'online' });
  });

  test('page updates reach watchers; a repeat writes nothing; a hidden page clears page and keeps latestPage', async () => {
    const me = track(await signedIn(platform, 'paula'));
    const watcher = track(await signedIn(platform, 'watcher3'));
    watcher.send({ action: 'subscribe', keys: ['presence:paula'], snapshot: true });
    await watcher.next((f) => f.type === 'snapshot' && f.key === 'presence:paula');

    me.send({ action: 'update-presence', url: 'https://docs.example.co.uk/guide', title: 'Guide' });
    const page = { url: 'https://docs.example.co.uk/guide', title: 'Guide', domain: 'example.co.uk' };
    expect(await me.next((f) => f.type === 'presence-updated')).toEqual({
      type: 'presence-updated',
      changed: true,
      page,
    });
    const shown = await watcher.next(presenceOf('paula', 'update'));
    expect(shown).toMatchObject({ presence: { status: 'online', page, latestPage: page } });

    const before = watcher.frames.length;
    me.send({ action: 'update-presence', url: 'https://docs.example.co.uk/guide', title: 'Guide' });
    await me.next((f) => f.type === 'presence-updated' && f.changed === false);

    me.send({ action: 'update-presence', url: '' });
    const hidden = await watcher.next(presenceOf('paula', 'update'), 5000, before);
    // Nothing arrived for the repeat: the next frame is already the hidden page.
    expect(watcher.frames.slice(before).filter(presenceOf('paula'))).toHaveLength(1);
    expect(hidden.presence).toMatchObject({ status: 'online', latestPage: page });
    expect((hidden.presence as Frame).page).toBeUndefined();
    expect((await api(platform, 'GET', '/presence/paula', 'watcher3')).body).toMatchObject({ latestPage: page });
  });

  test("a closed tab's page leaves with it; closing another tab keeps the page", async () => {
    const watcher = track(await signedIn(platform, 'watcher4', ['presence:tina', 'presence:tom']));
    const page = { url: 'https://example.com/x', title: 'X', domain: 'example.com' };
    /** Two tabs of `userId`, the first showing `page`; resolves once the watcher has seen the page. */
    const twoTabs = async (userId: string) => {
      const a = track(await signedIn(platform, userId));
      const b = track(await signedIn(platform, userId));
      await watcher.next((f) => presenceOf(userId, 'update')(f) && (f.presence as Frame).connections === 2);
      a.send({ action: 'update-presence', url: page.url, title: page.title });
      await watcher.next((f) => presenceOf(userId, 'update')(f) && (f.presence as Frame).page !== undefined);
      return { a, b };
    };

    // Tina closes the tab that set the page while her other tab stays open: the page goes, latestPage stays.
    const tina = await twoTabs('tina');
    let from = watcher.frames.length;
    await closeAndWait(tina.a);
    const closedSetter = await watcher.next(presenceOf('tina'), 5000, from);
    expect(closedSetter).toMatchObject({
      event: 'update',
      presence: { status: 'online', connections: 1, latestPage: page },
    });
    expect((closedSetter.presence as Frame).page).toBeUndefined();
    expect(JSON.stringify(closedSetter)).not.toContain('pageConnectionId');
    const rest = await api(platform, 'GET', '/presence/tina', 'watcher4');
    expect(rest.body).toMatchObject({ connections: 1, latestPage: page });
    expect(rest.body.page).toBeUndefined();

    // Tom closes the other tab: the page he still shows stays.
    const tom = await twoTabs('tom');
    from = watcher.frames.length;
    await closeAndWait(tom.b);
    expect(await watcher.next(presenceOf('tom'), 5000, from)).toMatchObject({
      event: 'update',
      presence: { status: 'online', connections: 1, page, latestPage: page },
    });
  });

  test("a user cannot set another user's presence; bad input gets error frames and changes nothing", async () => {
    const victim = track(await signedIn(platform, 'victor'));
    const me = track(await signedIn(platform, 'mallory'));
    void victim;

    me.send({ action: 'update-presence', userId: 'victor', url: 'https://evil.example/', title: 'pwned' });
    expect(await me.next((f) => f.type === 'error')).toMatchObject({ code: 'FORBIDDEN' });
    for (const bad of [
      { url: 'javascript:alert(1)', title: 'x' },
      { url: 'https://example.com/', title: 't'.repeat(5000) },
      { url: `https://example.com/${'a'.repeat(3000)}` },
      { url: 'not a url' },
    ]) {
      const from = me.frames.length;
      me.send({ action: 'update-presence', ...bad });
      expect(await me.next((f) => f.type === 'error', 5000, from)).toMatchObject({ code: 'BAD_REQUEST' });
    }
    const victor = await api(platform, 'GET', '/presence/victor', 'mallory');
    const mallory = await api(platform, 'GET', '/presence/mallory', 'mallory');
    expect(victor.body.page).toBeUndefined();
    expect(mallory.body.page).toBeUndefined();
    expect(mallory.body.latestPage).toBeUndefined();
  });

  test('reads: batch in order with defaults; 401 without a token; no socket without a token', async () => {
    track(await signedIn(platform, 'reader'));
    const batch = await api(platform, 'GET', '/presence?userIds=nobody,reader', 'reader');
    expect(batch).toMatchObject({
      status: 200,
      body: {
        presence: [
          { userId: 'nobody', status: 'offline', connections: 0 },
          { userId: 'reader', status: 'online', connections: 1 },
        ],
      },
    });
    expect((await api(platform, 'GET', '/presence/reader')).status).toBe(401);
    expect((await refused(platform, 'realTimeItemKey=presence:reader')).status).toBe(401);
  });

  test('presence changes are published to EventBridge (logged by the local EventBridge)', async () => {
    const events = () =>
      logger.lines
        .filter((line) => line.message.startsWith('EventBridge presence-bus:'))
        .map((line) => ({ type: line.message.split(': ')[1]?.split(' ')[0], detail: line.fields?.detail as Frame }));
    const deadline = Date.now() + 5000;
    while (
      Date.now() < deadline &&
      !events().some((e) => e.detail?.userId === 'alice' && e.type === 'presence.disconnected')
    ) {
      await sleep(100);
    }
    const alice = events().filter((e) => e.detail?.userId === 'alice');
    expect(alice.map((e) => e.type)).toEqual(
      expect.arrayContaining(['presence.connected', 'presence.updated', 'presence.disconnected']),
    );
    expect(alice.find((e) => e.type === 'presence.disconnected')?.detail).toMatchObject({
      status: 'offline',
      connections: 0,
      seq: expect.any(String),
      at: expect.any(Number),
    });
  });
});

describe('PresenceVisibility=friends', () => {
  let platform: TestPlatform;
  const open: Client[] = [];
  const track = (c: Client) => {
    open.push(c);
    return c;
  };

  beforeAll(async () => {
    // Nothing here is about timeouts: the default 2 s, on a machine busy with other suites, could sweep a socket
    // whose first heartbeat met a cold start.
    platform = await startPlatform(
      { Environment: 'staging', PresenceVisibility: 'friends', PresenceTimeoutSeconds: '60' },
      capturingLogger(),
    );
  });
  afterAll(async () => {
    for (const c of open) c.socket.terminate();
    await platform?.stop();
  });

  test('non-friends are refused (error frame, 403, refused handshake); friends are allowed after PUT + PUT; unfriending stops the feed', async () => {
    const ann = track(await signedIn(platform, 'ann'));
    // Bob watches his own presence (always visible to him): the feed ann must stop getting.
    const bob = track(await signedIn(platform, 'bob', ['presence:bob']));

    // Refused three ways, nothing stored.
    ann.send({ action: 'subscribe', keys: ['presence:bob'] });
    expect(await ann.next((f) => f.type === 'error')).toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining('"presence:bob"'),
    });
    expect(await api(platform, 'GET', '/presence/bob', 'ann')).toMatchObject({
      status: 403,
      body: { error: { code: 'FORBIDDEN' } },
    });
    const handshake = await refused(
      platform,
      `realTimeItemKey=presence:bob&token=${encodeURIComponent((await platform.signIn('ann')).token)}`,
    );
    expect(handshake.status).toBe(403);
    expect(handshake.body).toMatch(/presence:bob/);
    expect((await api(platform, 'GET', '/presence?userIds=bob,ann', 'ann')).body).toMatchObject({
      presence: [{ userId: 'ann', status: 'online' }],
      hidden: ['bob'],
    });
    // One's own presence is always visible.
    expect((await api(platform, 'GET', '/presence/ann', 'ann')).status).toBe(200);

    // The request, then the acceptance.
    expect(await api(platform, 'PUT', '/friends/bob', 'ann')).toEqual({
      status: 202,
      body: { userId: 'bob', status: 'requested' },
    });
    expect((await api(platform, 'GET', '/friends', 'bob')).body).toMatchObject({
      friends: [{ userId: 'ann', status: 'pending' }],
    });
    expect(await api(platform, 'PUT', '/friends/ann', 'bob')).toEqual({
      status: 200,
      body: { userId: 'ann', status: 'accepted' },
    });

    const from = ann.frames.length;
    ann.send({ action: 'subscribe', keys: ['presence:bob'] });
    await ann.next((f) => f.type === 'subscribed', 5000, from);
    expect((await api(platform, 'GET', '/presence/bob', 'ann')).body).toMatchObject({ status: 'online' });
    const bobTab2 = track(await signedIn(platform, 'bob'));
    await ann.next((f) => presenceOf('bob', 'update')(f) && (f.presence as Frame).connections === 2, 5000, from);

    // Unfriended: ann's subscription is removed at once.
    expect((await api(platform, 'DELETE', '/friends/bob', 'ann')).status).toBe(204);
    expect((await api(platform, 'DELETE', '/friends/bob', 'ann')).status).toBe(404);
    const afterUnfriend = ann.frames.length;
    const bobFrom = bob.frames.length;
    await closeAndWait(bobTab2);
    await bob.next((f) => presenceOf('bob', 'update')(f) && (f.presence as Frame).connections === 1, 5000, bobFrom);
    await platform.settled(ann);
    expect(ann.frames.slice(afterUnfriend).filter(presenceOf('bob'))).toEqual([]);
    expect((await api(platform, 'GET', '/presence/bob', 'ann')).status).toBe(403);
  });

  test('a friendship ended after the access decision: a subscribe written on that decision is refused, nothing stored', async () => {
    // The race made deterministic at the logic level, on the platform's tables: decide while friends, unfriend
    // through the API, then write with the decision's requirements (friends:dan / eve must still be accepted).
    track(await signedIn(platform, 'dan'));
    track(await signedIn(platform, 'eve'));
    expect((await api(platform, 'PUT', '/friends/eve', 'dan')).status).toBe(202);
    expect((await api(platform, 'PUT', '/friends/dan', 'eve')).status).toBe(200);
    const client = new DynamoDBClient({
      endpoint: platform.urls.dynamodb,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const documents = DynamoDBDocumentClient.from(client);
    const keyAccess = createPlatformKeyAccess({
      documents,
      dataTableName: platform.tableName('RealTimeDataTable'),
      keyAttribute: 'realTimeItemKey',
      presenceVisibility: 'friends',
    });
    const connections = createConnectionRepository({
      ddb: documents,
      tableName: platform.tableName('WebSocketConnectionManagerTable'),
      ttlSeconds: 600,
      dataTable: { tableName: platform.tableName('RealTimeDataTable'), keyAttribute: 'realTimeItemKey' },
    });
    const late = `late-${randomUUID()}=`;
    try {
      const decided = await authorizeKeys(keyAccess, { userId: 'dan' }, ['presence:eve']);
      expect(decided).toMatchObject({ allowed: true, requirements: [{ key: 'presence:eve' }] });

      expect((await api(platform, 'DELETE', '/friends/eve', 'dan')).status).toBe(204);

      const requirements = decided.allowed ? decided.requirements : [];
      expect(await connections.subscribe(late, ['presence:eve'], requirements)).toEqual({
        subscribed: false,
        refusedKey: 'presence:eve',
      });
      expect(await connections.subscriptionsOf(late)).toEqual([]);
      // Asked again, the friendship is back to requested / pending: still refused (status must be accepted).
      expect((await api(platform, 'PUT', '/friends/eve', 'dan')).status).toBe(202);
      expect(await connections.subscribe(late, ['presence:eve'], requirements)).toMatchObject({ subscribed: false });
    } finally {
      client.destroy();
    }
  });

  test('friend requests to oneself or to unknown users: a clear error, no state change', async () => {
    track(await signedIn(platform, 'carl'));
    expect(await api(platform, 'PUT', '/friends/carl', 'carl')).toMatchObject({
      status: 400,
      body: { error: { code: 'BAD_REQUEST', message: 'you cannot befriend yourself' } },
    });
    expect(await api(platform, 'PUT', '/friends/nobody-ever', 'carl')).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND' } },
    });
    expect((await api(platform, 'PUT', '/friends/a%2Cb', 'carl')).status).toBe(400);
    expect((await api(platform, 'GET', '/friends', 'carl')).body).toEqual({ friends: [] });
  });
});
