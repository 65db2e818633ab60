import { createMessageHandler } from '../../src/handlers/logic/message';
import { wsEvent } from '../helpers/events';
import { captureLog, MemoryConnections, RecordingSender, recordingSnapshotRequests } from '../helpers/fakes';
import { MemoryPresence, publicKeys } from '../helpers/presence-fakes';

function setup(failingMarkers: string[] = []) {
  const connections = new MemoryConnections().seed({ me: [] });
  const sender = new RecordingSender();
  const logger = captureLog();
  const snapshots = recordingSnapshotRequests(failingMarkers);
  const handle = createMessageHandler({
    connections,
    snapshots,
    sender,
    keyAccess: publicKeys,
    presence: new MemoryPresence(connections),
    logger,
    now: () => 1763800000123,
  });
  const send = (routeKey: string, body: unknown) =>
    handle(wsEvent({ routeKey, connectionId: 'me', body: body as string }));
  return { connections, sender, logger, snapshots, handle, send };
}

describe('message routes', () => {
  test('subscribe stores the keys and replies subscribed', async () => {
    const { connections, sender, send } = setup();
    const result = await send('subscribe', { action: 'subscribe', keys: ['3', 'presence:u1'] });
    expect(result.statusCode).toBe(200);
    expect([...(connections.subscriptions.get('me') ?? [])]).toEqual(['3', 'presence:u1']);
    expect(sender.messagesTo('me')).toEqual([{ type: 'subscribed', keys: ['3', 'presence:u1'] }]);
  });

  test('a connection holds at most 100 subscriptions; re-subscribing to held keys is always fine', async () => {
    const { connections, sender, send } = setup();
    const held = Array.from({ length: 95 }, (_, i) => `k${i}`);
    connections.subscriptions.set('me', new Set(held));
    await send('subscribe', { action: 'subscribe', keys: held.slice(0, 10) });
    await send('subscribe', { action: 'subscribe', keys: ['a', 'b', 'c', 'd', 'e'] });
    await send('subscribe', { action: 'subscribe', keys: ['f'] });
    expect(sender.messagesTo('me')).toEqual([
      { type: 'subscribed', keys: held.slice(0, 10) },
      { type: 'subscribed', keys: ['a', 'b', 'c', 'd', 'e'] },
      {
        type: 'error',
        code: 'LIMIT_EXCEEDED',
        message: 'a connection can hold at most 100 subscriptions; it has 100, unsubscribe from some first',
      },
    ]);
    expect(connections.subscriptions.get('me')?.size).toBe(100);
  });

  test('subscribe with snapshot stores the keys, replies subscribed, then asks the fan-out for each snapshot', async () => {
    const { connections, sender, snapshots, send } = setup();
    await send('subscribe', { action: 'subscribe', keys: ['3', '4'], snapshot: true });
    expect([...(connections.subscriptions.get('me') ?? [])]).toEqual(['3', '4']);
    // The snapshots themselves come from the fan-out, in stream order with the keys' changes.
    expect(sender.messagesTo('me')).toEqual([{ type: 'subscribed', keys: ['3', '4'] }]);
    expect(snapshots.requests).toEqual([
      { connectionId: 'me', key: '3', requestId: 'RcvJbF8VjoEFqXw=' },
      { connectionId: 'me', key: '4', requestId: 'RcvJbF8VjoEFqXw=' },
    ]);
  });

  test("a marker that cannot be written gets an error frame for that key's snapshot, without the raw error", async () => {
    const { sender, snapshots, logger, send } = setup(['3']);
    const result = await send('subscribe', { action: 'subscribe', keys: ['3', '4'], snapshot: true });
    expect(result.statusCode).toBe(200);
    expect(sender.messagesTo('me')).toEqual([
      { type: 'subscribed', keys: ['3', '4'] },
      {
        type: 'error',
        code: 'INTERNAL_ERROR',
        message: 'the snapshot of "3" is unavailable; subscribe again with "snapshot":true to retry',
      },
    ]);
    expect(snapshots.requests.map((r) => r.key)).toEqual(['4']);
    expect(JSON.stringify(sender.messagesTo('me'))).not.toContain('secret');
    expect(logger.lines.some((l) => l.level === 'error' && l.message === 'Could not request a snapshot')).toBe(true);
  });

  test('subscribe without snapshot writes no marker', async () => {
    const { snapshots, send } = setup();
    await send('subscribe', { action: 'subscribe', keys: ['3'] });
    expect(snapshots.requests).toEqual([]);
  });

  test('unsubscribe removes the keys and replies unsubscribed', async () => {
    const { connections, sender, send } = setup();
    await send('subscribe', { action: 'subscribe', keys: ['3', '4'] });
    await send('unsubscribe', { action: 'unsubscribe', keys: ['3'] });
    expect([...(connections.subscriptions.get('me') ?? [])]).toEqual(['4']);
    expect(sender.messagesTo('me')[1]).toEqual({ type: 'unsubscribed', keys: ['3'] });
  });

  test('heartbeat replies pong with the time and the connection id', async () => {
    const { sender, send } = setup();
    await send('heartbeat', { action: 'heartbeat' });
    expect(sender.messagesTo('me')).toEqual([{ type: 'pong', at: 1763800000123, connectionId: 'me' }]);
  });

  test('heartbeat still pongs when the connection row is missing or storage fails, and logs it', async () => {
    const { connections, sender, logger, handle } = setup();
    await handle(wsEvent({ routeKey: 'heartbeat', connectionId: 'stranger', body: '{"action":"heartbeat"}' }));
    connections.failOn.touch = new Error('boom');
    await handle(wsEvent({ routeKey: 'heartbeat', connectionId: 'me', body: '{"action":"heartbeat"}' }));
    expect(sender.messagesTo('stranger')).toEqual([{ type: 'pong', at: 1763800000123, connectionId: 'stranger' }]);
    expect(sender.messagesTo('me')[0]).toMatchObject({ type: 'pong' });
    expect(logger.lines.map((l) => l.level)).toEqual(expect.arrayContaining(['warn', 'error']));
  });

  test('$default answers UNKNOWN_ACTION naming the valid actions', async () => {
    const { sender, send } = setup();
    const result = await send('$default', { action: 'dance' });
    expect(result.statusCode).toBe(200);
    expect(sender.messagesTo('me')).toEqual([
      {
        type: 'error',
        code: 'UNKNOWN_ACTION',
        message:
          'unknown action "dance"; valid actions: subscribe, unsubscribe, heartbeat, update-presence, send-message, read-messages',
      },
    ]);
  });

  test.each([
    ['$default', '{"action":', /not valid JSON/],
    ['subscribe', '{"action":"subscribe"}', /keys must be a non-empty array of strings/],
    ['subscribe', { action: 'subscribe', keys: ['x'.repeat(1025)] }, /keys\[0\]: a key must be at most 1024 bytes/],
    ['unsubscribe', { action: 'unsubscribe', keys: 'abc' }, /keys must be a non-empty array of strings/],
    ['subscribe', `{"action":"subscribe","keys":["${'y'.repeat(100_000)}"]}`, /too large/],
  ])('%s with a bad body → BAD_REQUEST, 200, connection kept', async (route, body, message) => {
    const { connections, sender, send } = setup();
    const result = await send(route, body);
    expect(result.statusCode).toBe(200);
    const [reply] = sender.messagesTo('me');
    expect(reply).toMatchObject({ type: 'error', code: 'BAD_REQUEST' });
    expect((reply as { message: string }).message).toMatch(message);
    expect(connections.subscriptions.get('me')?.size).toBe(0);
  });

  test('base64-encoded (binary) frames are read as JSON text', async () => {
    const { sender, handle } = setup();
    const event = wsEvent({
      routeKey: 'heartbeat',
      connectionId: 'me',
      body: Buffer.from('{"action":"heartbeat"}').toString('base64'),
    });
    event.isBase64Encoded = true;
    await handle(event);
    expect(sender.messagesTo('me')[0]).toMatchObject({ type: 'pong' });
  });

  test('a storage failure on subscribe replies INTERNAL_ERROR without the raw error', async () => {
    const { connections, sender, send } = setup();
    connections.failOn.subscribe = new Error('AccessDeniedException: arn:aws:iam::123456789012 secret detail');
    const result = await send('subscribe', { action: 'subscribe', keys: ['3'] });
    expect(result.statusCode).toBe(500);
    expect(sender.messagesTo('me')).toEqual([
      { type: 'error', code: 'INTERNAL_ERROR', message: 'could not subscribe right now; please retry' },
    ]);
  });

  test('a reply to a caller that is gone is logged, not thrown', async () => {
    const { sender, logger, send } = setup();
    sender.script.set('me', ['gone']);
    await expect(send('heartbeat', { action: 'heartbeat' })).resolves.toEqual({ statusCode: 200 });
    expect(logger.lines.some((l) => l.message.includes('the caller is gone'))).toBe(true);
  });

  test('an event without a connection id → 400 and a logged error', async () => {
    const { logger, handle } = setup();
    expect((await handle({ body: '{}' } as never)).statusCode).toBe(400);
    expect(logger.lines[0]?.level).toBe('error');
  });
});

