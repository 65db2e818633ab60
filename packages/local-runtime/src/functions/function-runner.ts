import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { DEFAULT_REGION, functionArn, LOCAL_ACCOUNT_ID } from '../arns';
import {
  type FunctionSpec,
  type InvocationOutcome,
  type Invoker,
  type LambdaError,
  type LocalLogger,
  silentLogger,
} from '../types';
import { buildFunctionBundles, buildWorkerRuntime } from './build';
import type { FromWorker, ToWorker, WorkerBootData } from './protocol';

export interface FunctionRunnerOptions {
  logger?: LocalLogger;
  /** Where bundles go; default `.local/build` under the current directory (gitignored). */
  buildDir?: string;
  /** Drop the functions' own stdout/stderr (console, Powertools). */
  quiet?: boolean;
  /** Prefix each output line with `[LogicalId] ` (default true). */
  prefixOutput?: boolean;
  /** Where the functions' stdout lines go (default process.stdout). */
  stdout?: NodeJS.WritableStream;
  /** Where the functions' stderr lines go (default process.stderr). */
  stderr?: NodeJS.WritableStream;
  /** After a timeout, how long a worker may take to answer a ping before it is deemed blocked (default 1000 ms). */
  unresponsiveAfterMs?: number;
  /** Limit on a cold start (loading the bundle); Lambda's init phase has 10 s. */
  initTimeoutMs?: number;
  /** Start every worker now instead of on its first invocation. */
  prewarm?: boolean;
  /**
   * Invocations handed to one worker at a time (default 128); more wait in the parent, unstarted. Lambda would
   * give each its own sandbox; one worker thread running thousands at once (10,000 clients connecting together)
   * lets every one of them time out and queues the health-check ping behind them, so a busy worker was taken for
   * a blocked one and restarted, failing them all.
   */
  maxConcurrentInvocations?: number;
}

/** Builds the functions' bundles and returns an Invoker that runs each function in its own worker thread. */
export async function createFunctionRunner(
  functions: Iterable<FunctionSpec>,
  options: FunctionRunnerOptions = {},
): Promise<FunctionRunner> {
  const specs = [...functions];
  const buildDir = resolve(options.buildDir ?? '.local/build');
  const started = performance.now();
  const [workerScript, bundles] = await Promise.all([
    buildWorkerRuntime(buildDir),
    buildFunctionBundles(specs, buildDir),
  ]);
  (options.logger ?? silentLogger).debug(
    `bundled ${specs.length} function(s) in ${Math.round(performance.now() - started)} ms`,
    { buildDir },
  );
  const runner = new FunctionRunner(specs, bundles, workerScript, options);
  if (options.prewarm) await runner.warm();
  return runner;
}

/** Runs template functions the way Lambda would: one sandbox (worker thread) per function, timeouts enforced. */
export class FunctionRunner implements Invoker {
  private readonly sandboxes = new Map<string, Sandbox>();

  constructor(
    specs: FunctionSpec[],
    bundles: Map<string, string>,
    workerScript: string,
    options: FunctionRunnerOptions,
  ) {
    for (const spec of specs) {
      const bundlePath = bundles.get(spec.logicalId);
      if (!bundlePath) throw new Error(`No bundle for ${spec.logicalId}`);
      this.sandboxes.set(spec.logicalId, new Sandbox(spec, bundlePath, workerScript, options));
    }
  }

  /** Runs one invocation; handler failures and timeouts come back as `{ok: false}` outcomes. */
  invoke(functionId: string, event: unknown, trigger: string): Promise<InvocationOutcome> {
    const sandbox = this.sandboxes.get(functionId);
    if (!sandbox) {
      return Promise.reject(
        new Error(`Unknown function ${functionId}; known: ${[...this.sandboxes.keys()].join(', ') || 'none'}`),
      );
    }
    return sandbox.invoke(event, trigger);
  }

  /** Cold-starts the given functions (all by default) now; init errors surface on their first invocation. */
  async warm(functionIds: string[] = [...this.sandboxes.keys()]): Promise<void> {
    await Promise.all(
      functionIds.map((id) =>
        this.sandboxes
          .get(id)
          ?.ensureStarted()
          .catch(() => undefined),
      ),
    );
  }

