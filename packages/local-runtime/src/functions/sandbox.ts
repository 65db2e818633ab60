import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { DEFAULT_REGION, functionArn, LOCAL_ACCOUNT_ID } from '../arns';
import {
  type FunctionSpec,
  type InvocationOutcome,
  type LambdaError,
  type LocalLogger,
  SerializedEvent,
  silentLogger,
} from '../types';
import type { AwsHostRoutes } from './aws-hosts';
import { type FunctionCode, RUNTIME_MODULES_DIR } from './build';
import type { FromWorker, ToWorker, WorkerBootData } from './protocol';

/** How every function's sandbox runs: where its output goes and how long it is given. */
export interface SandboxOptions {
  logger?: LocalLogger;
  /** Drop the functions' own stdout/stderr (console, Powertools). */
  quiet?: boolean;
  /** Prefix each output line with `[LogicalId] ` (default true). */
  prefixOutput?: boolean;
  /** Where the functions' stdout lines go (default process.stdout). */
  stdout?: NodeJS.WritableStream;
  /** Where the functions' stderr lines go (default process.stderr). */
  stderr?: NodeJS.WritableStream;
  /**
   * Told of every line a function writes to stdout, quiet or not: what CloudWatch Logs would receive (the console's
   * fan-out tail reads the fan-out's summary line from it).
   */
  onOutputLine?: (functionId: string, line: string) => void;
  /** After a timeout, how long a worker may take to answer a ping before it is deemed blocked (default 1000 ms). */
  unresponsiveAfterMs?: number;
  /** Limit on a cold start (loading the bundle); Lambda's init phase has 10 s. */
  initTimeoutMs?: number;
  /**
   * Invocations handed to one worker at a time (default 128); more wait in the parent, unstarted. Lambda would
   * give each its own sandbox; one worker thread running thousands at once (10,000 clients connecting together)
   * lets every one of them time out and queues the health-check ping behind them, so a busy worker was taken for
   * a blocked one and restarted, failing them all.
   */
  maxConcurrentInvocations?: number;
  /** Where the functions' requests to AWS hosts go (the local services); absent: out as they are. */
  awsRoutes?: AwsHostRoutes;
}

interface Pending {
  id: string;
  trigger: string;
  startedAt: number;
  timer: NodeJS.Timeout;
  resolve: (outcome: InvocationOutcome) => void;
}

/**
 * Where a function's sandbox is in its life. A worker is cold-started on demand (idle → starting → ready); when an
 * invocation times out beside others, the worker is pinged (checking) and kept if it answers; a worker that crashes,
 * fails its init, blocks its event loop or is reset after a timeout is dropped (→ idle: the next invocation
 * cold-starts). closed is final.
 */
type SandboxState =
  | { state: 'idle' }
  | { state: 'starting'; worker: Worker; started: Promise<void> }
  | { state: 'ready'; worker: Worker }
  /** New invocations wait for `checked` rather than join a loop that may be blocked; `endCheck` settles it. */
  | { state: 'checking'; worker: Worker; checked: Promise<void>; endCheck: () => void }
  | { state: 'closed' };

const NEXT_STATES: Record<SandboxState['state'], readonly SandboxState['state'][]> = {
  idle: ['starting', 'closed'],
  starting: ['ready', 'idle', 'closed'],
  ready: ['checking', 'idle', 'closed'],
  checking: ['ready', 'idle', 'closed'],
  closed: [],
};

const SHUTTING_DOWN: LambdaError = { errorType: 'Runtime.ExitError', errorMessage: 'The runtime is shutting down' };

/** The worker of a state that has one. */
function workerOf(state: SandboxState): Worker | undefined {
  return 'worker' in state ? state.worker : undefined;
}

/** One function's execution environment: a worker thread that is (re)started on demand. */
export class Sandbox {
  private state: SandboxState = { state: 'idle' };
  private readonly pending = new Map<string, Pending>();
  private readonly logger: LocalLogger;
  private readonly timeoutMs: number;
  /** Invocations waiting for a free slot (maxConcurrentInvocations); the function's timeout starts at dispatch. */
  private readonly queued: (() => void)[] = [];
  private readonly maxInFlight: number;

  constructor(
    private readonly spec: FunctionSpec,
    private readonly code: FunctionCode,
    private readonly workerScript: string,
    private readonly options: SandboxOptions,
  ) {
    this.logger = options.logger ?? silentLogger;
    this.timeoutMs = spec.timeoutSeconds * 1000;
    this.maxInFlight = Math.max(1, options.maxConcurrentInvocations ?? 128);
  }

