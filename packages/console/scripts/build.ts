/**
 * `npm run build:console`: writes the console's page to packages/console/dist (to look at, or serve elsewhere) and
 * prints its weight. `npm start` does not need it: the runtime builds the page in memory when it starts.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildConsoleAssets, pageWeight } from '../src';

const DIST_DIR = join(__dirname, '..', 'dist');

async function main(): Promise<void> {
  const started = performance.now();
  const assets = await buildConsoleAssets();
  const buildMs = performance.now() - started;
  await rm(DIST_DIR, { recursive: true, force: true });
  await mkdir(DIST_DIR, { recursive: true });
  for (const [path, asset] of assets) await writeFile(join(DIST_DIR, path === '/' ? 'index.html' : path), asset.body);
  const { bytes, gzipBytes } = pageWeight(assets);
  console.log(
    `built ${DIST_DIR} in ${buildMs.toFixed(0)} ms: ${bytes.toLocaleString('en')} B, ` +
      `${gzipBytes.toLocaleString('en')} B gzip (${[...assets.keys()].join(', ')})`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
