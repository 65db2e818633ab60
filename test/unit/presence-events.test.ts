import { EventBridgeClient, InternalException, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { streamEvent, streamRecord } from '@real-time-platform/test-support';
import { mockClient } from 'aws-sdk-client-mock';
import { createEventBus } from '../../src/adapters/event-bus';
import { publishPresenceEvents } from '../../src/handlers/logic/presence-events';
import { captureLog } from '../helpers/fakes';

// Presence changes from the stream → EventBridge PutEvents, 10 entries a call, failed entries retried.

const client = new EventBridgeClient({ region: 'eu-west-1' });
const eventBridge = mockClient(client);

const presenceRecord = (n: number, state: Record<string, unknown> = {}) =>
  streamRecord({
    key: `presence:u${n}`,
    itemId: 'state',
    seq: n,
    event: 'MODIFY',
    item: { userId: `u${n}`, status: 'online', connections: 1, transition: 'join', ...state },
  });

const publish = (records: unknown[], logger = captureLog()) =>
  publishPresenceEvents(
    {
      events: createEventBus(client),
      eventBusName: 'presence-bus',
      keyAttribute: 'vehicleId',
      logger,
      sleep: async () => undefined,
    },
    streamEvent(records),
  );
const sentEntries = () => eventBridge.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries ?? []);

beforeEach(() => eventBridge.reset());
afterAll(() => eventBridge.restore());

test('each change becomes one event with the documented shape', async () => {
  eventBridge
    .on(PutEventsCommand)
    .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }, { EventId: 'e2' }, { EventId: 'e3' }] });
  const page = { url: 'https://example.com/a', title: 'A', domain: 'example.com' };

  const result = await publish([
    presenceRecord(1),
    presenceRecord(2, { status: 'offline', connections: 0, transition: 'leave' }),
    presenceRecord(3, { connections: 2, transition: 'update', page }),
  ]);

  expect(result).toEqual({ batchItemFailures: [] });
  const [entries = []] = sentEntries();
  expect(entries.map((e) => e.DetailType)).toEqual(['presence.connected', 'presence.disconnected', 'presence.updated']);
  expect(entries[2]).toMatchObject({ Source: 'rtp.presence', EventBusName: 'presence-bus' });
  expect(JSON.parse(entries[2]?.Detail ?? '')).toEqual({
    userId: 'u3',
    status: 'online',
    connections: 2,
    page,
    at: 1763800000000,
    seq: '000000000000000000003',
  });
});

test('25 records → 3 calls of at most 10 entries', async () => {
  eventBridge.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({
    FailedEntryCount: 0,
    Entries: input.Entries.map((_, i) => ({ EventId: `e${i}` })),
  }));
  const result = await publish(Array.from({ length: 25 }, (_, i) => presenceRecord(i + 1)));
  expect(result.batchItemFailures).toEqual([]);
  expect(sentEntries().map((entries) => entries.length)).toEqual([10, 10, 5]);
});

test('entries PutEvents reports failed are sent again, and only those', async () => {
  eventBridge
    .on(PutEventsCommand)
    .resolvesOnce({
      FailedEntryCount: 2,
      Entries: [
        { EventId: 'e1' },
        { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' },
        { EventId: 'e3' },
        { ErrorCode: 'InternalFailure', ErrorMessage: 'oops' },
      ],
    })
    .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e2' }, { EventId: 'e4' }] });

  const result = await publish([1, 2, 3, 4].map((n) => presenceRecord(n)));

  expect(result.batchItemFailures).toEqual([]);
  const [, retry = []] = sentEntries();
  expect(retry.map((entry) => JSON.parse(entry.Detail ?? '').userId)).toEqual(['u2', 'u4']);
});

test('what still fails after the retries is logged and reported for re-delivery', async () => {
  eventBridge.on(PutEventsCommand).callsFake((input: { Entries: { Detail: string }[] }) => ({
    FailedEntryCount: 1,
    Entries: input.Entries.map((entry) =>
      JSON.parse(entry.Detail).userId === 'u2'
        ? { ErrorCode: 'InternalFailure', ErrorMessage: 'down' }
        : { EventId: 'x' },
    ),
  }));
  const logger = captureLog();

  const result = await publish(
    [1, 2, 3].map((n) => presenceRecord(n)),
    logger,
  );

  expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: '000000000000000000002' }] });
  expect(sentEntries()).toHaveLength(4);
  const error = logger.lines.find((line) => line.level === 'error');
  expect(error?.fields).toMatchObject({
    count: 1,
    failed: [{ seq: '000000000000000000002', reason: 'InternalFailure: down' }],
  });
});

test('a call that throws counts as every entry failed, and is retried', async () => {
  eventBridge
    .on(PutEventsCommand)
    .rejectsOnce(new InternalException({ $metadata: {}, message: 'internal' }))
    .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });
  expect(await publish([presenceRecord(1)])).toEqual({ batchItemFailures: [] });
  expect(sentEntries()).toHaveLength(2);
});

test('records that are not presence items, or unreadable, are skipped without a call', async () => {
  const other = streamRecord({ key: 'vehicle-3', seq: 7 });
  const notState = streamRecord({ key: 'presence:u1', itemId: 'history', seq: 8 });
  expect(await publish([other, notState, { junk: true }])).toEqual({ batchItemFailures: [] });
  expect(sentEntries()).toHaveLength(0);
});
