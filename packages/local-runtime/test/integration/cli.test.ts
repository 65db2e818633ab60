import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { freePort } from '@real-time-platform/test-support';
import { ensureTables } from '../../src/dynamodb/tables';
import { loadPlatformModel } from '../../src/template';
import { fixtures, repoRoot } from '../helpers/paths';

// The command line as a user runs it: `npm start -- …` and `npm run invoke -- …` run this package's cli.ts.

const root = repoRoot;
const tsx = join(root, 'node_modules', '.bin', 'tsx');

function cli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, [join(__dirname, '../../src/cli.ts'), ...args], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cli ${args.join(' ')} did not exit within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('--help prints the usage and exits 0', async () => {
  const { code, stdout } = await cli(['--help']);
  expect(code).toBe(0);
  expect(stdout).toContain('npm start -- [options]');
  expect(stdout).toContain('--ws-port');
});

test('a function without its source file stops the start with a message naming it and the fix', async () => {
  const { code, stderr } = await cli(['start', '--template', join(fixtures, 'templates/missing-handler.yaml')]);
  expect(code).toBe(1);
  expect(stderr).toContain('GhostFunction');
  expect(stderr).toMatch(/src\/handlers\/ghost\.ts/);
  expect(stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
});

test('a port in use is named, with the flag that moves it', async () => {
  const port = await freePort();
  const blocker: Server = createServer();
  await new Promise<void>((done) => blocker.listen(port, '127.0.0.1', done));
  try {
    const { code, stderr } = await cli([
      'start',
      '--ws-port',
      String(port),
      '--dynamodb-endpoint',
      'http://127.0.0.1:1',
    ]);
    expect(code).toBe(1);
    expect(stderr).toContain(`Port ${port} (WebSocket API) is already in use.`);
    expect(stderr).toContain('pick another port with --ws-port <port>.');
    expect(stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  } finally {
    blocker.close();
  }
});

test('a port that is not a number is refused, naming the flag, whether it came from the flag or its variable', async () => {
  const fromFlag = await cli(['start', '--ws-port', 'abc']);
  expect(fromFlag.code).toBe(1);
  expect(fromFlag.stderr).toContain('--ws-port must be a port number, got "abc"');

  const fromVariable = await cli(['start'], { RTP_HTTP_PORT: '70000' });
  expect(fromVariable.code).toBe(1);
  expect(fromVariable.stderr).toContain('--http-port must be a port number, got "70000"');
});

test('an unknown template parameter is refused', async () => {
  const { code, stderr } = await cli(['invoke', 'OnConnectLambdaFunction', '--parameter-overrides', 'Nope=1']);
  expect(code).toBe(1);
  expect(stderr).toContain('Nope');
});

test('npm run invoke runs one invocation with a sample event and prints its result', async () => {
  const endpoint = process.env.DYNAMODB_ENDPOINT ?? '';
  const model = loadPlatformModel({ templatePath: join(root, 'template.yaml'), verifyEntryPoints: false });
  const ddb = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });
  await ensureTables(ddb, model.tables);
  ddb.destroy();

  const ok = await cli([
    'invoke',
    'OnConnectLambdaFunction',
    'events/connect.json',
    '--parameter-overrides',
    'RealTimeItemKey=vehicleId',
    '--dynamodb-endpoint',
    endpoint,
  ]);
  expect(ok.stderr).toContain('OnConnectLambdaFunction: succeeded');
  expect(JSON.parse(ok.stdout)).toMatchObject({ statusCode: 200 });
  expect(ok.code).toBe(0);

  const unknown = await cli(['invoke', 'NoSuchFunction']);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain('OnReceiveRealTimeItem');
});
