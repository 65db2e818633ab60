import { randomUUID } from 'node:crypto';
import { GetConnectionCommand, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import {
  connectionIdOf,
  openRecordingSocket,
  startTestPlatform,
  type TestPlatform,
} from '@real-time-platform/test-support';

// A client that stops reading must not make the gateway queue without bound: past the per-connection cap the
// connection is closed and @connections answers 410, so the fan-out forgets it. Real runtime, real sockets, the
// real @connections SDK client. The memory this saves is measured by `npm run bench:backpressure`.

const CAP_BYTES = 256 * 1024;
/** 100 KB of JSON: the recording sockets parse every frame. */
const MESSAGE = JSON.stringify({ pad: 'x'.repeat(100 * 1024 - 10) });
/** 30 MB: far past the cap plus what the kernel's socket buffers absorb for a reader that never read. */
const MAX_POSTS = 300;

let platform: TestPlatform;

beforeAll(async () => {
  platform = await startTestPlatform({ limits: { sendBufferBytes: CAP_BYTES } });
});

afterAll(async () => {
  await platform?.stop();
});

async function rowCount(connectionId: string): Promise<number> {
  return (await platform.connectionTable.rowsOf(connectionId)).length;
}

/** Posts MESSAGE until the gateway answers 410; returns how many it accepted before. */
async function postUntilGone(connectionId: string): Promise<number> {
  for (let accepted = 0; accepted < MAX_POSTS; accepted++) {
    try {
      await platform.aws.management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: MESSAGE }));
    } catch (error) {
      if (error instanceof GoneException) return accepted;
      throw error;
    }
  }
  return MAX_POSTS;
}

test('a client that stops reading is closed past the send-buffer cap; @connections then answers 410 and its rows go', async () => {
  const key = `k-${randomUUID().slice(0, 8)}`;
  const stalled = await openRecordingSocket(`${platform.urls.webSocket}?realTimeItemKey=${key}`);
  const reader = await openRecordingSocket(`${platform.urls.webSocket}?realTimeItemKey=${key}`);
  const stalledId = await connectionIdOf(stalled);
  const readerId = await connectionIdOf(reader);
  stalled.socket.pause();

  const accepted = await postUntilGone(stalledId);
  // A reader keeps up with the same volume: the cap only ever closes the one that stopped.
  for (let i = 0; i < accepted + 1; i++) {
    await platform.aws.management.send(new PostToConnectionCommand({ ConnectionId: readerId, Data: MESSAGE }));
  }

  console.info(`stalled connection closed after ${accepted} accepted posts of 100 KB`);
  expect(accepted).toBeGreaterThan(0);
  expect(accepted).toBeLessThan(MAX_POSTS);
  await expect(
    platform.aws.management.send(new GetConnectionCommand({ ConnectionId: stalledId })),
  ).rejects.toBeInstanceOf(GoneException);
  await expect(
    platform.aws.management.send(new GetConnectionCommand({ ConnectionId: readerId })),
  ).resolves.toBeDefined();
  // The socket is destroyed a second after the close frame is queued; reading again, the client sees it end.
  stalled.socket.resume();
  expect([1006, 1008]).toContain((await stalled.closed).code);
  for (let i = 0; i < 100 && (await rowCount(stalledId)) > 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect(await rowCount(stalledId)).toBe(0);
  expect(await rowCount(readerId)).toBeGreaterThan(0);
  reader.close();
});
