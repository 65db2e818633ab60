import { DynamoDBStreamsClient, GetRecordsCommand } from '@aws-sdk/client-dynamodb-streams';
import { captureGetRecordsJson, wireBodyOf } from '../../src/streams/wire-json';

// How the event source reads GetRecords' body (wire-json.ts), through a real SDK client whose HTTP handler answers
// with a canned body instead of a network call.

function clientAnswering(body: string): DynamoDBStreamsClient {
  const client = new DynamoDBStreamsClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
    requestHandler: {
      handle: async () => ({
        response: {
          statusCode: 200,
          headers: { 'content-type': 'application/x-amz-json-1.0' },
          body: Buffer.from(body),
        },
      }),
    },
  });
  captureGetRecordsJson(client);
  return client;
}

const getRecords = new GetRecordsCommand({ ShardIterator: 'it', Limit: 10 });

test('records come from the body as DynamoDB sent it, `__proto__` included; the SDK is left the iterator', async () => {
  // Prepare
  const body = JSON.stringify({
    Records: [{ eventID: 'e1', dynamodb: { NewImage: { ['__proto__']: { S: 'kept' } }, SequenceNumber: '1' } }],
    NextShardIterator: 'next',
  });
  const client = clientAnswering(body);
  // Act
  const output = await client.send(getRecords);
  // Assess
  expect(output.NextShardIterator).toBe('next');
  expect(output.Records).toBeUndefined();
  const wire = wireBodyOf(output);
  if (wire === undefined) throw new Error('no wire body attached');
  expect(wire.bytes).toBe(Buffer.byteLength(body));
  const image = (wire.records[0] as { dynamodb: { NewImage: object } }).dynamodb.NewImage;
  expect(Object.getOwnPropertyDescriptor(image, '__proto__')?.value).toEqual({ S: 'kept' });
});

test('the last page of a closed shard has no iterator, and says so', async () => {
  const output = await clientAnswering('{"Records":[]}').send(getRecords);
  expect(output.NextShardIterator).toBeUndefined();
  expect(wireBodyOf(output)?.records).toEqual([]);
});

test("a body that is not GetRecords' JSON is left to the SDK, which reports it", async () => {
  await expect(clientAnswering('<html>busy</html>').send(getRecords)).rejects.toThrow();
  const odd = await clientAnswering('{"Records":5,"NextShardIterator":"n"}')
    .send(getRecords)
    .catch((error: unknown) => error);
  expect(wireBodyOf(odd as never)).toBeUndefined();
});
