import { existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { buildFunctionBundles } from '../../src/functions/build';
import type { FunctionSpec } from '../../src/types';
import { repoRoot } from '../helpers/paths';

// The bundle cache (functions/build-cache.ts) with real esbuild on real files: a function whose sources are unchanged
// is not bundled again; a change to any file it imports, or to the lock file above it, is; a bundle built from files
// that were still being saved is used once and not kept; runtimes building at once share one entry.

// Under the repository (as the runtime's work dir is), so that bundles resolve its node_modules.
const root = join(repoRoot, '.local', `build-cache-test-${process.pid}`);
const sources = join(root, 'src');
const cacheDir = join(root, 'cache');

/** Writes a file as an editor would have saved it `secondsAgo` (the cache does not keep what may still be changing). */
function save(path: string, text: string, secondsAgo = 10): void {
  writeFileSync(path, text);
  const then = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(path, then, then);
}

beforeEach(() => {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(sources, { recursive: true });
  save(join(root, 'package-lock.json'), '{"lockfileVersion":3}\n');
  save(join(sources, 'greeting.ts'), "export const greeting = 'hello';\n");
  save(
    join(sources, 'handler.ts'),
    "import { greeting } from './greeting';\nexport const handler = async () => greeting;\n",
  );
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const spec: () => FunctionSpec = () => ({
  logicalId: 'Greeter',
  handler: 'handler.handler',
  entryPoint: join(sources, 'handler.ts'),
  exportName: 'handler',
  timeoutSeconds: 3,
  memoryMb: 128,
  environment: {},
  buildMethod: 'esbuild',
});

async function bundle(buildDir = join(root, 'build')): Promise<string> {
  const { code, failures } = await buildFunctionBundles([spec()], buildDir, cacheDir);
  expect([...failures.values()]).toEqual([]);
  return code.get('Greeter')?.path as string;
}

async function greetingOf(path: string): Promise<unknown> {
  // A fresh require each time: the path differs whenever the bundle does.
  const module = (await import(path)) as { handler: () => Promise<unknown> };
  return module.handler();
}

const entries = () => readdirSync(cacheDir).filter((name) => !name.includes('-tmp-'));

test('unchanged sources: the second runtime loads the first one’s bundle, not a new one', async () => {
  const first = await bundle(join(root, 'build-a'));
  const builtAt = statSync(first).mtimeMs;
  const second = await bundle(join(root, 'build-b'));
  expect(second).toBe(first);
  expect(statSync(second).mtimeMs).toBe(builtAt);
  expect(entries()).toHaveLength(1);
  expect(await greetingOf(second)).toBe('hello');
});

test.each([
  ['of another size', 'hello again'],
  ['of the same size (seen by its modification time)', 'hallo'],
])('a change %s to an imported file bundles again; the old entry stays for whoever loads it', async (_, greeting) => {
  const before = await bundle();
  save(join(sources, 'greeting.ts'), `export const greeting = '${greeting}';\n`, 5);
  const after = await bundle();
  expect(after).not.toBe(before);
  expect(await greetingOf(after)).toBe(greeting);
  expect(await greetingOf(before)).toBe('hello');
});

test('a change of the lock file above the function (an install) bundles again', async () => {
  const before = await bundle();
  save(join(root, 'package-lock.json'), '{"lockfileVersion":3,"packages":{}}\n', 5);
  expect(await bundle()).not.toBe(before);
});

test('sources saved just now are bundled but not kept; once they have settled, the bundle is kept', async () => {
  save(join(sources, 'greeting.ts'), "export const greeting = 'fresh';\n", 0);
  const first = await bundle();
  expect(basename(dirname(first))).toContain('-once-');
  expect(await greetingOf(first)).toBe('fresh');
  utimesSync(join(sources, 'greeting.ts'), new Date(Date.now() - 10_000), new Date(Date.now() - 10_000));
  const settled = await bundle();
  expect(basename(dirname(settled))).not.toContain('-once-');
  expect(await bundle()).toBe(settled);
});

test('an entry whose sources changed is deleted once it is an hour old, not before', async () => {
  const old = await bundle();
  save(join(sources, 'greeting.ts'), "export const greeting = 'hello again';\n", 5);
  await bundle();
  expect(existsSync(old)).toBe(true);
  const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60_000);
  utimesSync(join(dirname(old), 'inputs.json'), twoHoursAgo, twoHoursAgo);
  const current = await bundle();
  expect(existsSync(old)).toBe(false);
  expect(entries()).toHaveLength(1);
  expect(await greetingOf(current)).toBe('hello again');
});

test('runtimes bundling at once end with one entry and the same bundle', async () => {
  const paths = await Promise.all([bundle(join(root, 'b1')), bundle(join(root, 'b2')), bundle(join(root, 'b3'))]);
  expect(new Set(paths).size).toBe(1);
  expect(entries()).toHaveLength(1);
  expect(await greetingOf(paths[0] as string)).toBe('hello');
});
