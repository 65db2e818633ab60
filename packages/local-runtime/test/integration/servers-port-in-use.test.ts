import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startLocalEventBridge } from '../../src/eventbridge';
import { startHttpApi } from '../../src/http';
import { startIotBroker } from '../../src/iot/broker';
import { freePort, PortInUseError } from '../../src/ports';
import { startLocalS3 } from '../../src/s3';
import { silentLogger } from '../../src/types';
import { startWebSocketGateway } from '../../src/websocket';
import { FakeInvoker } from '../helpers/fake-invoker';

// Every server of the runtime listens through ports.ts: a taken port stops each with the same error, naming the
// service and the flag that moves it.

const invoker = new FakeInvoker();
const common = { host: '127.0.0.1', invoker, logger: silentLogger, region: 'us-east-1', accountId: '123456789012' };
let dir: string;
let blocker: Server;
let port: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rtp-ports-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  port = await freePort();
  blocker = createServer();
  await new Promise<void>((done) => blocker.listen(port, '127.0.0.1', done));
});

afterEach(async () => {
  await new Promise((done) => blocker.close(done));
});

/** Starting a server on the held port fails with PortInUseError naming the service and the flag. */
async function expectPortInUse(starting: Promise<unknown>, service: string, flag: string | undefined) {
  await expect(starting).rejects.toThrow(PortInUseError);
  await expect(starting).rejects.toThrow(`Port ${port} (${service}) is already in use.`);
  await expect(starting).rejects.toThrow(flag ? `pick another port with ${flag} <port>.` : 'then start again.');
}

test('the WebSocket gateway names --ws-port', async () => {
  const api = { logicalId: 'Api', apiId: 'a1b2c3d4e5', name: 'api', stage: 'develop', routes: [] };
  await expectPortInUse(
    startWebSocketGateway({ ...common, port, api: { ...api, routeSelectionExpression: '$request.body.action' } }),
    'WebSocket API',
    '--ws-port',
  );
});

test('the HTTP API names --http-port', async () => {
  await expectPortInUse(startHttpApi({ ...common, port, routes: [] }), 'HTTP API', '--http-port');
});

test('the local S3 names --s3-port', async () => {
  const starting = startLocalS3({ ...common, port, dataDir: join(dir, 's3'), buckets: [], s3Events: [] });
  await expectPortInUse(starting, 'local S3', '--s3-port');
});

test('the MQTT broker names --mqtt-port', async () => {
  const dynamodb = new DynamoDBClient({ region: 'us-east-1' });
  try {
    const starting = startIotBroker({ ...common, port, rules: [], dynamodb, deadLetterDir: dir });
    await expectPortInUse(starting, 'MQTT broker', '--mqtt-port');
  } finally {
    dynamodb.destroy();
  }
});

test('the EventBridge endpoint, which has no flag, says to start again', async () => {
  await expectPortInUse(
    startLocalEventBridge({ host: '127.0.0.1', port, logger: silentLogger }),
    'EventBridge endpoint',
    undefined,
  );
});
