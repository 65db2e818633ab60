import type { LocalLogger } from '../types';
import {
  type DynamoDbLocalExit,
  type DynamoDbLocalOptions,
  type RunningDynamoDbLocal,
  startDynamoDbLocal,
} from './dynamodb-local';

/** What /health says about DynamoDB Local. */
export interface DynamoDbStatus {
  /** `up`: answering; `recovering`: restarted, tables and streams being set up again; `down`: being restarted. */
  state: 'up' | 'recovering' | 'down' | 'stopped';
  endpoint: string;
  pid?: number;
  /** Listening on 127.0.0.1 only; when false, `exposedBecause` says why. */
  loopback: boolean;
  exposedBecause?: string;
  /** Data kept in a folder (--persist) rather than in memory. */
  persistent: boolean;
  /** Restarts after an unexpected exit. */
  restarts: number;
  lastExit?: { code: number | null; signal: string | null; at: string };
  /** The latest failed restart attempt, while it is still failing. */
  lastError?: string;
}

/** What the runtime must do after a restart: recreate what was lost, point the streams at the new stream ARNs. */
export interface RestartEvent {
  /** In memory: every table and item is gone. With --persist: the data is back as it was. */
  dataLost: boolean;
}

export interface DynamoDbSupervisorOptions extends DynamoDbLocalOptions {
  logger: LocalLogger;
  /** Runs after every restart, before the state turns `up` again. Failures are logged and retried once. */
  onRestart?: (event: RestartEvent) => Promise<void>;
  /** Pause before a restart attempt: `initialMs`, doubling per failed attempt, capped at `maxMs` (500 → 10,000). */
  restartBackoff?: { initialMs: number; maxMs: number };
  /** Start the jar as shipped (tests of the fallback). */
  plainLaunch?: boolean;
}

/** DynamoDB Local under supervision: restarted when it dies, on the same port and with the same data folder. */
export interface SupervisedDynamoDbLocal {
  readonly endpoint: string;
  status(): DynamoDbStatus;
  /** The running JVM's pid (undefined while it is down). Tests kill it to simulate a crash. */
  pid(): number | undefined;
  /** Resolves when the next restart (and its onRestart) has finished. */
  nextRestart(): Promise<void>;
  /** Stops the JVM for good; no restart follows. */
  stop(): Promise<void>;
}

/**
 * Starts DynamoDB Local and keeps it running: when the JVM exits without stop() (a crash, an OOM kill, kill -9), it is
 * started again on the same port, with the same --persist folder, after a short backoff; then `onRestart` lets the
 * runtime recreate the tables and resume every stream. An in-memory restart loses every table and item, and the log
 * says so loudly.
 */
export async function superviseDynamoDbLocal(options: DynamoDbSupervisorOptions): Promise<SupervisedDynamoDbLocal> {
  const { logger } = options;
  const backoff = options.restartBackoff ?? { initialMs: 500, maxMs: 10_000 };
  let running: RunningDynamoDbLocal | undefined = await startDynamoDbLocal(options);
  const status: DynamoDbStatus = {
    state: 'up',
    endpoint: running.endpoint,
    ...(running.pid === undefined ? {} : { pid: running.pid }),
    loopback: running.binding.loopback,
    ...(running.binding.loopback ? {} : { exposedBecause: running.binding.reason }),
    persistent: options.persistDir !== undefined,
    restarts: 0,
  };
  let stopped = false;
  let restartWaiters: (() => void)[] = [];
  let wakeBackoff: (() => void) | undefined;

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wakeBackoff = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const restart = async (exit: DynamoDbLocalExit): Promise<void> => {
    running = undefined;
    status.state = 'down';
    delete status.pid;
    status.lastExit = { code: exit.code, signal: exit.signal, at: new Date().toISOString() };
    logger.error(
      `DynamoDB Local exited unexpectedly (${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`}); restarting it on ${status.endpoint}` +
        (status.persistent ? ` with the data in ${options.persistDir}` : ''),
    );
    for (let attempt = 1; !stopped; attempt++) {
      await pause(Math.min(backoff.maxMs, backoff.initialMs * 2 ** (attempt - 1)));
      if (stopped) return;
      try {
        running = await startDynamoDbLocal(options);
        break;
      } catch (error) {
        status.lastError = error instanceof Error ? error.message : String(error);
        logger.warn(`DynamoDB Local restart attempt ${attempt} failed; trying again`, { error: status.lastError });
      }
    }
    if (stopped || running === undefined) {
      await running?.stop();
      return;
    }
    status.restarts++;
    status.state = 'recovering';
    delete status.lastError;
    if (running.pid !== undefined) status.pid = running.pid;
    if (status.persistent) {
      logger.warn(`DynamoDB Local is back (restart ${status.restarts}) with the data in ${options.persistDir}`);
    } else {
      // Said as loudly as the runtime can: everything written so far is gone, and clients must reconnect.
      logger.error(
        `DynamoDB Local was restarted IN MEMORY (restart ${status.restarts}): EVERY TABLE AND ITEM WRITTEN SO FAR IS LOST. ` +
          'The tables are created again, the streams start over, and open WebSockets are closed (1012) so clients ' +
          'reconnect and subscribe again. Use --persist DIR to keep data across restarts.',
      );
    }
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        await options.onRestart?.({ dataLost: !status.persistent });
        break;
      } catch (error) {
        logger.error(`after the DynamoDB Local restart: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    status.state = 'up';
    watch(running);
  };

  const watch = (process: RunningDynamoDbLocal) => {
    void process.exited.then((exit) => {
      if (stopped || running !== process) return;
      void restart(exit).finally(() => {
        const waiters = restartWaiters;
        restartWaiters = [];
        for (const wake of waiters) wake();
      });
    });
  };
  watch(running);

  return {
    endpoint: running.endpoint,
    status: () => ({ ...status }),
    pid: () => running?.pid,
    nextRestart: () => new Promise<void>((resolve) => restartWaiters.push(resolve)),
    async stop() {
      stopped = true;
      status.state = 'stopped';
      wakeBackoff?.();
      await running?.stop();
      running = undefined;
    },
  };
}
