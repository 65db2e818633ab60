import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type FunctionSpec, type InvocationOutcome, type Invoker, silentLogger } from '../types';
import { buildFunctionBundles, buildWorkerRuntime } from './build';
import { Sandbox, type SandboxOptions } from './sandbox';

export interface FunctionRunnerOptions extends SandboxOptions {
  /** Where bundles go; default `.local/build` under the current directory (gitignored). */
  buildDir?: string;
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
