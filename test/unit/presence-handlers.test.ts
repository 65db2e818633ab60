import { streamEvent, streamRecord } from '@real-time-platform/test-support';
import type { FriendChange, FriendStore } from '../../src/adapters/friend-store';
import type { FriendStatus, Friendship } from '../../src/domain/friends';
import { createKeyAccessPolicy, ownerOnlyRule } from '../../src/domain/key-access';
import { presenceAccessRule, snapshotItemOf } from '../../src/domain/presence';
import { isTokenExpired } from '../../src/domain/token-lifetime';
import { createConnectHandler } from '../../src/handlers/logic/connect';
import { createDisconnectHandler } from '../../src/handlers/logic/disconnect';
import { createConnectionEnder } from '../../src/handlers/logic/end-connection';
import { runFanout } from '../../src/handlers/logic/fanout';
import type { HttpEvent } from '../../src/handlers/logic/http';
import { createMessageHandler } from '../../src/handlers/logic/message';
import { createPresenceApiHandler } from '../../src/handlers/logic/presence-api';
import { runPresenceSweep, silenceCutoff } from '../../src/handlers/logic/presence-sweep';
import { wsEvent } from '../helpers/events';
import {
  captureLog,
  MemoryConnections,
  memoryData,
  RecordingSender,
  recordingSnapshotRequests,
} from '../helpers/fakes';
import { MemoryPresence } from '../helpers/presence-fakes';

/** A WebSocket event as API Gateway sends it after the JWT authorizer named `userId`. */
function asUser<T extends ReturnType<typeof wsEvent>>(event: T, userId: string | undefined): T {
  if (userId !== undefined && event.requestContext) event.requestContext.authorizer = { principalId: userId };
  return event;
}

/** FriendStore over a Map, with the same transitions as the DynamoDB one. */
class MemoryFriends implements FriendStore {
  readonly rows = new Map<string, Friendship>();
  known = new Set<string>();
  private key = (a: string, b: string) => `${a}|${b}`;
  async get(userId: string, other: string) {
    return this.rows.get(this.key(userId, other));
  }
  async list(userId: string) {
    return [...this.rows].filter(([k]) => k.startsWith(`${userId}|`)).map(([, v]) => v);
  }
  async areFriends(userId: string, other: string) {
    return this.rows.get(this.key(userId, other))?.status === 'accepted';
  }
  private set(userId: string, other: string, status: FriendStatus) {
    this.rows.set(this.key(userId, other), { userId: other, status, since: 1 });
  }
  async request(userId: string, other: string): Promise<FriendChange | 'unknown-user'> {
    if (!this.known.has(other)) return 'unknown-user';
    if (this.rows.has(this.key(userId, other)) || this.rows.has(this.key(other, userId))) return 'conflict';
    this.set(userId, other, 'requested');
    this.set(other, userId, 'pending');
    return 'done';
  }
  async accept(userId: string, other: string): Promise<FriendChange> {
    if ((await this.get(userId, other))?.status !== 'pending') return 'conflict';
    this.set(userId, other, 'accepted');
    this.set(other, userId, 'accepted');
    return 'done';
  }
  async remove(userId: string, other: string): Promise<FriendChange> {
    if (!this.rows.delete(this.key(userId, other))) return 'conflict';
    this.rows.delete(this.key(other, userId));
    return 'done';
  }
}

function platform(visibility: 'all' | 'friends' = 'all') {
  const connections = new MemoryConnections();
  const presence = new MemoryPresence(connections);
  const friends = new MemoryFriends();
  const keyAccess = createKeyAccessPolicy([
    ownerOnlyRule('inbox:'),
    presenceAccessRule({ visibility, areFriends: (a, b) => friends.areFriends(a, b) }),
  ]);
  const logger = captureLog();
  const sender = new RecordingSender();
  const snapshotRequests = recordingSnapshotRequests();
  const connect = createConnectHandler({
    connections,
    presence,
    keyAccess,
    keyName: 'vehicleId',
    isQueryParam: true,
    logger,
  });
  const disconnect = createDisconnectHandler({ connections, presence, logger });
  const message = createMessageHandler({
    connections,
    snapshots: snapshotRequests,
    sender,
    keyAccess,
    presence,
    logger,
  });
  const api = createPresenceApiHandler({
    presence,
    friends,
    connections,
    keyAccess,
    visibility,
    activity: async () => ({ statusCode: 404 }),
    logger,
  });
  return {
    connections,
    presence,
    friends,
    keyAccess,
    logger,
    sender,
    snapshotRequests,
    connect,
    disconnect,
    message,
    api,
  };
}

