import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { localCredentials } from '@real-time-platform/local-runtime';
import { connectionIdOf, startTestPlatform, type TestPlatform } from '../../src';

// The helper itself: on the application's small HTTP API fixture (the JWT authorizer in front of a function that
// echoes the caller), signed-in requests pass the real authorizer and stop() leaves nothing behind; on template.yaml,
// two platforms on one DynamoDB Local do not touch each other's rows.

const repositoryRoot = join(__dirname, '..', '..', '..', '..');
const template = join(repositoryRoot, 'test', 'fixtures', 'templates', 'http-authorizer.yaml');

let platform: TestPlatform | undefined;
afterAll(async () => platform?.stop());

test('signIn makes tokens the started authorizer accepts, with the audience it requires; stop() removes the work dir', async () => {
  platform = await startTestPlatform({
    templatePath: template,
    auth: 'jwt',
    parameterOverrides: { JwtAudience: 'test-support' },
  });
  const { workDir } = platform;
  expect(relative(repositoryRoot, workDir)).toMatch(/^\.local\/test-/);
  expect(existsSync(workDir)).toBe(true);

  const me = await platform.http('GET', '/me', { as: 'u1' });
  const anonymous = await platform.http('GET', '/me');
  const otherAudience = await platform.signIn('u1', { aud: 'another-app' });
  const foreign = await platform.http('GET', '/me', { headers: otherAudience.headers });

  expect(me).toMatchObject({ status: 200, body: { caller: { userId: 'u1' } } });
  expect(anonymous.status).toBe(401);
  expect(foreign.status).toBe(403);
  await platform.stop();
  platform = undefined;
  expect(existsSync(workDir)).toBe(false);
});

test('two platforms on the shared DynamoDB Local keep to their own tables: neither acts on the other’s connections', async () => {
  // On the same tables (one Environment), B would stream A's changes, post them to A's connection through its own
  // gateway, get 410 and delete A's rows: A's socket would receive nothing more (what CI saw, now and then).
  const [a, b] = await Promise.all([startTestPlatform(), startTestPlatform()]);
  try {
    expect(a.tableName('RealTimeDataTable')).not.toBe(b.tableName('RealTimeDataTable'));
    const key = `isolated-${Date.now()}`;
    const socket = await a.connect([key]);
    const connectionId = await connectionIdOf(socket);
    for (const itemId of ['first', 'second']) {
      await a.aws.documents.send(
        new PutCommand({ TableName: a.tableName('RealTimeDataTable'), Item: { realTimeItemKey: key, itemId } }),
      );
      await socket.next((frame) => frame.type === 'item' && frame.itemId === itemId);
      await b.settled();
      expect((await a.connectionTable.rowsOf(connectionId)).length).toBe(2);
    }
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
  // stop() deletes the tables it made on the shared DynamoDB Local.
  const client = new DynamoDBClient({
    endpoint: process.env.DYNAMODB_ENDPOINT,
    region: 'us-east-1',
    credentials: localCredentials,
  });
  await expect(
    client.send(new DescribeTableCommand({ TableName: a.tableName('RealTimeDataTable') })),
  ).rejects.toBeInstanceOf(ResourceNotFoundException);
  client.destroy();
});
