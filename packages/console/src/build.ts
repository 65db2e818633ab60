/**
 * Builds the console's page in memory with esbuild (Preact, the client and the protocol bundled in; nothing loaded
 * from the internet), for the local runtime to serve. Also `npm run build:console`, which writes it to
 * packages/console/dist and prints the page weight.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/** A file of the page, ready to send (the local runtime's StaticAsset). */
export interface ConsoleAsset {
  contentType: string;
  body: Buffer;
  gzip: Buffer;
}

const APP_DIR = join(__dirname, 'app');
const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
};

/** The page's files by the path they are served at: `/` (the page), `/app.js`, `/app.css`. */
export async function buildConsoleAssets(): Promise<Map<string, ConsoleAsset>> {
  const result = await build({
    entryPoints: { app: join(APP_DIR, 'main.tsx') },
    bundle: true,
    write: false,
    outdir: '/',
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    // The client's sources, not its dist: the page is always built from the code in this checkout, built or not.
    alias: { '@real-time-platform/client': dirname(require.resolve('@real-time-platform/client')) },
    logLevel: 'error',
  });
  const assets = new Map<string, ConsoleAsset>();
  const add = (path: string, body: Buffer) => {
    const extension = /\.[a-z]+$/.exec(path)?.[0] ?? '.html';
    assets.set(path, { contentType: TYPES[extension] ?? 'application/octet-stream', body, gzip: gzipSync(body) });
  };
  for (const file of result.outputFiles) add(file.path, Buffer.from(file.contents));
  add('/', await readFile(join(APP_DIR, 'index.html')));
  return assets;
}

/** Bytes of the whole page, raw and gzipped (what a browser downloads). */
export function pageWeight(assets: ReadonlyMap<string, ConsoleAsset>): { bytes: number; gzipBytes: number } {
  let bytes = 0;
  let gzipBytes = 0;
  for (const asset of assets.values()) {
    bytes += asset.body.length;
    gzipBytes += asset.gzip.length;
  }
  return { bytes, gzipBytes };
}
