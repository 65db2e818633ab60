import { join, relative } from 'node:path';
import { build, type Message } from 'esbuild';
import type { FunctionSpec } from '../types';

/** A function whose source does not bundle; the message names the function and the file. */
export class FunctionBuildError extends Error {
  override name = 'FunctionBuildError';
}

/** esbuild settings shared by every function bundle: one CommonJS file for Node 20 with an inline source map. */
const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'inline',
  // The original files are on disk; the map only needs positions, which keeps bundles small.
  sourcesContent: false,
  logLevel: 'silent',
} as const;

/**
 * Bundles each function's entry point into `<buildDir>/<LogicalId>/index.js`.
 * @returns bundle paths keyed by logical id; throws FunctionBuildError listing every function that failed.
 */
export async function buildFunctionBundles(functions: FunctionSpec[], buildDir: string): Promise<Map<string, string>> {
  const results = await Promise.allSettled(
    functions.map(async (spec) => {
      const outfile = join(buildDir, spec.logicalId, 'index.js');
      try {
        await build({ ...BUNDLE_OPTIONS, entryPoints: [spec.entryPoint], outfile, external: spec.external ?? [] });
      } catch (error) {
        throw new FunctionBuildError(describeBuildFailure(spec, error));
      }
      return [spec.logicalId, outfile] as const;
    }),
  );
  const failures = results.flatMap((result) => (result.status === 'rejected' ? [String(result.reason.message)] : []));
  if (failures.length > 0) throw new FunctionBuildError(failures.join('\n'));
  return new Map(results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : [])));
}

/** Bundles the worker bootstrap (worker-main.ts) so worker threads run plain JS under any parent loader. */
export async function buildWorkerRuntime(buildDir: string): Promise<string> {
  const outfile = join(buildDir, '_runtime', 'worker.js');
  await build({ ...BUNDLE_OPTIONS, entryPoints: [join(__dirname, 'worker-main.ts')], outfile });
  return outfile;
}

function describeBuildFailure(spec: FunctionSpec, error: unknown): string {
  const messages = (error as { errors?: Message[] }).errors;
  const entry = relative(process.cwd(), spec.entryPoint) || spec.entryPoint;
  if (!Array.isArray(messages) || messages.length === 0) {
    return `Function ${spec.logicalId}: cannot bundle ${entry}: ${error instanceof Error ? error.message : String(error)}`;
  }
  const lines = messages.map((message) => {
    const where = message.location
      ? `${message.location.file}:${message.location.line}:${message.location.column + 1}: `
      : '';
    return `  ${where}${message.text}`;
  });
  return `Function ${spec.logicalId}: cannot bundle ${entry}:\n${lines.join('\n')}`;
}
