import { randomUUID } from 'node:crypto';
import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { startTestPlatform, type TestPlatform } from '@real-time-platform/test-support';
import { eventually } from '../helpers/eventually';
import { fixtures } from '../helpers/paths';

// DynamoDB Local does not apply TTL; the runtime does (dynamodb/ttl-sweeper.ts). Real runtime, real DynamoDB Local,
// a real stream function recording each REMOVE with its userIdentity, and the application's own template for the
// connection rows.

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const SWEEP_MS = 300;
const nowSeconds = () => Math.floor(Date.now() / 1000);

// Sweeps, stream reads and the recorder function's cold start share two cores with other suites in CI.
jest.setTimeout(240_000);

/** Waits as long as a few sweeps and a cold start can take on a loaded CI machine. */
const afterSweeps = { timeoutMs: 90_000, pollMs: 100 };

describe('TTL on a fixture table: deletes, and the identity on their stream records', () => {
  const suffix = randomUUID().slice(0, 8);
  const expiring = `ttl-expiring-${suffix}`;
  const seen = `ttl-seen-${suffix}`;
  let platform: TestPlatform;
  let ddb: DynamoDBClient;

  beforeAll(async () => {
    platform = await startTestPlatform({
      templatePath: `${fixtures}/templates/ttl.yaml`,
      envJsonPath: undefined,
      parameterOverrides: { Suffix: suffix },
      ttlSweepIntervalMs: SWEEP_MS,
    });
    ddb = new DynamoDBClient({ endpoint: platform.urls.dynamodb, region: 'us-east-1', credentials });
  });

  afterAll(async () => {
    ddb?.destroy();
    await platform?.stop();
  });

  const put = (itemId: string, expiresAt?: { N: string } | { S: string }) =>
    ddb.send(
      new PutItemCommand({ TableName: expiring, Item: { itemId: { S: itemId }, ...(expiresAt ? { expiresAt } : {}) } }),
    );
  const exists = async (itemId: string) =>
    (await ddb.send(new GetItemCommand({ TableName: expiring, Key: { itemId: { S: itemId } }, ConsistentRead: true })))
      .Item !== undefined;
  /** The userIdentity the stream function received with the REMOVE of `itemId`, once it has. */
  const removalSeen = (itemId: string) =>
    eventually(
      async () => {
        const { Item } = await ddb.send(new GetItemCommand({ TableName: seen, Key: { itemId: { S: itemId } } }));
        return Item?.userIdentity?.S === undefined ? undefined : JSON.parse(Item.userIdentity.S);
      },
      `the REMOVE of ${itemId}`,
      afterSweeps,
    );

  test('expired items go with the TTL identity; live, non-numeric and ancient ones stay; user deletes carry none', async () => {
    await put('expired', { N: String(nowSeconds() - 5) });
    await put('future', { N: String(nowSeconds() + 3600) });
    await put('no-ttl');
    await put('string-ttl', { S: String(nowSeconds() - 5) });
    // More than five years ago: DynamoDB takes such values for mistakes (milliseconds, …) and leaves them.
    await put('ancient', { N: String(nowSeconds() - 6 * 365 * 24 * 3600) });
    await put('deleted-by-user', { N: String(nowSeconds() + 3600) });
    await ddb.send(new DeleteItemCommand({ TableName: expiring, Key: { itemId: { S: 'deleted-by-user' } } }));

    expect(await removalSeen('expired')).toEqual({ type: 'Service', principalId: 'dynamodb.amazonaws.com' });
    expect(await removalSeen('deleted-by-user')).toBeNull();

    // An item expiring now is deleted by a sweep that started after it was written, so that sweep has also been
    // over every item above: those still there were left on purpose.
    await put('expired-later', { N: String(nowSeconds()) });
    expect(await removalSeen('expired-later')).toEqual({ type: 'Service', principalId: 'dynamodb.amazonaws.com' });
    expect(await exists('future')).toBe(true);
    expect(await exists('no-ttl')).toBe(true);
    expect(await exists('string-ttl')).toBe(true);
    expect(await exists('ancient')).toBe(true);
    expect(await exists('expired')).toBe(false);
  });
});

describe('TTL on the connection table (template.yaml): an expired connection stops being a subscriber', () => {
  let platform: TestPlatform;
  let ddb: DynamoDBClient;

  beforeAll(async () => {
    platform = await startTestPlatform({ ttlSweepIntervalMs: SWEEP_MS });
    ddb = new DynamoDBClient({ endpoint: platform.urls.dynamodb, region: 'us-east-1', credentials });
  });

  afterAll(async () => {
    ddb?.destroy();
    await platform?.stop();
  });

  const rowsOf = async (connectionId: string) =>
    (
      await ddb.send(
        new QueryCommand({
          TableName: platform.tableName('WebSocketConnectionManagerTable'),
          KeyConditionExpression: 'connectionId = :c',
          ExpressionAttributeValues: { ':c': { S: connectionId } },
          ConsistentRead: true,
        }),
      )
    ).Count ?? 0;

  test('the expired rows of a connection whose $disconnect never came are deleted; live subscribers keep theirs', async () => {
    const key = `k-${randomUUID().slice(0, 8)}`;
    const ghost = Buffer.from(`ghost-${randomUUID()}`).toString('base64');
    const expired = { N: String(nowSeconds() - 1) };
    for (const sortKey of [`$connection#${ghost}`, key]) {
      await ddb.send(
        new PutItemCommand({
          TableName: platform.tableName('WebSocketConnectionManagerTable'),
          Item: { connectionId: { S: ghost }, realTimeItemKey: { S: sortKey }, expiresAt: expired },
        }),
      );
    }
    const live = await platform.connect([key]);
    live.send({ action: 'heartbeat' });
    const liveId = String((await live.next((m) => m.type === 'pong')).connectionId);

    await eventually(
      async () => ((await rowsOf(ghost)) === 0 ? true : undefined),
      'the ghost rows to expire',
      afterSweeps,
    );
    expect(await rowsOf(liveId)).toBeGreaterThan(0);
    await ddb.send(
      new PutItemCommand({
        TableName: platform.tableName('RealTimeDataTable'),
        Item: { realTimeItemKey: { S: key }, itemId: { S: 'latest' } },
      }),
    );
    expect((await live.next((m) => m.type === 'item')).key).toBe(key);
    live.close();
  });
});
