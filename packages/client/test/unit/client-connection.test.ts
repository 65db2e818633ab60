import { AuthError, ConnectionError, TokenError, UsageError } from '../../src';
import { FakeSocket } from '../fake-socket';
import { connected, harness, settle } from '../harness';
import { jwt } from '../tokens';

// The connection state machine on fake sockets and fake timers: every transition the client makes, what it waits
// and why, and that nothing — a throwing token provider, a hanging one, a refused handshake — escapes as an
// unhandled rejection.

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(() => process.on('unhandledRejection', onUnhandled));
afterAll(() => process.off('unhandledRejection', onUnhandled));
beforeEach(() => {
  jest.useFakeTimers();
  unhandled.length = 0;
});
afterEach(async () => {
  // Rejections surface a turn after they happen.
  await jest.advanceTimersByTimeAsync(0);
  jest.useRealTimers();
  await new Promise((resolve) => setImmediate(resolve));
  expect(unhandled).toEqual([]);
});

describe('connecting', () => {
  test('idle → connecting → connected; nothing happens before connect()', async () => {
    const h = harness();
    expect(h.client.state).toBe('idle');
    await jest.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.created).toHaveLength(0);
    h.client.connect();
    expect(h.client.state).toBe('connecting');
    await settle();
    expect(FakeSocket.last().url).toBe('ws://platform.test/develop');
    FakeSocket.last().accept();
    expect(h.path()).toEqual(['connecting', 'connected']);
    expect(h.states[1]?.detail.reason).toBe('open');
  });

  test('subscribe() and send() connect an idle client', async () => {
    const a = harness();
    a.client.subscribe('3');
    expect(a.client.state).toBe('connecting');
    const b = harness();
    b.client.send({ action: 'heartbeat' });
    expect(b.client.state).toBe('connecting');
  });

  test('the first heartbeat goes out on open; its pong tells the connection id', async () => {
    const h = harness();
    const socket = await connected(h);
    expect(socket.actions('heartbeat')).toHaveLength(1);
    expect(h.client.connectionId).toBe('conn=');
  });

  test('a socket that does not open within connectTimeoutMs is given up', async () => {
    const h = harness({ connectTimeoutMs: 5000 });
    h.client.connect();
    await settle();
    await jest.advanceTimersByTimeAsync(5000);
    expect(FakeSocket.created[0]?.terminated).toBe(true);
    expect(h.path()).toEqual(['connecting', 'reconnecting']);
    expect(h.states[1]?.detail.reason).toBe('connect-failed');
  });

  test('a URL that is not ws(s) and a missing WebSocket are usage errors', () => {
    expect(() => harness({ url: 'http://x' })).toThrow(UsageError);
    expect(() => harness({ WebSocket: undefined })).toThrow(/no WebSocket implementation/);
  });
});

describe('reconnecting', () => {
  test('connected → reconnecting (backoff) → connecting → connected; a normal cut is no error', async () => {
    const h = harness();
    const first = await connected(h);
    first.serverClose(1001, 'Going away');
    expect(h.client.state).toBe('reconnecting');
    const lost = h.states.at(-1)?.detail;
    // The connection had answered a heartbeat, so backoff starts over: attempt 0, cap 500 ms, random 0.5.
    expect(lost).toMatchObject({ reason: 'connection-lost', closeCode: 1001, delayMs: 250, attempt: 1 });
    expect(h.errors).toEqual([]);
    await jest.advanceTimersByTimeAsync(249);
    expect(FakeSocket.created).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(h.client.state).toBe('connecting');
    expect(FakeSocket.created).toHaveLength(2);
    FakeSocket.last().accept();
    expect(h.path()).toEqual(['connecting', 'connected', 'reconnecting', 'connecting', 'connected']);
  });

  test('failed attempts in a row wait longer, up to 20 s', async () => {
    const h = harness({ random: () => 0.999999 });
    h.client.connect();
    await settle();
    const delays: number[] = [];
    for (let attempt = 0; attempt < 9; attempt++) {
      FakeSocket.last().serverClose(1006);
      const delay = h.states.at(-1)?.detail.delayMs ?? -1;
      delays.push(delay);
      await jest.advanceTimersByTimeAsync(delay);
    }
    expect(delays).toEqual([499, 999, 1999, 3999, 7999, 15999, 19999, 19999, 19999]);
  });

  test('a server that accepts but never answers does not reset the backoff', async () => {
    const h = harness({ random: () => 0.999999 });
    h.client.connect();
    await settle();
    for (let attempt = 0; attempt < 3; attempt++) {
      FakeSocket.last().accept();
      FakeSocket.last().serverClose(1011);
      await jest.advanceTimersByTimeAsync(h.states.at(-1)?.detail.delayMs ?? 0);
    }
    expect(h.states.filter((s) => s.state === 'reconnecting').map((s) => s.detail.delayMs)).toEqual([499, 999, 1999]);
  });

  test.each([1009, 1011, 1006])('close %i: an error event with the code, then a reconnect', async (code) => {
    const h = harness();
    const socket = await connected(h);
    socket.serverClose(code, 'x');
    expect(h.errors).toHaveLength(1);
    expect(h.errors[0]).toBeInstanceOf(ConnectionError);
    expect((h.errors[0] as ConnectionError).closeCode).toBe(code);
    expect(h.errors[0]?.retryable).toBe(true);
    await jest.advanceTimersByTimeAsync(h.states.at(-1)?.detail.delayMs ?? -1);
    expect(FakeSocket.created).toHaveLength(2);
  });
});

