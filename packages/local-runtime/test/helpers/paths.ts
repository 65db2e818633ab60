import { join, resolve } from 'node:path';

/** The repository root: the SAM application whose template.yaml the runtime's tests also run, as a real-world case. */
export const repoRoot = resolve(__dirname, '../../../..');
/** The application's template.yaml. */
export const appTemplate = join(repoRoot, 'template.yaml');
/** This package's own fixtures (small templates, functions and events). */
export const fixtures = resolve(__dirname, '../fixtures');
