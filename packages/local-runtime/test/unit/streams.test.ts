import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import fc from 'fast-check';
import { parseEventJson } from '../../src/functions/protocol';
import {
  buildOnFailureMessage,
  compareSequenceNumbers,
  compileFilters,
  estimateArrivalMs,
  judgeOutcome,
  StreamFilterPatternError,
  toLambdaRecord,
} from '../../src/streams';
import { recordsPerMegabyte } from '../../src/streams/event-source';
import { batchEvent, EVENT_ENVELOPE_BYTES, toBufferedRecord } from '../../src/streams/records';
import { type InvocationOutcome, SerializedEvent } from '../../src/types';

const streamArn = 'arn:aws:dynamodb:eu-west-1:123456789012:table/RealTimeData/stream/2026-01-01T00:00:00.000';

/** A GetRecords record as the SDK returns it. */
function rawRecord(options: {
  key: string;
  seq: string;
  event?: 'INSERT' | 'MODIFY' | 'REMOVE';
  newImage?: Record<string, unknown>;
  at?: Date;
}): _Record {
  const keys = { pk: { S: options.key }, sk: { S: 'latest' } };
  return {
    eventID: `id-${options.seq}`,
    eventName: options.event ?? 'INSERT',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'ddblocal',
    dynamodb: {
      ApproximateCreationDateTime: options.at ?? new Date('2026-01-01T10:00:00Z'),
      Keys: keys,
      NewImage: { ...keys, ...(options.newImage ?? {}) } as never,
      SequenceNumber: options.seq,
      SizeBytes: 20,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

/** The Lambda-shaped record for a raw one. */
function lambdaRecord(options: Parameters<typeof rawRecord>[0]) {
  return toLambdaRecord(rawRecord(options), { streamArn, region: 'eu-west-1', readAtMs: Date.now() }).record;
}

describe('FilterCriteria patterns', () => {
  const insert = lambdaRecord({ key: 'chat:1', seq: '1', newImage: { speed: { N: '42' }, status: { S: 'active' } } });
  const modify = lambdaRecord({ key: 'presence:9', seq: '2', event: 'MODIFY', newImage: { speed: { N: '7' } } });

  test.each([
    ['eventName exact value', '{"eventName":["INSERT"]}', [true, false]],
    ['several values are ORed', '{"eventName":["MODIFY","INSERT"]}', [true, true]],
    ['key prefix', '{"dynamodb":{"Keys":{"pk":{"S":[{"prefix":"chat:"}]}}}}', [true, false]],
    ['key suffix', '{"dynamodb":{"Keys":{"pk":{"S":[{"suffix":":9"}]}}}}', [false, true]],
    ['anything-but a value', '{"eventName":[{"anything-but":"INSERT"}]}', [false, true]],
    ['anything-but a list', '{"eventName":[{"anything-but":["INSERT","REMOVE"]}]}', [false, true]],
    [
      'anything-but a prefix',
      '{"dynamodb":{"Keys":{"pk":{"S":[{"anything-but":{"prefix":"chat:"}}]}}}}',
      [false, true],
    ],
    ['exists true', '{"dynamodb":{"NewImage":{"status":{"S":[{"exists":true}]}}}}', [true, false]],
    ['exists false', '{"dynamodb":{"NewImage":{"status":{"S":[{"exists":false}]}}}}', [false, true]],
    ['numeric on an N string', '{"dynamodb":{"NewImage":{"speed":{"N":[{"numeric":[">",10]}]}}}}', [true, false]],
    ['numeric range', '{"dynamodb":{"NewImage":{"speed":{"N":[{"numeric":[">=",5,"<",10]}]}}}}', [false, true]],
    ['a number matches an N string', '{"dynamodb":{"NewImage":{"speed":{"N":[42]}}}}', [true, false]],
    ['fields are ANDed', '{"eventName":["INSERT"],"dynamodb":{"Keys":{"pk":{"S":["presence:9"]}}}}', [false, false]],
    ['equals-ignore-case', '{"eventName":[{"equals-ignore-case":"modify"}]}', [false, true]],
    ['wildcard', '{"dynamodb":{"Keys":{"pk":{"S":[{"wildcard":"pre*:9"}]}}}}', [false, true]],
    ['awsRegion', '{"awsRegion":["eu-west-1"]}', [true, true]],
    ['$or', '{"$or":[{"eventName":["MODIFY"]},{"dynamodb":{"Keys":{"pk":{"S":["chat:1"]}}}}]}', [true, true]],
  ])('%s', (_name, pattern, expected) => {
    const filter = compileFilters([pattern]);
    expect([filter(insert), filter(modify)]).toEqual(expected);
  });

  test('filters are ORed; no filters let everything through', () => {
    const either = compileFilters(['{"eventName":["MODIFY"]}', '{"dynamodb":{"Keys":{"pk":{"S":["chat:1"]}}}}']);
    expect([either(insert), either(modify)]).toEqual([true, true]);
    expect(compileFilters([])(insert)).toBe(true);
  });

  test('a record list value (SS, L) matches when any element matches', () => {
    const filter = compileFilters(['{"dynamodb":{"NewImage":{"tags":{"SS":["red"]}}}}']);
    expect(filter(lambdaRecord({ key: 'k', seq: '3', newImage: { tags: { SS: ['blue', 'red'] } } }))).toBe(true);
    expect(filter(lambdaRecord({ key: 'k', seq: '4', newImage: { tags: { SS: ['blue'] } } }))).toBe(false);
  });

  test.each([
    ['not JSON', '{eventName:'],
    ['not an object', '["INSERT"]'],
    ['a bare value instead of a list', '{"eventName":"INSERT"}'],
    ['an empty list', '{"eventName":[]}'],
    ['an unknown operator', '{"eventName":[{"regex":".*"}]}'],
    ['bad numeric bounds', '{"n":[{"numeric":[">","10"]}]}'],
  ])('rejects a pattern that is %s, naming the filter', (_name, pattern) => {
    expect(() => compileFilters(['{"eventName":["INSERT"]}', pattern])).toThrow(StreamFilterPatternError);
    expect(() => compileFilters(['{"eventName":["INSERT"]}', pattern])).toThrow(/Filters\[1\]/);
  });

  test('a compiled filter never throws, whatever the record', () => {
    const filter = compileFilters([
      '{"eventName":["INSERT"],"dynamodb":{"NewImage":{"n":{"N":[{"numeric":[">",1]}]}}}}',
      '{"dynamodb":{"Keys":{"pk":{"S":[{"prefix":"a"},{"anything-but":"b"},{"exists":false}]}}}}',
    ]);
    fc.assert(
      fc.property(fc.jsonValue(), (record) => {
        expect(typeof filter(record)).toBe('boolean');
      }),
    );
  });
});

describe('judging an invocation outcome', () => {
  const seqs = ['100', '200', '300'];
  const ok = (result: unknown): InvocationOutcome => ({ ok: true, result, durationMs: 1, requestId: 'r' });

  test('a function error fails the whole batch', () => {
    const outcome: InvocationOutcome = {
      ok: false,
      error: { errorType: 'Error', errorMessage: 'Task timed out after 3.00 seconds', timedOut: true },
      durationMs: 3000,
      requestId: 'r',
    };
    expect(judgeOutcome(outcome, seqs, true)).toMatchObject({ kind: 'failed', reason: 'function-error' });
    expect(judgeOutcome(outcome, seqs, false)).toMatchObject({ kind: 'failed', reason: 'function-error' });
  });

  test.each([
    ['null', null],
    ['an empty object', {}],
    ['a null list', { batchItemFailures: null }],
    ['an empty list', { batchItemFailures: [] }],
  ])('%s is success', (_name, result) => {
    expect(judgeOutcome(ok(result), seqs, true)).toEqual({ kind: 'success' });
  });

  test('the lowest reported sequence number is the checkpoint', () => {
    const result = { batchItemFailures: [{ itemIdentifier: '300' }, { itemIdentifier: '200' }] };
    expect(judgeOutcome(ok(result), seqs, true)).toEqual({ kind: 'partial', failedIndex: 1 });
  });

  test.each([
    ['an empty itemIdentifier', { batchItemFailures: [{ itemIdentifier: '' }] }],
    ['a null itemIdentifier', { batchItemFailures: [{ itemIdentifier: null }] }],
    ['a misspelt key', { batchItemFailures: [{ itemIdentifer: '200' }] }],
    ['an unknown sequence number', { batchItemFailures: [{ itemIdentifier: '999' }] }],
    ['a list that is not a list', { batchItemFailures: 'all of them' }],
  ])('%s fails the whole batch', (_name, result) => {
    expect(judgeOutcome(ok(result), seqs, true)).toMatchObject({ kind: 'failed', reason: 'invalid-response' });
  });

  test('without ReportBatchItemFailures a failure list is ignored, as on AWS', () => {
    expect(judgeOutcome(ok({ batchItemFailures: [{ itemIdentifier: '200' }] }), seqs, false)).toEqual({
      kind: 'success',
    });
  });
});

describe('records', () => {
  test('GetRecords records become Lambda records: epoch seconds, base64 binaries, the mapping region', () => {
    // Prepare
    const raw = rawRecord({
      key: 'k',
      seq: '000000000000000000042',
      at: new Date('2026-01-01T10:00:00Z'),
      newImage: { blob: { B: new Uint8Array([1, 2, 3]) }, list: { L: [{ BS: [new Uint8Array([255])] }] } },
    });
    raw.userIdentity = { Type: 'Service', PrincipalId: 'dynamodb.amazonaws.com' };
    // Act
    const { record, sequenceNumber } = toLambdaRecord(raw, { streamArn, region: 'eu-west-1', readAtMs: 0 });
    // Assess
    expect(sequenceNumber).toBe('000000000000000000042');
    expect(record.awsRegion).toBe('eu-west-1');
    expect(record.eventSourceARN).toBe(streamArn);
    expect(record.dynamodb?.ApproximateCreationDateTime).toBe(Date.parse('2026-01-01T10:00:00Z') / 1000);
    expect(record.dynamodb?.NewImage?.blob).toEqual({ B: 'AQID' });
    expect(record.dynamodb?.NewImage?.list).toEqual({ L: [{ BS: ['/w=='] }] });
    expect(record.userIdentity).toEqual({ type: 'Service', principalId: 'dynamodb.amazonaws.com' });
  });

  test("DynamoDB Local's own TTL delete (an event name its SDK cannot name) is a REMOVE by the TTL service", () => {
    // GetRecords' JSON for an item DynamoDB Local expired itself (seen from the 2026-01-16 release).
    const wire = {
      eventID: 'e-2',
      eventName: 'UNKNOWN_TO_SDK_VERSION',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'ddblocal',
      dynamodb: {
        ApproximateCreationDateTime: 1796322180,
        Keys: { id: { S: 'a' } },
        OldImage: { id: { S: 'a' }, exp: { N: '1796322207' } },
        SequenceNumber: '000000000000000000002',
        SizeBytes: 15,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    };
    const { record, problems } = toLambdaRecord(wire, { streamArn, region: 'eu-west-1', readAtMs: 0 });
    expect(problems).toBeUndefined();
    expect(record.eventName).toBe('REMOVE');
    expect(record.userIdentity).toEqual({ type: 'Service', principalId: 'dynamodb.amazonaws.com' });
    expect(record.dynamodb?.OldImage).toEqual(wire.dynamodb.OldImage);
    // An unknown event that still has a new image is not guessed at.
    const odd = { ...wire, dynamodb: { ...wire.dynamodb, NewImage: wire.dynamodb.OldImage } };
    expect(toLambdaRecord(odd, { streamArn, region: 'eu-west-1', readAtMs: 0 }).record.eventName).toBe(
      'UNKNOWN_TO_SDK_VERSION',
    );
  });

  test("a batch's event is its records' JSON end to end, each record counting its bytes and a comma", () => {
    // Prepare
    const converted = ['a', 'ü'].map((key, i) =>
      toLambdaRecord(rawRecord({ key, seq: String(i + 1) }), { streamArn, region: 'eu-west-1', readAtMs: 0 }),
    );
    // Act
    const buffered = converted.map(toBufferedRecord);
    const event = batchEvent(buffered);
    // Assess
    expect(buffered[1]?.bytes).toBe(Buffer.byteLength(JSON.stringify(converted[1]?.record)) + 1);
    expect(event.json.byteLength).toBe(EVENT_ENVELOPE_BYTES + buffered.reduce((sum, r) => sum + r.bytes, 0) - 1);
    expect(parseEventJson(event.json)).toEqual(JSON.parse(JSON.stringify({ Records: converted.map((c) => c.record) })));
    // What observers of invocations see instead of 2 × the records.
    expect(event.summary).toEqual({
      Records: [
        { eventSource: 'aws:dynamodb', dynamodb: { SequenceNumber: '1' } },
        { eventSource: 'aws:dynamodb', dynamodb: { SequenceNumber: '2' } },
      ],
    });
    expect(parseEventJson(batchEvent([]).json)).toEqual({ Records: [] });
  });

  test('a serialised event owns its bytes: a view into a larger buffer is copied, so a transfer moves only it', () => {
    const pooled = Buffer.from('xx{"a":1}yy');
    const fromView = new SerializedEvent(pooled.subarray(2, 9), undefined);
    expect(fromView.json.buffer).not.toBe(pooled.buffer);
    expect(fromView.json.buffer.byteLength).toBe(7);
    expect(parseEventJson(fromView.json)).toEqual({ a: 1 });
    const alone = new Uint8Array(Buffer.from('{"b":2}'));
    expect(new SerializedEvent(alone, undefined).json).toBe(alone);
  });

  test('GetRecords asks for as many records as 1 MB holds at the size of the last ones read, 1 to 1,000', () => {
    expect(recordsPerMegabyte(100_250)).toBe(10);
    expect(recordsPerMegabyte(500)).toBe(1000);
    expect(recordsPerMegabyte(800_000)).toBe(1);
    expect(recordsPerMegabyte(0)).toBe(1000);
  });

  test('arrival time: the read time unless the rounded creation time proves the record older', () => {
    const minute = Date.parse('2026-01-01T10:00:00Z');
    expect(estimateArrivalMs(minute, minute + 12_345)).toBe(minute + 12_345);
    expect(estimateArrivalMs(minute, minute + 3_600_000)).toBe(minute + 59_999);
    expect(estimateArrivalMs(minute + 1_000, minute + 5_000)).toBe(minute + 1_999);
    expect(estimateArrivalMs(undefined, 5)).toBe(5);
  });

  test('sequence numbers compare as numbers, whatever their length', () => {
    expect(compareSequenceNumbers('9', '10')).toBe(-1);
    expect(compareSequenceNumbers('000000000000000000010', '9')).toBe(1);
    expect(compareSequenceNumbers('5', '005')).toBe(0);
  });
});

describe('OnFailure message', () => {
  test("has Lambda's shape for a discarded DynamoDB Streams batch", () => {
    // Prepare
    const records = ['11', '12', '13'].map((seq, i) =>
      toLambdaRecord(rawRecord({ key: 'k', seq }), {
        streamArn,
        region: 'eu-west-1',
        readAtMs: Date.parse('2026-01-01T10:00:05.250Z') + i * 1000,
      }),
    );
    // Act
    const message = buildOnFailureMessage({
      condition: 'RetryAttemptsExhausted',
      functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:OnReceiveRealTimeItem',
      streamArn,
      shardId: 'shardId-00000001',
      records,
      approximateInvokeCount: 4,
      lastRequestId: 'req-1',
      functionError: 'Unhandled',
      now: new Date('2026-01-01T10:01:00.000Z'),
    });
    // Assess
    expect(message).toEqual({
      requestContext: {
        requestId: 'req-1',
        functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:OnReceiveRealTimeItem',
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 4,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: '2026-01-01T10:01:00.000Z',
      DDBStreamBatchInfo: {
        shardId: 'shardId-00000001',
        startSequenceNumber: '11',
        endSequenceNumber: '13',
        approximateArrivalOfFirstRecord: '2026-01-01T10:00:05Z',
        approximateArrivalOfLastRecord: '2026-01-01T10:00:07Z',
        batchSize: 3,
        streamArn,
      },
    });
  });
});
