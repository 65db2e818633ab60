import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { createFunctionRunner, type FunctionRunner } from '../../src/functions';
import { invokeOnce } from '../../src/invoke';
import { loadPlatformModel, TemplateError } from '../../src/template';
import { type FunctionSpec, type InvocationOutcome, SerializedEvent } from '../../src/types';
import { recordingLogger } from '../helpers/recording-logger';

const templatePath = resolve(__dirname, '../fixtures/templates/functions.yaml');

function failed(outcome: InvocationOutcome) {
  if (outcome.ok) throw new Error(`expected a failure, got ${JSON.stringify(outcome.result)}`);
  return outcome.error;
}

function succeeded(outcome: InvocationOutcome) {
  if (!outcome.ok) throw new Error(`expected a result, got ${JSON.stringify(outcome.error)}`);
  return outcome.result as Record<string, unknown>;
}

describe('the function runner', () => {
  const buildDir = mkdtempSync(join(tmpdir(), 'local-functions-'));
  const stdout = new PassThrough();
  let output = '';
  stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const logger = recordingLogger();
  let runner: FunctionRunner;

  beforeAll(async () => {
    const model = loadPlatformModel({ templatePath, extraEnvironment: { SHARED: 'by-caller' } });
    runner = await createFunctionRunner(model.functions.values(), { buildDir, logger, stdout, stderr: stdout });
  });

  afterAll(async () => {
    await runner.close();
    rmSync(buildDir, { recursive: true, force: true });
  });

  test('returns the handler result with a Lambda-like context', async () => {
    const outcome = await runner.invoke('EchoA', { hello: 'world' }, 'test echo');

    const result = succeeded(outcome);
    expect(result.event).toEqual({ hello: 'world' });
    expect(result.context).toEqual({
      awsRequestId: outcome.requestId,
      functionName: 'EchoA',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:EchoA',
      memoryLimitInMB: '128',
      logGroupName: '/aws/lambda/EchoA',
      logStreamName: expect.stringMatching(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/),
      remaining: expect.any(Number),
    });
    const remaining = (result.context as { remaining: number }).remaining;
    expect(remaining).toBeGreaterThan(4000);
    expect(remaining).toBeLessThanOrEqual(5000);
    expect(outcome.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(logger.lines).toContainEqual(
      expect.objectContaining({
        level: 'info',
        message: expect.stringMatching(/^EchoA ← test echo {2}[\d.]+ ms {2}ok$/),
      }),
    );
  });

  test('a SerializedEvent reaches the handler parsed, its bytes moved to the worker rather than copied', async () => {
    const json = Buffer.from(JSON.stringify({ Records: [{ eventSource: 'aws:dynamodb', note: 'ünïcode ✓' }] }));
    const event = new SerializedEvent(json, { Records: [] });

    const outcome = await runner.invoke('EchoA', event, 'test serialised');

    expect(succeeded(outcome).event).toEqual({ Records: [{ eventSource: 'aws:dynamodb', note: 'ünïcode ✓' }] });
    // Transferred: its ArrayBuffer now belongs to the worker and is empty here.
    expect(event.json.byteLength).toBe(0);
  });

  test('gives each function its own environment, like its own sandbox', async () => {
    const [a, b] = await Promise.all([runner.invoke('EchoA', {}, 'test'), runner.invoke('EchoB', {}, 'test')]);
    expect(succeeded(a)).toMatchObject({ marker: 'alpha', functionName: 'EchoA' });
    expect(succeeded(b)).toMatchObject({ marker: 'beta', functionName: 'EchoB' });
    expect((succeeded(b).context as { memoryLimitInMB: string }).memoryLimitInMB).toBe('512');
    expect(process.env.MARKER).toBeUndefined();
  });

  test('a thrown error comes back as Lambda reports it, with a source-mapped stack', async () => {
    const error = failed(await runner.invoke('Behaviours', { action: 'throw' }, 'test'));
    expect(error.errorType).toBe('ValidationFailed');
    expect(error.errorMessage).toBe('bad input');
    expect(error.stack?.[0]).toBe('ValidationFailed: bad input');
    expect(error.stack?.join('\n')).toMatch(/behaviours\.ts:\d+:\d+/);
    expect(failed(await runner.invoke('Behaviours', { action: 'throw-string' }, 'test'))).toMatchObject({
      errorType: 'string',
      errorMessage: 'plain string',
    });
    expect(logger.lines).toContainEqual(
      expect.objectContaining({
        level: 'error',
        message: expect.stringMatching(/^Behaviours ← test {2}[\d.]+ ms {2}ValidationFailed: bad input$/),
        fields: expect.objectContaining({ stack: expect.stringContaining('behaviours.ts') }),
      }),
    );
  });

  test('a handler past its timeout times out and, as on Lambda, its sandbox is reset: the next one is fresh', async () => {
    await runner.invoke('Behaviours', { action: 'echo' }, 'test');
    expect(succeeded(await runner.invoke('Behaviours', { action: 'invocations' }, 'test'))).not.toEqual({
      invocations: 1,
    });

    const outcome = await runner.invoke('Behaviours', { action: 'sleep', ms: 1500 }, 'test');

    expect(failed(outcome)).toEqual({
      errorType: 'Sandbox.Timedout',
      errorMessage: 'Task timed out after 1.00 seconds',
      timedOut: true,
    });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(990);
    expect(outcome.durationMs).toBeLessThan(1500);
    // The timed-out handler does not keep running beside the next invocation: a new sandbox serves it.
    expect(succeeded(await runner.invoke('Behaviours', { action: 'invocations' }, 'test'))).toEqual({ invocations: 1 });
  });

  test('a timeout while other invocations run in the same worker fails only the one that timed out', async () => {
    const first = runner.invoke('Behaviours', { action: 'sleep', ms: 1500 }, 'test');
    await new Promise((r) => setTimeout(r, 200));
    const second = runner.invoke('Behaviours', { action: 'sleep', ms: 100 }, 'test');
    expect(failed(await first)).toMatchObject({ errorType: 'Sandbox.Timedout' });
    expect(succeeded(await second)).toEqual({ slept: 100 });
  });

  test('a handler that blocks the event loop is timed out, its sandbox replaced, and the next invocation works', async () => {
    const outcome = await runner.invoke('Behaviours', { action: 'block', ms: 4000 }, 'test');
    expect(failed(outcome)).toMatchObject({ errorType: 'Sandbox.Timedout', timedOut: true });

    const next = await runner.invoke('Behaviours', { action: 'echo', value: 'after' }, 'test');

    expect(succeeded(next)).toEqual({ value: 'after' });
    expect(logger.lines.map((line) => line.message)).toContainEqual(
      expect.stringMatching(/sandbox reset after a timeout|event loop blocked/),
    );
  });

  test('a crash outside the handler fails the invocation and the sandbox restarts on the next one', async () => {
    const error = failed(await runner.invoke('Behaviours', { action: 'crash' }, 'test'));
    expect(error).toMatchObject({ errorType: 'Error', errorMessage: 'crashed outside the handler' });

    expect(succeeded(await runner.invoke('Behaviours', { action: 'echo', value: 2 }, 'test'))).toEqual({ value: 2 });
  });

  test('runs many invocations concurrently in one sandbox and answers each by request id', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        runner.invoke('Behaviours', { action: 'sleep', ms: (i * 7) % 50, value: i }, 'test'),
      ),
    );
    expect(outcomes.map((o) => succeeded(o).slept)).toEqual(Array.from({ length: 200 }, (_, i) => (i * 7) % 50));
    expect(new Set(outcomes.map((o) => o.requestId)).size).toBe(200);
    const started = Date.now();
    await Promise.all(Array.from({ length: 20 }, () => runner.invoke('Behaviours', { action: 'sleep', ms: 300 }, 't')));
    // Interleaved, not one after the other.
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('callback-style handlers, init errors and missing exports are reported as Lambda does', async () => {
    expect(succeeded(await runner.invoke('LegacyCallback', { n: 21 }, 'test'))).toEqual({
      doubled: 42,
      via: 'callback',
    });
    const init = failed(await runner.invoke('InitError', {}, 'test'));
    expect(init).toMatchObject({ errorType: 'Error', errorMessage: 'REQUIRED_SETTING is missing' });
    // Lambda retries the init on the next invocation.
    expect(failed(await runner.invoke('InitError', {}, 'test')).errorMessage).toBe('REQUIRED_SETTING is missing');
    expect(failed(await runner.invoke('MissingExport', {}, 'test'))).toMatchObject({
      errorType: 'Runtime.HandlerNotFound',
      errorMessage: 'echo.nope is undefined or not exported',
    });
  });

  test("forwards the functions' console output whole lines at a time, prefixed with the function id", async () => {
    await runner.invoke('EchoB', { line: 'marker-42' }, 'test');
    // The worker's stdout reaches us on its own stream, a moment after the invocation's answer.
    const echoed = '[EchoB] echo {"line":"marker-42"}\n';
    for (let waited = 0; waited < 5000 && !output.includes(echoed); waited += 10) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(output).toContain(echoed);
    for (const line of output.split('\n').filter(Boolean)) expect(line).toMatch(/^\[[A-Za-z]+\] /);
  });

  test('an unknown function id is a programming error that names the known ones', async () => {
    await expect(runner.invoke('Nope', {}, 'test')).rejects.toThrow(/Unknown function Nope; known: EchoA, EchoB/);
  });
});

