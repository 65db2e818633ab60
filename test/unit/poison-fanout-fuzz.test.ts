import { keyProblem } from '@real-time-platform/protocol';
import { itemImage, streamRecord } from '@real-time-platform/test-support';
import fc from 'fast-check';
import { isReservedItemId } from '../../src/domain/reserved-items';
import { runFanout } from '../../src/handlers/logic/fanout';
import { captureLog, MemoryConnections, memoryData, RecordingSender } from '../helpers/fakes';

// Poison input through the fan-out: every item image a DynamoDB client can write — `__proto__`, `constructor`, 64 KB
// names, 32 levels, sets, binaries, 38-digit numbers — is delivered with its attributes as written, or skipped (with
// a log line) only when its key is one no client can subscribe to. A canary key in every batch keeps receiving.

const keyAttribute = 'realTimeItemKey';
const key = fc.oneof(fc.constantFrom('3', 'k'), fc.string({ minLength: 1, maxLength: 4 }));

test('10,000 hostile images through the fan-out: none throws or fails the batch, every deliverable one arrives', async () => {
  let images = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(itemImage(keyAttribute, key), { minLength: 100, maxLength: 100 }), async (batch) => {
      images += batch.length;
      const records = batch.map((image, index) =>
        streamRecord({ key: '', seq: index + 1, event: index % 3 === 0 ? 'INSERT' : 'MODIFY', image, keyAttribute }),
      );
      records.push(streamRecord({ key: 'canary', seq: batch.length + 1, keyAttribute, item: { n: 1 } }));
      const connections = new MemoryConnections();
      connections.subscribersOf = async () => ['a'];
      const sender = new RecordingSender();
      const { response, summary } = await runFanout(
        {
          connections,
          sender,
          keyAttribute,
          concurrency: 4,
          snapshots: { reader: memoryData({}) },
          logger: captureLog(),
        },
        { Records: records },
      );
      const badKey = (image: (typeof batch)[number]) => keyProblem(String(image[keyAttribute]?.S)) !== undefined;
      // A "$" itemId is one of the platform's own rows (a snapshot marker): never sent as an item.
      const reserved = (image: (typeof batch)[number]) =>
        !badKey(image) && typeof image.itemId?.S === 'string' && isReservedItemId(image.itemId.S);
      const undeliverable = batch.filter((image) => badKey(image) || reserved(image));
      expect(response.batchItemFailures).toEqual([]);
      expect(summary.skipped + summary.reserved).toBe(undeliverable.length);
      const frames = sender.messagesTo('a') as { type: string; key: string; item: Record<string, unknown> }[];
      expect(frames).toHaveLength(records.length - undeliverable.length);
      expect(frames.filter((frame) => frame.key === 'canary')).toHaveLength(1);
      const delivered = batch.filter((image) => !undeliverable.includes(image));
      // Attribute names survive as names: the frame of each image lists exactly the image's attributes.
      const byOrder = frames.filter((f) => f.key !== 'canary');
      const perKeyImages = new Map<string, Record<string, unknown>[]>();
      for (const image of delivered) {
        const list = perKeyImages.get(String(image[keyAttribute]?.S)) ?? [];
        list.push(image);
        perKeyImages.set(String(image[keyAttribute]?.S), list);
      }
      const seen = new Map<string, number>();
      for (const frame of byOrder) {
        const position = seen.get(frame.key) ?? 0;
        seen.set(frame.key, position + 1);
        const image = perKeyImages.get(frame.key)?.[position] as Record<string, unknown>;
        if (frame.type === 'item') expect(Object.keys(frame.item).sort()).toEqual(Object.keys(image).sort());
      }
    }),
    { numRuns: 100 },
  );
  expect(images).toBe(10_000);
}, 120_000);
