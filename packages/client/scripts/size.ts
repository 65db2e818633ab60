/**
 * `npm run size:client`: what the client costs a page, minified and gzipped (level 9): each entry point bundled alone
 * with what it imports, as an app's bundler would (the helpers take the client as an argument, so they add only their
 * own code to the core), and all of them together. The core must stay within CORE_BUDGET_BYTES.
 */
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { ENTRY_NAMES, entryPath } from './entries';

/** The target for the core: 10 KB minified and gzipped. */
export const CORE_BUDGET_BYTES = 10_000;

export interface BundleSize {
  entry: string;
  minifiedBytes: number;
  gzippedBytes: number;
}

/** Each entry point alone, then all of them together ("all"). */
export async function measureBundles(): Promise<BundleSize[]> {
  const everything = ENTRY_NAMES.map((name) => `export * from ${JSON.stringify(entryPath(name))};`).join('\n');
  return Promise.all(
    [...ENTRY_NAMES, 'all'].map(async (entry) => {
      const result = await build({
        ...(entry === 'all'
          ? { stdin: { contents: everything, resolveDir: __dirname, loader: 'ts' as const } }
          : { entryPoints: [entryPath(entry)] }),
        bundle: true,
        minify: true,
        format: 'esm',
        platform: 'browser',
        target: 'es2022',
        write: false,
        logLevel: 'error',
      });
      const code = result.outputFiles[0]?.contents ?? new Uint8Array();
      return { entry, minifiedBytes: code.byteLength, gzippedBytes: gzipSync(code, { level: 9 }).byteLength };
    }),
  );
}

async function main(): Promise<void> {
  const sizes = await measureBundles();
  console.log('entry                   minified   min+gzip');
  for (const { entry, minifiedBytes, gzippedBytes } of sizes) {
    console.log(`${entry.padEnd(22)} ${String(minifiedBytes).padStart(9)} B ${String(gzippedBytes).padStart(8)} B`);
  }
  const core = sizes.find((size) => size.entry === 'index');
  if (core === undefined || core.gzippedBytes > CORE_BUDGET_BYTES) {
    console.error(`the core is over its budget of ${CORE_BUDGET_BYTES} B min+gzip`);
    process.exit(1);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