describe('a timeout while other invocations run in the same worker', () => {
  const buildDir = mkdtempSync(join(tmpdir(), 'local-functions-check-'));
  const logger = recordingLogger();
  let runner: FunctionRunner;
  const transitions = () =>
    logger.lines
      .map((line) => /^Behaviours: sandbox (\w+ → \w+)$/.exec(line.message)?.[1])
      .filter((transition) => transition !== undefined);

  beforeAll(async () => {
    const behaviours = loadPlatformModel({ templatePath }).functions.get('Behaviours');
    if (!behaviours) throw new Error('fixture without Behaviours');
    runner = await createFunctionRunner([behaviours], { buildDir, logger, quiet: true, unresponsiveAfterMs: 100 });
  });

  beforeEach(() => {
    logger.lines.length = 0;
  });

  afterAll(async () => {
    await runner.close();
    rmSync(buildDir, { recursive: true, force: true });
  });

  test('keeps the worker when it still answers: the others finish in it', async () => {
    await runner.invoke('Behaviours', { action: 'echo' }, 'test');
    // Prepare: one invocation that outlives the 1 s timeout, and beside it one that finishes after that timeout.
    const timingOut = runner.invoke('Behaviours', { action: 'sleep', ms: 3000 }, 'test');
    await new Promise((r) => setTimeout(r, 500));
    const beside = runner.invoke('Behaviours', { action: 'sleep', ms: 600 }, 'test');

    expect(failed(await timingOut)).toMatchObject({ errorType: 'Sandbox.Timedout' });
    expect(succeeded(await beside)).toEqual({ slept: 600 });

    // The same sandbox: it has counted every invocation since the first.
    expect(succeeded(await runner.invoke('Behaviours', { action: 'invocations' }, 'test'))).toEqual({
      invocations: 4,
    });
    expect(transitions()).toEqual(['idle → starting', 'starting → ready', 'ready → checking', 'checking → ready']);
  });

  test('replaces a worker whose event loop is blocked: the others fail with it, the next one cold-starts', async () => {
    await runner.invoke('Behaviours', { action: 'echo' }, 'test');
    logger.lines.length = 0;
    const blocking = runner.invoke('Behaviours', { action: 'block', ms: 3000 }, 'test');
    await new Promise((r) => setTimeout(r, 500));
    const beside = runner.invoke('Behaviours', { action: 'sleep', ms: 10 }, 'test');

    expect(failed(await blocking)).toMatchObject({ errorType: 'Sandbox.Timedout' });
    expect(failed(await beside)).toEqual({
      errorType: 'Runtime.ExitError',
      errorMessage: 'The sandbox was restarted: an invocation timed out with its event loop blocked',
    });
    expect(succeeded(await runner.invoke('Behaviours', { action: 'invocations' }, 'test'))).toEqual({
      invocations: 1,
    });
    expect(transitions()).toEqual(['ready → checking', 'checking → idle', 'idle → starting', 'starting → ready']);
    expect(logger.lines).toContainEqual(
      expect.objectContaining({ level: 'warn', message: expect.stringContaining('event loop blocked') }),
    );
  });
});

