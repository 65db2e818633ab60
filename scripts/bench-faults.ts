/**
 * npm run bench:faults — the fault run: 20 subscribers on one key, 100 sequential writes/s, DynamoDB Local
 * killed (kill -9) 2 s in and restarted by the supervisor; the writes go on until 5 s worth of them (at the asked
 * rate) were acknowledged after the restart. Prints, per subscriber, the acknowledged writes lost, duplicated and
 * received out of order, and the runtime's memory.
 * Options: --writes-per-second N (100), --subscribers N (20).
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import {
  countDelivery,
  itemNumbers,
  openSubscribers,
  startFaultsPlatform,
  waitUntil,
  writeLoad,
} from '@real-time-platform/test-support';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'writes-per-second': { type: 'string', default: '100' },
      subscribers: { type: 'string', default: '20' },
    },
  });
  const perSecond = Number(values['writes-per-second']);
  const subscriberCount = Number(values.subscribers);
  console.log(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const faults = await startFaultsPlatform();
  const sockets = await openSubscribers(faults, subscriberCount);
  try {
    const dynamodb = faults.platform.dynamodb;
    if (!dynamodb) throw new Error('the platform must own its DynamoDB Local');
    const killedPid = dynamodb.pid() as number;
    let killedAt = 0;
    let restartedAt = Number.POSITIVE_INFINITY;
    let acknowledgedSoFar = 0;
    let acknowledgedAtRestart = 0;
    void dynamodb.nextRestart().then(() => {
      restartedAt = Date.now();
      acknowledgedAtRestart = acknowledgedSoFar;
    });
    const rssBefore = process.memoryUsage().rss;
    const started = Date.now();
    const load = await writeLoad(faults, {
      perSecond,
      // 5 s worth of acknowledged writes after the restart (a busy machine writes slower than asked).
      done: ({ elapsedMs, acknowledged }) => {
        acknowledgedSoFar = acknowledged;
        return acknowledged >= acknowledgedAtRestart + 5 * perSecond || elapsedMs > 600_000;
      },
      at: [
        {
          ms: 2000,
          run: () => {
            killedAt = Date.now();
            process.kill(killedPid, 'SIGKILL');
          },
        },
      ],
    });
    const writtenMs = Date.now() - started;
    const last = load.acknowledged.at(-1) as number;
    await waitUntil(
      () => sockets.every((socket) => itemNumbers(socket.frames).includes(last)),
      300_000,
      'every subscriber received the last acknowledged write',
    );
    const caughtUpMs = Date.now() - started;
    const counts = sockets.map((socket) => countDelivery(itemNumbers(socket.frames), load.acknowledged));
    const sum = (field: 'lost' | 'duplicated' | 'reordered') => counts.reduce((total, c) => total + c[field], 0);
    console.log(
      `writes: ${load.acknowledged.length} acknowledged, ${load.failed} failed while DynamoDB Local was down`,
    );
    console.log(`DynamoDB Local down for ${restartedAt - killedAt} ms (kill -9 → restarted, tables and streams back)`);
    console.log(`writing took ${writtenMs} ms; every subscriber had the last write ${caughtUpMs - writtenMs} ms later`);
    console.log(
      `subscribers: ${subscriberCount}; per subscriber received ${Math.min(...counts.map((c) => c.received))}–` +
        `${Math.max(...counts.map((c) => c.received))}; lost ${sum('lost')}, duplicated ${sum('duplicated')}, ` +
        `reordered ${sum('reordered')} (totals over all subscribers)`,
    );
    console.log(`health: ${JSON.stringify(faults.platform.health().dynamodb)}`);
    console.log(
      `runtime RSS: ${(rssBefore / 2 ** 20).toFixed(0)} MB → ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`,
    );
    if (sum('lost') + sum('duplicated') + sum('reordered') > 0) process.exitCode = 1;
  } finally {
    for (const socket of sockets) socket.close();
    await faults.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
