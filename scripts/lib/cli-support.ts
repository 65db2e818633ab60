/**
 * Small helpers the producer CLIs (`npm run produce`, `npm run simulate`) share: usage errors, number flags and the
 * main-function wrapper that maps outcomes to exit codes. Scripts are not deployed, so this lives under scripts/.
 */

/** A command line the tool cannot act on; printed without a stack, exit code 1. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A positive integer flag (`--concurrency 4`), or `fallback` when absent. */
export function positiveInt(flag: string, value: string | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER) {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new UsageError(`${flag} must be a whole number from 1 to ${max}, got "${value}"`);
  }
  return n;
}

/** A non-negative integer flag (`--retries 0` is meaningful), or `fallback` when absent. */
export function nonNegativeInt(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a whole number ≥ 0, got "${value}"`);
  return n;
}

/** A positive finite number flag (`--hz 0.5`), or `fallback` when absent. */
export function positiveNumber(flag: string, value: string | undefined, fallback: number): number;
export function positiveNumber(flag: string, value: string | undefined, fallback?: number): number | undefined;
export function positiveNumber(flag: string, value: string | undefined, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number, got "${value}"`);
  return n;
}

/** True for the errors node:util parseArgs throws on unknown flags or missing values. */
function isParseArgsError(error: unknown): boolean {
  return error instanceof TypeError && Boolean((error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS'));
}

/**
 * Runs a CLI's main function and exits with its code. Usage mistakes print one line plus a --help hint (exit 1);
 * anything unexpected prints its stack (exit 1) because that is a bug worth reporting.
 */
export function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => {
      // Exit once stdout has drained into its pipe; keep-alive sockets must not keep a finished run alive.
      process.stdout.write('', () => process.exit(code));
    },
    (error: unknown) => {
      const known = error instanceof UsageError || isParseArgsError(error);
      const message = error instanceof Error ? (known ? error.message : (error.stack ?? error.message)) : String(error);
      process.stderr.write(`✖ ${message}\n${known ? 'Run with --help for the options.\n' : ''}`);
      process.stdout.write('', () => process.exit(1));
    },
  );
}

/** 12345 → "12,345" (summaries are read by people). */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}