describe('closing the runner', () => {
  test('fails invocations in flight and later ones with Runtime.ExitError instead of hanging', async () => {
    const buildDir = mkdtempSync(join(tmpdir(), 'local-functions-close-'));
    const model = loadPlatformModel({ templatePath });
    const behaviours = model.functions.get('Behaviours');
    if (!behaviours) throw new Error('fixture without Behaviours');
    const runner = await createFunctionRunner([behaviours], { buildDir, quiet: true, prewarm: true });
    try {
      const inFlight = runner.invoke('Behaviours', { action: 'sleep', ms: 500 }, 'test');
      await new Promise((r) => setTimeout(r, 20));

      await runner.close();

      expect(failed(await inFlight)).toMatchObject({ errorType: 'Runtime.ExitError' });
      expect(failed(await runner.invoke('Behaviours', {}, 'test'))).toMatchObject({ errorType: 'Runtime.ExitError' });
    } finally {
      rmSync(buildDir, { recursive: true, force: true });
    }
  });
});

describe('building functions', () => {
  test('a function that does not bundle is named with the file and the reason in one line; it fails, the rest run', async () => {
    const spec = (logicalId: string, file: string): FunctionSpec => ({
      logicalId,
      handler: `${file}.handler`,
      entryPoint: resolve(__dirname, `../fixtures/functions/${file}.ts`),
      exportName: 'handler',
      timeoutSeconds: 3,
      memoryMb: 128,
      environment: {},
    });
    const buildDir = mkdtempSync(join(tmpdir(), 'local-functions-broken-'));
    const logger = recordingLogger();
    const runner = await createFunctionRunner([spec('Broken', 'broken-import'), spec('Echo', 'echo')], {
      buildDir,
      logger,
    });
    try {
      const reason =
        /^Function Broken: cannot bundle .*broken-import\.ts: .*broken-import\.ts:\d+:\d+: Could not resolve "\.\/does-not-exist"$/;
      expect(runner.buildFailures.get('Broken')).toMatch(reason);
      expect(logger.messages('error').some((line) => line.includes('Function Broken: cannot bundle'))).toBe(true);
      expect(failed(await runner.invoke('Broken', {}, 'test'))).toMatchObject({
        errorType: 'FunctionBuildError',
        errorMessage: expect.stringMatching(reason),
      });
      expect(succeeded(await runner.invoke('Echo', { n: 1 }, 'test'))).toMatchObject({ event: { n: 1 } });
    } finally {
      await runner.close();
      rmSync(buildDir, { recursive: true, force: true });
    }
  });
});

describe('invokeOnce', () => {
  const buildDir = mkdtempSync(join(tmpdir(), 'local-invoke-'));
  afterAll(() => rmSync(buildDir, { recursive: true, force: true }));

  test('runs one function once with the event file and returns its outcome', async () => {
    const outcome = await invokeOnce({
      templatePath,
      logicalId: 'LegacyCallback',
      eventPath: resolve(__dirname, '../fixtures/events/legacy.json'),
      runner: { buildDir, quiet: true },
    });
    expect(succeeded(outcome)).toEqual({ doubled: 14, via: 'callback' });
  });

  test('an unknown logical id lists the valid ones', async () => {
    const failure = invokeOnce({ templatePath, logicalId: 'Echo', runner: { buildDir } });
    await expect(failure).rejects.toBeInstanceOf(TemplateError);
    await expect(failure).rejects.toThrow(/No function Echo in .*Valid logical ids: EchoA, EchoB, Behaviours/);
  });
});
