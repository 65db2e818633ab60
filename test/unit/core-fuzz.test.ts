import { streamRecord } from '@real-time-platform/test-support';
import fc from 'fast-check';
import { runFanout } from '../../src/handlers/logic/fanout';
import { createMessageHandler } from '../../src/handlers/logic/message';
import { wsEvent } from '../helpers/events';
import {
  captureLog,
  MemoryConnections,
  memoryData,
  RecordingSender,
  recordingSnapshotRequests,
} from '../helpers/fakes';
import { MemoryPresence, publicKeys } from '../helpers/presence-fakes';

// Properties: nothing a client sends and nothing a stream delivers makes a handler throw; every frame body gets
// exactly one reply, and every record is either delivered, skipped or reported — never lost silently.

const jsonish = fc.oneof(
  fc.string(),
  fc.json(),
  fc
    .record({
      action: fc.constantFrom('subscribe', 'unsubscribe', 'heartbeat', 'update-presence', 'x'),
      keys: fc.anything(),
      snapshot: fc.anything(),
    })
    .map((v) => JSON.stringify(v)),
  fc.record({ keys: fc.array(fc.string({ unit: 'binary' }), { maxLength: 25 }) }).map((v) => JSON.stringify(v)),
);

describe('robustness properties', () => {
  test('no frame body on any route makes the message handler throw; each gets one reply', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('$default', 'subscribe', 'unsubscribe', 'heartbeat', 'update-presence', 'other'),
        fc.option(jsonish),
        async (routeKey, body) => {
          const sender = new RecordingSender();
          const connections = new MemoryConnections();
          const handle = createMessageHandler({
            connections,
            snapshots: recordingSnapshotRequests(),
            sender,
            keyAccess: publicKeys,
            presence: new MemoryPresence(connections),
            logger: captureLog(),
          });
          const event = wsEvent({ routeKey, connectionId: 'me' });
          if (body !== null) event.body = body;
          const result = await handle(event);
          expect([200, 500]).toContain(result.statusCode);
          const replies = sender.messagesTo('me');
          expect(replies.length).toBeGreaterThanOrEqual(1);
          if (replies[0]?.type === 'error') expect(typeof replies[0].message).toBe('string');
        },
      ),
      { numRuns: 300 },
    );
  });

  const attributeValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.record({ S: fc.string() }),
      fc.record({ N: fc.oneof(fc.string(), fc.double().map(String), fc.bigInt().map(String)) }),
      fc.record({ BOOL: fc.anything() }),
      fc.record({ NULL: fc.constant(true) }),
      fc.record({ B: fc.oneof(fc.base64String(), fc.anything()) }),
      fc.record({ SS: fc.anything() }),
      fc.record({ L: fc.array(tie('value'), { maxLength: 3 }) }),
      fc.record({ M: fc.dictionary(fc.string(), tie('value'), { maxKeys: 3 }) }),
      fc.anything(),
    ),
  })).value;

  const record = fc.oneof(
    fc.anything(),
    fc
      .record({
        key: fc.string(),
        seq: fc.nat(),
        event: fc.constantFrom('INSERT', 'MODIFY', 'REMOVE') as fc.Arbitrary<'INSERT'>,
      })
      .map((r) => streamRecord(r)),
    fc.record(
      {
        eventName: fc.oneof(fc.constantFrom('INSERT', 'MODIFY', 'REMOVE'), fc.anything()),
        dynamodb: fc.record(
          {
            SequenceNumber: fc.oneof(fc.nat().map(String), fc.anything()),
            ApproximateCreationDateTime: fc.anything(),
            NewImage: fc.dictionary(fc.constantFrom('vehicleId', 'itemId', 'x'), attributeValue),
            OldImage: fc.anything(),
            Keys: fc.anything(),
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    ),
  );

  test('no stream batch makes the fan-out throw; each valid record is delivered or reported', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(record, { maxLength: 12 }), async (records) => {
        // Connection "a" listens to every key, so every record that is not skipped must reach it exactly once.
        const connections = new MemoryConnections();
        connections.subscribersOf = async () => ['a'];
        const sender = new RecordingSender();
        const { response, summary } = await runFanout(
          {
            connections,
            sender,
            keyAttribute: 'vehicleId',
            concurrency: 3,
            logger: captureLog(),
            snapshots: { reader: memoryData({}) },
          },
          { Records: records },
        );
        expect(summary.records).toBe(records.length);
        expect(sender.messagesTo('a')).toHaveLength(records.length - summary.skipped);
        expect(response.batchItemFailures).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});
