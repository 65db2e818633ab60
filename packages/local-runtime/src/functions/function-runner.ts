import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type FunctionSpec, type InvocationOutcome, type Invoker, type LocalLogger, silentLogger } from '../types';
import { buildFunctionBundles, buildWorkerRuntime, type FunctionBuilds } from './build';
import { Sandbox, type SandboxOptions } from './sandbox';

export interface FunctionRunnerOptions extends SandboxOptions {
  /** Where bundles go; default `.local/build` under the current directory (gitignored). */
  buildDir?: string;
  /** Where bundles are kept for reuse by later runtimes (build-cache.ts); default none: every start bundles. */
  buildCacheDir?: string;
  /** Start every worker now instead of on its first invocation. */
  prewarm?: boolean;
}

/** Builds the functions' bundles and returns an Invoker that runs each function in its own worker thread. */
export async function createFunctionRunner(
  functions: Iterable<FunctionSpec>,
  options: FunctionRunnerOptions = {},
): Promise<FunctionRunner> {
  const specs = [...functions];
  const buildDir = resolve(options.buildDir ?? '.local/build');
  const started = performance.now();
  const cacheDir = options.buildCacheDir === undefined ? undefined : resolve(options.buildCacheDir);
  const [workerScript, builds] = await Promise.all([
    buildWorkerRuntime(buildDir, cacheDir),
    buildFunctionBundles(specs, buildDir, cacheDir),
  ]);
  (options.logger ?? silentLogger).debug(
    `bundled ${specs.length} function(s) in ${Math.round(performance.now() - started)} ms`,
    { buildDir },
  );
  for (const spec of specs) {
    const reason = builds.failures.get(spec.logicalId);
    // Functions the template itself rules out (spec.unavailable) are listed with the skipped parts instead.
    if (reason !== undefined && spec.unavailable === undefined) {
      (options.logger ?? silentLogger).error(`${reason} — its invocations fail until it is fixed and restarted`);
    }
  }
  const runner = new FunctionRunner(specs, builds, workerScript, options);
  if (options.prewarm) await runner.warm();
  return runner;
}

/** Runs template functions the way Lambda would: one sandbox (worker thread) per function, timeouts enforced. */
export class FunctionRunner implements Invoker {
  private readonly sandboxes = new Map<string, Sandbox>();
  /** Functions that did not build, with the one-line reason: the rest of the template runs without them. */
  readonly buildFailures: ReadonlyMap<string, string>;
  private readonly logger: LocalLogger;

  constructor(specs: FunctionSpec[], builds: FunctionBuilds, workerScript: string, options: FunctionRunnerOptions) {
    this.buildFailures = builds.failures;
    this.logger = options.logger ?? silentLogger;
    for (const spec of specs) {
      const code = builds.code.get(spec.logicalId);
      if (code) this.sandboxes.set(spec.logicalId, new Sandbox(spec, code, workerScript, options));
      else if (!builds.failures.has(spec.logicalId)) throw new Error(`No bundle for ${spec.logicalId}`);
    }
  }

  /** Runs one invocation; handler failures and timeouts come back as `{ok: false}` outcomes. */
  invoke(functionId: string, event: unknown, trigger: string): Promise<InvocationOutcome> {
    const sandbox = this.sandboxes.get(functionId);
    const buildFailure = this.buildFailures.get(functionId);
    if (buildFailure !== undefined) {
      // As a function whose code cannot load on Lambda: every invocation fails, with the reason in the log.
      const requestId = randomUUID();
      this.logger.error(`${functionId} ← ${trigger}  0.0 ms  FunctionBuildError: ${buildFailure}`, { requestId });
      return Promise.resolve({
        ok: false,
        error: { errorType: 'FunctionBuildError', errorMessage: buildFailure },
        durationMs: 0,
        requestId,
      });
    }
    if (!sandbox) {
      return Promise.reject(
        new Error(
          `Unknown function ${functionId}; known: ${[...this.sandboxes.keys(), ...this.buildFailures.keys()].join(', ') || 'none'}`,
        ),
      );
    }
    return sandbox.invoke(event, trigger);
  }

  /**
   * Cold-starts the given functions (all by default) now. A function whose code cannot load is named in one line
   * with the reason; like Lambda, each of its invocations then tries the init again (and fails, logged in full).
   */
  async warm(functionIds: string[] = [...this.sandboxes.keys()]): Promise<void> {
    await Promise.all(
      functionIds.map((id) =>
        this.sandboxes
          .get(id)
          ?.ensureStarted()
          .catch((error: { errorType?: string; errorMessage?: string }) => {
            const reason = `${error.errorType ?? 'Error'}: ${String(error.errorMessage ?? error).split('\n')[0]}`;
            this.logger.error(`Function ${id} cannot start: ${reason} — its invocations fail until it is fixed`);
          }),
      ),
    );
  }

  /** Terminates every worker; invocations still in flight fail with Runtime.ExitError. */
  async close(): Promise<void> {
    await Promise.all([...this.sandboxes.values()].map((sandbox) => sandbox.close()));
  }
}
