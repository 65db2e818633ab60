import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { freePort } from '@real-time-platform/test-support';
import { ensureTables } from '../../src/dynamodb/tables';
import { loadPlatformModel } from '../../src/template';
import { appTemplate, fixtures, repoRoot } from '../helpers/paths';
import { isRunning, waitUntilGone } from '../helpers/processes';

// The command line as a user runs it: `npm start -- …` and `npm run invoke -- …` run this package's cli.ts.

const root = repoRoot;
const tsx = join(root, 'node_modules', '.bin', 'tsx');
// Bundles and dead letters of the runtimes started here go to a folder of this suite's own (--work-dir), removed at
// the end: the suite leaves .local as it found it.
const workDir = (() => {
  mkdirSync(join(root, '.local'), { recursive: true });
  return mkdtempSync(join(root, '.local', 'test-cli-'));
})();
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs cli.ts as `npm start -- …` does; `output` grows as the process writes. */
function startCli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(tsx, [join(__dirname, '../../src/cli.ts'), ...args], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', RTP_WORK_DIR: workDir, ...env },
  });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => {
    output.stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output.stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { child, output, exited };
}

function cli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { child, output, exited } = startCli(args, env);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`cli ${args.join(' ')} did not exit within ${timeoutMs} ms\n${output.stdout}\n${output.stderr}`),
      );
    }, timeoutMs);
    void exited.then((code) => {
      clearTimeout(timer);
      resolve({ code, ...output });
    });
  });
}

test('--help prints the usage and exits 0', async () => {
  const { code, stdout } = await cli(['--help']);
  expect(code).toBe(0);
  expect(stdout).toContain('npm start -- [options]');
  expect(stdout).toContain('--ws-port');
});

