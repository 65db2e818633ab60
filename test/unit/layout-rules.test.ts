import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

// The layout's dependency rules are enforced by Biome (biome.json), not by comments: the functions in src/ import
// no workspace package but the protocol, the protocol imports nothing but zod, and no module imports itself in a
// cycle. These tests plant violations in a scratch copy of the layout and check that the project's own lint config
// refuses each one — and accepts the allowed imports.

const root = resolve(__dirname, '../..');
const biome = join(root, 'node_modules', '.bin', 'biome');
let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'layout-rules-'));
  const config = JSON.parse(readFileSync(join(root, 'biome.json'), 'utf8'));
  // The scratch folder is not a git checkout: read every file there.
  config.vcs = { enabled: false };
  writeFileSync(join(scratch, 'biome.json'), JSON.stringify(config));
  cpSync(join(root, 'tsconfig.json'), join(scratch, 'tsconfig.json'));
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Lints one planted file (plus its neighbours); returns the rules that fired. */
function lint(files: Record<string, string>): string[] {
  const planted = Object.keys(files);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(scratch, path)), { recursive: true });
    writeFileSync(join(scratch, path), text);
  }
  try {
    const run = spawnSync(biome, ['lint', '--reporter=json', ...planted], { cwd: scratch, encoding: 'utf8' });
    const report = JSON.parse(run.stdout) as { diagnostics: { category: string }[] };
    return report.diagnostics.map((d) => d.category.replace('lint/', ''));
  } finally {
    for (const path of planted) rmSync(join(scratch, path));
  }
}

test('src/ may not import the local runtime, the client or the console', () => {
  for (const name of ['local-runtime', 'client', 'console']) {
    const rules = lint({
      'src/handlers/planted.ts': `import { x } from '@real-time-platform/${name}';\nexport { x };\n`,
    });
    expect(rules).toContain('style/noRestrictedImports');
  }
  const byPath = lint({
    'src/handlers/planted.ts': "import { x } from '../../packages/local-runtime/src';\nexport { x };\n",
  });
  expect(byPath).toContain('style/noRestrictedImports');
});

test('src/ may import the protocol package', () => {
  const rules = lint({
    'src/handlers/planted.ts': "import { x } from '@real-time-platform/protocol';\nexport { x };\n",
  });
  expect(rules).toEqual([]);
});

test('the protocol imports nothing but zod and its own modules', () => {
  const refused = ["import { x } from 'tldts';", "import { x } from 'node:fs';", "import { x } from '../../../src/x';"];
  for (const line of refused) {
    const rules = lint({ 'packages/protocol/src/planted.ts': `${line}\nexport { x };\n` });
    expect(rules.some((rule) => rule === 'style/noRestrictedImports' || rule === 'correctness/noNodejsModules')).toBe(
      true,
    );
  }
  const allowed = lint({
    'packages/protocol/src/planted.ts': "import { z } from 'zod';\nimport { y } from './other';\nexport { y, z };\n",
    'packages/protocol/src/other.ts': 'export const y = 1;\n',
  });
  expect(allowed).toEqual([]);
});

test('an import cycle fails the lint', () => {
  const rules = lint({
    'src/domain/a.ts': "import { b } from './b';\nexport const a = () => b;\n",
    'src/domain/b.ts': "import { a } from './a';\nexport const b = () => a;\n",
  });
  expect(rules).toContain('suspicious/noImportCycles');
});
