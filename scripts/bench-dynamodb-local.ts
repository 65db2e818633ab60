/**
 * npm run bench:dynamodb-local — the latency floor DynamoDB Local puts under the write → receipt path: one PutItem,
 * the time until GetRecords sees it, one GetRecords call, and one Query of a KEYS_ONLY GSI (what the fan-out does
 * per key). 300 sequential rounds, the first 100 dropped as JVM warm-up.
 */
import { performance } from 'node:perf_hooks';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { startDynamoDbLocal } from '@real-time-platform/local-runtime';
import { freePort } from '@real-time-platform/test-support';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return (sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN).toFixed(1);
};

async function main(): Promise<void> {
  const local = await startDynamoDbLocal({ port: await freePort() });
  const config = {
    endpoint: local.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  };
  const ddb = new DynamoDBClient(config);
  const streams = new DynamoDBStreamsClient(config);
  try {
    await ddb.send(
      new CreateTableCommand({
        TableName: 'latency',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'k', AttributeType: 'S' },
          { AttributeName: 'i', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'k', KeyType: 'HASH' },
          { AttributeName: 'i', KeyType: 'RANGE' },
        ],
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
        GlobalSecondaryIndexes: [
          {
            IndexName: 'byItem',
            KeySchema: [
              { AttributeName: 'i', KeyType: 'HASH' },
              { AttributeName: 'k', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
      }),
    );
    const streamArn = (await ddb.send(new DescribeTableCommand({ TableName: 'latency' }))).Table?.LatestStreamArn;
    const shardId = (await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }))).StreamDescription
      ?.Shards?.[0]?.ShardId;
    let iterator = (
      await streams.send(
        new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ShardIteratorType: 'LATEST' }),
      )
    ).ShardIterator;
    const put: number[] = [];
    const visible: number[] = [];
    const getRecords: number[] = [];
    const query: number[] = [];
    for (let round = 0; round < 300; round++) {
      const started = performance.now();
      await ddb.send(
        new PutItemCommand({
          TableName: 'latency',
          Item: { k: { S: `k${round % 10}` }, i: { S: 'latest' }, round: { N: String(round) } },
        }),
      );
      const acked = performance.now();
      // A changed attribute each round: an identical PutItem writes no stream record.
      for (;;) {
        const call = performance.now();
        const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
        if (round >= 100) getRecords.push(performance.now() - call);
        iterator = page.NextShardIterator;
        if ((page.Records ?? []).length > 0) break;
      }
      const seen = performance.now();
      await ddb.send(
        new QueryCommand({
          TableName: 'latency',
          IndexName: 'byItem',
          KeyConditionExpression: 'i = :i',
          ExpressionAttributeValues: { ':i': { S: 'latest' } },
        }),
      );
      if (round >= 100) {
        put.push(acked - started);
        visible.push(seen - acked);
        query.push(performance.now() - seen);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    console.log('DynamoDB Local, 200 rounds after 100 warm-up rounds (ms):');
    for (const [name, values] of [
      ['PutItem', put],
      ['PutItem acknowledged → seen by GetRecords', visible],
      ['one GetRecords call', getRecords],
      ['Query of a KEYS_ONLY GSI', query],
    ] as const) {
      console.log(
        `  ${name.padEnd(44)} p50 ${percentile(values, 50)}  p95 ${percentile(values, 95)}  p99 ${percentile(values, 99)}`,
      );
    }
  } finally {
    ddb.destroy();
    streams.destroy();
    await local.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
