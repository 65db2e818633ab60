/**
 * npm run bench:fanout — one stream batch fanned out to 1,000 subscribers, against real DynamoDB Local (started here
 * on a free port, or --dynamodb-endpoint URL) and a stand-in @connections server adding 20 ms per call.
 *
 * Prints the duration against two bounds measured in the same run:
 * - the concurrency bound: ceil(subscribers / FANOUT_CONCURRENCY) × delay;
 * - the CPU bound: subscribers × the cost of one bare SDK PostToConnection call (a sequential loop against a trivial
 *   HTTP server in this process);
 * and the CPU time per post (process.cpuUsage; includes the in-process stand-in server, like the CPU bound does). The
 * fan-out posts with its own lean sender, so the SDK-call CPU bound is a ceiling it should stay well under.
 * Target: within 1.5× of the larger bound.
 *
 * Options: --subscribers N (1000), --delay-ms N (20), --concurrency N (FANOUT_CONCURRENCY or 64), --runs N (3),
 * --dynamodb-endpoint URL.
 */
import { parseArgs } from 'node:util';
import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { freePort, startDynamoDbLocal } from '@real-time-platform/local-runtime';
import {
  createTestTables,
  localCredentials,
  startManagementApiStub,
  streamEvent,
  streamRecord,
} from '@real-time-platform/test-support';
import { createManagementApiClient } from '../src/adapters/aws-clients';
import { batchWriteAll } from '../src/adapters/batch-write';
import { createConnectionRepository } from '../src/adapters/connection-repository';
import { createConnectionSender } from '../src/adapters/connection-sender';
import { createRealTimeDataReader } from '../src/adapters/real-time-data-reader';
import { createSignedPoster } from '../src/adapters/signed-poster';
import { runFanout } from '../src/handlers/logic/fanout';
import type { Log } from '../src/lib/logging';

// The SDK warns once that Node 20 support ends in 2027; the bench runs on Node 20 today.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values: args } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '1000' },
    'delay-ms': { type: 'string', default: '20' },
    concurrency: { type: 'string', default: process.env.FANOUT_CONCURRENCY ?? '64' },
    runs: { type: 'string', default: '3' },
    'dynamodb-endpoint': { type: 'string' },
  },
});
const subscribers = Number(args.subscribers);
const delayMs = Number(args['delay-ms']);
const concurrency = Number(args.concurrency);
const runs = Number(args.runs);
const silent: Log = { debug() {}, info() {}, warn() {}, error() {} } as unknown as Log;