  /** The one place the state changes; a move the lifecycle does not allow is a bug in this class. */
  private transition(next: SandboxState): void {
    const previous = this.state;
    if (!NEXT_STATES[previous.state].includes(next.state)) {
      throw new Error(`${this.spec.logicalId}: the sandbox cannot go from ${previous.state} to ${next.state}`);
    }
    this.state = next;
    // However a check ends (an answer, a blocked loop, a crash, close), the invocations waiting on it go on.
    if (previous.state === 'checking') previous.endCheck();
    this.logger.debug(`${this.spec.logicalId}: sandbox ${previous.state} → ${next.state}`);
  }

  invoke(event: unknown, trigger: string): Promise<InvocationOutcome> {
    const id = randomUUID();
    const startedAt = performance.now();
    let eventJson: string | Uint8Array;
    try {
      eventJson = event instanceof SerializedEvent ? event.json : (JSON.stringify(event) ?? 'null');
    } catch (error) {
      return Promise.resolve(
        this.settle(id, trigger, startedAt, {
          errorType: 'InvalidRequestContentException',
          errorMessage: `Could not serialise the event as JSON: ${String(error)}`,
        }),
      );
    }
    // Fast path: a warm, healthy worker takes the message straight away (no promise hops).
    if (this.state.state === 'ready') {
      return new Promise((resolve) => this.dispatch(id, trigger, startedAt, eventJson, resolve));
    }
    return this.invokeCold(id, trigger, startedAt, eventJson);
  }

  private async invokeCold(
    id: string,
    trigger: string,
    startedAt: number,
    eventJson: string | Uint8Array,
  ): Promise<InvocationOutcome> {
    while (this.state.state === 'checking') await this.state.checked;
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
    eventJson: string | Uint8Array,
    resolve: (outcome: InvocationOutcome) => void,
  ): void {
    if (this.pending.size >= this.maxInFlight) {
      this.queued.push(() => this.dispatch(id, trigger, startedAt, eventJson, resolve));
      return;
    }
    const worker = workerOf(this.state);
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
    switch (this.state.state) {
      case 'idle':
        return this.start();
      case 'starting':
        return this.state.started;
      case 'ready':
      case 'checking':
        return Promise.resolve();
      case 'closed':
        return Promise.reject(SHUTTING_DOWN);
    }
  }

  private start(): Promise<void> {
    const boot: WorkerBootData = {
      bundlePath: this.code.path,
      format: this.code.format,
      runtimeModulesDir: RUNTIME_MODULES_DIR,
      memoryLimitMb: this.spec.memoryMb,
      ...(this.options.awsRoutes ? { awsRoutes: this.options.awsRoutes } : {}),
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
      // V8's own cap at MemorySize, so that a runaway allocation cannot take the machine; the worker's watchdog
      // counts its buffers too (worker-main.ts).
      resourceLimits: { maxOldGenerationSizeMb: this.spec.memoryMb },
    });
    /** Set when the function ran out of memory: its exit is then reported as Lambda's kill. */
    let outOfMemory: string | undefined;
    const killed = (): LambdaError => ({
      errorType: 'Runtime.ExitError',
      errorMessage: 'RequestId: - Error: Runtime exited with error: signal: killed',
    });
    const reportOutOfMemory = (detail: string) => {
      if (outOfMemory !== undefined) return;
      outOfMemory = detail;
      this.logger.warn(
        `${this.spec.logicalId} ran out of memory (${detail}; MemorySize ${this.spec.memoryMb} MB): killed, as ` +
          'Lambda kills it; the next invocation gets a fresh sandbox. Raise MemorySize if it needs more.',
      );
    };
    this.pipeOutput(worker.stdout, this.options.stdout ?? process.stdout, this.options.onOutputLine);
    this.pipeOutput(worker.stderr, this.options.stderr ?? process.stderr);

