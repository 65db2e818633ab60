import { existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildFunctionBundles } from '../../src/functions/build';
import type { FunctionSpec } from '../../src/types';
import { repoRoot } from '../helpers/paths';

// The bundle cache (functions/build-cache.ts) with real esbuild on real files: a function whose sources are unchanged
// is not bundled again, any change to a file it imports is, and runtimes building at once share one entry.

// Under the repository (as the runtime's work dir is), so that bundles resolve its node_modules.
const root = join(repoRoot, '.local', `build-cache-test-${process.pid}`);
const sources = join(root, 'src');
const cacheDir = join(root, 'cache');

beforeEach(() => {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(sources, { recursive: true });
  writeFileSync(join(sources, 'greeting.ts'), "export const greeting = 'hello';\n");
  writeFileSync(
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

test('unchanged sources: the second runtime loads the first one’s bundle, not a new one', async () => {
  const first = await bundle(join(root, 'build-a'));
  const builtAt = statSync(first).mtimeMs;
  const second = await bundle(join(root, 'build-b'));
  expect(second).toBe(first);
  expect(statSync(second).mtimeMs).toBe(builtAt);
  expect(readdirSync(cacheDir)).toHaveLength(1);
  expect(await greetingOf(second)).toBe('hello');
});

test('a change to an imported file (not the entry) bundles again, and the old entry stays for whoever loads it', async () => {
  const before = await bundle();
  writeFileSync(join(sources, 'greeting.ts'), "export const greeting = 'hello again';\n");
  const after = await bundle();
  expect(after).not.toBe(before);
  expect(await greetingOf(after)).toBe('hello again');
  expect(await greetingOf(before)).toBe('hello');
});

test('an entry whose sources changed is deleted once it is an hour old, not before', async () => {
  const old = await bundle();
  writeFileSync(join(sources, 'greeting.ts'), "export const greeting = 'hello again';\n");
  await bundle();
  expect(existsSync(old)).toBe(true);
  const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60_000);
  utimesSync(join(dirname(old), 'inputs.json'), twoHoursAgo, twoHoursAgo);
  const current = await bundle();
  expect(existsSync(old)).toBe(false);
  expect(readdirSync(cacheDir)).toHaveLength(1);
  expect(await greetingOf(current)).toBe('hello again');
});

test('runtimes bundling at once end with one entry and the same bundle', async () => {
  const paths = await Promise.all([bundle(join(root, 'b1')), bundle(join(root, 'b2')), bundle(join(root, 'b3'))]);
  expect(new Set(paths).size).toBe(1);
  expect(readdirSync(cacheDir).filter((name) => !name.includes('-tmp-'))).toHaveLength(1);
  expect(await greetingOf(paths[0] as string)).toBe('hello');
});
