import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createTestTables, type TestTables } from '@real-time-platform/test-support';
import { type ConnectionRepository, createConnectionRepository } from '../../src/adapters/connection-repository';
import { createFriendStore, type FriendStore } from '../../src/adapters/friend-store';
import { createPresenceStore, type PresenceStore } from '../../src/adapters/presence-store';
import { createConnectionEnder } from '../../src/handlers/logic/end-connection';

// Presence transactions against the real DynamoDB Local: concurrent tabs of one user, racing closers, the sparse
// indexes the sweep and the friends API read. Real conditions, real cancellations, real interleavings.

jest.setTimeout(60_000);

let tables: TestTables;
let presence: PresenceStore;
let connections: ConnectionRepository;
let friends: FriendStore;

beforeAll(async () => {
  tables = await createTestTables('presence', 'realTimeItemKey');
  const common = { ddb: tables.documents, ttlSeconds: 7800 };
  presence = createPresenceStore({
    ...common,
    connectionsTable: tables.connectionsTable,
    dataTable: tables.dataTable,
    keyAttribute: 'realTimeItemKey',
    maxAttempts: 40,
  });
  connections = createConnectionRepository({ ...common, tableName: tables.connectionsTable });
  friends = createFriendStore({ ddb: tables.documents, dataTable: tables.dataTable, keyAttribute: 'realTimeItemKey' });
});

