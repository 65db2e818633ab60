import { join } from 'node:path';

/** The package's entry points: the core and one per helper. */
export const ENTRY_NAMES = ['index', 'presence', 'chat', 'calendar'] as const;

export const PACKAGE_DIR = join(__dirname, '..');

export const entryPath = (name: string): string => join(PACKAGE_DIR, 'src', `${name}.ts`);
