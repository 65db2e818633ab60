import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { lambdaContext } from '@real-time-platform/test-support';
import { mockClient } from 'aws-sdk-client-mock';

// The real producer entry modules, wired as on Lambda: config from the environment, the SDK client at module scope
// (mocked at the class level here), middy with Powertools' logger.

const env = {
  DATA_TABLE_NAME: 'RealTimeData-test',
  REAL_TIME_ITEM_KEY: 'vehicleId',
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  POWERTOOLS_SERVICE_NAME: 'real-time-platform',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};
const saved = { ...process.env };
const documents = mockClient(DynamoDBDocumentClient);
const sample = (name: string) =>
  JSON.parse(readFileSync(join(__dirname, '..', '..', 'events', `${name}.json`), 'utf8'));
type Entry = { handler: (event: unknown, context: unknown) => Promise<unknown> };
/** Imports an entry (a path in a variable, as core-entries does: TypeScript checks literal dynamic imports as ESM). */
const load = async (path: string) => (await import(path)) as Entry;

beforeAll(() => Object.assign(process.env, env));
afterAll(() => {
  process.env = saved;
  documents.restore();
});
beforeEach(() => {
  documents.reset();
  documents.on(BatchWriteCommand).resolves({});
});

const written = () =>
  documents
    .commandCalls(BatchWriteCommand)
    .flatMap((call) => call.args[0].input.RequestItems?.['RealTimeData-test'] ?? [])
    .map((request) => request.PutRequest?.Item?.vehicleId);

test('items-api: POST writes to DATA_TABLE_NAME (201); GET of a missing item is 404', async () => {
  const { handler } = await load('../../src/handlers/items-api');
  expect(await handler(sample('items-post'), lambdaContext())).toMatchObject({ statusCode: 201 });
  expect(written()).toEqual(['3', '7']);
  documents.on(GetItemCommand).resolves({});
  const get = { routeKey: 'GET /items/{key}/{itemId}', pathParameters: { key: '3', itemId: 'x' } };
  expect(await handler(get, lambdaContext())).toMatchObject({ statusCode: 404 });
});

test('sqs-ingest: reports the poison message of the sample batch', async () => {
  const { handler } = await load('../../src/handlers/sqs-ingest');
  const event = sample('sqs-batch');
  expect(await handler(event, lambdaContext())).toEqual({
    batchItemFailures: [{ itemIdentifier: event.Records[2].messageId }],
  });
  expect(written()).toEqual(['3', '7', '9']);
});

test('sns-ingest: writes the sample message’s items', async () => {
  const { handler } = await load('../../src/handlers/sns-ingest');
  await handler(sample('sns-message'), lambdaContext());
  expect(written()).toEqual(['3', '12']);
});

test('a missing DATA_TABLE_NAME fails the cold start with its name', async () => {
  delete process.env.DATA_TABLE_NAME;
  try {
    await jest.isolateModulesAsync(async () => {
      await expect(load('../../src/handlers/sqs-ingest')).rejects.toThrow(/DATA_TABLE_NAME is required/);
    });
  } finally {
    process.env.DATA_TABLE_NAME = env.DATA_TABLE_NAME;
  }
});
