import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type BuildOptions, build, version } from 'esbuild';

/**
 * Bundles reused across runtimes. Bundling the template's functions takes seconds (6.6–7.4 s for template.yaml's
 * fifteen on the 2-core machine), and every `npm start`, `npm run invoke` and test platform did it
 * again from the same sources. An entry is reused while every file that went into it has the size and modification
 * time it had: esbuild's metafile inputs, the packages kept out of the bundle (required by path at run time), and
 * the files esbuild reads without listing them — the nearest tsconfig.json and package.json above the function and
 * the lock file that decides what node_modules holds. The bundling rules themselves (this module and build.ts) are
 * part of the key. A bundle whose inputs changed while it was being built is used once and not kept.
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
  /** The directory the function's packages resolve from: its tsconfig.json, package.json and lock file join the inputs. */
  packageDir: string;
  /** Files the bundle needs that esbuild does not list (the packages kept out of it), known once it is built. */
  externalInputs?: () => readonly string[];
}

interface Stamp {
  path: string;
  size: number;
  mtimeMs: number;
}

/** This module and the bundling rules it serves: a change to either is a change to every bundle. */
const RULES = digest([__filename, join(__dirname, 'build.ts')].map(sourceOf).join());
/** Files written this close to the start of a build may have changed during it (coarse file system clocks). */
const CLOCK_SLACK_MS = 2000;

/** Builds in progress in this process, by settings: runtimes started together wait for one build. */
const building = new Map<string, Promise<string>>();

/** The bundle's path: a valid cached one, or one built now (and kept). Build errors are esbuild's, as without cache. */
export function cachedBuild(request: CachedBuild): Promise<string> {
  const { plugins: _plugins, ...serialisable } = request.options;
  const settings = digest({ version, rules: RULES, cwd: process.cwd(), options: serialisable, key: request.key });
  const pending = building.get(settings);
  if (pending !== undefined) return pending;
  const path = findOrBuild(request, settings).finally(() => building.delete(settings));
  building.set(settings, path);
  return path;
}

async function findOrBuild(request: CachedBuild, settings: string): Promise<string> {
  await mkdir(request.cacheDir, { recursive: true });
  const found = await validEntry(request.cacheDir, settings);
  if (found !== undefined) return join(request.cacheDir, found, request.fileName);

  const temporary = join(request.cacheDir, `${settings}-tmp-${randomUUID()}`);
  try {
    const started = Date.now();
    const result = await build({ ...request.options, outfile: join(temporary, request.fileName), metafile: true });
    const inputs = [
      ...Object.keys(result.metafile.inputs).map((input) => resolve(input)),
      ...(request.externalInputs?.() ?? []),
      ...unlistedInputsOf(request.packageDir),
    ];
    const stamps = await stampsOf(inputs);
    await writeFile(join(temporary, 'inputs.json'), JSON.stringify(stamps));
    // A file saved while esbuild read it: its stamp may be newer than what was bundled. Used now, never reused.
    const changedDuringBuild = stamps.some((stamp) => stamp.mtimeMs >= started - CLOCK_SLACK_MS);
    const entry = changedDuringBuild ? `${settings}-once-${randomUUID()}` : `${settings}-${digest(stamps)}`;
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

/**
 * The first entry for these settings whose inputs are all unchanged; stale ones found on the way are deleted, and so
 * are entries used once (built while their sources changed) after the same hour.
 */
async function validEntry(cacheDir: string, settings: string): Promise<string | undefined> {
  const candidates = (await readdir(cacheDir)).filter(
    (name) => name.startsWith(`${settings}-`) && !name.includes('-tmp-'),
  );
  let found: string | undefined;
  for (const candidate of candidates) {
    const inputs = join(cacheDir, candidate, 'inputs.json');
    try {
      const stamps = JSON.parse(await readFile(inputs, 'utf8')) as Stamp[];
      if (found === undefined && !candidate.includes('-once-') && (await unchanged(stamps))) {
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

const LOCK_FILES = ['package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml'];

/**
 * What esbuild reads without listing it in the metafile, nearest first at or above `dir`: tsconfig.json (paths,
 * decorators, JSX settings), package.json (imports, type) and the lock file (an install changes node_modules).
 */
function unlistedInputsOf(dir: string): string[] {
  const found: string[] = [];
  const wanted = new Set(['tsconfig.json', 'package.json', 'lock']);
  for (let current = resolve(dir); wanted.size > 0; current = dirname(current)) {
    for (const name of ['tsconfig.json', 'package.json']) {
      if (wanted.has(name) && existsSync(join(current, name))) {
        found.push(join(current, name));
        wanted.delete(name);
      }
    }
    const lock = wanted.has('lock') ? LOCK_FILES.find((name) => existsSync(join(current, name))) : undefined;
    if (lock !== undefined) {
      found.push(join(current, lock));
      wanted.delete('lock');
    }
    if (dirname(current) === current) break;
  }
  return found;
}

/** A file's text; its path when it cannot be read (a bundled copy of the runtime has no sources beside it). */
function sourceOf(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return path;
  }
}

function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}