    const started = new Promise<void>((resolveStart, rejectStart) => {
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
            if (this.state.state === 'starting' && this.state.worker === worker) {
              this.transition({ state: 'ready', worker });
            }
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
          case 'aws-host-refused':
            this.logger.warn(`${this.spec.logicalId}: request refused: ${message.message}`);
            break;
          case 'out-of-memory':
            reportOutOfMemory(
              `${message.usedMb} MB used: JS heap ${message.heapMb} MB, buffers ${message.externalMb} MB`,
            );
            break;
          case 'pong':
            if (this.state.state === 'checking' && this.state.worker === worker) {
              this.transition({ state: 'ready', worker });
            }
            break;
        }
      });
      worker.on('error', (error) => {
        clearTimeout(initTimer);
        if ((error as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY') {
          reportOutOfMemory('the JS heap is full');
        }
        const lambdaError: LambdaError =
          outOfMemory !== undefined
            ? killed()
            : { errorType: error.name, errorMessage: error.message, stack: error.stack?.split('\n') };
        rejectStart(lambdaError);
        this.reset(worker, lambdaError);
      });
      worker.on('exit', (code) => {
        clearTimeout(initTimer);
        const exitError: LambdaError =
          outOfMemory !== undefined
            ? killed()
            : {
                errorType: 'Runtime.ExitError',
                errorMessage: `RequestId: - Error: Runtime exited with error: exit status ${code}`,
              };
        rejectStart(exitError);
        this.reset(worker, exitError);
      });
    });
    // The rejection is delivered to the invocations awaiting it; this keeps an unobserved one from crashing us.
    started.catch(() => undefined);
    this.transition({ state: 'starting', worker, started });
    return started;
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
    const worker = workerOf(this.state);
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
    if (this.state.state !== 'ready' || this.state.worker !== worker) return;
    let endCheck: () => void = () => undefined;
    const checked = new Promise<void>((done) => {
      const timer = setTimeout(() => {
        this.logger.warn(`${this.spec.logicalId} did not answer after a timeout (event loop blocked); restarting it`);
        this.reset(worker, {
          errorType: 'Runtime.ExitError',
          errorMessage: 'The sandbox was restarted: an invocation timed out with its event loop blocked',
        });
      }, this.options.unresponsiveAfterMs ?? 1000);
      endCheck = () => {
        clearTimeout(timer);
        done();
      };
    });
    this.transition({ state: 'checking', worker, checked, endCheck });
    this.post(worker, { type: 'ping' });
  }

  /** Drops the worker (crash, init error, blocked loop, timeout, close); pending invocations fail with `error`. */
  private reset(worker: Worker, error: LambdaError | undefined, next: 'idle' | 'closed' = 'idle'): void {
    if (workerOf(this.state) !== worker) return;
    this.transition({ state: next });
    void worker.terminate();
    const failure = error ?? { errorType: 'Runtime.ExitError', errorMessage: 'The sandbox stopped' };
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      // Lambda names the request in a runtime exit: "RequestId: <id> Error: Runtime exited …".
      const named = {
        ...failure,
        errorMessage: failure.errorMessage.replace(/^RequestId: - /, `RequestId: ${pending.id} `),
      };
      pending.resolve(this.settle(pending.id, pending.trigger, pending.startedAt, named));
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
    // A serialised event's bytes move to the worker rather than being copied (a stream batch is up to 6 MB).
    const bytes = message.type === 'invoke' && typeof message.event !== 'string' ? message.event.buffer : undefined;
    const transfer = bytes instanceof ArrayBuffer ? [bytes] : [];
    worker.postMessage(message, transfer);
  }

  /** Forwards a worker stream line by line, so that lines of different functions never interleave mid-line. */
  private pipeOutput(
    stream: Readable,
    target: NodeJS.WritableStream,
    onLine?: (functionId: string, line: string) => void,
  ): void {
    if (this.options.quiet && !onLine) {
      stream.resume();
      return;
    }
    const write = !this.options.quiet;
    const prefix = this.options.prefixOutput === false ? '' : `[${this.spec.logicalId}] `;
    const tell = (lines: string) => {
      if (!onLine) return;
      for (const line of lines.split('\n')) {
        try {
          onLine(this.spec.logicalId, line);
        } catch {
          // Watching the output must never break the function.
        }
      }
    };
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
      tell(lines);
      if (write) target.write(prefix ? `${prefix}${lines.replaceAll('\n', `\n${prefix}`)}\n` : `${lines}\n`);
    });
    stream.on('end', () => {
      if (partial) {
        tell(partial);
        if (write) target.write(`${prefix}${partial}\n`);
      }
      partial = '';
    });
  }

  async close(): Promise<void> {
    const worker = workerOf(this.state);
    if (worker) {
      this.reset(worker, SHUTTING_DOWN, 'closed');
      await worker.terminate();
    } else if (this.state.state !== 'closed') {
      this.transition({ state: 'closed' });
    }
  }
}

/** Lambda's log stream name shape: 2026/11/22/[$LATEST]<32 hex>. */
function logStreamName(): string {
  const now = new Date();
  const day = `${now.getUTCFullYear()}/${String(now.getUTCMonth() + 1).padStart(2, '0')}/${String(now.getUTCDate()).padStart(2, '0')}`;
  return `${day}/[$LATEST]${randomUUID().replaceAll('-', '')}`;
}
