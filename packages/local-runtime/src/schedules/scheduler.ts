import { randomUUID } from 'node:crypto';
import type { Invoker, LocalLogger, ScheduleSpec } from '../types';
import { type ParsedSchedule, parseScheduleExpression, ScheduleExpressionError } from './expressions';

export interface StartSchedulesOptions {
  schedules: ScheduleSpec[];
  invoker: Invoker;
  logger: LocalLogger;
  region: string;
  accountId: string;
  /** Used in the rule ARN (`{stackName}-{FunctionId}{EventId}`), as CloudFormation names SAM's rules. */
  stackName?: string;
  /** Virtual clock speed-up for tests and demos: 600 makes `rate(1 minute)` fire every 100 ms. Default 1. */
  speed?: number;
  /** The virtual time the clock starts at; default now. */
  startAt?: Date;
  /** Retries after a failed invocation, as Lambda's asynchronous invoke does (default 2, at +1 min and +2 min). */
  maximumRetryAttempts?: number;
}

/** Handle on running schedules. */
export interface RunningSchedules {
  /** Clears every timer; invocations already running finish on their own. */
  stop(): void;
}

// Node clamps longer timeouts to 1 ms, so far-off runs are reached in hops of at most this long.
const maxTimerMs = 2 ** 31 - 1;

/** EventBridge's scheduled-event shape. */
export interface ScheduledEvent {
  version: '0';
  id: string;
  'detail-type': 'Scheduled Event';
  source: 'aws.events';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, never>;
}

/** Builds the event EventBridge sends for one scheduled run (the `time` is the scheduled minute, without ms). */
export function scheduledEvent(options: {
  ruleArn: string;
  time: Date;
  region: string;
  accountId: string;
}): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: options.accountId,
    time: options.time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: options.region,
    resources: [options.ruleArn],
    detail: {},
  };
}

/** The rule ARN of a schedule, as CloudFormation names SAM's rules: `{stackName}-{FunctionId}{EventId}`. */
export function scheduleRuleArn(
  spec: Pick<ScheduleSpec, 'functionId' | 'eventId'>,
  where: { region: string; accountId: string; stackName?: string | undefined },
): string {
  const ruleName = `${where.stackName ? `${where.stackName}-` : ''}${spec.functionId}${spec.eventId}`;
  return `arn:aws:events:${where.region}:${where.accountId}:rule/${ruleName}`;
}

/**
 * Starts every enabled schedule on its EventBridge timetable (UTC) and invokes its function the way EventBridge
 * does: asynchronously, with Lambda's async retries. Every expression is checked before any timer starts.
 */
export function startSchedules(options: StartSchedulesOptions): RunningSchedules {
  const speed = options.speed ?? 1;
  if (!(speed > 0)) throw new RangeError(`speed must be a positive number, got ${speed}`);
  const realStart = Date.now();
  const virtualStart = (options.startAt ?? new Date(realStart)).getTime();
  const virtualNow = (): number => virtualStart + (Date.now() - realStart) * speed;
  const maxRetries = options.maximumRetryAttempts ?? 2;
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;

  // Parse all first: one bad expression must fail start-up with its name, not surface minutes later.
  const planned = options.schedules.map((spec) => {
    try {
      return { spec, parsed: parseScheduleExpression(spec.expression) };
    } catch (error) {
      if (error instanceof ScheduleExpressionError) {
        error.message = `${spec.functionId} event ${spec.eventId}: ${error.message}`;
      }
      throw error;
    }
  });

  /** Sleeps in virtual time, re-arming when the wait is longer than one Node timer can hold. */
  const at = (virtualTime: number, run: () => void): void => {
    if (stopped) return;
    const delay = Math.max(0, (virtualTime - virtualNow()) / speed);
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        if (stopped) return;
        // A capped timer wakes early; more than a real millisecond to go means "not yet".
        if ((virtualTime - virtualNow()) / speed > 1) at(virtualTime, run);
        else run();
      },
      Math.min(delay, maxTimerMs),
    );
    // Schedules alone should never keep the process alive; the servers do that.
    timer.unref();
    timers.add(timer);
  };

  const invoke = (spec: ScheduleSpec, event: unknown, attempt: number): void => {
    const trigger = `schedule ${spec.eventId}${attempt > 0 ? ` (retry ${attempt})` : ''}`;
    // Through a promise so that even a synchronous throw cannot escape into a timer callback.
    Promise.resolve()
      .then(() => options.invoker.invoke(spec.functionId, event, trigger))
      .then(
        (outcome) => {
          if (outcome.ok) return;
          const fields = {
            functionId: spec.functionId,
            eventId: spec.eventId,
            requestId: outcome.requestId,
            errorType: outcome.error.errorType,
            errorMessage: outcome.error.errorMessage,
            stack: outcome.error.stack,
          };
          if (attempt >= maxRetries) {
            options.logger.error(
              `Schedule ${spec.eventId}: ${spec.functionId} failed; giving up after ${attempt + 1} attempts`,
              fields,
            );
            return;
          }
          // Lambda's async invoke waits at least a minute before the first retry and two before the second.
          const waitMs = (attempt + 1) * 60_000;
          options.logger.warn(
            `Schedule ${spec.eventId}: ${spec.functionId} failed; retrying in ${waitMs / 60_000} min`,
            fields,
          );
          at(virtualNow() + waitMs, () => invoke(spec, event, attempt + 1));
        },
        (error: unknown) => {
          // The Invoker contract says it never throws for handler errors, so this is a runtime fault worth shouting about.
          options.logger.error(`Schedule ${spec.eventId}: the invoker itself failed`, {
            functionId: spec.functionId,
            error: error instanceof Error ? (error.stack ?? error.message) : String(error),
          });
        },
      );
  };

  const arm = (spec: ScheduleSpec, parsed: ParsedSchedule, ruleArn: string, after: number): void => {
    const next = nextAfter(parsed, after, virtualStart);
    if (next === undefined) {
      options.logger.info(`Schedule ${spec.eventId}: ${spec.expression} has no future runs`, {
        functionId: spec.functionId,
      });
      return;
    }
    at(next, () => {
      const event =
        spec.input === undefined
          ? scheduledEvent({ ruleArn, time: new Date(next), region: options.region, accountId: options.accountId })
          : spec.input;
      invoke(spec, event, 0);
      // EventBridge does not replay runs it missed (a laptop asleep); continue from now, not from `next`.
      arm(spec, parsed, ruleArn, Math.max(next, virtualNow()));
    });
  };

  for (const { spec, parsed } of planned) {
    if (!spec.enabled) {
      options.logger.debug(`Schedule ${spec.eventId} (${spec.expression}) is disabled; not running it`, {
        functionId: spec.functionId,
      });
      continue;
    }
    arm(spec, parsed, scheduleRuleArn(spec, options), virtualStart);
  }

  return {
    stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

/** The first run strictly after `after`; rate schedules count whole periods from the schedule's start. */
function nextAfter(parsed: ParsedSchedule, after: number, start: number): number | undefined {
  if (parsed.kind === 'rate') {
    const periods = Math.floor((after - start) / parsed.periodMs) + 1;
    return start + periods * parsed.periodMs;
  }
  if (parsed.kind === 'at') return parsed.at.getTime() > after ? parsed.at.getTime() : undefined;
  return parsed.cron.nextRun(new Date(after))?.getTime();
}
