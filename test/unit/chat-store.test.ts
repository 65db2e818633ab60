import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  DynamoDBServiceException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { type Conversation, MAX_PARTICIPANTS } from '@real-time-platform/protocol';
import { mockClient } from 'aws-sdk-client-mock';
import { createChatStore, createConversationCache } from '../../src/adapters/chat-store';
import { StorageError } from '../../src/lib/errors';

const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
const mock = mockClient(documents);
const NOW = Date.parse('2026-11-22T08:00:00.000Z');
const CID = 'g_01JQ0000000000000000000000';
const sleeps: number[] = [];

function store(overrides: Partial<Parameters<typeof createChatStore>[0]> = {}) {
  return createChatStore({
    ddb: documents,
    tableName: 'RealTimeData-test',
    keyAttribute: 'vehicleId',
    cache: createConversationCache(),
    now: () => NOW,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...overrides,
  });
}

function cancelled(...codes: string[]) {
  return new TransactionCanceledException({
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(', ')}]`,
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
}

/** The state item's answers, in turn (the last repeats). */
function counterReads(...lastSeqs: number[]) {
  const answers = [...lastSeqs];
  mock.on(GetCommand, { Key: { vehicleId: `$chat:${CID}`, itemId: 'state' } }).callsFake(async () => {
    const lastSeq = answers.length > 1 ? answers.shift() : answers[0];
    return { Item: { vehicleId: `$chat:${CID}`, itemId: 'state', lastSeq, lastMessageAt: '2026-11-22T07:00:00.000Z' } };
  });
}

const transactions = () =>
  mock.commandCalls(TransactWriteCommand).map((call) => call.args[0].input.TransactItems ?? []);

beforeEach(() => {
  mock.reset();
  sleeps.length = 0;
});

describe('appendMessage', () => {
  test('one transaction: the counter moves from n-1 to n only if still n-1, and message n is put with it', async () => {
    counterReads(41);
    mock.on(TransactWriteCommand).resolves({});
    const result = await store().appendMessage({
      conversationId: CID,
      senderId: 'u1',
      content: 'hi',
      tempMessageId: 't-1',
    });
    expect(result).toEqual({
      status: 'stored',
      message: {
        messageId: '000000000042',
        conversationId: CID,
        senderId: 'u1',
        content: 'hi',
        sentAt: '2026-11-22T08:00:00.000Z',
        tempMessageId: 't-1',
      },
    });
    const [items] = transactions();
    expect(items?.[0]?.Update).toMatchObject({
      Key: { vehicleId: `$chat:${CID}`, itemId: 'state' },
      ConditionExpression: 'lastSeq = :previous',
      ExpressionAttributeValues: { ':seq': 42, ':previous': 41 },
    });
    expect(items?.[1]?.Put).toMatchObject({
      Item: { vehicleId: `chat:${CID}`, itemId: 'msg#000000000042', messageId: '000000000042', senderId: 'u1' },
      ConditionExpression: 'attribute_not_exists(itemId)',
    });
    expect(items?.[2]?.Put).toMatchObject({
      Item: {
        vehicleId: `$chat-sent:${CID}`,
        itemId: 'u1#t-1',
        messageId: '000000000042',
        contentHash: expect.stringMatching(/^[\w-]{43}$/),
        expiresAt: Math.floor(NOW / 1000) + 86400,
      },
      // Only the same content under the same tempMessageId, within 24 h, is a re-send.
      ConditionExpression: 'attribute_not_exists(itemId) OR contentHash <> :hash OR expiresAt < :now',
    });
  });

  test('a sender that loses the race re-reads the counter and takes the next number (no gap, no duplicate number)', async () => {
    counterReads(4, 5, 5);
    mock
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled('ConditionalCheckFailed', 'None'))
      .rejectsOnce(cancelled('TransactionConflict', 'None'))
      .resolves({});
    const result = await store().appendMessage({ conversationId: CID, senderId: 'u2', content: 'hello' });
    expect(result).toMatchObject({ status: 'stored', message: { messageId: '000000000006' } });
    expect(transactions().map((items) => items[1]?.Put?.Item?.itemId)).toEqual([
      'msg#000000000005',
      'msg#000000000006',
      'msg#000000000006',
    ]);
    expect(transactions()).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
  });

  test('a lost race that returns the counter (ReturnValuesOnConditionCheckFailure) retries without another read', async () => {
    counterReads(4);
    const lost = cancelled('ConditionalCheckFailed', 'None');
    (lost.CancellationReasons as { Item?: unknown }[])[0] = {
      ...lost.CancellationReasons?.[0],
      Item: { lastSeq: { N: '9' }, lastMessageAt: { S: '2026-11-22T07:30:00.000Z' } },
    };
    mock.on(TransactWriteCommand).rejectsOnce(lost).resolves({});
    const result = await store().appendMessage({ conversationId: CID, senderId: 'u2', content: 'hello' });
    expect(result).toMatchObject({ status: 'stored', message: { messageId: '000000000010' } });
    expect(transactions()[0]?.[0]?.Update?.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
    expect(mock.commandCalls(GetCommand)).toHaveLength(1);
  });

  test('a re-sent tempMessageId stores nothing and returns the message stored then, as stored', async () => {
    counterReads(7);
    mock.on(TransactWriteCommand).rejects(cancelled('None', 'None', 'ConditionalCheckFailed'));
    mock
      .on(GetCommand, { Key: { vehicleId: `$chat-sent:${CID}`, itemId: 'u1#t-1' } })
      .resolves({ Item: { messageId: '000000000003' } });
    const original = {
      messageId: '000000000003',
      conversationId: CID,
      senderId: 'u1',
      content: 'hi',
      sentAt: '2026-11-22T07:00:00.000Z',
      tempMessageId: 't-1',
    };
    const item = { vehicleId: `chat:${CID}`, itemId: 'msg#000000000003', ...original };
    mock.on(GetCommand, { Key: { vehicleId: `chat:${CID}`, itemId: 'msg#000000000003' } }).resolves({ Item: item });
    const resend = () =>
      store().appendMessage({ conversationId: CID, senderId: 'u1', content: 'hi', tempMessageId: 't-1' });
    expect(await resend()).toEqual({ status: 'duplicate', message: original, item });
    expect(transactions()).toHaveLength(1);

    // The row names a message that is not there (cannot happen: both are written in one transaction): an error, not
    // a made-up answer.
    mock.on(GetCommand, { Key: { vehicleId: `chat:${CID}`, itemId: 'msg#000000000003' } }).resolves({});
    await expect(resend()).rejects.toMatchObject({ name: 'StorageError', retryable: false });
  });

  test('contention that outlasts the attempts is a retryable StorageError; other errors are not retried', async () => {
    counterReads(1);
    mock.on(TransactWriteCommand).rejects(cancelled('ConditionalCheckFailed', 'None'));
    const busy = await store({ maxAttempts: 3 })
      .appendMessage({ conversationId: CID, senderId: 'u1', content: 'x' })
      .catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(StorageError);
    expect(busy).toMatchObject({ retryable: true });
    expect(transactions()).toHaveLength(3);

    // Whatever the attempts, retries stop within the time budget (well inside the function's timeout).
    mock.reset();
    counterReads(1);
    mock.on(TransactWriteCommand).rejects(cancelled('TransactionConflict', 'None'));
    let clock = NOW;
    const slow = store({ now: () => (clock += 1000), appendBudgetMs: 5000 });
    await expect(slow.appendMessage({ conversationId: CID, senderId: 'u1', content: 'x' })).rejects.toMatchObject({
      retryable: true,
    });
    expect(transactions().length).toBeLessThanOrEqual(3);

    mock.reset();
    counterReads(1);
    // DynamoDB's ValidationException has no class of its own in the SDK: it is the service exception with that name.
    const validation = new DynamoDBServiceException({
      name: 'ValidationException',
      $fault: 'client',
      message: 'Item size has exceeded the maximum allowed size',
      $metadata: { httpStatusCode: 400 },
    });
    mock.on(TransactWriteCommand).rejects(validation);
    const invalid = await store()
      .appendMessage({ conversationId: CID, senderId: 'u1', content: 'x' })
      .catch((e: unknown) => e);
    expect(invalid).toMatchObject({ name: 'StorageError', retryable: false });
    expect(transactions()).toHaveLength(1);
  });

  test('sentAt is the server time but never earlier than the previous message (clock skew between containers)', async () => {
    counterReads(1);
    mock.on(TransactWriteCommand).resolves({});
    const early = store({ now: () => Date.parse('2026-11-22T06:00:00.000Z') });
    const result = await early.appendMessage({ conversationId: CID, senderId: 'u1', content: 'x' });
    expect(result).toMatchObject({ message: { sentAt: '2026-11-22T07:00:00.000Z' } });
  });
});

describe('conversations', () => {
  const conversation: Conversation = {
    conversationId: 'd_AAAAAAAAAAAAAAAAAAAAAA',
    type: 'direct',
    participants: ['u1', 'u2'],
    createdBy: 'u1',
    createdAt: '2026-11-22T08:00:00.000Z',
  };

  test('by default, creation checks nobody: ids were checked for shape, a user who never connected can be named', async () => {
    mock.on(TransactWriteCommand).resolves({});
    expect(await store().createConversation(conversation)).toEqual({ status: 'created', conversation });
    expect(transactions()[0]?.map((item) => Object.keys(item)[0])).toEqual(['Put', 'Put', 'Put', 'Put']);
  });

  test('creation is one transaction: description and counter only if new, one index row per participant, the others known', async () => {
    mock.on(TransactWriteCommand).resolves({});
    const chat = store();
    expect(await chat.createConversation(conversation, { requireKnownUsers: true })).toEqual({
      status: 'created',
      conversation,
    });
    const [items] = transactions();
    expect(
      items?.map((item) => {
        const write = item.Put ?? item.ConditionCheck;
        const key = item.Put?.Item ?? item.ConditionCheck?.Key;
        return [Object.keys(item)[0], key?.vehicleId, key?.itemId, write?.ConditionExpression];
      }),
    ).toEqual([
      ['Put', `chat:${conversation.conversationId}`, 'conversation', 'attribute_not_exists(itemId)'],
      ['Put', `$chat:${conversation.conversationId}`, 'state', 'attribute_not_exists(itemId)'],
      ['Put', '$user-conversations:u1', conversation.conversationId, undefined],
      ['Put', '$user-conversations:u2', conversation.conversationId, undefined],
      // u2 has connected once (their presence item exists); u1 is the signed-in creator.
      ['ConditionCheck', 'presence:u2', 'state', 'attribute_exists(itemId)'],
    ]);
    // Cached: membership checks after creation cost no read.
    expect(await chat.getConversation(conversation.conversationId)).toEqual(conversation);
    expect(mock.commandCalls(GetCommand)).toHaveLength(0);
  });

  test('a conversation that exists already is returned, not overwritten; a conflict is retried', async () => {
    const existing = { ...conversation, createdBy: 'u2', createdAt: '2026-11-01T00:00:00.000Z' };
    mock
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled('TransactionConflict', 'None', 'None', 'None'))
      .rejects(cancelled('ConditionalCheckFailed', 'ConditionalCheckFailed', 'None', 'None'));
    mock.on(GetCommand).resolves({ Item: { vehicleId: 'x', itemId: 'conversation', ...existing } });
    expect(await store().createConversation(conversation)).toEqual({ status: 'exists', conversation: existing });
    expect(transactions()).toHaveLength(2);
  });

  test('participants who have never connected are named; the transaction wrote nothing and is not retried', async () => {
    const group: Conversation = {
      conversationId: CID,
      type: 'group',
      title: 'T',
      participants: ['u1', 'u2', 'u3', 'u4'],
      createdBy: 'u2',
      createdAt: '2026-11-22T08:00:00.000Z',
    };
    // Items: description, counter, 4 index rows, then the checks of u1, u3, u4 (not of the creator u2).
    mock
      .on(TransactWriteCommand)
      .rejects(
        cancelled(
          'None',
          'None',
          'None',
          'None',
          'None',
          'None',
          'ConditionalCheckFailed',
          'None',
          'ConditionalCheckFailed',
        ),
      );
    const chat = store();
    expect(await chat.createConversation(group, { requireKnownUsers: true })).toEqual({
      status: 'unknown-users',
      userIds: ['u1', 'u4'],
    });
    expect(transactions()).toHaveLength(1);
    expect(
      transactions()[0]
        ?.slice(6)
        .map((item) => item.ConditionCheck?.Key?.vehicleId),
    ).toEqual(['presence:u1', 'presence:u3', 'presence:u4']);
    // Not cached: nobody may read a conversation that was never written.
    mock.on(GetCommand).resolves({});
    expect(await chat.getConversation(CID)).toBeUndefined();
  });

  test('the largest conversation fits one transaction (at most 100 items)', async () => {
    mock.on(TransactWriteCommand).resolves({});
    const participants = Array.from({ length: MAX_PARTICIPANTS }, (_, i) => `u${i}`);
    await store().createConversation(
      { ...conversation, type: 'group', title: 'T', participants, createdBy: 'u0' },
      { requireKnownUsers: true },
    );
    expect(transactions()[0]).toHaveLength(2 + MAX_PARTICIPANTS + MAX_PARTICIPANTS - 1);
    expect(transactions()[0]?.length).toBeLessThanOrEqual(100);
  });

  test('unknown conversations are not cached (a direct conversation may be created any moment)', async () => {
    mock
      .on(GetCommand)
      .resolvesOnce({})
      .resolves({ Item: { ...conversation } });
    const chat = store();
    expect(await chat.getConversation(conversation.conversationId)).toBeUndefined();
    expect(await chat.getConversation(conversation.conversationId)).toEqual(conversation);
    expect(await chat.getConversation(conversation.conversationId)).toEqual(conversation);
    expect(mock.commandCalls(GetCommand)).toHaveLength(2);
  });

  test('read markers only move forward (a refused condition is "already there", not an error)', async () => {
    mock
      .on(UpdateCommand)
      .resolvesOnce({})
      .rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));
    const receipt = { conversationId: CID, userId: 'u1', upTo: '000000000004', readAt: '2026-11-22T08:00:00.000Z' };
    expect(await store().markRead(receipt)).toBe(true);
    expect(await store().markRead({ ...receipt, upTo: '000000000003' })).toBe(false);
    expect(mock.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      Key: { vehicleId: `chat:${CID}`, itemId: 'read#u1' },
      ConditionExpression: 'attribute_not_exists(upTo) OR upTo < :upTo',
    });
  });

  test('counters of many conversations: 100 keys per BatchGetItem, unprocessed keys sent again', async () => {
    const ids = Array.from({ length: 150 }, (_, i) => `g_${String(i).padStart(26, '0')}`);
    let first = true;
    mock.on(BatchGetCommand).callsFake(async (input) => {
      const keys = input.RequestItems['RealTimeData-test'].Keys as { vehicleId: string }[];
      const answered = first ? keys.slice(1) : keys;
      const unprocessed = first ? keys.slice(0, 1) : [];
      first = false;
      return {
        Responses: {
          'RealTimeData-test': answered.map((key) => ({
            ...key,
            itemId: 'state',
            conversationId: key.vehicleId.slice('$chat:'.length),
            lastSeq: 3,
          })),
        },
        UnprocessedKeys: unprocessed.length ? { 'RealTimeData-test': { Keys: unprocessed } } : {},
      };
    });
    const activities = await store().activitiesOf(ids);
    expect(activities.size).toBe(150);
    expect(
      mock.commandCalls(BatchGetCommand).map((c) => c.args[0].input.RequestItems?.['RealTimeData-test']?.Keys?.length),
    ).toEqual([100, 50, 1]);
  });
});