const open = (p: ReturnType<typeof platform>, connectionId: string, userId?: string, keys: string[] = []) =>
  p.connect(
    asUser(
      wsEvent({ routeKey: '$connect', connectionId, ...(keys.length > 0 ? { query: { vehicleId: keys } } : {}) }),
      userId,
    ),
  );
const close = (p: ReturnType<typeof platform>, connectionId: string) =>
  p.disconnect(wsEvent({ routeKey: '$disconnect', connectionId }));
const say = (p: ReturnType<typeof platform>, connectionId: string, userId: string | undefined, body: object) =>
  p.message(asUser(wsEvent({ routeKey: String((body as { action?: string }).action), connectionId, body }), userId));
const http = (routeKey: string, caller: string | undefined, extra: Partial<HttpEvent> = {}): HttpEvent => ({
  routeKey,
  ...(caller === undefined ? {} : { requestContext: { authorizer: { lambda: { userId: caller } } } }),
  ...extra,
});
const body = (result: { body?: string }) => JSON.parse(result.body ?? 'null');

describe('$connect and $disconnect keep presence right', () => {
  test('two tabs → close one → still online; close both → offline', async () => {
    const p = platform();
    expect((await open(p, 'tab1', 'u1')).statusCode).toBe(200);
    expect((await open(p, 'tab2', 'u1')).statusCode).toBe(200);
    expect(p.presence.states.get('u1')).toMatchObject({ status: 'online', connections: 2 });

    await close(p, 'tab1');
    expect(p.presence.states.get('u1')).toMatchObject({ status: 'online', connections: 1 });
    await close(p, 'tab2');
    expect(p.presence.states.get('u1')).toMatchObject({ status: 'offline', connections: 0 });
    // A repeated $disconnect (or the sweep after it) changes nothing.
    await close(p, 'tab2');
    expect(p.presence.states.get('u1')).toMatchObject({ status: 'offline', connections: 0 });
  });

  test('a signed-in connection is subscribed to its own inbox as well', async () => {
    const p = platform();
    await open(p, 'c1', 'u1', ['3']);
    expect([...(p.connections.subscriptions.get('c1') ?? [])]).toEqual(['3', 'inbox:u1']);
  });

  test('anonymous connections have no presence and work as before', async () => {
    const p = platform();
    expect((await open(p, 'c1', undefined, ['3'])).statusCode).toBe(200);
    expect(p.presence.states.size).toBe(0);
    expect((await close(p, 'c1')).statusCode).toBe(200);
    expect(p.connections.deleted).toEqual(['c1']);
  });

  test('a key the caller may not read refuses the handshake (403, naming the key); nothing is stored', async () => {
    const p = platform('friends');
    const result = await open(p, 'c1', 'u1', ['3', 'presence:u2']);
    expect(result.statusCode).toBe(403);
    expect(result.body).toMatch(
      /^Forbidden: not allowed to read "presence:u2": presence is visible to accepted friends/,
    );
    expect(p.connections.connections.size).toBe(0);
    expect(p.presence.states.size).toBe(0);
  });

  test("another user's inbox → 403; a presence key without a token → 401; nothing stored", async () => {
    const p = platform();
    expect((await open(p, 'c1', 'u1', ['inbox:u2'])).statusCode).toBe(403);
    const anonymous = await open(p, 'c2', undefined, ['presence:u1']);
    expect(anonymous).toEqual({
      statusCode: 401,
      body: 'Unauthorized: "presence:u1" needs a signed-in user (AuthMode=jwt)',
    });
    expect(p.connections.connections.size).toBe(0);
  });

  test('a failing authorization lookup answers 500, never a refusal or an acceptance', async () => {
    const p = platform('friends');
    p.friends.areFriends = async () => {
      throw new Error('DynamoDB down');
    };
    expect(await open(p, 'c1', 'u1', ['presence:u2'])).toEqual({ statusCode: 500, body: 'Internal server error' });
  });

  test("the fan-out's 410 clean-up settles presence like a $disconnect", async () => {
    const p = platform();
    await open(p, 'c1', 'u1');
    const ended = await createConnectionEnder(p)('c1');
    expect(ended).toMatchObject({ userId: 'u1', presence: 'settled', transition: 'go-offline' });
    expect(await createConnectionEnder(p)('c1')).toMatchObject({ presence: 'gone' });
  });
});

