import { attributeValue, itemImage, ownEntries } from '@real-time-platform/test-support';
import fc from 'fast-check';
import { toLambdaRecord } from '../../src/streams/records';

// Poison input through the stream reader: GetRecords' JSON of any item a DynamoDB client can write becomes Lambda's
// record with every attribute as written — `__proto__` and `constructor` included — and nothing, valid or not, makes
// the conversion throw (a throw here once stopped every shard of the runtime).

const context = {
  streamArn: 'arn:aws:dynamodb:us-east-1:000000000000:table/T/stream/x',
  region: 'us-east-1',
  readAtMs: 0,
};

/** A record as GetRecords' JSON carries it: parsed from text, so "__proto__" names are own properties. */
function wireRecord(image: Record<string, unknown>, seq: number): unknown {
  const record = {
    eventID: `e${seq}`,
    eventName: 'MODIFY',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'ddblocal',
    dynamodb: {
      ApproximateCreationDateTime: 1_764_000_000,
      Keys: ownEntries([
        ['realTimeItemKey', image.realTimeItemKey],
        ['itemId', image.itemId],
      ]),
      NewImage: image,
      OldImage: image,
      SequenceNumber: String(seq).padStart(21, '0'),
      SizeBytes: 100,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
  return JSON.parse(JSON.stringify(record));
}

test('every image a DynamoDB client can write reaches the function unchanged, hostile names included', () => {
  let images = 0;
  let hostile = 0;
  fc.assert(
    fc.property(fc.array(itemImage('realTimeItemKey'), { minLength: 50, maxLength: 50 }), (batch) => {
      batch.forEach((image, index) => {
        images++;
        const wire = wireRecord(image, index + 1) as { dynamodb: { NewImage: unknown } };
        const buffered = toLambdaRecord(wire, context);
        expect(buffered.problems).toBeUndefined();
        expect(buffered.sequenceNumber).toBe(String(index + 1).padStart(21, '0'));
        // The same attribute names, as own properties, with the same values.
        const delivered = buffered.record.dynamodb?.NewImage as Record<string, unknown>;
        expect(Object.keys(delivered)).toEqual(Object.keys(wire.dynamodb.NewImage as object));
        expect(JSON.stringify(delivered)).toBe(JSON.stringify(wire.dynamodb.NewImage));
        if (/"(__proto__|constructor|prototype)"/.test(JSON.stringify(image))) hostile++;
      });
    }),
    { numRuns: 200 },
  );
  expect(images).toBe(10_000);
  expect(hostile).toBeGreaterThan(1000);
});

test('a record that is not DynamoDB JSON never throws: its problems are named and the rest is kept', () => {
  const malformed = fc.oneof(
    fc.anything(),
    fc.record(
      {
        eventName: fc.oneof(fc.constantFrom('INSERT', 'MODIFY', 'REMOVE'), fc.anything()),
        dynamodb: fc.oneof(
          fc.anything(),
          fc.record(
            {
              SequenceNumber: fc.oneof(fc.nat().map(String), fc.anything()),
              ApproximateCreationDateTime: fc.anything(),
              Keys: fc.oneof(fc.anything(), fc.dictionary(fc.string(), fc.anything())),
              NewImage: fc.oneof(fc.anything(), fc.dictionary(fc.string(), fc.oneof(attributeValue, fc.anything()))),
              OldImage: fc.anything(),
            },
            { requiredKeys: [] },
          ),
        ),
        userIdentity: fc.anything(),
      },
      { requiredKeys: [] },
    ),
  );
  fc.assert(
    fc.property(malformed, (raw) => {
      const buffered = toLambdaRecord(raw, context);
      expect(typeof buffered.sequenceNumber).toBe('string');
      expect(buffered.record.eventSource).toBe('aws:dynamodb');
      if (buffered.problems) for (const problem of buffered.problems) expect(typeof problem).toBe('string');
    }),
    { numRuns: 3000 },
  );
});

test.each([
  ['no keys', { dynamodb: { SequenceNumber: '5', NewImage: { a: { S: 'x' } } } }, 'the record has no Keys'],
  [
    'an image that is not an object',
    { dynamodb: { SequenceNumber: '5', Keys: {}, NewImage: 'x' } },
    'NewImage is not an object',
  ],
  [
    'a value that is not an attribute',
    { dynamodb: { SequenceNumber: '5', Keys: { k: 7 } } },
    'Keys.k is not a DynamoDB attribute value',
  ],
])('a record with %s is named as such and keeps its sequence number', (_name, raw, problem) => {
  const buffered = toLambdaRecord(raw, context);
  expect(buffered.sequenceNumber).toBe('5');
  expect(buffered.problems?.join('; ')).toContain(problem);
});