describe('a connection whose token expired (AuthMode=jwt)', () => {
  // setup()'s clock: 1763800000.123 s.
  const NOW_SECONDS = 1763800000;
  const signedIn = (routeKey: string, body: unknown, tokenExpiresAt: number | string) => {
    const event = wsEvent({ routeKey, connectionId: 'me', body: body as string });
    if (event.requestContext) event.requestContext.authorizer = { principalId: 'u1', userId: 'u1', tokenExpiresAt };
    return event;
  };

  test('every message route answers TOKEN_EXPIRED and does nothing once exp plus the 5 s skew has passed', async () => {
    const { connections, sender, handle } = setup();
    for (const [routeKey, body] of [
      ['subscribe', { action: 'subscribe', keys: ['3'] }],
      ['heartbeat', { action: 'heartbeat' }],
      ['$default', { action: 'whatever' }],
    ] as const) {
      const result = await handle(signedIn(routeKey, body, NOW_SECONDS - 6));
      expect(result.statusCode).toBe(200);
    }
    expect(connections.subscriptions.get('me')?.size).toBe(0);
    expect(sender.messagesTo('me')).toEqual(
      Array.from({ length: 3 }, () => ({
        type: 'error',
        code: 'TOKEN_EXPIRED',
        message: 'the token of this connection expired at 2025-11-22T08:26:34.000Z; reconnect with a fresh token',
      })),
    );
  });

  test('within the skew, or with a valid token (also as a string, as API Gateway may pass it), work goes on', async () => {
    const { connections, sender, handle } = setup();
    await handle(signedIn('subscribe', { action: 'subscribe', keys: ['3'] }, NOW_SECONDS - 4));
    await handle(signedIn('subscribe', { action: 'subscribe', keys: ['4'] }, String(NOW_SECONDS + 3600)));
    expect([...(connections.subscriptions.get('me') ?? [])]).toEqual(['3', '4']);
    expect(sender.messagesTo('me').map((m) => m.type)).toEqual(['subscribed', 'subscribed']);
  });
});
