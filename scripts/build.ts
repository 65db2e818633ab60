/**
 * `npm run build`: bundles every function of template.yaml with esbuild into dist/<LogicalId>/, the way
 * `sam build` does with `BuildMethod: esbuild` (minified, Node 22 target, external source maps). Useful to check
 * bundle sizes and that everything bundles without the SAM CLI; `sam build` remains what deploys.
 */
import { statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { loadPlatformModel } from '@real-time-platform/local-runtime';
import { build } from 'esbuild';

/** Builds the deployable bundles of a template; returns the output file of each function. */
export async function buildDeployBundles(templatePath: string, outDir: string): Promise<Map<string, string>> {
  // `sam build` builds every function, whatever its Condition; these overrides switch the conditional ones on.
  const model = loadPlatformModel({
    templatePath,
    parameterOverrides: { AuthMode: 'jwt', PresenceEventBusName: 'build' },
  });
  await rm(outDir, { recursive: true, force: true });
  const outputs = new Map<string, string>();
  await Promise.all(
    [...model.functions.values()].map(async (fn) => {
      // Handler "on-connect.handler" → the bundle must be on-connect.js at the root of the function's artifact.
      const moduleName = fn.handler.slice(0, fn.handler.lastIndexOf('.')) || basename(fn.entryPoint);
      const outfile = join(outDir, fn.logicalId, `${moduleName}.js`);
      await build({
        entryPoints: [fn.entryPoint],
        outfile,
        bundle: true,
        platform: 'node',
        target: 'node22',
        format: 'cjs',
        minify: true,
        sourcemap: true,
        external: fn.external ?? [],
        logLevel: 'error',
      });
      outputs.set(fn.logicalId, outfile);
    }),
  );
  return outputs;
}

async function main(): Promise<void> {
  const outDir = resolve(process.argv[2] ?? 'dist');
  const outputs = await buildDeployBundles('template.yaml', outDir);
  for (const [logicalId, file] of [...outputs].sort()) {
    const kib = (statSync(file).size / 1024).toFixed(0).padStart(5);
    console.log(`${logicalId.padEnd(28)} ${kib} KiB  ${relative(process.cwd(), file)}`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