describe('update-presence', () => {
  async function online() {
    const p = platform();
    await open(p, 'me', 'u1');
    return p;
  }
  const replies = (p: ReturnType<typeof platform>) => p.sender.messagesTo('me');

  test('sets the page (with its domain) and acknowledges; the same page again changes nothing', async () => {
    const p = await online();
    await say(p, 'me', 'u1', { action: 'update-presence', url: 'https://app.example.com/a', title: 'A' });
    await say(p, 'me', 'u1', { action: 'update-presence', url: 'https://app.example.com/a', title: 'A' });
    const page = { url: 'https://app.example.com/a', title: 'A', domain: 'example.com' };
    expect(replies(p)).toEqual([
      { type: 'presence-updated', changed: true, page },
      { type: 'presence-updated', changed: false, page },
    ]);
    expect(p.presence.states.get('u1')).toMatchObject({ page, latestPage: page });
  });

  test('an empty url hides the page and keeps latestPage', async () => {
    const p = await online();
    await say(p, 'me', 'u1', { action: 'update-presence', url: 'https://example.com/', title: 'Home' });
    await say(p, 'me', 'u1', { action: 'update-presence', url: '' });
    expect(replies(p).at(-1)).toEqual({ type: 'presence-updated', changed: true, page: null });
    const state = p.presence.states.get('u1');
    expect(state?.page).toBeUndefined();
    expect(state?.latestPage).toMatchObject({ url: 'https://example.com/' });
  });

  test("a user cannot set another user's presence", async () => {
    const p = await online();
    await open(p, 'other', 'u2');
    await say(p, 'me', 'u1', { action: 'update-presence', userId: 'u2', url: 'https://evil.example/', title: 'x' });
    expect(replies(p)).toEqual([
      { type: 'error', code: 'FORBIDDEN', message: 'a user can only set their own presence; leave out userId' },
    ]);
    expect(p.presence.states.get('u2')?.page).toBeUndefined();
    expect(p.presence.states.get('u1')?.page).toBeUndefined();
    // Naming oneself is harmless.
    await say(p, 'me', 'u1', { action: 'update-presence', userId: 'u1', url: 'https://example.com/', title: '' });
    expect(replies(p).at(-1)).toMatchObject({ type: 'presence-updated', changed: true });
  });

  test.each([
    ['a javascript: URL', { url: 'javascript:alert(1)' }],
    ['a huge title', { url: 'https://example.com/', title: 'x'.repeat(10_000) }],
    ['a non-URL', { url: 'example dot com' }],
  ])('%s → BAD_REQUEST error frame, nothing written', async (_name, frame) => {
    const p = await online();
    const before = structuredClone(p.presence.states.get('u1'));
    await say(p, 'me', 'u1', { action: 'update-presence', ...frame });
    expect(replies(p)).toEqual([{ type: 'error', code: 'BAD_REQUEST', message: expect.any(String) }]);
    expect(p.presence.states.get('u1')).toEqual(before);
  });

  test('without a signed-in user: UNAUTHORIZED', async () => {
    const p = platform();
    await open(p, 'me', undefined);
    await say(p, 'me', undefined, { action: 'update-presence', url: 'https://example.com/' });
    expect(replies(p)).toEqual([{ type: 'error', code: 'UNAUTHORIZED', message: expect.stringMatching(/signed-in/) }]);
  });

  test("the page is the tab's that set it: closing another tab keeps it, closing that tab takes it down", async () => {
    const p = await online();
    await open(p, 'other', 'u1');
    await open(p, 'third', 'u1');
    const page = { url: 'https://example.com/', title: 'Home', domain: 'example.com' };
    await say(p, 'me', 'u1', { action: 'update-presence', url: page.url, title: page.title });
    await close(p, 'third');
    expect(p.presence.states.get('u1')).toMatchObject({ connections: 2, page });
    await close(p, 'me');
    const state = p.presence.states.get('u1');
    expect(state).toMatchObject({ status: 'online', connections: 1, latestPage: page });
    expect(state?.page).toBeUndefined();
  });

  test('a snapshot of a presence key leaves out the internal pageConnectionId', async () => {
    const p = await online();
    const stored = { vehicleId: 'presence:u1', itemId: 'state', status: 'online', connections: 1 };
    await say(p, 'me', 'u1', { action: 'subscribe', keys: ['presence:u1', '3'], snapshot: true });
    expect(p.snapshotRequests.requests.map((r) => r.key)).toEqual(['presence:u1', '3']);
    // The fan-out meets the two markers on the stream and answers them with the keys' items.
    const markers = p.snapshotRequests.requests.map((r, i) =>
      streamRecord({ key: r.key, seq: i + 1, itemId: `$snapshot#me#${r.requestId}`, item: { connectionId: 'me' } }),
    );
    await runFanout(
      {
        connections: p.connections,
        sender: p.sender,
        keyAttribute: 'vehicleId',
        concurrency: 2,
        logger: p.logger,
        snapshots: {
          reader: memoryData({
            'presence:u1': [{ ...stored, pageConnectionId: 'secret-tab=' }],
            '3': [{ itemId: 'a', pageConnectionId: 'x' }],
          }),
          visibleItem: snapshotItemOf,
        },
      },
      streamEvent(markers),
    );
    expect(replies(p).filter((m) => m.type === 'snapshot')).toEqual([
      { type: 'snapshot', key: 'presence:u1', items: [stored], position: expect.any(String), page: 0, complete: true },
      // Other keys' items are the producers' own: passed through untouched.
      {
        type: 'snapshot',
        key: '3',
        items: [{ itemId: 'a', pageConnectionId: 'x' }],
        position: expect.any(String),
        page: 0,
        complete: true,
      },
    ]);
  });

  test('a connection whose user went offline meanwhile gets NOT_FOUND and writes nothing', async () => {
    const p = await online();
    p.presence.states.set('u1', { userId: 'u1', status: 'offline', connections: 0 });
    await say(p, 'me', 'u1', { action: 'update-presence', url: 'https://example.com/' });
    expect(replies(p)).toEqual([{ type: 'error', code: 'NOT_FOUND', message: expect.stringMatching(/offline/) }]);
  });
});

