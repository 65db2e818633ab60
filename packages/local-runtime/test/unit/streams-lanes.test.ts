import type { DynamoDBRecord } from 'aws-lambda';
import { laneOf } from '../../src/streams/lanes';

const record = (pk: string, sk = 'latest'): DynamoDBRecord => ({
  dynamodb: { Keys: { pk: { S: pk }, sk: { S: sk } } },
});

describe('ParallelizationFactor lanes', () => {
  test('every record of a partition key goes to the same lane, whatever its sort key', () => {
    for (const pk of ['a', 'b', 'vehicle-7', 'presence:u1', '']) {
      const lanes = new Set(['1', '2', 'latest', '$snapshot#c#r'].map((sk) => laneOf(record(pk, sk), 'pk', 4)));
      expect(lanes.size).toBe(1);
    }
  });

  test('keys spread over every lane', () => {
    const lanes = new Set(Array.from({ length: 200 }, (_, i) => laneOf(record(`key-${i}`), 'pk', 10)));
    expect(lanes).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
  });

  test('one lane with a factor of 1, or when the partition key is not known', () => {
    expect(laneOf(record('x'), 'pk', 1)).toBe(0);
    expect(laneOf(record('x'), undefined, 4)).toBe(0);
    expect(laneOf({ dynamodb: {} }, 'pk', 4)).toBe(0);
  });
});
