import { existsSync, readFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, extname, join, relative } from 'node:path';
import { type BuildOptions, build, type Message, type Plugin } from 'esbuild';
import type { FunctionSpec } from '../types';
import { cachedBuild } from './build-cache';

/** A function whose source does not bundle; the message names the function and the file. */
export class FunctionBuildError extends Error {
  override name = 'FunctionBuildError';
}

/** What a sandbox loads: a bundle, or (for plain CommonJS without a BuildMethod) the handler file itself. */
export interface FunctionCode {
  path: string;
  /** How the worker loads it: require() or import(). */
  format: 'cjs' | 'esm';
}

export interface FunctionBuilds {
  code: Map<string, FunctionCode>;
  /** One line per function that cannot be built: its logical id, the file and the reason. */
  failures: Map<string, string>;
}

/**
 * Where the runtime's own packages resolve from. Lambda's Node.js runtimes ship the AWS SDK v3 (NODE_PATH includes
 * /var/runtime/node_modules), so a function may import `@aws-sdk/*` without installing it; locally the runtime's own
 * installation plays that part, at the versions it has.
 */
export const RUNTIME_MODULES_DIR = __dirname;
const PROVIDED_BY_RUNTIME = /^@aws-sdk\//;

/** esbuild settings shared by every function bundle (Node 20, an inline source map). */
const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: 'inline',
  // The original files are on disk; the map only needs positions, which keeps bundles small.
  sourcesContent: false,
  logLevel: 'silent',
} as const;

// Bundled CommonJS dependencies call require() for built-ins; an ES module has none unless it is given one.
const ESM_REQUIRE_BANNER =
  "import { createRequire as __rtpCreateRequire } from 'node:module'; const require = __rtpCreateRequire(import.meta.url);";

/**
 * Prepares every function's code in `<buildDir>/<LogicalId>/` (or reuses it from `cacheDir`, see build-cache.ts):
 * plain CommonJS handlers without a BuildMethod load in place, as Lambda loads a zip (their `__dirname` and
 * `node_modules` are the real ones); everything else is bundled with esbuild, as `sam build` does for
 * `BuildMethod: esbuild`, in the handler's module format.
 * @returns the code of each function that built, and a one-line reason for each that did not.
 */
export async function buildFunctionBundles(
  functions: FunctionSpec[],
  buildDir: string,
  cacheDir?: string,
): Promise<FunctionBuilds> {
  const code = new Map<string, FunctionCode>();
  const failures = new Map<string, string>();
  await Promise.all(
    functions.map(async (spec) => {
      if (spec.unavailable !== undefined) {
        failures.set(spec.logicalId, spec.unavailable);
        return;
      }
      const format = moduleFormat(spec);
      if (!spec.buildMethod && format === 'cjs' && ['.js', '.cjs'].includes(extname(spec.entryPoint))) {
        code.set(spec.logicalId, { path: spec.entryPoint, format });
        return;
      }
      const fileName = format === 'esm' ? 'index.mjs' : 'index.js';
      // The packages left out of the bundle, by the path it requires them from.
      const keptOut: string[] = [];
      const options: BuildOptions = {
        ...BUNDLE_OPTIONS,
        format,
        entryPoints: [spec.entryPoint],
        ...(format === 'esm' ? { banner: { js: ESM_REQUIRE_BANNER } } : {}),
        plugins: [lambdaModules(spec, format, keptOut)],
      };
      try {
        let path = join(buildDir, spec.logicalId, fileName);
        if (cacheDir === undefined) await build({ ...options, outfile: path });
        else {
          // The plugin's settings: what it keeps out, and where the runtime's own packages come from.
          const key = { external: spec.external ?? [], runtimeModules: RUNTIME_MODULES_DIR };
          const packageDir = dirname(spec.entryPoint);
          path = await cachedBuild({ cacheDir, key, options, fileName, packageDir, externalInputs: () => keptOut });
        }
        code.set(spec.logicalId, { path, format });
      } catch (error) {
        failures.set(spec.logicalId, describeBuildFailure(spec, error));
      }
    }),
  );
  return { code, failures };
}

/** Bundles the worker bootstrap (worker-main.ts) so worker threads run plain JS under any parent loader. */
export async function buildWorkerRuntime(buildDir: string, cacheDir?: string): Promise<string> {
  const options: BuildOptions = { ...BUNDLE_OPTIONS, format: 'cjs', entryPoints: [join(__dirname, 'worker-main.ts')] };
  if (cacheDir !== undefined) {
    return cachedBuild({ cacheDir, key: 'worker-runtime', options, fileName: 'worker.js', packageDir: __dirname });
  }
  const outfile = join(buildDir, '_runtime', 'worker.js');
  await build({ ...options, outfile });
  return outfile;
}