describe('subscribe checks the key access policy', () => {
  test("friends mode: a non-friend's presence is refused with FORBIDDEN naming the key, nothing stored", async () => {
    const p = platform('friends');
    await open(p, 'me', 'u1');
    await say(p, 'me', 'u1', { action: 'subscribe', keys: ['3', 'presence:u2'], snapshot: true });
    expect(p.sender.messagesTo('me')).toEqual([
      { type: 'error', code: 'FORBIDDEN', message: expect.stringContaining('"presence:u2"') },
    ]);
    expect([...(p.connections.subscriptions.get('me') ?? [])]).toEqual(['inbox:u1']);
  });

  test('friends mode: an accepted friend may subscribe', async () => {
    const p = platform('friends');
    p.friends.known = new Set(['u1', 'u2']);
    await p.api(http('PUT /friends/{userId}', 'u1', { pathParameters: { userId: 'u2' } }));
    await p.api(http('PUT /friends/{userId}', 'u2', { pathParameters: { userId: 'u1' } }));
    await open(p, 'me', 'u1');
    await say(p, 'me', 'u1', { action: 'subscribe', keys: ['presence:u2'] });
    expect(p.sender.messagesTo('me')).toEqual([{ type: 'subscribed', keys: ['presence:u2'] }]);
  });

  test('friends mode: a friendship ended between the check and the write → FORBIDDEN, nothing stored', async () => {
    const p = platform('friends');
    p.friends.known = new Set(['u1', 'u2']);
    await p.api(http('PUT /friends/{userId}', 'u1', { pathParameters: { userId: 'u2' } }));
    await p.api(http('PUT /friends/{userId}', 'u2', { pathParameters: { userId: 'u1' } }));
    await open(p, 'me', 'u1');
    // The subscription's write checks u1's side of the friendship; it is gone by then.
    p.connections.grantsGone.add('friends:u1/u2');
    await say(p, 'me', 'u1', { action: 'subscribe', keys: ['3', 'presence:u2'] });
    expect(p.sender.messagesTo('me')).toEqual([
      { type: 'error', code: 'FORBIDDEN', message: expect.stringContaining('"presence:u2"') },
    ]);
    expect([...(p.connections.subscriptions.get('me') ?? [])]).toEqual(['inbox:u1']);
  });

  test('an anonymous connection cannot watch presence even in "all" mode', async () => {
    const p = platform('all');
    await open(p, 'me', undefined);
    await say(p, 'me', undefined, { action: 'subscribe', keys: ['presence:u2'] });
    expect(p.sender.messagesTo('me')[0]).toMatchObject({ type: 'error', code: 'UNAUTHORIZED' });
  });
});