describe('liveness', () => {
  test('heartbeats every 20 s; a missing pong replaces the socket within 20 + 10 s', async () => {
    const h = harness();
    const socket = await connected(h);
    await jest.advanceTimersByTimeAsync(20_000);
    expect(socket.actions('heartbeat')).toHaveLength(2);
    socket.pong();
    await jest.advanceTimersByTimeAsync(20_000);
    expect(socket.actions('heartbeat')).toHaveLength(3);
    // No pong this time: the socket says OPEN, but nothing answers (a laptop woke up, a network vanished).
    await jest.advanceTimersByTimeAsync(9_999);
    expect(h.client.state).toBe('connected');
    await jest.advanceTimersByTimeAsync(1);
    expect(socket.terminated).toBe(true);
    expect(h.client.state).toBe('reconnecting');
    expect(h.errors[0]?.message).toMatch(/no pong within 10000 ms/);
  });

  test('checkConnection() sends a heartbeat at once', async () => {
    const h = harness();
    const socket = await connected(h);
    h.client.checkConnection();
    expect(socket.actions('heartbeat')).toHaveLength(2);
    h.client.checkConnection();
    expect(socket.actions('heartbeat')).toHaveLength(2);
  });
});

describe('tokens', () => {
  test('the provider is read again for every connection', async () => {
    let n = 0;
    const h = harness({ token: async () => `t${++n}` });
    const first = await connected(h);
    expect(first.param('token')).toEqual(['t1']);
    first.serverClose(1001);
    await jest.advanceTimersByTimeAsync(1000);
    expect(FakeSocket.last().param('token')).toEqual(['t2']);
  });

  test('a provider that throws: a TokenError, then another try after the backoff', async () => {
    let calls = 0;
    const h = harness({
      token: () => {
        calls++;
        if (calls === 1) throw new Error('vault down');
        return Promise.reject(new Error('still down'));
      },
    });
    h.client.connect();
    await settle();
    expect(h.errors[0]).toBeInstanceOf(TokenError);
    expect(h.errors[0]?.message).toMatch(/vault down/);
    expect(h.states.at(-1)).toMatchObject({ state: 'reconnecting', detail: { reason: 'token-error' } });
    await jest.advanceTimersByTimeAsync(h.states.at(-1)?.detail.delayMs ?? -1);
    expect(calls).toBe(2);
    expect(h.errors[1]?.message).toMatch(/still down/);
    expect(FakeSocket.created).toHaveLength(0);
  });

  test('a provider that hangs fails after tokenTimeoutMs; its late rejection goes nowhere', async () => {
    let reject: (error: Error) => void = () => {};
    const h = harness({ tokenTimeoutMs: 3000, token: () => new Promise<string>((_, r) => (reject = r)) });
    h.client.connect();
    await jest.advanceTimersByTimeAsync(2999);
    expect(h.errors).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(h.errors[0]?.message).toMatch(/did not answer within 3000 ms/);
    reject(new Error('too late'));
  });

  test('a provider returning something else than a string is a TokenError', async () => {
    const h = harness({ token: (() => 42) as unknown as () => string });
    h.client.connect();
    await settle();
    expect(h.errors[0]).toBeInstanceOf(TokenError);
  });
});

