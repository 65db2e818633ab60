import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type BuildOptions, build, version } from 'esbuild';

/**
 * Bundles reused across runtimes. Bundling the template's functions takes seconds (6.6–7.4 s for template.yaml's
 * fifteen on the 2-core machine), and every `npm start`, `npm run invoke` and test platform did it
 * again from the same sources. An entry is reused while every file that went into it — esbuild's metafile inputs,
 * and the package-lock.json that decides what node_modules holds — has the size and modification time it had.
 *
 * Entries are written once and never changed: `<cacheDir>/<settings>-<inputs>/<fileName>`, built in a temporary
 * sibling and renamed into place, so runtimes building at once (test suites in parallel) never read half a bundle,
 * and a bundle in use is never replaced under a worker that loads it late. An entry whose sources have changed is
 * deleted an hour after it was written (workers start on their first invocation, so a runtime may still load it for
 * a while); `rm -rf .local/build-cache` empties the cache whenever no runtime runs.
 */
export interface CachedBuild {
  cacheDir: string;
  /** What else decides the output besides `options` (plugins' settings: they cannot be serialised). */
  key: unknown;
  /** esbuild options without outfile; `plugins` are left out of the key, so `key` must cover them. */
  options: BuildOptions;
  /** The bundle's file name, e.g. index.js or index.mjs. */
  fileName: string;
  /** The directory the function's packages resolve from: its package-lock.json joins the inputs. */
  packageDir: string;
}

interface Stamp {
  path: string;
  size: number;
  mtimeMs: number;
}

/** The bundle's path: a valid cached one, or one built now (and kept). Build errors are esbuild's, as without cache. */
export async function cachedBuild(request: CachedBuild): Promise<string> {
  const { plugins: _plugins, ...serialisable } = request.options;
  const settings = digest({ version, cwd: process.cwd(), options: serialisable, key: request.key });
  await mkdir(request.cacheDir, { recursive: true });
  const found = await validEntry(request.cacheDir, settings);
  if (found !== undefined) return join(request.cacheDir, found, request.fileName);

  const temporary = join(request.cacheDir, `${settings}-tmp-${randomUUID()}`);
  try {
    const result = await build({ ...request.options, outfile: join(temporary, request.fileName), metafile: true });
    const inputs = Object.keys(result.metafile.inputs).map((input) => resolve(input));
    const lock = packageLockOf(request.packageDir);
    const stamps = await stampsOf(lock === undefined ? inputs : [...inputs, lock]);
    await writeFile(join(temporary, 'inputs.json'), JSON.stringify(stamps));
    const entry = `${settings}-${digest(stamps)}`;
    try {
      await rename(temporary, join(request.cacheDir, entry));
    } catch (error) {
      // Another runtime put the same entry there first: theirs is as good.
      if (!existsSync(join(request.cacheDir, entry, request.fileName))) throw error;
    }
    return join(request.cacheDir, entry, request.fileName);
  } finally {
    await rm(temporary, { recursive: true, force: true });
  }
}

/** An entry whose sources changed this long ago is deleted: no runtime started before then should still need it. */
const STALE_ENTRY_MS = 60 * 60_000;

/** The first entry for these settings whose inputs are all unchanged; stale ones found on the way are deleted. */
async function validEntry(cacheDir: string, settings: string): Promise<string | undefined> {
  const candidates = (await readdir(cacheDir)).filter(
    (name) => name.startsWith(`${settings}-`) && !name.includes('-tmp-'),
  );
  let found: string | undefined;
  for (const candidate of candidates) {
    const inputs = join(cacheDir, candidate, 'inputs.json');
    try {
      const stamps = JSON.parse(await readFile(inputs, 'utf8')) as Stamp[];
      if (found === undefined && (await unchanged(stamps))) {
        found = candidate;
        continue;
      }
      if (Date.now() - (await stat(inputs)).mtimeMs > STALE_ENTRY_MS) {
        await rm(join(cacheDir, candidate), { recursive: true, force: true });
      }
    } catch {
      // An unreadable entry is not one to reuse; another runtime may be deleting it.
    }
  }
  return found;
}

async function unchanged(stamps: readonly Stamp[]): Promise<boolean> {
  const now = await Promise.all(stamps.map((stamp) => stat(stamp.path).catch(() => undefined)));
  return stamps.every((stamp, i) => now[i]?.size === stamp.size && now[i]?.mtimeMs === stamp.mtimeMs);
}

/** Size and mtime of each file; inputs that are no files (esbuild's virtual modules) are left out. */
async function stampsOf(paths: readonly string[]): Promise<Stamp[]> {
  const stats = await Promise.all(
    [...new Set(paths)].map(async (path) => ({ path, stats: await stat(path).catch(() => undefined) })),
  );
  return stats.flatMap(({ path, stats: s }) => (s?.isFile() ? [{ path, size: s.size, mtimeMs: s.mtimeMs }] : []));
}

/** The nearest package-lock.json at or above `dir`: an install that changes node_modules changes it. */
function packageLockOf(dir: string): string | undefined {
  for (let current = resolve(dir); ; current = dirname(current)) {
    const lock = join(current, 'package-lock.json');
    if (existsSync(lock)) return lock;
    if (dirname(current) === current) return undefined;
  }
}

function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}
