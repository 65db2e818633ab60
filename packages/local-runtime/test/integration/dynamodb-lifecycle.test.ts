import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { freePort } from '@real-time-platform/test-support';
import { startDynamoDbLocal } from '../../src/dynamodb/dynamodb-local';
import { superviseDynamoDbLocal } from '../../src/dynamodb/supervisor';
import { PortInUseError } from '../../src/ports';
import { fixtures, repoRoot } from '../helpers/paths';
import { isRunning, waitUntilGone } from '../helpers/processes';
import { recordingLogger } from '../helpers/recording-logger';

// DynamoDB Local's life as the runtime runs it: bound to loopback, dead with its owner however the owner dies
// (kill -9 included), recognised when an earlier run left one behind, and restarted when it dies under the runtime.

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Every local address listening on `port`, from /proc/net/tcp and tcp6 (hex as the kernel writes them). */
function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const found: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (local?.endsWith(`:${hexPort}`) && state === '0A') found.push(local.slice(0, -5));
    }
  }
  return found;
}

/** 127.0.0.1 as IPv4 or as an IPv4-mapped IPv6 address, in /proc's byte order. */
const LOOPBACK = new Set(['0100007F', '0000000000000000FFFF00000100007F']);

/** Starts a process that owns a DynamoDB Local (test/fixtures/scripts/own-dynamodb-local.ts). */
async function startOwner(port: number, mode: 'launcher' | 'plain'): Promise<{ owner: ChildProcess; pid: number }> {
  // One process, as `npm start` runs (node --import tsx): the tsx binary would put a second process in between.
  const script = join(fixtures, 'scripts', 'own-dynamodb-local.ts');
  const owner = spawn(process.execPath, ['--import', 'tsx', script, String(port), mode], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  owner.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const line = await new Promise<string>((resolve, reject) => {
    owner.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const end = output.indexOf('\n');
      if (end >= 0) resolve(output.slice(0, end));
    });
    owner.once('exit', (code) => reject(new Error(`the owner exited with ${code}: ${output}`)));
  });
  const { pid } = JSON.parse(line) as { pid: number };
  return { owner, pid };
}

test('DynamoDB Local listens on loopback only', async () => {
  // Prepare
  const port = await freePort();
  const ddb = await startDynamoDbLocal({ port });
  try {
    // Assess: the kernel's own table of listening sockets, and a connection through this machine's other address.
    expect(ddb.binding).toEqual({ loopback: true });
    const addresses = listeningAddresses(port);
    expect(addresses.length).toBeGreaterThan(0);
    for (const address of addresses) expect(LOOPBACK.has(address)).toBe(true);
    const external = Object.values(networkInterfaces())
      .flat()
      .find((nic) => nic?.family === 'IPv4' && !nic.internal)?.address;
    if (external !== undefined) {
      const refused = await new Promise<boolean>((resolve) => {
        const socket = connect(port, external);
        socket.once('connect', () => {
          socket.destroy();
          resolve(false);
        });
        socket.once('error', () => resolve(true));
      });
      expect(refused).toBe(true);
    }
    // Act: it still answers on loopback.
    const client = new DynamoDBClient({ endpoint: ddb.endpoint, region: 'us-east-1', credentials });
    await expect(client.send(new ListTablesCommand({}))).resolves.toBeDefined();
    client.destroy();
  } finally {
    await ddb.stop();
  }
}, 60_000);

test.each([
  ['the loopback launcher', 'launcher' as const],
  ['the plain jar under the shell watchdog', 'plain' as const],
])(
  'kill -9 of the owning process leaves no JVM behind within 5 s (%s)',
  async (_name, mode) => {
    // Prepare
    const port = await freePort();
    const { owner, pid } = await startOwner(port, mode);
    expect(isRunning(pid)).toBe(true);
    // Act
    owner.kill('SIGKILL');
    // Assess
    const tookMs = await waitUntilGone(pid, 5000);
    expect(tookMs).toBeLessThan(5000);
  },
  90_000,
);

test('a DynamoDB Local left running on the port is recognised, and the message says how to stop it', async () => {
  // Prepare: the "earlier run".
  const port = await freePort();
  const stale = await startDynamoDbLocal({ port });
  try {
    // Act
    const starting = startDynamoDbLocal({ port });
    // Assess
    await expect(starting).rejects.toThrow(PortInUseError);
    await expect(starting).rejects.toThrow(
      `It is held by a DynamoDB Local (pid ${stale.pid}) left running by an earlier run.`,
    );
    await expect(starting).rejects.toThrow(`Stop it with: kill ${stale.pid}.`);
    await expect(starting).rejects.toThrow(`--dynamodb-endpoint http://localhost:${port}`);
  } finally {
    await stale.stop();
  }
}, 90_000);

test('the supervisor restarts a killed DynamoDB Local with its --persist data', async () => {
  // Prepare
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'rtp-supervised-'));
  const logger = recordingLogger();
  const restarts: boolean[] = [];
  const supervised = await superviseDynamoDbLocal({
    port,
    persistDir: dir,
    logger,
    restartBackoff: { initialMs: 100, maxMs: 1000 },
    onRestart: async ({ dataLost }) => {
      restarts.push(dataLost);
    },
  });
  const client = new DynamoDBClient({ endpoint: supervised.endpoint, region: 'us-east-1', credentials });
  try {
    await client.send(
      new CreateTableCommand({
        TableName: 'kept',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await client.send(new PutItemCommand({ TableName: 'kept', Item: { pk: { S: 'before' } } }));
    const firstPid = supervised.pid() as number;
    // Act
    const restarted = supervised.nextRestart();
    process.kill(firstPid, 'SIGKILL');
    await restarted;
    // Assess
    expect(supervised.status()).toMatchObject({
      state: 'up',
      restarts: 1,
      persistent: true,
      lastExit: { signal: 'SIGKILL' },
    });
    expect(supervised.pid()).not.toBe(firstPid);
    expect(restarts).toEqual([false]);
    expect((await client.send(new ListTablesCommand({}))).TableNames).toContain('kept');
    expect(logger.messages('error').join('\n')).toContain('DynamoDB Local exited unexpectedly (signal SIGKILL)');
  } finally {
    client.destroy();
    await supervised.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);

test('an in-memory restart is announced loudly as data lost', async () => {
  // Prepare
  const port = await freePort();
  const logger = recordingLogger();
  const events: boolean[] = [];
  const supervised = await superviseDynamoDbLocal({
    port,
    logger,
    restartBackoff: { initialMs: 100, maxMs: 1000 },
    onRestart: async ({ dataLost }) => {
      events.push(dataLost);
    },
  });
  try {
    // Act
    const restarted = supervised.nextRestart();
    process.kill(supervised.pid() as number, 'SIGKILL');
    await restarted;
    // Assess
    expect(events).toEqual([true]);
    expect(logger.messages('error').join('\n')).toContain('EVERY TABLE AND ITEM WRITTEN SO FAR IS LOST');
    // After stop(), an exit is not a crash: nothing restarts it.
    const lastPid = supervised.pid() as number;
    await supervised.stop();
    expect(isRunning(lastPid)).toBe(false);
    expect(supervised.status().state).toBe('stopped');
  } finally {
    await supervised.stop();
  }
}, 120_000);
