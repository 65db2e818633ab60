import {
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { createFriendStore } from '../../src/adapters/friend-store';
import { createPresenceStore } from '../../src/adapters/presence-store';
import { StorageError } from '../../src/lib/errors';

// The presence store's transactions against a mocked DynamoDB, with the SDK's real exception classes: which variant
// is written for which state, and what a cancellation (by CancellationReasons code) leads to.

const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
const ddb = mockClient(documents);
const store = () =>
  createPresenceStore({
    ddb: documents,
    connectionsTable: 'Connections',
    dataTable: 'Data',
    keyAttribute: 'vehicleId',
    ttlSeconds: 7800,
    now: () => 1763800000000,
    sleep: async () => undefined,
    maxAttempts: 4,
  });

const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({
    $metadata: {},
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(', ')}]`,
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
const online = (connections: number, extra: Record<string, unknown> = {}) => ({
  Item: { vehicleId: 'presence:u1', itemId: 'state', status: 'online', connections, since: 1, lastSeenAt: 1, ...extra },
});
const shown = { url: 'https://example.com/a', title: 'A', domain: 'example.com' };
/** Online with `shown` as the page, set by connection `setBy`. */
const onlineWithPage = (connections: number, setBy: string) =>
  online(connections, { page: shown, latestPage: shown, pageConnectionId: setBy });
const transactions = () => ddb.commandCalls(TransactWriteCommand).map((call) => call.args[0].input.TransactItems ?? []);
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
const presenceUpdate = (items: TransactItem[]) => items[0]?.Update?.UpdateExpression ?? 'ConditionCheck';

beforeEach(() => ddb.reset());
afterAll(() => ddb.restore());

describe('opening a connection', () => {
  test('a first connection brings the user online, with the row and the subscriptions in the same transaction', async () => {
    ddb.on(GetCommand).resolves({});
    ddb.on(TransactWriteCommand).resolves({});

    const result = await store().openConnection({ connectionId: 'c1', userId: 'u1' }, ['3', 'inbox:u1']);

    expect(result).toEqual({ opened: true, transition: 'come-online' });
    const [items = []] = transactions();
    expect(items).toHaveLength(4);
    expect(items[0]?.Update).toMatchObject({
      TableName: 'Data',
      Key: { vehicleId: 'presence:u1', itemId: 'state' },
      ConditionExpression: 'attribute_not_exists(#key) OR #status <> :online',
    });
    expect(items[0]?.Update?.ExpressionAttributeValues).toMatchObject({
      ':online': 'online',
      ':one': 1,
      ':join': 'join',
    });
    expect(items[1]?.Put).toMatchObject({
      TableName: 'Connections',
      Item: {
        connectionId: 'c1',
        realTimeItemKey: '$connection#c1',
        userId: 'u1',
        lastSeenAt: 1763800000000,
        sweepShard: expect.stringMatching(/^[0-3]$/),
      },
      ConditionExpression: 'attribute_not_exists(connectionId)',
    });
    expect(items.slice(2).map((item) => item.Put?.Item?.realTimeItemKey)).toEqual(['3', 'inbox:u1']);
  });

  test('two tabs at once: the loser of the race re-reads and adds itself instead of resetting the count', async () => {
    // Both read "absent"; the other tab's transaction lands first, so ours is cancelled on the presence condition.
    ddb.on(GetCommand).resolvesOnce({}).resolves(online(1));
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled('ConditionalCheckFailed', 'None')).resolves({});

    const result = await store().openConnection({ connectionId: 'c2', userId: 'u1' }, []);

    expect(result).toEqual({ opened: true, transition: 'add-connection' });
    expect(transactions().map(presenceUpdate)).toEqual([
      expect.stringContaining('#connections = :one'),
      'SET #connections = #connections + :one, #lastSeenAt = :now, #transition = :update',
    ]);
  });

  test('a conflicting transaction (TransactionConflict) is retried too', async () => {
    ddb.on(GetCommand).resolves(online(1));
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled('TransactionConflict', 'None')).resolves({});
    expect(await store().openConnection({ connectionId: 'c2', userId: 'u1' }, [])).toEqual({
      opened: true,
      transition: 'add-connection',
    });
    expect(transactions()).toHaveLength(2);
  });

  test('a repeated $connect of a stored connection changes nothing', async () => {
    ddb.on(GetCommand).resolves(online(1));
    ddb.on(TransactWriteCommand).rejects(cancelled('None', 'ConditionalCheckFailed'));
    expect(await store().openConnection({ connectionId: 'c1', userId: 'u1' }, [])).toEqual({ opened: false });
    expect(transactions()).toHaveLength(1);
  });

  test('a repeated $connect wins over a failed access check: its subscriptions committed with the first one', async () => {
    ddb.on(GetCommand).resolves(online(1));
    ddb.on(TransactWriteCommand).rejects(cancelled('None', 'ConditionalCheckFailed', 'None', 'ConditionalCheckFailed'));
    const requirements = [
      { key: 'calendar:u9', requires: { key: '$calendar-shares:u9', itemId: 'u1', condition: 'exists' as const } },
    ];
    expect(await store().openConnection({ connectionId: 'c1', userId: 'u1' }, ['calendar:u9'], requirements)).toEqual({
      opened: false,
    });
    ddb.on(TransactWriteCommand).rejects(cancelled('None', 'None', 'None', 'ConditionalCheckFailed'));
    expect(await store().openConnection({ connectionId: 'c1', userId: 'u1' }, ['calendar:u9'], requirements)).toEqual({
      opened: false,
      refusedKey: 'calendar:u9',
    });
    expect(transactions()[1]?.[3]).toEqual({
      ConditionCheck: {
        TableName: 'Data',
        Key: { vehicleId: '$calendar-shares:u9', itemId: 'u1' },
        ConditionExpression: 'attribute_exists(#key)',
        ExpressionAttributeNames: { '#key': 'vehicleId' },
      },
    });
  });

  test('presence that keeps changing gives up with a retryable StorageError after maxAttempts', async () => {
    ddb.on(GetCommand).resolves({});
    ddb.on(TransactWriteCommand).rejects(cancelled('ConditionalCheckFailed', 'None'));
    const error = await store()
      .openConnection({ connectionId: 'c1', userId: 'u1' }, [])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ retryable: true });
    expect(transactions()).toHaveLength(4);
  });

  test('throttling inside the transaction is a retryable StorageError, not a retry loop', async () => {
    ddb.on(GetCommand).resolves({});
    ddb.on(TransactWriteCommand).rejects(cancelled('ThrottlingError', 'None'));
    await expect(store().openConnection({ connectionId: 'c1', userId: 'u1' }, [])).rejects.toMatchObject({
      name: 'StorageError',
      retryable: true,
    });
    expect(transactions()).toHaveLength(1);
  });

  test('a throttled read is a retryable StorageError', async () => {
    ddb.on(GetCommand).rejects(new ProvisionedThroughputExceededException({ $metadata: {}, message: 'slow down' }));
    await expect(store().openConnection({ connectionId: 'c1', userId: 'u1' }, [])).rejects.toMatchObject({
      name: 'StorageError',
      retryable: true,
    });
  });
});

describe('closing a connection', () => {
  test('one of two tabs: the count goes down, the user stays online', async () => {
    ddb.on(GetCommand).resolves(online(2));
    ddb.on(TransactWriteCommand).resolves({});
    expect(await store().closeConnection('c1', 'u1')).toEqual({ closed: true, transition: 'remove-connection' });
    const [items = []] = transactions();
    expect(items[0]?.Update?.ConditionExpression).toBe(
      '#status = :online AND #connections > :one AND ' +
        '(attribute_not_exists(#pageConnectionId) OR #pageConnectionId <> :connectionId)',
    );
    expect(items[1]?.Delete).toEqual({
      TableName: 'Connections',
      Key: { connectionId: 'c1', realTimeItemKey: '$connection#c1' },
      ConditionExpression: 'attribute_exists(connectionId)',
    });
  });

  test('the last tab takes the user offline and clears the page', async () => {
    ddb.on(GetCommand).resolves(online(1));
    ddb.on(TransactWriteCommand).resolves({});
    expect(await store().closeConnection('c1', 'u1')).toEqual({ closed: true, transition: 'go-offline' });
    expect(presenceUpdate(transactions()[0] ?? [])).toMatch(/#status = :offline.*REMOVE #page, #pageConnectionId$/);
  });

  test('closing the tab that set the page takes the page down (latestPage stays), on condition it still owns it', async () => {
    ddb.on(GetCommand).resolves(onlineWithPage(2, 'c1'));
    ddb.on(TransactWriteCommand).resolves({});
    expect(await store().closeConnection('c1', 'u1')).toEqual({ closed: true, transition: 'remove-connection' });
    const update = transactions()[0]?.[0]?.Update;
    expect(update?.UpdateExpression).toBe(
      'SET #connections = #connections - :one, #lastSeenAt = :now, #transition = :update REMOVE #page, #pageConnectionId',
    );
    expect(update?.UpdateExpression).not.toContain('latestPage');
    expect(update?.ConditionExpression).toBe(
      '#status = :online AND #connections > :one AND #pageConnectionId = :connectionId',
    );
    expect(update?.ExpressionAttributeValues).toMatchObject({ ':connectionId': 'c1' });
    expect(update?.ExpressionAttributeNames).toMatchObject({
      '#page': 'page',
      '#pageConnectionId': 'pageConnectionId',
    });
  });

  test('closing another tab keeps the page, guarded so that a page this tab sets meanwhile is not kept', async () => {
    ddb.on(GetCommand).resolves(onlineWithPage(2, 'c2'));
    ddb.on(TransactWriteCommand).resolves({});
    await store().closeConnection('c1', 'u1');
    const update = transactions()[0]?.[0]?.Update;
    expect(update?.UpdateExpression).not.toContain('REMOVE');
    expect(update?.ConditionExpression).toContain('#pageConnectionId <> :connectionId');
    expect(update?.ExpressionAttributeValues).toMatchObject({ ':connectionId': 'c1' });
  });

  test('a page change racing the close is never lost or left behind: the cancelled close re-reads and picks again', async () => {
    // Read: c2 owns the page; c1 then sets its own page, so keeping the page is refused; the re-read picks removal.
    ddb.on(GetCommand).resolvesOnce(onlineWithPage(2, 'c2')).resolves(onlineWithPage(2, 'c1'));
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled('ConditionalCheckFailed', 'None')).resolves({});
    expect(await store().closeConnection('c1', 'u1')).toEqual({ closed: true, transition: 'remove-connection' });
    expect(transactions().map((items) => items[0]?.Update?.UpdateExpression?.includes('REMOVE #page'))).toEqual([
      false,
      true,
    ]);
    // And the converse: c1 owned the page when read, c2 replaced it since; c2's page is kept.
    ddb.reset();
    ddb.on(GetCommand).resolvesOnce(onlineWithPage(2, 'c1')).resolves(onlineWithPage(2, 'c2'));
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled('ConditionalCheckFailed', 'None')).resolves({});
    await store().closeConnection('c1', 'u1');
    expect(transactions().map((items) => items[0]?.Update?.UpdateExpression?.includes('REMOVE #page'))).toEqual([
      true,
      false,
    ]);
  });

  test('both tabs closing at once: the one that read "2" loses, re-reads "1" and takes the user offline', async () => {
    ddb.on(GetCommand).resolvesOnce(online(2)).resolves(online(1));
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled('ConditionalCheckFailed', 'None')).resolves({});
    expect(await store().closeConnection('c2', 'u1')).toEqual({ closed: true, transition: 'go-offline' });
  });

  test('$disconnect and the sweep racing: whoever finds the row gone does not touch presence', async () => {
    ddb.on(GetCommand).resolves(online(1));
    ddb.on(TransactWriteCommand).rejects(cancelled('None', 'ConditionalCheckFailed'));
    expect(await store().closeConnection('c1', 'u1')).toEqual({ closed: false });
    expect(transactions()).toHaveLength(1);
  });

  test('a presence that is not online only deletes the row, guarded by a condition check', async () => {
    ddb.on(GetCommand).resolves({});
    ddb.on(TransactWriteCommand).resolves({});
    expect(await store().closeConnection('c1', 'u1')).toEqual({ closed: true, transition: 'settle-only' });
    expect(transactions()[0]?.[0]?.ConditionCheck?.ConditionExpression).toBe(
      'attribute_not_exists(#key) OR #status <> :online',
    );
  });
});

describe('pages', () => {
  const page = { url: 'https://example.com/b', title: 'B', domain: 'example.com' };

  test('a new page is written with latestPage and its connection, only when it differs and the connection is live', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    expect(await store().setPage('u1', 'c1', page)).toBe('changed');
    const [items = []] = transactions();
    expect(items[0]?.Update).toMatchObject({
      TableName: 'Data',
      Key: { vehicleId: 'presence:u1', itemId: 'state' },
      UpdateExpression:
        'SET #page = :page, #latestPage = :page, #pageConnectionId = :connectionId, #lastSeenAt = :now, ' +
        '#transition = :update',
      ConditionExpression:
        '#status = :online AND (attribute_not_exists(#page) OR #page.#url <> :url OR #page.#title <> :title)',
    });
    expect(items[0]?.Update?.ExpressionAttributeValues).toMatchObject({ ':page': page, ':connectionId': 'c1' });
    expect(items[1]).toEqual({
      ConditionCheck: {
        TableName: 'Connections',
        Key: { connectionId: 'c1', realTimeItemKey: '$connection#c1' },
        ConditionExpression: 'attribute_exists(connectionId)',
      },
    });
  });

  test('hiding removes the page and its connection, and keeps latestPage', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    expect(await store().setPage('u1', 'c1', undefined)).toBe('changed');
    expect(presenceUpdate(transactions()[0] ?? [])).toBe(
      'SET #lastSeenAt = :now, #transition = :update REMOVE #page, #pageConnectionId',
    );
  });

  test('a failed condition means "unchanged" for an online user and "offline" otherwise', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled('ConditionalCheckFailed', 'None'));
    ddb
      .on(GetCommand)
      .resolvesOnce(online(1, { page, latestPage: page, pageConnectionId: 'c1' }))
      .resolves({ Item: { status: 'offline', connections: 0 } });
    expect(await store().setPage('u1', 'c1', page)).toBe('unchanged');
    expect(await store().setPage('u1', 'c1', page)).toBe('offline');
    expect(transactions()).toHaveLength(2);
  });

  test('a page update from a connection that has ended writes nothing and says "offline"', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled('None', 'ConditionalCheckFailed'));
    expect(await store().setPage('u1', 'c1', page)).toBe('offline');
    expect(transactions()).toHaveLength(1);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });

  test('the same page from another tab moves the page to that tab without changing what watchers see', async () => {
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled('ConditionalCheckFailed', 'None')).resolves({});
    ddb.on(GetCommand).resolves(online(2, { page, latestPage: page, pageConnectionId: 'c2' }));
    expect(await store().setPage('u1', 'c1', page)).toBe('unchanged');
    const adopted = transactions()[1] ?? [];
    expect(adopted[0]?.Update).toMatchObject({
      UpdateExpression: 'SET #pageConnectionId = :connectionId, #transition = :update',
      ConditionExpression: '#status = :online AND #page.#url = :url AND #page.#title = :title',
      ExpressionAttributeValues: expect.objectContaining({ ':connectionId': 'c1', ':url': page.url }),
    });
    expect(adopted[1]?.ConditionCheck?.Key).toEqual({ connectionId: 'c1', realTimeItemKey: '$connection#c1' });
  });

  test('a page update meeting a connect or close transaction is retried', async () => {
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled('TransactionConflict', 'None')).resolves({});
    ddb.on(GetCommand).resolves(online(2, { page: shown, latestPage: shown, pageConnectionId: 'c2' }));
    expect(await store().setPage('u1', 'c1', page)).toBe('changed');
    expect(transactions().map(presenceUpdate)).toEqual([
      expect.stringContaining('SET #page = :page'),
      expect.stringContaining('SET #page = :page'),
    ]);
  });
});

describe('reading many', () => {
  test('unprocessed keys are asked again; missing users are left out', async () => {
    ddb
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: { Data: [online(1).Item] },
        UnprocessedKeys: { Data: { Keys: [{ vehicleId: 'presence:u2', itemId: 'state' }] } },
      })
      .resolves({ Responses: { Data: [{ ...online(2).Item, vehicleId: 'presence:u2' }] } });

    const found = await store().getMany(['u1', 'u2', 'u3', 'u1']);

    expect([...found.keys()]).toEqual(['u1', 'u2']);
    expect(found.get('u2')).toMatchObject({ status: 'online', connections: 2 });
    const calls = ddb.commandCalls(BatchGetCommand);
    expect(calls[0]?.args[0].input.RequestItems?.Data?.Keys).toHaveLength(3);
    expect(calls[1]?.args[0].input.RequestItems?.Data?.Keys).toEqual([{ vehicleId: 'presence:u2', itemId: 'state' }]);
  });

  test('more than 100 users take several requests', async () => {
    ddb.on(BatchGetCommand).resolves({ Responses: { Data: [] } });
    await store().getMany(Array.from({ length: 150 }, (_, i) => `u${i}`));
    expect(ddb.commandCalls(BatchGetCommand).map((c) => c.args[0].input.RequestItems?.Data?.Keys?.length)).toEqual([
      100, 50,
    ]);
  });
});

describe('removing a friendship', () => {
  const friends = () => createFriendStore({ ddb: documents, dataTable: 'Data', keyAttribute: 'vehicleId' });

  test('a subscription checking the rows at that moment (TransactionConflict) is waited out, not reported as gone', async () => {
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled('TransactionConflict', 'None')).resolves({});
    expect(await friends().remove('u1', 'u2')).toBe('done');
    expect(transactions()).toHaveLength(2);
  });

  test('a pair already gone is a conflict at once; one that keeps conflicting is a retryable StorageError', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled('ConditionalCheckFailed', 'None'));
    expect(await friends().remove('u1', 'u2')).toBe('conflict');
    expect(transactions()).toHaveLength(1);
    ddb.reset();
    ddb.on(TransactWriteCommand).rejects(cancelled('None', 'TransactionConflict'));
    await expect(friends().remove('u1', 'u2')).rejects.toMatchObject({ name: 'StorageError', retryable: true });
    expect(transactions()).toHaveLength(3);
  });
});
