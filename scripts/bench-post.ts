/**
 * npm run bench:post — where the CPU of one PostToConnection goes (issue 12, "a leaner post"). Each line is the same
 * post with FANOUT_CONCURRENCY in flight, CPU of this thread per call (the answering server runs in a worker thread):
 * - the SDK client as the functions configure it, over HTTP (the "SDK floor" of npm run bench);
 * - the SDK client with a request handler that answers 200 at once: middleware, endpoint rules, serialisation and
 *   signing, no network;
 * - SigV4 signing alone (the SDK's signer, its signing key cached);
 * - an unsigned keep-alive HTTP POST with node:http: the network part;
 * - the fan-out's signed poster (src/adapters/signed-poster.ts): signing + that POST.
 *
 * Options: --calls N (10000).
 */

import { Agent, request } from 'node:http';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { HttpRequest, HttpResponse } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import { createManagementApiClient } from '../src/adapters/aws-clients';
import { measureFloor, measureLeanFloor, measureSdkFloor, type PostFloor, SAMPLE_MESSAGE } from './lib/bench-baselines';
import { CREDENTIALS, FANOUT_CONCURRENCY, int, log } from './lib/bench-platform';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const data = Buffer.from(SAMPLE_MESSAGE);

/** The SDK's whole per-call path but the network: its handler answers 200 without sending anything. */
function sdkWithoutNetwork(endpoint: string) {
  const client = new ApiGatewayManagementApiClient({
    endpoint,
    maxAttempts: 1,
    region: 'us-east-1',
    credentials: CREDENTIALS,
    requestHandler: {
      handle: async () => ({
        response: new HttpResponse({ statusCode: 200, headers: {}, body: Readable.from([]) }),
      }),
    },
  });
  return () => client.send(new PostToConnectionCommand({ ConnectionId: 'floor=', Data: data }));
}

function signingAlone(endpoint: string) {
  const url = new URL(endpoint);
  const config = createManagementApiClient({
    endpoint,
    maxSockets: 1,
    region: 'us-east-1',
    credentials: CREDENTIALS,
  }).config;
  const signer = new SignatureV4({
    credentials: config.credentials,
    region: config.region,
    service: 'execute-api',
    sha256: config.sha256,
  });
  return () =>
    signer.sign(
      new HttpRequest({
        method: 'POST',
        protocol: url.protocol,
        hostname: url.hostname,
        port: Number(url.port),
        path: `${url.pathname}/@connections/floor%3D`,
        headers: {
          host: url.host,
          'content-type': 'application/octet-stream',
          'content-length': String(data.byteLength),
        },
        body: data,
      }),
    );
}

function unsignedPost(endpoint: string) {
  const url = new URL(endpoint);
  const agent = new Agent({ keepAlive: true, maxSockets: FANOUT_CONCURRENCY });
  return () =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        {
          agent,
          method: 'POST',
          hostname: url.hostname,
          port: url.port,
          path: `${url.pathname}/@connections/floor%3D`,
        },
        (res) => {
          res.resume();
          res.once('end', resolve);
        },
      );
      req.once('error', reject);
      req.end(data);
    });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { calls: { type: 'string', default: '10000' } } });
  const calls = Number(values.calls);
  if (!Number.isInteger(calls) || calls < 100) throw new Error('--calls: an integer of at least 100');
  const rows: [string, PostFloor][] = [];
  const measure = async (name: string, run: () => Promise<PostFloor>) => {
    log(name);
    rows.push([name, await run()]);
  };
  await measure('SDK PostToConnection over HTTP (the SDK floor)', () => measureSdkFloor(calls));
  await measure('SDK PostToConnection, no network (middleware, endpoint, serialisation, signing)', () =>
    measureFloor(calls, sdkWithoutNetwork),
  );
  await measure('SigV4 signing alone (@smithy/signature-v4, cached key)', () => measureFloor(calls, signingAlone));
  await measure('unsigned keep-alive POST (node:http)', () => measureFloor(calls, unsignedPost));
  await measure("the fan-out's signed poster (signing + keep-alive POST)", () => measureLeanFloor(calls));
  const lines = [
    `| Per post, ${int(calls)} calls × 3, ${FANOUT_CONCURRENCY} in flight | CPU ms per call | Calls/s (median of 3) |`,
    '|---|---|---|',
    ...rows.map(([name, f]) => `| ${name} | ${f.cpuMsPerCall.toFixed(3)} | ${int(f.callsPerSecond)} |`),
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:post failed: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`);
    process.exit(1);
  },
);
