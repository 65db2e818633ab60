import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

test('the integration run has a real DynamoDB Local that any credentials reach', async () => {
  const endpoint = process.env.DYNAMODB_ENDPOINT;
  expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const client = new DynamoDBClient({
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'someoneElse', secretAccessKey: 'x' },
  });
  const answer = await client.send(new ListTablesCommand({}));
  expect(Array.isArray(answer.TableNames)).toBe(true);
  client.destroy();
});