/** The module format Lambda would load the handler in: the file's extension, else its package.json "type". */
export function moduleFormat(spec: FunctionSpec): 'cjs' | 'esm' {
  if (spec.moduleFormat) return spec.moduleFormat;
  const ext = extname(spec.entryPoint);
  if (ext === '.mjs' || ext === '.mts') return 'esm';
  if (ext === '.cjs' || ext === '.cts') return 'cjs';
  return nearestPackageType(dirname(spec.entryPoint)) === 'module' ? 'esm' : 'cjs';
}

function nearestPackageType(dir: string): string | undefined {
  for (let current = dir; ; current = dirname(current)) {
    const file = join(current, 'package.json');
    if (existsSync(file)) {
      try {
        return (JSON.parse(readFileSync(file, 'utf8')) as { type?: string }).type;
      } catch {
        return undefined;
      }
    }
    if (dirname(current) === current) return undefined;
  }
}

/**
 * Resolves packages the way the function would find them on Lambda: its own first; `@aws-sdk/*` from the runtime's
 * installation when the function has none. `External` packages stay out of a CommonJS bundle; an ES module bundle
 * keeps everything inside, since Node's ESM resolver would look for bare names beside the bundle.
 */
function lambdaModules(spec: FunctionSpec, format: 'cjs' | 'esm', keptOutPaths: string[]): Plugin {
  const external = (name: string) =>
    (spec.external ?? []).some((pattern) =>
      pattern.endsWith('*')
        ? name.startsWith(pattern.slice(0, -1))
        : name === pattern || name.startsWith(`${pattern}/`),
    );
  return {
    name: 'lambda-modules',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (isBuiltin(args.path)) return undefined;
        const keptOut = format === 'cjs' && external(args.path);
        // Everything else is esbuild's to resolve, as under `sam build` (most imports: no lookup of ours).
        if (!keptOut && !PROVIDED_BY_RUNTIME.test(args.path)) return undefined;
        const fromFunction = nodeResolve(args.path, args.resolveDir);
        if (fromFunction !== undefined) {
          if (!keptOut) return undefined;
          keptOutPaths.push(fromFunction);
          return { path: fromFunction, external: true };
        }
        const fromRuntime = PROVIDED_BY_RUNTIME.test(args.path)
          ? nodeResolve(args.path, RUNTIME_MODULES_DIR)
          : undefined;
        if (fromRuntime === undefined) {
          return {
            errors: [
              {
                text: PROVIDED_BY_RUNTIME.test(args.path)
                  ? `${args.path} is installed neither for the function nor in the local runtime (which provides the ` +
                    `AWS SDK v3 packages it has itself). Install it: npm i -D ${packageName(args.path)}`
                  : `${args.path} (BuildProperties.External) is not installed where the function can find it`,
              },
            ],
          };
        }
        // Kept out: required by path at run time (the bundle lives elsewhere, so a bare name would not resolve).
        // Otherwise the runtime's copy is bundled from where it is.
        if (!keptOut) return { path: fromRuntime };
        keptOutPaths.push(fromRuntime);
        return { path: fromRuntime, external: true };
      });
    },
  };
}

/** Node's CommonJS resolution of `request` from `dir`; undefined when nothing is found. */
function nodeResolve(request: string, dir: string): string | undefined {
  try {
    return createRequire(join(dir, 'noop.js')).resolve(request);
  } catch {
    return undefined;
  }
}

function packageName(request: string): string {
  const parts = request.split('/');
  return request.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? request);
}

/** One line: the function, its entry file, the first problem with its position, and how many more there are. */
function describeBuildFailure(spec: FunctionSpec, error: unknown): string {
  const messages = (error as { errors?: Message[] }).errors;
  const entry = relative(process.cwd(), spec.entryPoint) || spec.entryPoint;
  if (!Array.isArray(messages) || messages.length === 0) {
    return `Function ${spec.logicalId}: cannot bundle ${entry}: ${error instanceof Error ? error.message : String(error)}`;
  }
  const [first] = messages;
  const where = first?.location ? `${first.location.file}:${first.location.line}:${first.location.column + 1}: ` : '';
  const more = messages.length > 1 ? ` (and ${messages.length - 1} more)` : '';
  return `Function ${spec.logicalId}: cannot bundle ${entry}: ${where}${first?.text ?? 'unknown error'}${more}`;
}