describe('the presence sweep', () => {
  const NOW = 1_763_800_000_000;

  function sweepSetup(rows: { id: string; userId: string; lastSeenAt: number; tokenExpiresAt?: number }[]) {
    const p = platform();
    for (const row of rows) {
      p.connections.connections.set(row.id, { connectionId: row.id, userId: row.userId });
      p.presence.states.set(row.userId, {
        userId: row.userId,
        status: 'online',
        connections: rows.filter((r) => r.userId === row.userId).length,
      });
    }
    const lastSeen = new Map(rows.map((r) => [r.id, r.lastSeenAt]));
    const expiries = new Map(rows.map((r) => [r.id, r.tokenExpiresAt]));
    const closed: string[] = [];
    const deps = {
      connections: {
        // The index lists what it saw: here every row, fresh or not, so the sweep must re-check each.
        silentConnections: async (shard: string) =>
          shard === '0' ? rows.map((r) => ({ connectionId: r.id, userId: r.userId, lastSeenAt: r.lastSeenAt })) : [],
        // The same for token expiry: the index lists every row carrying one.
        expiredTokenConnections: async (shard: string, _before: number) =>
          shard === '0' ? rows.filter((r) => r.tokenExpiresAt !== undefined).map((r) => r.id) : [],
        connectionOf: async (id: string) =>
          p.connections.connections.has(id)
            ? { connectionId: id, lastSeenAt: lastSeen.get(id), tokenExpiresAt: expiries.get(id) }
            : undefined,
        markTimedOut: async (id: string, cutoff: number) =>
          p.connections.connections.has(id) && (lastSeen.get(id) ?? 0) < cutoff,
      },
      closeSocket: async (id: string) => {
        closed.push(id);
        return id.startsWith('gone') ? ('gone' as const) : ('closed' as const);
      },
      end: createConnectionEnder(p),
      timeoutSeconds: 180,
      logger: captureLog(),
      now: () => NOW,
    };
    return { p, deps, closed };
  }

  test('the cutoff is now minus the timeout', () => {
    expect(silenceCutoff(NOW, 180)).toBe(NOW - 180_000);
  });

  test('closes silent sockets, ends them and takes their users offline; fresh connections are left alone', async () => {
    const { p, deps, closed } = sweepSetup([
      { id: 'silent', userId: 'u1', lastSeenAt: NOW - 181_000 },
      { id: 'gone-already', userId: 'u2', lastSeenAt: NOW - 500_000 },
      // The index still lists it, but a heartbeat arrived since: the row says so.
      { id: 'fresh', userId: 'u3', lastSeenAt: NOW - 1000 },
    ]);

    const summary = await runPresenceSweep(deps);

    expect(closed.sort()).toEqual(['gone-already', 'silent']);
    expect(summary).toMatchObject({ found: 3, closed: 1, alreadyGone: 1, settled: 2, skipped: 1, failed: 0 });
    expect(p.presence.states.get('u1')).toMatchObject({ status: 'offline' });
    expect(p.presence.states.get('u2')).toMatchObject({ status: 'offline' });
    expect(p.presence.states.get('u3')).toMatchObject({ status: 'online' });
  });

  test('a connection whose token expired (past the 5 s skew) is closed and ended though it heartbeats', async () => {
    const nowSeconds = NOW / 1000;
    const { p, deps, closed } = sweepSetup([
      { id: 'expired', userId: 'u1', lastSeenAt: NOW - 1000, tokenExpiresAt: nowSeconds - 6 },
      { id: 'within-skew', userId: 'u2', lastSeenAt: NOW - 1000, tokenExpiresAt: nowSeconds - 4 },
      { id: 'valid', userId: 'u3', lastSeenAt: NOW - 1000, tokenExpiresAt: nowSeconds + 3600 },
    ]);

    const summary = await runPresenceSweep(deps);

    expect(closed).toEqual(['expired']);
    expect(summary).toMatchObject({ found: 3, tokenExpired: 3, closed: 1, settled: 1, skipped: 2, failed: 0 });
    expect(p.presence.states.get('u1')).toMatchObject({ status: 'offline' });
    expect(p.presence.states.get('u2')).toMatchObject({ status: 'online' });
    expect(p.connections.connections.has('valid')).toBe(true);
  });

  test('the expired-token index is asked for every token the routes refuse: exp + 5 s before now, to the millisecond', async () => {
    const { deps } = sweepSetup([]);
    const bounds: number[] = [];
    deps.connections.expiredTokenConnections = async (_shard: string, before: number) => {
      bounds.push(before);
      return [];
    };
    const exp = NOW / 1000 - 5; // refused from NOW + 1 ms on
    deps.now = () => NOW + 200;
    expect(isTokenExpired(exp, NOW + 200)).toBe(true);
    await runPresenceSweep(deps);
    expect(exp < (bounds[0] as number)).toBe(true);
    deps.now = () => NOW;
    bounds.length = 0;
    expect(isTokenExpired(exp, NOW)).toBe(false);
    await runPresenceSweep(deps);
    expect(exp < (bounds[0] as number)).toBe(false);
  });

  test('a DELETE @connections that fails leaves the connection for the next run (socket and presence untouched)', async () => {
    const { p, deps } = sweepSetup([{ id: 'silent', userId: 'u1', lastSeenAt: NOW - 200_000 }]);
    deps.closeSocket = async () => {
      throw Object.assign(new Error('Rate exceeded'), { name: 'LimitExceededException' });
    };
    expect(await runPresenceSweep(deps)).toMatchObject({ found: 1, failed: 1, settled: 0 });
    expect(p.presence.states.get('u1')).toMatchObject({ status: 'online' });
    expect(p.connections.connections.has('silent')).toBe(true);
  });

  test('a second sweep (or one racing $disconnect) settles nothing twice', async () => {
    const { deps } = sweepSetup([{ id: 'silent', userId: 'u1', lastSeenAt: NOW - 200_000 }]);
    const [first, second] = await Promise.all([runPresenceSweep(deps), runPresenceSweep(deps)]);
    expect((first?.settled ?? 0) + (second?.settled ?? 0)).toBe(1);
  });

  test('a failing index query of one shard does not stop the others', async () => {
    const { deps } = sweepSetup([{ id: 'silent', userId: 'u1', lastSeenAt: NOW - 200_000 }]);
    const list = deps.connections.silentConnections;
    deps.connections.silentConnections = async (shard: string) => {
      if (shard === '1') throw new Error('throttled');
      return list(shard);
    };
    expect(await runPresenceSweep(deps)).toMatchObject({ found: 1, settled: 1 });
  });
});