test('functions that cannot run are named in one line each and the rest of the template starts', async () => {
  const [wsPort, httpPort] = [await freePort(), await freePort()];
  const { child, output, exited } = startCli([
    'start',
    '--template',
    join(fixtures, 'templates/missing-handler.yaml'),
    '--ws-port',
    String(wsPort),
    '--http-port',
    String(httpPort),
    '--dynamodb-endpoint',
    process.env.DYNAMODB_ENDPOINT ?? '',
    // Not what this test is about, and 3002 may be taken by someone's npm start.
    '--console-port',
    '0',
  ]);
  try {
    await waitFor(() => /Ready in/.test(output.stdout) || child.exitCode !== null, 60_000);
    expect(output.stdout).toContain('Ready in');
    // At start: one line for each part that does not run, with the reason.
    const startLines = output.stderr.split('\n');
    const about = (id: string) => startLines.filter((line) => line.includes(id));
    expect(about('GhostFunction')).toEqual([
      expect.stringMatching(/GhostFunction.*src\/handlers\/ghost\.ts.*does not exist/),
    ]);
    expect(about('PythonFunction')).toEqual([expect.stringMatching(/PythonFunction.*python3\.12.*Node\.js/)]);
    expect(about('Stream')).toEqual([expect.stringMatching(/Stream \(AWS::Kinesis::Stream\): not emulated locally/)]);
    expect(output.stdout).toMatch(/Not run locally +GhostFunction \(AWS::Serverless::Function\), PythonFunction/);

    // The rest runs; the routes of the functions that cannot run answer 500, with the reason in the log.
    const http = `http://127.0.0.1:${httpPort}`;
    expect((await fetch(`${http}/echo`)).status).toBe(200);
    expect((await fetch(`${http}/ghost`)).status).toBe(500);
    expect((await fetch(`${http}/python`)).status).toBe(500);
    await waitFor(() => /GET \/python: PythonFunction failed.*python3\.12/.test(output.stderr), 5_000);
    expect(output.stderr).toMatch(/GET \/ghost: GhostFunction failed.*ghost\.ts .*does not exist/);
    expect(output.stderr).not.toMatch(/\n\s+at /); // messages, not stack traces
  } finally {
    child.kill('SIGINT');
    await exited;
  }
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

/** `npm start` as one process (node --import tsx cli.ts) in `cwd`, on free ports; `output` grows as it writes. */
async function spawnRuntime(
  cwd: string,
  args: string[],
  env: Record<string, string>,
  options: { detached?: boolean } = {},
) {
  const [wsPort, httpPort, dynamodbPort, s3Port, mqttPort] = (
    await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()])
  ).map(String) as [string, string, string, string, string];
  const tsxLoader = pathToFileURL(require.resolve('tsx')).href;
  const runtime = spawn(
    process.execPath,
    [
      ...['--import', tsxLoader, join(__dirname, '../../src/cli.ts'), 'start', '--template', appTemplate, ...args],
      ...['--ws-port', wsPort, '--http-port', httpPort, '--dynamodb-port', dynamodbPort],
      ...['--s3-port', s3Port, '--mqtt-port', mqttPort, '--console-port', '0'],
    ],
    { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env }, ...options },
  );
  const state = { output: '' };
  runtime.stdout.on('data', (chunk: Buffer) => {
    state.output += chunk.toString();
  });
  runtime.stderr.on('data', (chunk: Buffer) => {
    state.output += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    runtime.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { runtime, state, exited, healthUrl: `http://127.0.0.1:${httpPort}/health` };
}

/** The process group of a pid (field 5 of /proc/PID/stat). */
function processGroupOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

test('npm start never prints the JWT secret, and kill -9 of it leaves no Java process within 5 s', async () => {
  // Prepare: started in a scratch folder so its .local goes there, with the secret in RTP_JWT_SECRET as the README
  // advises.
  const scratch = mkdtempSync(join(tmpdir(), 'rtp-kill9-'));
  const secret = `s3cr3t-${randomUUID()}-${randomUUID()}`;
  const { runtime, state, healthUrl } = await spawnRuntime(scratch, ['--auth', 'jwt'], { RTP_JWT_SECRET: secret });
  try {
    const health = await waitForHealth(healthUrl, 150_000, () => runtime.exitCode);
    const javaPid = health.dynamodb.pid as number;
    expect(isRunning(javaPid)).toBe(true);
    await until(() => state.output.includes('Ready in'), 10_000);
    expect(state.output).toContain('HS256 secret from RTP_JWT_SECRET');
    expect(state.output).not.toContain(secret);
    // Act
    runtime.kill('SIGKILL');
    // Assess
    expect(await waitUntilGone(javaPid, 5000)).toBeLessThan(5000);
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\nruntime output:\n${state.output}`);
  } finally {
    runtime.kill('SIGKILL');
    rmSync(scratch, { recursive: true, force: true });
  }
}, 240_000);

test('Ctrl-C, which a terminal sends to the whole process group, stops npm start cleanly: exit 0, DynamoDB Local stopped by the runtime, not restarted', async () => {
  // Prepare: the runtime leads a process group of its own, as a command run in a terminal does.
  const scratch = mkdtempSync(join(tmpdir(), 'rtp-ctrl-c-'));
  const { runtime, state, exited, healthUrl } = await spawnRuntime(scratch, [], {}, { detached: true });
  try {
    const health = await waitForHealth(healthUrl, 150_000, () => runtime.exitCode);
    const javaPid = health.dynamodb.pid as number;
    await until(() => state.output.includes('Ready in'), 10_000);
    // The JVM is outside that group, so the Ctrl-C reaches only the runtime, which stops DynamoDB Local after what
    // uses it. In the group, the JVM died at once (exit 130) and the supervisor logged a crash and restarted it.
    expect(processGroupOf(javaPid)).not.toBe(processGroupOf(runtime.pid as number));
    // Act
    process.kill(-(runtime.pid as number), 'SIGINT');
    // Assess
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(state.output).toMatch(/INFO {2}stopped/);
    expect(state.output).not.toContain('DynamoDB Local exited unexpectedly');
    expect(isRunning(javaPid)).toBe(false);
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\nruntime output:\n${state.output}`);
  } finally {
    runtime.kill('SIGKILL');
    rmSync(scratch, { recursive: true, force: true });
  }
}, 240_000);

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls GET /health until it answers (any status), failing early when the runtime has exited. */
async function waitForHealth(
  url: string,
  timeoutMs: number,
  exitCode: () => number | null,
  // biome-ignore lint/suspicious/noExplicitAny: the health document is read field by field.
): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exitCode() !== null) throw new Error(`the runtime exited with ${exitCode()}`);
    try {
      return (await (await fetch(url)).json()) as Record<string, unknown>;
    } catch {
      if (Date.now() > deadline) throw new Error(`no answer from ${url} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
