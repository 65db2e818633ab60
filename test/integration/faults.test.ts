import {
  countDelivery,
  type FaultsPlatform,
  itemNumbers,
  openSubscribers,
  type RecordingSocket,
  startFaultsPlatform,
  waitUntil,
  writeLoad,
} from '@real-time-platform/test-support';

// The platform under faults, end to end: a steady write load to one key with subscribers listening, a fault in the
// middle, and a count per subscriber of the acknowledged writes lost, duplicated or reordered — all must be 0.
// Kept small for CI (20 writes/s, 5 subscribers, seconds); `npm run bench:faults` runs the 100 writes/s with
// 20 subscribers and docs/reliability.md records its numbers.

const WRITES_PER_SECOND = 20;
const SUBSCRIBERS = 5;

describe('DynamoDB Local killed (kill -9) and restarted by the supervisor under load', () => {
  let faults: FaultsPlatform;
  let sockets: RecordingSocket[] = [];
  beforeAll(async () => {
    faults = await startFaultsPlatform();
    sockets = await openSubscribers(faults, SUBSCRIBERS);
  }, 180_000);
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await faults?.stop();
  }, 60_000);

  test('no acknowledged write is lost, duplicated or reordered for any subscriber', async () => {
    // Act: 1 s in, the JVM dies; the writer keeps writing (failing while it is down) until 3 s after the restart.
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
    const load = await writeLoad(faults, {
      perSecond: WRITES_PER_SECOND,
      // 3 s and 20 acknowledged writes after the restart (a busy machine writes slower than asked).
      done: ({ elapsedMs, acknowledged }) => {
        acknowledgedSoFar = acknowledged;
        const after = Date.now() > restartedAt + 3000 && acknowledged >= acknowledgedAtRestart + 20;
        return after || elapsedMs > 150_000;
      },
      at: [{ ms: 1000, run: () => process.kill(killedPid, 'SIGKILL') }],
    });
    expect(restartedAt).toBeLessThan(Number.POSITIVE_INFINITY);
    // The kill happened during the load: some writes failed, and some were acknowledged on either side of it.
    expect(load.failed).toBeGreaterThan(0);
    expect(acknowledgedAtRestart).toBeGreaterThan(0);
    expect(load.acknowledged.length).toBeGreaterThanOrEqual(acknowledgedAtRestart + 20);
    // Assess: every subscriber has the last acknowledged write (the positive signal), then the counts.
    const last = load.acknowledged.at(-1) as number;
    await waitUntil(
      () => sockets.every((socket) => itemNumbers(socket.frames).includes(last)),
      120_000,
      'every subscriber received the last acknowledged write',
    );
    expect(dynamodb.status()).toMatchObject({ state: 'up', restarts: 1 });
    for (const socket of sockets) {
      const { lost, duplicated, reordered } = countDelivery(itemNumbers(socket.frames), load.acknowledged);
      expect({ lost, duplicated, reordered }).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
    }
  }, 300_000);
});