  /** Terminates every worker; invocations still in flight fail with Runtime.ExitError. */
  async close(): Promise<void> {
    await Promise.all([...this.sandboxes.values()].map((sandbox) => sandbox.close()));
  }
}

interface Pending {
  id: string;
  trigger: string;
  startedAt: number;
  timer: NodeJS.Timeout;
  resolve: (outcome: InvocationOutcome) => void;
}

/** One function's execution environment: a worker thread that is (re)started on demand. */
class Sandbox {
  private worker: Worker | undefined;
  /** Resolves once the current worker has loaded the bundle; rejects with the init error. */
  private starting: Promise<void> | undefined;
  private ready = false;
  /** While a timed-out worker is being checked, new invocations wait here rather than join a blocked loop. */
  private health: Promise<void> | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly logger: LocalLogger;
  private readonly timeoutMs: number;
  private closed = false;
  private readonly pongWaiters = new Set<() => void>();
  /** Invocations waiting for a free slot (maxConcurrentInvocations); the function's timeout starts at dispatch. */
  private readonly queued: (() => void)[] = [];
  private readonly maxInFlight: number;

  constructor(
    private readonly spec: FunctionSpec,
    private readonly bundlePath: string,
    private readonly workerScript: string,
    private readonly options: FunctionRunnerOptions,
  ) {
    this.logger = options.logger ?? silentLogger;
    this.timeoutMs = spec.timeoutSeconds * 1000;
    this.maxInFlight = Math.max(1, options.maxConcurrentInvocations ?? 128);
  }

  invoke(event: unknown, trigger: string): Promise<InvocationOutcome> {
    const id = randomUUID();
    const startedAt = performance.now();
    let eventJson: string;
    try {
      eventJson = JSON.stringify(event) ?? 'null';
    } catch (error) {
      return Promise.resolve(
        this.settle(id, trigger, startedAt, {
          errorType: 'InvalidRequestContentException',
          errorMessage: `Could not serialise the event as JSON: ${String(error)}`,
        }),
      );
    }
    // Fast path: a warm, healthy worker takes the message straight away (no promise hops).
    if (this.ready && !this.health && this.worker) {
      return new Promise((resolve) => this.dispatch(id, trigger, startedAt, eventJson, resolve));
    }
    return this.invokeCold(id, trigger, startedAt, eventJson);
  }

  private async invokeCold(
    id: string,
    trigger: string,
    startedAt: number,
    eventJson: string,
  ): Promise<InvocationOutcome> {
    if (this.closed) {
      return this.settle(id, trigger, startedAt, {
        errorType: 'Runtime.ExitError',
        errorMessage: 'The runtime is shutting down',
      });
    }
    while (this.health) await this.health;
    try {
      await this.ensureStarted();
    } catch (error) {
      return this.settle(id, trigger, startedAt, error as LambdaError);
    }
    return new Promise((resolve) => this.dispatch(id, trigger, startedAt, eventJson, resolve));
  }

  private dispatch(
    id: string,
    trigger: string,
    startedAt: number,
    eventJson: string,
    resolve: (outcome: InvocationOutcome) => void,
  ): void {
    if (this.pending.size >= this.maxInFlight) {
      this.queued.push(() => this.dispatch(id, trigger, startedAt, eventJson, resolve));
      return;
    }
    const worker = this.worker;
    if (!worker) {
      resolve(
        this.settle(id, trigger, startedAt, { errorType: 'Runtime.ExitError', errorMessage: 'The sandbox stopped' }),
      );
      return;
    }
    const timer = setTimeout(() => this.onTimeout(id), this.timeoutMs);
    this.pending.set(id, { id, trigger, startedAt, timer, resolve });
    this.post(worker, { type: 'invoke', id, event: eventJson, deadline: Date.now() + this.timeoutMs });
  }