describe('the presence and friends API', () => {
  test('every route needs a signed-in caller (401)', async () => {
    const p = platform();
    for (const route of ['GET /presence/{userId}', 'GET /presence', 'GET /friends', 'PUT /friends/{userId}']) {
      const result = await p.api(http(route, undefined, { pathParameters: { userId: 'u2' } }));
      expect([route, result.statusCode, body(result).error.code]).toEqual([route, 401, 'UNAUTHORIZED']);
    }
  });

  test('GET /presence/{userId}: the state, or an offline default for a user never seen', async () => {
    const p = platform();
    await open(p, 'c1', 'u1');
    const online = await p.api(http('GET /presence/{userId}', 'u2', { pathParameters: { userId: 'u1' } }));
    expect(online.statusCode).toBe(200);
    expect(body(online)).toMatchObject({ userId: 'u1', status: 'online', connections: 1 });
    const never = await p.api(http('GET /presence/{userId}', 'u2', { pathParameters: { userId: 'nobody' } }));
    expect(body(never)).toEqual({ userId: 'nobody', status: 'offline', connections: 0 });
    const bad = await p.api(http('GET /presence/{userId}', 'u2', { pathParameters: { userId: 'a,b' } }));
    expect(bad.statusCode).toBe(400);
  });

  test('GET /presence?userIds=…: in the asked order, duplicates collapsed, at most 100', async () => {
    const p = platform();
    await open(p, 'c1', 'u1');
    const result = await p.api(http('GET /presence', 'u9', { queryStringParameters: { userIds: 'u3,u1,u3' } }));
    expect(body(result)).toEqual({
      presence: [
        { userId: 'u3', status: 'offline', connections: 0 },
        expect.objectContaining({ userId: 'u1', status: 'online' }),
      ],
    });
    const many = Array.from({ length: 101 }, (_, i) => `u${i}`).join(',');
    const tooMany = await p.api(http('GET /presence', 'u9', { queryStringParameters: { userIds: many } }));
    expect(tooMany.statusCode).toBe(400);
    expect(body(tooMany).error.message).toMatch(/at most 100/);
    expect((await p.api(http('GET /presence', 'u9'))).statusCode).toBe(400);
    expect((await p.api(http('GET /presence', 'u9', { queryStringParameters: { userIds: 'a,,b' } }))).statusCode).toBe(
      400,
    );
  });

  test('friends mode: 403 for a non-friend, hidden in batches, self always visible; allowed after acceptance', async () => {
    const p = platform('friends');
    p.friends.known = new Set(['u1', 'u2']);
    await open(p, 'c2', 'u2');
    const refused = await p.api(http('GET /presence/{userId}', 'u1', { pathParameters: { userId: 'u2' } }));
    expect(refused.statusCode).toBe(403);
    expect(body(refused).error.code).toBe('FORBIDDEN');
    const self = await p.api(http('GET /presence/{userId}', 'u2', { pathParameters: { userId: 'u2' } }));
    expect(self.statusCode).toBe(200);
    const batch = await p.api(http('GET /presence', 'u1', { queryStringParameters: { userIds: 'u2,u1' } }));
    expect(body(batch)).toEqual({ presence: [{ userId: 'u1', status: 'offline', connections: 0 }], hidden: ['u2'] });

    expect((await p.api(http('PUT /friends/{userId}', 'u1', { pathParameters: { userId: 'u2' } }))).statusCode).toBe(
      202,
    );
    const accepted = await p.api(http('PUT /friends/{userId}', 'u2', { pathParameters: { userId: 'u1' } }));
    expect([accepted.statusCode, body(accepted)]).toEqual([200, { userId: 'u1', status: 'accepted' }]);
    const allowed = await p.api(http('GET /presence/{userId}', 'u1', { pathParameters: { userId: 'u2' } }));
    expect([allowed.statusCode, body(allowed).status]).toEqual([200, 'online']);
  });

  test('PUT /friends: request, idempotent repeats, acceptance; oneself 400; unknown user 404', async () => {
    const p = platform('friends');
    p.friends.known = new Set(['u1', 'u2']);
    const put = (caller: string, userId: string) =>
      p.api(http('PUT /friends/{userId}', caller, { pathParameters: { userId } }));
    expect([(await put('u1', 'u2')).statusCode, body(await put('u1', 'u2'))]).toEqual([
      202,
      { userId: 'u2', status: 'requested' },
    ]);
    expect((await put('u1', 'u2')).statusCode).toBe(200);
    expect(body(await p.api(http('GET /friends', 'u2')))).toEqual({
      friends: [{ userId: 'u1', status: 'pending', since: 1 }],
    });
    expect(body(await put('u2', 'u1'))).toEqual({ userId: 'u1', status: 'accepted' });
    expect(body(await put('u2', 'u1'))).toEqual({ userId: 'u1', status: 'accepted' });

    const self = await put('u1', 'u1');
    expect([self.statusCode, body(self).error.message]).toEqual([400, 'you cannot befriend yourself']);
    const unknown = await put('u1', 'ghost');
    expect([unknown.statusCode, body(unknown).error.code]).toEqual([404, 'NOT_FOUND']);
    expect(p.friends.rows.has('u1|ghost')).toBe(false);
    expect((await put('u1', 'bad id')).statusCode).toBe(400);
  });

  test('DELETE /friends: both sides go (204), then 404; the ex-friend stops watching at once', async () => {
    const p = platform('friends');
    p.friends.known = new Set(['u1', 'u2']);
    await p.api(http('PUT /friends/{userId}', 'u1', { pathParameters: { userId: 'u2' } }));
    await p.api(http('PUT /friends/{userId}', 'u2', { pathParameters: { userId: 'u1' } }));
    await open(p, 'watcher', 'u2', ['presence:u1']);
    await open(p, 'mine', 'u1', ['presence:u2']);

    const removed = await p.api(http('DELETE /friends/{userId}', 'u1', { pathParameters: { userId: 'u2' } }));

    expect(removed.statusCode).toBe(204);
    expect(p.friends.rows.size).toBe(0);
    expect(p.connections.subscriptions.get('watcher')?.has('presence:u1')).toBe(false);
    expect(p.connections.subscriptions.get('mine')?.has('presence:u2')).toBe(false);
    expect((await p.api(http('DELETE /friends/{userId}', 'u1', { pathParameters: { userId: 'u2' } }))).statusCode).toBe(
      404,
    );
  });

  test("DELETE /friends also ends a watcher's subscription that connectionsByUser does not list yet", async () => {
    const p = platform('friends');
    p.friends.known = new Set(['u1', 'u2', 'u3']);
    for (const [a, b] of [
      ['u1', 'u2'],
      ['u1', 'u3'],
    ]) {
      await p.api(http('PUT /friends/{userId}', a, { pathParameters: { userId: b as string } }));
      await p.api(http('PUT /friends/{userId}', b, { pathParameters: { userId: a as string } }));
    }
    await open(p, 'fresh', 'u2', ['presence:u1']);
    await open(p, 'other', 'u3', ['presence:u1']);
    // The index lags: the just-opened connections are not in connectionsByUser yet.
    p.connections.connectionsOfUser = async () => [];

    expect((await p.api(http('DELETE /friends/{userId}', 'u1', { pathParameters: { userId: 'u2' } }))).statusCode).toBe(
      204,
    );

    expect(p.connections.subscriptions.get('fresh')?.has('presence:u1')).toBe(false);
    expect(p.connections.subscriptions.get('other')?.has('presence:u1')).toBe(true);
  });
});
