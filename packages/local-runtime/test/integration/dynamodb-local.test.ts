import { createServer } from 'node:net';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { startDynamoDbLocal } from '../../src/dynamodb/dynamodb-local';
import { freePort, PortInUseError } from '../../src/ports';

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

test('a port DynamoDB Local cannot bind is a PortInUseError naming --dynamodb-port', async () => {
  // Prepare: something that is not DynamoDB holds the port (and hangs up on whoever connects).
  const port = await freePort('0.0.0.0');
  const blocker = createServer((socket) => socket.destroy());
  await new Promise<void>((done) => blocker.listen(port, '0.0.0.0', done));
  try {
    // Act
    const starting = startDynamoDbLocal({ port });

    // Assess
    await expect(starting).rejects.toThrow(PortInUseError);
    await expect(starting).rejects.toThrow(`Port ${port} (DynamoDB Local) is already in use`);
    await expect(starting).rejects.toThrow('--dynamodb-port <port>');
  } finally {
    await new Promise((done) => blocker.close(done));
  }
});