  /** Starts the worker if none runs; resolves when its bundle is loaded (the cold start). */
  ensureStarted(): Promise<void> {
    if (this.starting) return this.starting;
    const boot: WorkerBootData = {
      bundlePath: this.bundlePath,
      exportName: this.spec.exportName,
      handler: this.spec.handler,
      functionName: this.spec.functionName ?? this.spec.logicalId,
      invokedFunctionArn:
        this.spec.functionArn ??
        functionArn(DEFAULT_REGION, LOCAL_ACCOUNT_ID, this.spec.functionName ?? this.spec.logicalId),
      memoryLimitInMB: String(this.spec.memoryMb),
      logGroupName: `/aws/lambda/${this.spec.functionName ?? this.spec.logicalId}`,
      logStreamName: logStreamName(),
    };
    const worker = new Worker(this.workerScript, {
      workerData: boot,
      // Each function sees only its own environment, as in its own Lambda sandbox.
      env: { ...this.spec.environment, AWS_LAMBDA_LOG_STREAM_NAME: boot.logStreamName },
      execArgv: ['--enable-source-maps'],
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: Math.max(this.spec.memoryMb, 256) },
    });
    this.worker = worker;
    this.ready = false;
    this.pipeOutput(worker.stdout, this.options.stdout ?? process.stdout);
    this.pipeOutput(worker.stderr, this.options.stderr ?? process.stderr);