afterAll(async () => {
  await tables?.drop();
});

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}=`);

test('eight tabs opening at once, then closing at once with duplicate closers, end offline with every close counted once', async () => {
  const tabs = ids('tab', 8);
  const opened = await Promise.all(
    tabs.map((connectionId) => presence.openConnection({ connectionId, userId: 'u1' }, ['inbox:u1'])),
  );
  expect(opened.filter((o) => o.opened && o.transition === 'come-online')).toHaveLength(1);
  expect(await presence.get('u1')).toMatchObject({ status: 'online', connections: 8 });
  expect((await connections.connectionsOfUser('u1')).sort()).toEqual([...tabs].sort());

  // Each tab is closed twice at once ($disconnect and the sweep): exactly one of each pair settles presence.
  const end = createConnectionEnder({ connections, presence });
  const ended = await Promise.all([...tabs, ...tabs].map((id) => end(id)));
  expect(ended.filter((e) => e.presence === 'settled')).toHaveLength(8);
  expect(ended.filter((e) => e.presence === 'settled' && e.transition === 'go-offline')).toHaveLength(1);
  expect(await presence.get('u1')).toMatchObject({ status: 'offline', connections: 0 });
  // The subscription rows went too.
  expect(await connections.subscriptionsOf(tabs[0] as string)).toEqual([]);
});

test('random interleavings of opens and closes always leave the count equal to the live rows', async () => {
  for (let round = 0; round < 5; round++) {
    const userId = `mix${round}`;
    const tabs = ids(userId, 6);
    const alive = new Set<string>();
    const steps: Promise<unknown>[] = [];
    for (const id of tabs) {
      steps.push(presence.openConnection({ connectionId: id, userId }, []).then(() => alive.add(id)));
    }
    await Promise.all(steps);
    // Close a random half while opening three more, all at once.
    const closing = tabs.filter(() => Math.random() < 0.5);
    const more = ids(`${userId}-more`, 3);
    await Promise.all([
      ...closing.map((id) => presence.closeConnection(id, userId).then(() => alive.delete(id))),
      ...more.map((id) => presence.openConnection({ connectionId: id, userId }, []).then(() => alive.add(id))),
    ]);
    const state = await presence.get(userId);
    expect({ round, connections: state?.connections, status: state?.status }).toEqual({
      round,
      connections: alive.size,
      status: alive.size > 0 ? 'online' : 'offline',
    });
  }
});

test('pages: written only when they change; hidden keeps latestPage; the last close clears the page', async () => {
  await presence.openConnection({ connectionId: 'page-1=', userId: 'p1' }, []);
  const page = { url: 'https://example.com/a', title: 'A', domain: 'example.com' };
  expect(await presence.setPage('p1', 'page-1=', page)).toBe('changed');
  expect(await presence.setPage('p1', 'page-1=', page)).toBe('unchanged');
  expect(await presence.setPage('p1', 'page-1=', { ...page, title: 'A2' })).toBe('changed');
  expect(await presence.setPage('p1', 'page-1=', undefined)).toBe('changed');
  expect(await presence.setPage('p1', 'page-1=', undefined)).toBe('unchanged');
  const hidden = await presence.get('p1');
  expect(hidden?.page).toBeUndefined();
  expect(hidden?.latestPage).toEqual({ ...page, title: 'A2' });

  await presence.setPage('p1', 'page-1=', page);
  await presence.closeConnection('page-1=', 'p1');
  const offline = await presence.get('p1');
  expect(offline).toMatchObject({ status: 'offline', latestPage: page });
  expect(offline?.page).toBeUndefined();
  // Offline users cannot get a page.
  expect(await presence.setPage('p1', 'page-1=', page)).toBe('offline');
});

test("pages follow their tab: closing the tab that set the page takes it down, another tab's close keeps it", async () => {
  const page = { url: 'https://example.com/a', title: 'A', domain: 'example.com' };
  const b = { url: 'https://example.com/b', title: 'B', domain: 'example.com' };
  for (const id of ['pt-a=', 'pt-b=', 'pt-c=']) await presence.openConnection({ connectionId: id, userId: 'pt' }, []);

  expect(await presence.setPage('pt', 'pt-a=', page)).toBe('changed');
  // Tab c closing leaves tab a's page.
  expect(await presence.closeConnection('pt-c=', 'pt')).toEqual({ closed: true, transition: 'remove-connection' });
  expect(await presence.get('pt')).toMatchObject({ connections: 2, page });
  // Tab a closing takes it down; latestPage stays.
  await presence.closeConnection('pt-a=', 'pt');
  const afterA = await presence.get('pt');
  expect(afterA).toMatchObject({ status: 'online', connections: 1, latestPage: page });
  expect(afterA?.page).toBeUndefined();
  // A page update arriving after its tab closed writes nothing.
  expect(await presence.setPage('pt', 'pt-a=', b)).toBe('offline');
  expect((await presence.get('pt'))?.page).toBeUndefined();

  // Two tabs on the same page: the later one takes it over, so closing the first keeps the page.
  await presence.openConnection({ connectionId: 'pt-d=', userId: 'pt' }, []);
  expect(await presence.setPage('pt', 'pt-b=', b)).toBe('changed');
  expect(await presence.setPage('pt', 'pt-d=', b)).toBe('unchanged');
  await presence.closeConnection('pt-b=', 'pt');
  expect(await presence.get('pt')).toMatchObject({ connections: 1, page: b });
  // The internal owner never leaves the store.
  expect(JSON.stringify(await presence.getMany(['pt']).then((m) => [...m.values()]))).not.toContain('pt-d=');
});

test('the silentConnections index lists signed-in rows by lastSeenAt; a heartbeat takes a row out of it', async () => {
  await presence.openConnection({ connectionId: 'quiet-1=', userId: 's1' }, []);
  await connections.saveConnection({ connectionId: 'anon-1=' }, []);
  // Age the row as if no heartbeat came for 10 minutes.
  await tables.documents.send(
    new UpdateCommand({
      TableName: tables.connectionsTable,
      Key: { connectionId: 'quiet-1=', realTimeItemKey: '$connection#quiet-1=' },
      UpdateExpression: 'SET lastSeenAt = :old',
      ExpressionAttributeValues: { ':old': Date.now() - 600_000 },
    }),
  );
  const cutoff = Date.now() - 180_000;
  const silent = async () =>
    (await Promise.all(['0', '1', '2', '3'].map((shard) => connections.silentConnections(shard, cutoff, 100)))).flat();

  expect((await silent()).map((c) => c.connectionId)).toEqual(['quiet-1=']);
  expect((await silent())[0]?.userId).toBe('s1');
  await connections.touch('quiet-1=');
  expect(await silent()).toEqual([]);
});

test('friendships: unknown users refused, request → pending on the other side → accepted, removed on both sides', async () => {
  expect(await friends.request('f1', 'f2')).toBe('unknown-user');
  expect(await friends.get('f1', 'f2')).toBeUndefined();

  await presence.openConnection({ connectionId: 'f2-tab=', userId: 'f2' }, []);
  await presence.openConnection({ connectionId: 'f1-tab=', userId: 'f1' }, []);
  expect(await friends.request('f1', 'f2')).toBe('done');
  expect(await friends.get('f1', 'f2')).toMatchObject({ status: 'requested' });
  expect(await friends.get('f2', 'f1')).toMatchObject({ status: 'pending' });
  // Both asking at once: the second request finds the pair taken.
  expect(await friends.request('f2', 'f1')).toBe('conflict');
  expect(await friends.areFriends('f1', 'f2')).toBe(false);

  expect(await friends.accept('f1', 'f2')).toBe('conflict');
  expect(await friends.accept('f2', 'f1')).toBe('done');
  expect(await friends.areFriends('f1', 'f2')).toBe(true);
  expect(await friends.areFriends('f2', 'f1')).toBe(true);
  expect(await friends.list('f2')).toEqual([{ userId: 'f1', status: 'accepted', since: expect.any(Number) }]);

  expect(await friends.remove('f2', 'f1')).toBe('done');
  expect(await friends.remove('f2', 'f1')).toBe('conflict');
  const row = await tables.documents.send(
    new GetCommand({ TableName: tables.dataTable, Key: { realTimeItemKey: 'friends:f1', itemId: 'f2' } }),
  );
  expect(row.Item).toBeUndefined();
});
