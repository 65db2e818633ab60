/**
 * The baselines `npm run bench` measures the fan-out against, in the same run on the same machine:
 * - the SDK floor: bare PostToConnection SDK calls, as many in flight as the fan-out makes, against a server that
 *   does nothing — what one post per message could at best do;
 * - the lean floor: the same with the fan-out's own signed poster (src/adapters/signed-poster.ts);
 * - a plain `ws` broadcast: what sockets alone do, without HTTP or signing.
 */
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { createManagementApiClient } from '../../src/adapters/aws-clients';
import { createSignedPoster } from '../../src/adapters/signed-poster';
import { CREDENTIALS, FANOUT_CONCURRENCY, mainThreadCpuSeconds, openSockets, waitFor } from './bench-platform';

export interface PostFloor {
  callsPerSecond: number;
  runs: number[];
  /** CPU time of the client thread per call (ms; 10 ms /proc resolution over thousands of calls). */
  cpuMsPerCall: number;
}

/** A trivial HTTP server answering 200 to everything, in a worker thread (its own core, like the runtime's server). */
const TRIVIAL_SERVER = `
const { createServer } = require('node:http');
const { parentPort } = require('node:worker_threads');
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => { res.writeHead(200, { 'Content-Length': '0' }); res.end(); });
});
server.keepAliveTimeout = 65000;
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
`;

/** A message like the platform's item messages, for the baselines. */
export const SAMPLE_MESSAGE = JSON.stringify({
  type: 'item',
  event: 'INSERT',
  key: 'fan-1000',
  itemId: '12',
  item: { realTimeItemKey: 'fan-1000', itemId: '12', sentAt: 1763800000000.123 },
  seq: '000000000000000000012',
  at: 1763800000000,
});

/**
 * Calls/s and CPU per call (this thread only) of `post` with FANOUT_CONCURRENCY in flight against the trivial server
 * (in a worker thread), after a warm-up: the median of three runs.
 */
export async function measureFloor(
  calls: number,
  postTo: (endpoint: string) => () => Promise<unknown>,
): Promise<PostFloor> {
  const worker = new Worker(TRIVIAL_SERVER, { eval: true });
  try {
    const port = await new Promise<number>((resolve) => worker.once('message', resolve));
    const post = postTo(`http://127.0.0.1:${port}/develop`);
    const loop = async (count: number) => {
      let next = 0;
      const started = performance.now();
      const lane = async () => {
        while (next++ < count) await post();
      };
      await Promise.all(Array.from({ length: FANOUT_CONCURRENCY }, lane));
      return count / ((performance.now() - started) / 1000);
    };
    await loop(Math.min(3_000, calls)); // warm-up: sockets, JIT
    const cpuBefore = mainThreadCpuSeconds();
    const runs = [await loop(calls), await loop(calls), await loop(calls)];
    // CPU per call does not depend on what else the machine runs, unlike calls/s: the steadier comparison.
    const cpuMsPerCall = ((mainThreadCpuSeconds() - cpuBefore) * 1000) / (3 * calls);
    return { callsPerSecond: median(runs), runs, cpuMsPerCall };
  } finally {
    await worker.terminate();
  }
}

/** The SDK floor: PostToConnection through the SDK client configured as the functions configure it. */
export function measureSdkFloor(calls: number): Promise<PostFloor> {
  const data = Buffer.from(SAMPLE_MESSAGE);
  return measureFloor(calls, (endpoint) => {
    const client = createManagementApiClient({
      endpoint,
      maxSockets: FANOUT_CONCURRENCY,
      region: 'us-east-1',
      credentials: CREDENTIALS,
    });
    return () => client.send(new PostToConnectionCommand({ ConnectionId: 'floor=', Data: data }));
  });
}

/** The lean floor: the same posts through the fan-out's signed poster. */
export function measureLeanFloor(calls: number): Promise<PostFloor> {
  const data = Buffer.from(SAMPLE_MESSAGE);
  return measureFloor(calls, (endpoint) => {
    const client = createManagementApiClient({
      endpoint,
      maxSockets: 1,
      region: 'us-east-1',
      credentials: CREDENTIALS,
    });
    const poster = createSignedPoster({ client, endpoint, maxSockets: FANOUT_CONCURRENCY });
    return () => poster('floor=', data);
  });
}

/** The ws broadcast server: on "go", sends `rounds` broadcasts to every client, yielding between rounds. */
const BROADCAST_SERVER = `
const { WebSocketServer } = require('ws');
const { parentPort, workerData } = require('node:worker_threads');
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
wss.on('listening', () => parentPort.postMessage({ port: wss.address().port }));
parentPort.on('message', (rounds) => {
  let round = 0;
  const broadcast = () => {
    for (const client of wss.clients) client.send(workerData.message);
    if (++round < rounds) setImmediate(broadcast);
  };
  broadcast();
});
`;

/** A plain ws broadcast to `clients` sockets, `rounds` times: messages/s received by our clients. */
export async function measureWsBroadcast(clients: number, rounds: number): Promise<number> {
  const worker = new Worker(BROADCAST_SERVER, { eval: true, workerData: { message: SAMPLE_MESSAGE } });
  try {
    const { port } = await new Promise<{ port: number }>((resolve) => worker.once('message', resolve));
    let received = 0;
    const opened = await openSockets(
      `ws://127.0.0.1:${port}/`,
      () => 'x',
      clients,
      () => received++,
      30_000,
    );
    const run = async (count: number) => {
      received = 0;
      const started = performance.now();
      worker.postMessage(count);
      await waitFor(() => received >= count * opened.accepted, 60_000, 5);
      return received / ((performance.now() - started) / 1000);
    };
    await run(Math.max(5, Math.floor(rounds / 10))); // warm-up
    const result = await run(rounds);
    for (const socket of opened.sockets) socket.terminate();
    return result;
  } finally {
    await worker.terminate();
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