async function main(): Promise<void> {
  const ddbLocal = args['dynamodb-endpoint'] ? undefined : await startDynamoDbLocal({ port: await freePort() });
  process.env.DYNAMODB_ENDPOINT = args['dynamodb-endpoint'] ?? ddbLocal?.endpoint;
  const tables = await createTestTables('bench');
  const stub = await startManagementApiStub();
  const trivial = await startManagementApiStub();
  const client = (endpoint: string) =>
    createManagementApiClient({
      endpoint,
      maxSockets: concurrency,
      region: 'us-east-1',
      credentials: localCredentials,
    });
  const management = client(stub.endpoint);
  const bare = client(trivial.endpoint);
  try {
    // Prepare: 1,000 subscriptions to one key (the GSI is what the fan-out reads).
    const ids = Array.from({ length: subscribers }, (_, i) => `bench-${String(i).padStart(5, '0')}=`);
    const expiresAt = Math.floor(Date.now() / 1000) + 7800;
    await batchWriteAll(
      tables.documents,
      tables.connectionsTable,
      ids.map((connectionId) => ({ PutRequest: { Item: { connectionId, realTimeItemKey: 'bench', expiresAt } } })),
    );

    // CPU bound: the cost of one bare SDK call, sequentially, after a warm-up.
    const data = Buffer.from(
      JSON.stringify({ type: 'item', event: 'MODIFY', key: 'bench', itemId: 'latest', item: { n: 1 } }),
    );
    const bareCall = () => bare.send(new PostToConnectionCommand({ ConnectionId: 'probe=', Data: data }));
    for (let i = 0; i < 300; i++) await bareCall();
    const loops = 2000;
    const loopCpu = process.cpuUsage();
    const loopStart = performance.now();
    for (let i = 0; i < loops; i++) await bareCall();
    const wallPerCallMs = (performance.now() - loopStart) / loops;
    const loopUsed = process.cpuUsage(loopCpu);
    // The bound is CPU: a sequential loop's wall time also counts idle loopback round trips that concurrency hides.
    const perCallMs = (loopUsed.user + loopUsed.system) / 1000 / loops;
    const cpuBoundMs = subscribers * perCallMs;
    const concurrencyBoundMs = Math.ceil(subscribers / concurrency) * delayMs;
    const largerBoundMs = Math.max(cpuBoundMs, concurrencyBoundMs);

    const repository = createConnectionRepository({
      ddb: tables.documents,
      tableName: tables.connectionsTable,
      ttlSeconds: 7800,
    });
    await repository.subscribersOf('bench');
    const lookupStart = performance.now();
    await repository.subscribersOf('bench');
    const lookupMs = performance.now() - lookupStart;

    // The fan-out, as OnReceiveRealTimeItem runs it (real repository, real sender, real SDK client).
    stub.delayMs = delayMs;
    const deps = {
      connections: repository,
      // The fan-out's own sender: posts signed with the SDK's signer on a keep-alive agent (signed-poster.ts).
      sender: createConnectionSender({
        poster: createSignedPoster({ client: management, endpoint: stub.endpoint, maxSockets: concurrency }),
      }),
      keyAttribute: 'vehicleId',
      concurrency,
      logger: silent,
      snapshots: {
        reader: createRealTimeDataReader({
          ddb: tables.dynamodb,
          tableName: tables.dataTable,
          keyAttribute: 'vehicleId',
        }),
      },
    };
    const batch = (seq: number) =>
      streamEvent([streamRecord({ key: 'bench', seq, event: 'MODIFY', item: { n: seq } })]);
    await runFanout(deps, batch(1), { getRemainingTimeInMillis: () => 60_000 }); // warm-up: sockets, JIT
    const results: { durationMs: number; cpuPerPostMs: number; posts: number }[] = [];
    for (let run = 0; run < runs; run++) {
      const before = stub.requestCount();
      const cpu = process.cpuUsage();
      const start = performance.now();
      const { response, summary } = await runFanout(deps, batch(run + 2), { getRemainingTimeInMillis: () => 60_000 });
      const durationMs = performance.now() - start;
      const used = process.cpuUsage(cpu);
      const posts = stub.requestCount() - before;
      if (response.batchItemFailures.length > 0 || summary.posts !== subscribers) {
        throw new Error(`run ${run + 1} did not deliver to every subscriber: ${JSON.stringify(summary)}`);
      }
      results.push({ durationMs, cpuPerPostMs: (used.user + used.system) / 1000 / posts, posts });
    }

    const median = [...results].sort((a, b) => a.durationMs - b.durationMs)[Math.floor(results.length / 2)];
    const fmt = (n: number) => n.toFixed(1);
    console.log(
      `fan-out bench: 1 record → ${subscribers} subscribers, FANOUT_CONCURRENCY=${concurrency}, stand-in delay ${delayMs} ms/call`,
    );
    console.log(
      `  concurrency bound  ceil(${subscribers}/${concurrency}) × ${delayMs} ms = ${fmt(concurrencyBoundMs)} ms`,
    );
    console.log(
      `  CPU bound          ${subscribers} × ${perCallMs.toFixed(3)} ms CPU per bare PostToConnection (${loops}-call loop; ${wallPerCallMs.toFixed(3)} ms wall per call) = ${fmt(cpuBoundMs)} ms`,
    );
    console.log(
      `  subscriber lookup  ${fmt(lookupMs)} ms (one GSI Query of ${subscribers} connection ids, included in each run)`,
    );
    for (const [i, r] of results.entries()) {
      console.log(
        `  run ${i + 1}: ${fmt(r.durationMs)} ms = ${(r.durationMs / largerBoundMs).toFixed(2)}× the larger bound; CPU ${r.cpuPerPostMs.toFixed(3)} ms/post (${r.posts} posts)`,
      );
    }
    const ratio = (median?.durationMs ?? Number.NaN) / largerBoundMs;
    console.log(
      `  median: ${fmt(median?.durationMs ?? Number.NaN)} ms = ${ratio.toFixed(2)}× the larger bound → target (≤ 1.5×) ${ratio <= 1.5 ? 'MET' : 'MISSED'}`,
    );
    process.exitCode = ratio <= 1.5 ? 0 : 1;
  } finally {
    management.destroy();
    bare.destroy();
    await stub.close();
    await trivial.close();
    await tables.drop();
    await ddbLocal?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