    this.starting = new Promise<void>((resolveStart, rejectStart) => {
      const initTimeoutMs = this.options.initTimeoutMs ?? 10_000;
      const initTimer = setTimeout(() => {
        rejectStart({
          errorType: 'Sandbox.Timedout',
          errorMessage: `Init timed out after ${(initTimeoutMs / 1000).toFixed(2)} seconds`,
          timedOut: true,
        } satisfies LambdaError);
        this.reset(worker, undefined);
      }, initTimeoutMs);
      worker.on('message', (message: FromWorker) => {
        switch (message.type) {
          case 'ready':
            clearTimeout(initTimer);
            this.ready = true;
            resolveStart();
            break;
          case 'init-error':
            clearTimeout(initTimer);
            this.logger.debug(
              `${this.spec.logicalId} init failed: ${message.error.errorType}: ${message.error.errorMessage}`,
              {
                function: this.spec.logicalId,
                stack: message.error.stack?.join('\n'),
              },
            );
            rejectStart(message.error);
            // Lambda retries the init on the next invocation: start from scratch then.
            this.reset(worker, message.error);
            break;
          case 'result':
            this.onResult(message);
            break;
          case 'fatal':
            this.reset(worker, message.error);
            break;
          case 'pong':
            for (const waiter of this.pongWaiters) waiter();
            break;
        }
      });
      worker.on('error', (error) => {
        clearTimeout(initTimer);
        const lambdaError: LambdaError = {
          errorType: error.name,
          errorMessage: error.message,
          stack: error.stack?.split('\n'),
        };
        rejectStart(lambdaError);
        this.reset(worker, lambdaError);
      });
      worker.on('exit', (code) => {
        clearTimeout(initTimer);
        const exitError: LambdaError = {
          errorType: 'Runtime.ExitError',
          errorMessage: `RequestId: - Error: Runtime exited with error: exit status ${code}`,
        };
        rejectStart(exitError);
        this.reset(worker, exitError);
      });
    });
    // The rejection is delivered to the invocations awaiting it; this keeps an unobserved one from crashing us.
    this.starting.catch(() => undefined);
    return this.starting;
  }

  private onResult(message: Extract<FromWorker, { type: 'result' }>): void {
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    clearTimeout(pending.timer);
    this.dispatchQueued();
    if (message.ok) {
      const durationMs = performance.now() - pending.startedAt;
      this.logger.info(`${this.spec.logicalId} ← ${pending.trigger}  ${durationMs.toFixed(1)} ms  ok`, {
        requestId: pending.id,
      });
      pending.resolve({ ok: true, result: JSON.parse(message.payload), durationMs, requestId: pending.id });
    } else {
      pending.resolve(this.settle(pending.id, pending.trigger, pending.startedAt, message.error));
    }
  }

  private onTimeout(id: string): void {
    const pending = this.pending.get(id);
    const worker = this.worker;
    if (!pending || !worker) return;
    this.pending.delete(id);
    this.post(worker, { type: 'cancel', id });
    this.dispatchQueued();
    pending.resolve(
      this.settle(id, pending.trigger, pending.startedAt, {
        errorType: 'Sandbox.Timedout',
        errorMessage: `Task timed out after ${this.spec.timeoutSeconds.toFixed(2)} seconds`,
        timedOut: true,
      }),
    );
    // Lambda resets the sandbox after a timeout, so the timed-out handler does not keep running beside the retry
    // (duplicates, reordering). Do the same when nothing else runs in this worker; otherwise the others would fail
    // with it, so the worker is kept unless its event loop is blocked.
    if (this.pending.size === 0) {
      this.logger.debug(`${this.spec.logicalId}: sandbox reset after a timeout; the next invocation cold-starts`);
      this.reset(worker, undefined);
      return;
    }
    this.checkResponsive(worker);
  }

  /**
   * A timed-out handler may just be awaiting forever (the worker still answers; its late result is dropped) or may
   * block the event loop (no answer): then the worker is terminated and the next invocation cold-starts a new one.
   */
  private checkResponsive(worker: Worker): void {
    if (this.health) return;
    this.health = new Promise<void>((done) => {
      const finish = () => {
        clearTimeout(timer);
        this.pongWaiters.delete(finish);
        this.health = undefined;
        done();
      };
      const timer = setTimeout(() => {
        this.logger.warn(`${this.spec.logicalId} did not answer after a timeout (event loop blocked); restarting it`);
        this.reset(worker, {
          errorType: 'Runtime.ExitError',
          errorMessage: 'The sandbox was restarted: an invocation timed out with its event loop blocked',
        });
        finish();
      }, this.options.unresponsiveAfterMs ?? 1000);
      this.pongWaiters.add(finish);
      this.post(worker, { type: 'ping' });
    });
  }

  /** Drops the worker (crash, init error, blocked loop); pending invocations fail with `error`. */
  private reset(worker: Worker, error: LambdaError | undefined): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.starting = undefined;
    this.ready = false;
    void worker.terminate();
    const failure = error ?? { errorType: 'Runtime.ExitError', errorMessage: 'The sandbox stopped' };
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.resolve(this.settle(pending.id, pending.trigger, pending.startedAt, failure));
    }
    this.pending.clear();
    // Not started yet, but they were meant for this worker: they fail with it, as its in-flight ones do.
    this.dispatchQueued();
  }

  /** Starts queued invocations while slots are free (with no worker they fail at once in dispatch). */
  private dispatchQueued(): void {
    while (this.queued.length > 0 && this.pending.size < this.maxInFlight) this.queued.shift()?.();
  }

  /** Builds a failed outcome and writes its log line. */
  private settle(id: string, trigger: string, startedAt: number, error: LambdaError): InvocationOutcome {
    const durationMs = performance.now() - startedAt;
    this.logger.error(
      `${this.spec.logicalId} ← ${trigger}  ${durationMs.toFixed(1)} ms  ${error.errorType}: ${error.errorMessage}`,
      {
        requestId: id,
        ...(error.stack && error.stack.length > 0 ? { stack: error.stack.join('\n') } : {}),
      },
    );
    return { ok: false, error, durationMs, requestId: id };
  }

  private post(worker: Worker, message: ToWorker): void {
    worker.postMessage(message);
  }

  /** Forwards a worker stream line by line, so that lines of different functions never interleave mid-line. */
  private pipeOutput(stream: Readable, target: NodeJS.WritableStream): void {
    if (this.options.quiet) {
      stream.resume();
      return;
    }
    const prefix = this.options.prefixOutput === false ? '' : `[${this.spec.logicalId}] `;
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const text = partial + chunk;
      const end = text.lastIndexOf('\n');
      if (end === -1) {
        partial = text;
        return;
      }
      partial = text.slice(end + 1);
      const lines = text.slice(0, end);
      target.write(prefix ? `${prefix}${lines.replaceAll('\n', `\n${prefix}`)}\n` : `${lines}\n`);
    });
    stream.on('end', () => {
      if (partial) target.write(`${prefix}${partial}\n`);
      partial = '';
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    this.reset(worker, { errorType: 'Runtime.ExitError', errorMessage: 'The runtime is shutting down' });
    await worker.terminate();
  }
}

/** Lambda's log stream name shape: 2026/11/22/[$LATEST]<32 hex>. */
function logStreamName(): string {
  const now = new Date();
  const day = `${now.getUTCFullYear()}/${String(now.getUTCMonth() + 1).padStart(2, '0')}/${String(now.getUTCDate()).padStart(2, '0')}`;
  return `${day}/[$LATEST]${randomUUID().replaceAll('-', '')}`;
}
