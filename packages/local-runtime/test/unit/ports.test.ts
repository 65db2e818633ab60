import { createServer as createHttpServer, request } from 'node:http';
import { connect, createServer, type Server } from 'node:net';
import {
  assertPortsFree,
  closeServer,
  freePort,
  freePortRange,
  listen,
  PORTS,
  PortInUseError,
  type PortSetting,
  publicUrl,
} from '../../src/ports';

// The one helper every server listens through: real sockets on 127.0.0.1.

const opened: Server[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((server) => new Promise((done) => server.close(done))));
});

/** A port someone else holds for the rest of the test. */
async function takenPort(): Promise<number> {
  const blocker = createServer();
  opened.push(blocker);
  const { port } = await listen(blocker, { host: '127.0.0.1', port: 0, setting: PORTS.webSocket });
  return port;
}

describe('listen', () => {
  test('port 0 binds a free port and returns it with the public URL', async () => {
    const server = createServer((socket) => socket.end('hello'));
    opened.push(server);

    const listening = await listen(server, { host: '127.0.0.1', port: 0, setting: PORTS.httpApi });

    expect(listening.port).toBeGreaterThan(0);
    expect(listening.url).toBe(`http://localhost:${listening.port}`);
    const answer = await new Promise<string>((resolve, reject) => {
      let text = '';
      connect(listening.port, '127.0.0.1')
        .on('data', (chunk: Buffer) => {
          text += chunk.toString();
        })
        .on('end', () => resolve(text))
        .on('error', reject);
    });
    expect(answer).toBe('hello');
  });

  test('the URL takes the scheme asked for', async () => {
    const server = createServer();
    opened.push(server);

    const { port, url } = await listen(server, { host: '127.0.0.1', port: 0, setting: PORTS.mqtt }, 'mqtt');

    expect(url).toBe(`mqtt://localhost:${port}`);
  });

  test('a port in use is a PortInUseError naming the port, the service and the flag that moves it', async () => {
    const port = await takenPort();
    const server = createServer();

    const listening = listen(server, { host: '127.0.0.1', port, setting: PORTS.webSocket });

    await expect(listening).rejects.toThrow(PortInUseError);
    await expect(listening).rejects.toThrow(
      `Port ${port} (WebSocket API) is already in use. Stop whatever holds it (e.g. an earlier npm start), or pick ` +
        'another port with --ws-port <port>.',
    );
    await expect(listening).rejects.toMatchObject({ port, setting: PORTS.webSocket, retryable: false });
  });

  test.each(Object.entries(PORTS).filter(([, setting]) => 'flag' in setting))(
    'the %s message names its own flag',
    async (_name, setting: PortSetting) => {
      const port = await takenPort();

      const listening = listen(createServer(), { host: '127.0.0.1', port, setting });

      await expect(listening).rejects.toThrow(`Port ${port} (${setting.service}) is already in use`);
      await expect(listening).rejects.toThrow(`${setting.flag} <port>.`);
    },
  );

  test('a service without a flag says to start again rather than name a flag that does not exist', async () => {
    const port = await takenPort();

    const listening = listen(createServer(), { host: '127.0.0.1', port, setting: PORTS.eventBridge });

    await expect(listening).rejects.toThrow(
      `Port ${port} (EventBridge endpoint) is already in use. Stop whatever holds it (e.g. an earlier npm start), ` +
        'then start again.',
    );
  });

  test('other listen errors pass through unchanged', async () => {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): no interface of this machine has it.
    const listening = listen(createServer(), { host: '192.0.2.1', port: 0, setting: PORTS.httpApi });

    await expect(listening).rejects.toMatchObject({ code: 'EADDRNOTAVAIL' });
    await expect(listening).rejects.not.toBeInstanceOf(PortInUseError);
  });
});

describe('publicUrl', () => {
  test.each([
    ['127.0.0.1', 'http://localhost:3000'],
    ['0.0.0.0', 'http://localhost:3000'],
    ['::', 'http://localhost:3000'],
    ['::1', 'http://[::1]:3000'],
    ['192.168.1.20', 'http://192.168.1.20:3000'],
    ['dev.example.com', 'http://dev.example.com:3000'],
  ])('%s → %s', (host, url) => {
    expect(publicUrl(host, 3000)).toBe(url);
  });

  test('takes the scheme', () => {
    expect(publicUrl('127.0.0.1', 3001, 'ws')).toBe('ws://localhost:3001');
  });
});

describe('assertPortsFree', () => {
  test('names the first taken port with its flag, and leaves the free ones free', async () => {
    const free = await freePort();
    const taken = await takenPort();

    const check = assertPortsFree([
      { host: '127.0.0.1', port: free, setting: PORTS.httpApi },
      { host: '127.0.0.1', port: 0, setting: PORTS.s3 },
      { host: '127.0.0.1', port: taken, setting: PORTS.mqtt },
    ]);

    await expect(check).rejects.toThrow(`Port ${taken} (MQTT broker) is already in use`);
    await expect(check).rejects.toThrow('--mqtt-port <port>');
    const after = createServer();
    opened.push(after);
    await expect(listen(after, { host: '127.0.0.1', port: free, setting: PORTS.httpApi })).resolves.toMatchObject({
      port: free,
    });
  });

  test('resolves when every port is free', async () => {
    await expect(
      assertPortsFree([{ host: '127.0.0.1', port: await freePort(), setting: PORTS.webSocket }]),
    ).resolves.toBeUndefined();
  });
});

test('freePort gives a port a server can listen on at once', async () => {
  const port = await freePort();
  const server = createServer();
  opened.push(server);

  await expect(listen(server, { host: '127.0.0.1', port, setting: PORTS.httpApi })).resolves.toMatchObject({ port });
});

test('parallel test workers pick free ports from disjoint slices; a process outside jest from the whole range', async () => {
  const slices = [1, 2, 3, 4, 5, 6, 7, 8].map((worker) => freePortRange(String(worker)));
  for (const [i, a] of slices.entries()) {
    expect(a.to - a.from).toBeGreaterThanOrEqual(1000);
    for (const b of slices.slice(i + 1)) expect(a.to <= b.from || b.to <= a.from).toBe(true);
  }
  expect(freePortRange('9')).toEqual(slices[0]);
  const whole = freePortRange('');
  expect(whole).toEqual({ from: 20_000, to: 32_000 });
  for (const slice of slices) {
    expect(slice.from).toBeGreaterThanOrEqual(whole.from);
    expect(slice.to).toBeLessThanOrEqual(whole.to);
  }

  const mine = freePortRange();
  const port = await freePort();
  expect(port).toBeGreaterThanOrEqual(mine.from);
  expect(port).toBeLessThan(mine.to);
});

test('closeServer does not wait for a request still in progress, and a second close is a no-op', async () => {
  let received: () => void = () => {};
  const requestArrived = new Promise<void>((resolve) => {
    received = resolve;
  });
  // A handler that never answers, as a slow function behind the HTTP API can.
  const server = createHttpServer(() => received());
  const { port } = await listen(server, { host: '127.0.0.1', port: 0, setting: PORTS.httpApi });
  const client = request({ port, host: '127.0.0.1' });
  const clientGone = new Promise<void>((resolve) => client.on('error', () => resolve()));
  client.end();
  await requestArrived;

  await closeServer(server);

  expect(server.listening).toBe(false);
  await clientGone;
  await expect(closeServer(server)).resolves.toBeUndefined();
});
