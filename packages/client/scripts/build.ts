/**
 * `npm run build:client`: the ESM build of @real-time-platform/client in packages/client/dist — one module per entry
 * point (core, presence, chat, calendar) with their shared code split out, the protocol's few modules bundled in (so
 * browsers and plain Node load it as it is), source maps, and .d.ts files from tsc.
 */
import { execFileSync } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ENTRY_NAMES, entryPath, PACKAGE_DIR } from './entries';

export const DIST_DIR = join(PACKAGE_DIR, 'dist');

export async function buildClient(): Promise<void> {
  await rm(DIST_DIR, { recursive: true, force: true });
  await build({
    entryPoints: Object.fromEntries(ENTRY_NAMES.map((name) => [name, entryPath(name)])),
    outdir: DIST_DIR,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    sourcemap: true,
    logLevel: 'error',
  });
  // The package itself is not "type": "module" (its sources are checked with the rest of the repository).
  await writeFile(join(DIST_DIR, 'package.json'), '{ "type": "module" }\n');
  execFileSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', join(PACKAGE_DIR, 'tsconfig.build.json')],
    { stdio: 'inherit' },
  );
}

if (require.main === module) {
  buildClient().then(
    () => console.log(`built ${DIST_DIR}`),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
