import { randomUUID } from 'node:crypto';
import { startTestPlatform, type TestPlatform } from '@real-time-platform/test-support';

// AuthMode=jwt: a connection ends with its token. The real template on the local runtime, real sockets; the presence
// sweep is the real PresenceSweepFunction, invoked once here rather than waiting for its one-minute schedule.

/** TOKEN_EXPIRY_SKEW_SECONDS: the clock tolerance of the token check. */
const SKEW_SECONDS = 5;
const nowSeconds = () => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let platform: TestPlatform;

beforeAll(async () => {
  // The schedule is slowed to a crawl so that only the explicit invocation below sweeps.
  platform = await startTestPlatform({ auth: 'jwt', scheduleSpeed: 0.001 });
}, 180_000);
jest.setTimeout(120_000); // the token runs out 30 s into the test; the functions may start slowly on a busy machine

afterAll(async () => {
  await platform?.stop();
});

/** The id of the user's one connection (connectionsByUser), once the index has it. */
async function connectionIdOfUser(userId: string): Promise<string> {
  for (;;) {
    const [id] = await platform.connectionTable.connectionsOf(userId);
    if (id !== undefined) return id;
    await sleep(100);
  }
}

const connectionRow = (connectionId: string) => platform.connectionTable.rowsOf(connectionId);

test('the token expiry is stored; past it (plus the skew) routes answer TOKEN_EXPIRED and the sweep closes the socket', async () => {
  const userId = `u-${randomUUID().slice(0, 8)}`;
  // Long enough for the handshake on a busy machine; the message routes are first used after it has run out.
  const exp = nowSeconds() + 30;
  const expiring = await (await platform.signIn(userId, { exp })).connect();
  const lasting = await (await platform.signIn(`${userId}-b`)).connect();
  const connectionId = await connectionIdOfUser(userId);
  const own = (await connectionRow(connectionId)).find((row) => row.realTimeItemKey?.S?.startsWith('$connection#'));
  expect(Number(own?.tokenExpiresAt?.N)).toBe(exp);

  // Waits for the clock, not for something not to happen: the refusals below are the positive signal.
  while (Date.now() <= (exp + SKEW_SECONDS) * 1000 + 200) await sleep(200);
  expiring.send({ action: 'subscribe', keys: ['3'] });
  expiring.send({ action: 'send-message', conversationId: 'd_nobody', content: 'hi', tempMessageId: 't-1' });
  // Generous: the functions may still be starting on a busy machine.
  const refusals = await expiring.count((m) => m.type === 'error' && m.code === 'TOKEN_EXPIRED', 2, 45_000);
  expect(refusals[0]?.message).toMatch(/reconnect with a fresh token/);
  expect(refusals.find((m) => m.tempMessageId === 't-1')).toBeDefined();

  const outcome = await platform.runner.invoke('PresenceSweepFunction', { source: 'aws.events' }, 'test sweep');
  expect(outcome.ok).toBe(true);
  expect((await expiring.closed).code).toBe(1000);
  expect(await connectionRow(connectionId)).toEqual([]);
  // A connection with a valid token is left alone.
  lasting.send({ action: 'heartbeat' });
  expect((await lasting.next((m) => m.type === 'pong', 45_000)).type).toBe('pong');
  lasting.close();
});
