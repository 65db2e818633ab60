import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { createConnectionRepository } from '../../src/adapters/connection-repository';
import { createPresenceStore } from '../../src/adapters/presence-store';
import { createConnectHandler } from '../../src/handlers/logic/connect';
import { createMessageHandler } from '../../src/handlers/logic/message';
import { createPlatformKeyAccess } from '../../src/handlers/wiring/dependencies';
import { wsEvent } from '../helpers/events';
import { captureLog, RecordingSender, recordingSnapshotRequests } from '../helpers/fakes';

// A grant (calendar share, friendship) taken back between the access decision and the write of the subscription:
// the real handlers, repository, presence store and key access rules over a mocked DynamoDB that answers the share /
// friendship read with "granted" and then cancels the transaction on the ConditionCheck of that row, with the SDK's
// real TransactionCanceledException. The user must see a refusal, and nothing may be written outside the transaction.

const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
const ddb = mockClient(documents);
const keyAttribute = 'vehicleId';

const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({
    $metadata: {},
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(', ')}]`,
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
const transactions = () => ddb.commandCalls(TransactWriteCommand).map((call) => call.args[0].input.TransactItems ?? []);
const asUser = <T extends ReturnType<typeof wsEvent>>(event: T, userId: string): T => {
  if (event.requestContext) event.requestContext.authorizer = { principalId: userId };
  return event;
};
/** The share u1 → u2 and the friendship u2 → u3 exist when the access is decided. */
const granted = () => {
  ddb
    .on(GetCommand, { Key: { [keyAttribute]: '$calendar-shares:u1', itemId: 'u2' } })
    .resolves({ Item: { itemId: 'u2' } });
  ddb
    .on(GetCommand, { Key: { [keyAttribute]: 'friends:u2', itemId: 'u3' } })
    .resolves({ Item: { [keyAttribute]: 'friends:u2', itemId: 'u3', status: 'accepted', since: 1 } });
};
const keyAccess = createPlatformKeyAccess({
  documents,
  dataTableName: 'Data',
  keyAttribute,
  presenceVisibility: 'friends',
});

beforeEach(() => {
  ddb.reset();
  granted();
});
afterAll(() => ddb.restore());

describe('subscribe', () => {
  function setup() {
    const sender = new RecordingSender();
    const logger = captureLog();
    const handle = createMessageHandler({
      connections: createConnectionRepository({
        ddb: documents,
        tableName: 'Connections',
        ttlSeconds: 7800,
        now: () => 1_763_800_000_000,
        batchWrite: { sleep: async () => undefined },
        dataTable: { tableName: 'Data', keyAttribute },
      }),
      snapshots: recordingSnapshotRequests(),
      sender,
      keyAccess,
      presence: { setPage: async () => 'unchanged' },
      logger,
    });
    const subscribe = (keys: string[]) =>
      handle(asUser(wsEvent({ routeKey: 'subscribe', connectionId: 'me', body: { action: 'subscribe', keys } }), 'u2'));
    ddb.on(QueryCommand).resolves({ Items: [] });
    return { sender, logger, subscribe };
  }

  test('the rows and a ConditionCheck on each granting row go in one transaction', async () => {
    const { sender, subscribe } = setup();
    ddb.on(TransactWriteCommand).resolves({});

    await subscribe(['3', 'calendar:u1', 'presence:u3', 'presence:u2']);

    expect(sender.messagesTo('me')).toEqual([
      { type: 'subscribed', keys: ['3', 'calendar:u1', 'presence:u3', 'presence:u2'] },
    ]);
    expect(ddb.commandCalls(BatchWriteCommand)).toHaveLength(0);
    const [items] = transactions();
    expect(items?.slice(0, 4).map((item) => item.Put?.Item?.realTimeItemKey)).toEqual([
      '3',
      'calendar:u1',
      'presence:u3',
      'presence:u2',
    ]);
    // Own presence (presence:u2) and the public key need no check; the share and the friendship do.
    expect(items?.slice(4)).toEqual([
      {
        ConditionCheck: {
          TableName: 'Data',
          Key: { [keyAttribute]: '$calendar-shares:u1', itemId: 'u2' },
          ConditionExpression: 'attribute_exists(#key)',
          ExpressionAttributeNames: { '#key': keyAttribute },
        },
      },
      {
        ConditionCheck: {
          TableName: 'Data',
          Key: { [keyAttribute]: 'friends:u2', itemId: 'u3' },
          ConditionExpression: '#attribute = :expected',
          ExpressionAttributeNames: { '#attribute': 'status' },
          ExpressionAttributeValues: { ':expected': 'accepted' },
        },
      },
    ]);
  });

  test.each([
    // Three rows, then the checks of the share and of the friendship.
    ['a share', 'calendar:u1', ['None', 'None', 'None', 'ConditionalCheckFailed', 'None']],
    ['a friendship', 'presence:u3', ['None', 'None', 'None', 'None', 'ConditionalCheckFailed']],
  ])('%s taken back before the write → FORBIDDEN naming the key, nothing stored', async (_name, key, codes) => {
    const { sender, subscribe } = setup();
    ddb.on(TransactWriteCommand).rejects(cancelled(...codes));

    const result = await subscribe(['3', 'calendar:u1', 'presence:u3']);

    expect(result.statusCode).toBe(200);
    expect(sender.messagesTo('me')).toEqual([
      { type: 'error', code: 'FORBIDDEN', message: expect.stringContaining(JSON.stringify(key)) },
    ]);
    expect(transactions()).toHaveLength(1);
    expect(ddb.commandCalls(BatchWriteCommand)).toHaveLength(0);
  });

  test('a conflicting transaction is retried; throttling answers INTERNAL_ERROR, never "subscribed"', async () => {
    const { sender, subscribe } = setup();
    ddb
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled('None', 'TransactionConflict'))
      .resolvesOnce({})
      .rejects(cancelled('None', 'ThrottlingError'));

    await subscribe(['calendar:u1']);
    await subscribe(['calendar:u1']);

    expect(sender.messagesTo('me')).toEqual([
      { type: 'subscribed', keys: ['calendar:u1'] },
      { type: 'error', code: 'INTERNAL_ERROR', message: 'could not subscribe right now; please retry' },
    ]);
    expect(transactions()).toHaveLength(3);
  });

  test('keys no grant guards are written with BatchWriteItem as before', async () => {
    const { sender, subscribe } = setup();
    ddb.on(BatchWriteCommand).resolves({});
    await subscribe(['3', 'presence:u2']);
    expect(sender.messagesTo('me')).toEqual([{ type: 'subscribed', keys: ['3', 'presence:u2'] }]);
    expect(transactions()).toHaveLength(0);
  });
});

describe('$connect', () => {
  function setup() {
    const logger = captureLog();
    const connect = createConnectHandler({
      connections: createConnectionRepository({ ddb: documents, tableName: 'Connections', ttlSeconds: 7800 }),
      presence: createPresenceStore({
        ddb: documents,
        connectionsTable: 'Connections',
        dataTable: 'Data',
        keyAttribute,
        ttlSeconds: 7800,
        now: () => 1_763_800_000_000,
        sleep: async () => undefined,
      }),
      keyAccess,
      keyName: keyAttribute,
      isQueryParam: true,
      logger,
    });
    const open = (keys: string[]) =>
      connect(asUser(wsEvent({ routeKey: '$connect', connectionId: 'c1', query: { [keyAttribute]: keys } }), 'u2'));
    // u2 has never been seen: no presence yet.
    ddb.on(GetCommand, { Key: { [keyAttribute]: 'presence:u2', itemId: 'state' } }).resolves({});
    return { logger, open };
  }

  test('the share is ConditionChecked in the connect transaction (presence, row, subscriptions, checks)', async () => {
    const { open } = setup();
    ddb.on(TransactWriteCommand).resolves({});

    expect((await open(['calendar:u1'])).statusCode).toBe(200);

    const [items] = transactions();
    expect(items?.map((item) => Object.keys(item)[0])).toEqual(['Update', 'Put', 'Put', 'Put', 'ConditionCheck']);
    expect(items?.[4]?.ConditionCheck?.Key).toEqual({ [keyAttribute]: '$calendar-shares:u1', itemId: 'u2' });
  });

  test('a share taken back before the write → 403 naming the key, nothing stored, no retry', async () => {
    const { open, logger } = setup();
    // presence, connection row, calendar:u1, inbox:u2, then the check of the share.
    ddb.on(TransactWriteCommand).rejects(cancelled('None', 'None', 'None', 'None', 'ConditionalCheckFailed'));

    const result = await open(['calendar:u1']);

    expect(result).toEqual({ statusCode: 403, body: expect.stringMatching(/^Forbidden: .*"calendar:u1"/) });
    expect(transactions()).toHaveLength(1);
    expect(ddb.commandCalls(BatchWriteCommand)).toHaveLength(0);
    expect(logger.lines).toContainEqual(
      expect.objectContaining({ message: 'Connection refused: access taken back meanwhile' }),
    );
  });

  test('a friendship taken back → 403 as well; a presence change at the same time does not hide it', async () => {
    const { open } = setup();
    // presence (changed meanwhile), row, three subscriptions, the share's check, the friendship's (failed).
    ddb
      .on(TransactWriteCommand)
      .rejects(cancelled('ConditionalCheckFailed', 'None', 'None', 'None', 'None', 'None', 'ConditionalCheckFailed'));

    const result = await open(['calendar:u1', 'presence:u3']);

    expect(result).toEqual({ statusCode: 403, body: expect.stringContaining('"presence:u3"') });
    expect(transactions()).toHaveLength(1);
  });
});
