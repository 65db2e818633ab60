import {
  countDelivery,
  type FaultsPlatform,
  itemNumbers,
  type ManagementApiStub,
  openSubscribers,
  type RecordingSocket,
  startFaultsPlatform,
  startManagementApiStub,
  waitUntil,
  writeLoad,
} from '@real-time-platform/test-support';

// The platform under faults, end to end: a steady write load to one key with subscribers listening, a fault in the
// middle, and a count per subscriber of the acknowledged writes lost, duplicated or reordered — all must be 0.
// Kept small for CI (20 writes/s, 5 subscribers, seconds of load); `npm run bench:faults` runs the 100
// writes/s with 20 subscribers and docs/reliability.md records its numbers. The fan-out posts through a @connections
// stand-in that forwards to the local gateway, so a scenario can make it answer 429 instead.

const WRITES_PER_SECOND = 20;
const SUBSCRIBERS = 5;

let faults: FaultsPlatform;
let stub: ManagementApiStub;
const sockets: RecordingSocket[] = [];

beforeAll(async () => {
  stub = await startManagementApiStub('develop');
  faults = await startFaultsPlatform({
    functionEnvironment: { OnReceiveRealTimeItem: { WS_ENDPOINT: stub.endpoint } },
  });
  stub.forwardTo = faults.platform.urls.management;
}, 240_000);

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await faults?.stop();
  await stub?.close();
}, 60_000);

/** Waits until every socket has the last acknowledged write of `key`, then counts per socket. */
async function countsOf(subscribers: RecordingSocket[], key: string, acknowledged: number[]) {
  const last = acknowledged.at(-1) as number;
  await waitUntil(
    () => subscribers.every((socket) => itemNumbers(socket.frames, key).includes(last)),
    120_000,
    `every subscriber of ${key} received the last acknowledged write`,
  );
  return subscribers.map((socket) => {
    const { lost, duplicated, reordered } = countDelivery(itemNumbers(socket.frames, key), acknowledged);
    return { lost, duplicated, reordered };
  });
}

const NONE = { lost: 0, duplicated: 0, reordered: 0 };

test('DynamoDB Local killed (kill -9) under load and restarted: no acknowledged write lost, duplicated or reordered', async () => {
  // Prepare
  const key = 'faults-kill';
  const subscribers = await openSubscribers(faults, SUBSCRIBERS, key);
  sockets.push(...subscribers);
  const dynamodb = faults.platform.dynamodb;
  if (!dynamodb) throw new Error('the platform must own its DynamoDB Local');
  let restartedAt = Number.POSITIVE_INFINITY;
  let acknowledgedAtRestart = 0;
  let acknowledgedSoFar = 0;
  void dynamodb.nextRestart().then(() => {
    restartedAt = Date.now();
    acknowledgedAtRestart = acknowledgedSoFar;
  });
  const killedPid = dynamodb.pid() as number;
  // /health is watched throughout: it must answer 503 naming dynamodb while the JVM is down.
  const healthUrl = `${faults.platform.urls.httpApi}/health`;
  let degraded: { status?: string; down?: string[] } | undefined;
  const watcher = setInterval(() => {
    fetch(healthUrl)
      .then(async (response) => {
        if (response.status === 503) degraded ??= (await response.json()) as typeof degraded;
      })
      .catch(() => undefined);
  }, 200);
  // Act: 1 s in, the JVM dies; the writer keeps writing (failing while it is down) until 3 s and 20 acknowledged
  // writes after the restart (a busy machine writes slower than asked).
  const load = await writeLoad(faults, {
    key,
    perSecond: WRITES_PER_SECOND,
    done: ({ elapsedMs, acknowledged }) => {
      acknowledgedSoFar = acknowledged;
      const after = Date.now() > restartedAt + 3000 && acknowledged >= acknowledgedAtRestart + 20;
      return after || elapsedMs > 150_000;
    },
    at: [{ ms: 1000, run: () => process.kill(killedPid, 'SIGKILL') }],
  });
  // Assess: the kill happened during the load (writes failed; some acknowledged on either side), then the counts.
  expect(restartedAt).toBeLessThan(Number.POSITIVE_INFINITY);
  expect(load.failed).toBeGreaterThan(0);
  expect(acknowledgedAtRestart).toBeGreaterThan(0);
  expect(load.acknowledged.length).toBeGreaterThanOrEqual(acknowledgedAtRestart + 20);
  expect(await countsOf(subscribers, key, load.acknowledged)).toEqual(subscribers.map(() => NONE));
  clearInterval(watcher);
  expect(dynamodb.status()).toMatchObject({ state: 'up', restarts: 1 });
  expect(degraded).toMatchObject({ status: 'degraded', down: expect.arrayContaining(['dynamodb']) });
  const healthAfter = await fetch(healthUrl);
  expect(healthAfter.status).toBe(200);
  expect(await healthAfter.json()).toMatchObject({ status: 'ok', down: [], dynamodb: { state: 'up', restarts: 1 } });
}, 300_000);

test('@connections answering 429 for 5 s under load: no acknowledged write lost, duplicated or reordered', async () => {
  // Prepare
  const key = 'faults-429';
  const subscribers = await openSubscribers(faults, SUBSCRIBERS, key);
  sockets.push(...subscribers);
  let throttledUntil = 0;
  stub.answer = () => (Date.now() < throttledUntil ? 429 : 200);
  // Act: 1 s in, every post is answered 429 for 5 s; the load runs 8 s (and at least 40 writes).
  const load = await writeLoad(faults, {
    key,
    perSecond: WRITES_PER_SECOND,
    done: ({ elapsedMs, acknowledged }) => elapsedMs > 8000 && acknowledged >= 40,
    at: [{ ms: 1000, run: () => (throttledUntil = Date.now() + 5000) }],
  });
  // Assess: posts were refused, then every subscriber got everything once, in order.
  const refused = [...stub.answers.values()].flat().filter((status) => status === 429).length;
  expect(refused).toBeGreaterThan(0);
  expect(await countsOf(subscribers, key, load.acknowledged)).toEqual(subscribers.map(() => NONE));
}, 300_000);