describe('refused handshakes', () => {
  test.each([401, 403])('%i with a fixed token: stops until setToken()', async (status) => {
    const h = harness({ token: 'old' });
    h.client.connect();
    await settle();
    FakeSocket.last().refuse(status);
    expect(h.errors[0]).toBeInstanceOf(AuthError);
    expect((h.errors[0] as AuthError).status).toBe(status);
    expect(h.errors[0]?.retryable).toBe(false);
    expect(h.states.at(-1)).toMatchObject({ state: 'reconnecting', detail: { reason: 'unauthorized' } });
    await jest.advanceTimersByTimeAsync(3_600_000);
    expect(FakeSocket.created).toHaveLength(1);
    h.client.setToken('new');
    await settle();
    expect(FakeSocket.created).toHaveLength(2);
    expect(FakeSocket.last().param('token')).toEqual(['new']);
    FakeSocket.last().accept();
    expect(h.client.state).toBe('connected');
  });

  test('with a provider: asks it again after each backoff, and connects only with a different token', async () => {
    const tokens = ['a', 'a', 'a', 'b'];
    const provider = jest.fn(async () => tokens.shift() ?? 'b');
    const h = harness({ token: provider });
    h.client.connect();
    await settle();
    FakeSocket.last().refuse(401);
    for (let wait = 0; wait < 100 && FakeSocket.created.length < 2; wait++) await jest.advanceTimersByTimeAsync(100);
    expect(provider).toHaveBeenCalledTimes(4);
    expect(FakeSocket.created.map((s) => s.param('token')[0])).toEqual(['a', 'b']);
    // One AuthError for the refusal, none for the polls that found the same token.
    expect(h.errors.filter((e) => e instanceof AuthError)).toHaveLength(1);
  });

  test('a token whose exp has passed is not even tried', async () => {
    const h = harness({ token: jwt({ sub: 'u1', exp: Math.floor(Date.now() / 1000) - 1 }) });
    h.client.connect();
    await settle();
    expect(FakeSocket.created).toHaveLength(0);
    expect(h.errors[0]).toBeInstanceOf(AuthError);
    expect(h.client.state).toBe('reconnecting');
  });
});

describe('closing', () => {
  test('connected → closed: the socket closes with 1000, nothing reconnects, connect() starts again', async () => {
    const h = harness();
    const socket = await connected(h);
    await h.client.close();
    expect(socket.closedWith).toBe(1000);
    expect(h.path()).toEqual(['connecting', 'connected', 'closed']);
    await jest.advanceTimersByTimeAsync(3_600_000);
    expect(FakeSocket.created).toHaveLength(1);
    h.client.connect();
    await settle();
    expect(FakeSocket.created).toHaveLength(2);
    expect(h.client.state).toBe('connecting');
  });

  test('closing while the token is being read: no socket is opened afterwards', async () => {
    let resolve: (token: string) => void = () => {};
    const h = harness({ token: () => new Promise<string>((r) => (resolve = r)) });
    h.client.connect();
    await settle();
    await h.client.close();
    resolve('late');
    await settle();
    expect(FakeSocket.created).toHaveLength(0);
    expect(h.client.state).toBe('closed');
  });

  test('closing while reconnecting cancels the wait; closing twice is fine; idle → closed', async () => {
    const h = harness();
    const socket = await connected(h);
    socket.serverClose(1006);
    await h.client.close();
    await h.client.close();
    await jest.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.created).toHaveLength(1);
    const idle = harness();
    await idle.client.close();
    expect(idle.path()).toEqual(['closed']);
  });

  test('a socket that does not finish its close handshake is dropped after a second', async () => {
    const h = harness();
    const socket = await connected(h);
    socket.close = () => {};
    const closing = h.client.close();
    await jest.advanceTimersByTimeAsync(1000);
    await closing;
    expect(socket.terminated).toBe(true);
  });
});
