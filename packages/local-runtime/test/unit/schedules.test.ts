import fc from 'fast-check';
import { nextRunTimes, parseScheduleExpression, ScheduleExpressionError, startSchedules } from '../../src/schedules';
import type { InvocationOutcome, Invoker, ScheduleSpec } from '../../src/types';
import { silentLogger } from '../../src/types';

/** A tiny Invoker that records calls and answers with the given outcome. */
function recordingInvoker(fail = false) {
  const calls: { functionId: string; event: unknown; trigger: string }[] = [];
  const invoker: Invoker = {
    async invoke(functionId, event, trigger): Promise<InvocationOutcome> {
      calls.push({ functionId, event, trigger });
      return fail
        ? { ok: false, error: { errorType: 'Error', errorMessage: 'boom' }, durationMs: 1, requestId: 'r' }
        : { ok: true, result: null, durationMs: 1, requestId: 'r' };
    },
  };
  return { invoker, calls };
}

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());
const from = new Date('2026-11-22T15:50:52Z'); // a Sunday

function spec(expression: string, extra: Partial<ScheduleSpec> = {}): ScheduleSpec {
  return { functionId: 'CleanupFunction', eventId: 'Every', expression, enabled: true, ...extra };
}

function waitFor(predicate: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (predicate()) resolve();
      else if (Date.now() > deadline) reject(new Error('condition not met in time'));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

describe('rate expressions', () => {
  it.each([
    ['rate(1 minute)', 60_000],
    ['rate(5 minutes)', 300_000],
    ['rate(1 hour)', 3_600_000],
    ['rate(12 hours)', 43_200_000],
    ['rate(1 day)', 86_400_000],
    ['rate(7 days)', 604_800_000],
  ])('%s fires every %i ms', (expression, periodMs) => {
    // Act
    const parsed = parseScheduleExpression(expression);

    // Assess
    expect(parsed).toMatchObject({ kind: 'rate', periodMs });
  });

  it('counts whole periods from the start', () => {
    expect(iso(nextRunTimes('rate(5 minutes)', from, 3))).toEqual([
      '2026-11-22T15:55:52.000Z',
      '2026-11-22T16:00:52.000Z',
      '2026-11-22T16:05:52.000Z',
    ]);
  });

  it.each([
    'rate(1 minutes)', // EventBridge wants the singular for 1
    'rate(5 minute)', // … and the plural above 1
    'rate(0 minutes)',
    'rate(-1 minutes)',
    'rate(1.5 hours)',
    'rate(1 second)',
    'rate(2 weeks)',
    'rate(minutes)',
    'rate()',
    'every 5 minutes',
  ])('rejects %s naming the expression', (expression) => {
    expect(() => parseScheduleExpression(expression)).toThrow(ScheduleExpressionError);
    expect(() => parseScheduleExpression(expression)).toThrow(expression);
  });
});

describe('cron expressions (EventBridge syntax, UTC)', () => {
  it.each<[string, string[]]>([
    // every 15 minutes, Quartz-style start/step
    ['cron(0/15 * * * ? *)', ['2026-11-22T16:00:00.000Z', '2026-11-22T16:15:00.000Z', '2026-11-22T16:30:00.000Z']],
    // 10:15 every day
    ['cron(15 10 * * ? *)', ['2026-11-23T10:15:00.000Z', '2026-11-24T10:15:00.000Z', '2026-11-25T10:15:00.000Z']],
    // 18:00 Monday to Friday, names in the day-of-week field
    ['cron(0 18 ? * MON-FRI *)', ['2026-11-23T18:00:00.000Z', '2026-11-24T18:00:00.000Z', '2026-11-25T18:00:00.000Z']],
    // 1 = Sunday in EventBridge's numbering
    ['cron(0 9 ? * 1 *)', ['2026-11-29T09:00:00.000Z', '2026-12-06T09:00:00.000Z', '2026-12-13T09:00:00.000Z']],
    // 7 = Saturday, and a list of hours
    ['cron(0 8,20 ? * 7 *)', ['2026-11-28T08:00:00.000Z', '2026-11-28T20:00:00.000Z', '2026-12-05T08:00:00.000Z']],
    // the last day of the month
    ['cron(0 12 L * ? *)', ['2026-11-30T12:00:00.000Z', '2026-12-31T12:00:00.000Z', '2027-01-31T12:00:00.000Z']],
    // the weekday nearest the 15th
    ['cron(0 12 15W * ? *)', ['2026-12-15T12:00:00.000Z', '2027-01-15T12:00:00.000Z', '2027-02-15T12:00:00.000Z']],
    // 15 May 2027 is a Saturday, so 15W runs on Friday the 14th
    ['cron(0 12 15W MAY ? 2027)', ['2027-05-14T12:00:00.000Z']],
    // the last Friday of the month
    ['cron(0 12 ? * 6L *)', ['2026-11-27T12:00:00.000Z', '2026-12-25T12:00:00.000Z', '2027-01-29T12:00:00.000Z']],
    // the second Tuesday (3 = TUE)
    ['cron(0 12 ? * 3#2 *)', ['2026-12-08T12:00:00.000Z', '2027-01-12T12:00:00.000Z', '2027-02-09T12:00:00.000Z']],
    // month names, a day range and a year range: the first three days of March, 2028-2029 only
    [
      'cron(30 6 1-3 MAR ? 2028-2029)',
      ['2028-03-01T06:30:00.000Z', '2028-03-02T06:30:00.000Z', '2028-03-03T06:30:00.000Z'],
    ],
    // steps on a range of hours
    ['cron(0 8-17/3 * * ? *)', ['2026-11-22T17:00:00.000Z', '2026-11-23T08:00:00.000Z', '2026-11-23T11:00:00.000Z']],
  ])('%s', (expression, expected) => {
    expect(iso(nextRunTimes(expression, from, 3))).toEqual(expected);
  });

  it('honours the year field: nothing after the last year', () => {
    expect(iso(nextRunTimes('cron(0 0 1 JAN ? 2027)', from, 3))).toEqual(['2027-01-01T00:00:00.000Z']);
    expect(nextRunTimes('cron(0 0 1 JAN ? 2020)', from, 3)).toEqual([]);
  });

  it.each([
    ['cron(0 12 * * * *)', 'exactly one of day-of-month and day-of-week must be ?'],
    ['cron(0 12 ? * ? *)', 'exactly one of day-of-month and day-of-week must be ?'],
    ['cron(0 12 * * MON *)', 'exactly one of day-of-month and day-of-week must be ?'],
    ['cron(0 12 * * ?)', 'cron needs 6 fields'],
    ['cron(0 0 12 * * ? *)', 'cron needs 6 fields'],
    ['cron(60 * * * ? *)', 'minutes field "60": 60 is out of range 0-59'],
    ['cron(0 24 * * ? *)', 'hours field'],
    ['cron(0 0 32 * ? *)', 'day-of-month field'],
    ['cron(0 0 ? * 0 *)', 'day-of-week field "0": 0 is out of range 1-7'],
    ['cron(0 0 ? * FUN *)', 'day-of-week field'],
    ['cron(0 0 1 13 ? *)', 'month field'],
    ['cron(0 0 1 * ? 1969)', 'year field'],
    ['cron(? 0 1 * ? *)', '? is only allowed in day-of-month and day-of-week'],
    ['cron(0/0 * * * ? *)', 'positive step'],
    ['cron(0 5-2 * * ? *)', 'runs backwards'],
    ['cron(0 0 5L * ? *)', 'day-of-month field'],
  ])('rejects %s (%s)', (expression, reason) => {
    expect(() => parseScheduleExpression(expression)).toThrow(ScheduleExpressionError);
    expect(() => parseScheduleExpression(expression)).toThrow(reason);
    expect(() => parseScheduleExpression(expression)).toThrow(`"${expression}"`);
  });

  it('never crashes with anything but a ScheduleExpressionError on arbitrary input', () => {
    const token = fc.constantFrom(
      '*',
      '?',
      'L',
      'W',
      '#',
      '/',
      '-',
      ',',
      'MON',
      'JAN',
      '0',
      '5',
      '15',
      '60',
      'LW',
      '3#2',
    );
    const field = fc.array(token, { minLength: 1, maxLength: 3 }).map((t) => t.join(''));
    const expression = fc.array(field, { minLength: 4, maxLength: 7 }).map((f) => `cron(${f.join(' ')})`);
    fc.assert(
      fc.property(fc.oneof(expression, fc.string()), (text) => {
        try {
          const parsed = parseScheduleExpression(text);
          // What parses must also enumerate without throwing.
          nextRunTimes(parsed, from, 2);
        } catch (error) {
          if (!(error instanceof ScheduleExpressionError)) throw error;
        }
      }),
    );
  });
});

describe('at expressions (EventBridge Scheduler one-time schedules)', () => {
  it('fires once, in UTC, and not when already past', () => {
    expect(iso(nextRunTimes('at(2026-12-01T09:00:00)', from, 3))).toEqual(['2026-12-01T09:00:00.000Z']);
    expect(nextRunTimes('at(2026-01-01T00:00:00)', from, 3)).toEqual([]);
  });

  it.each(['at(2026-02-30T09:00:00)', 'at(2026-12-01 09:00)', 'at(2026-12-01T24:00:00)'])(
    'rejects %s',
    (expression) => {
      expect(() => parseScheduleExpression(expression)).toThrow(ScheduleExpressionError);
    },
  );
});

describe('startSchedules', () => {
  it('fires a short rate with an EventBridge scheduled event, and stop() stops it', async () => {
    // Prepare: at 600× a minute lasts 100 ms.
    const { invoker, calls } = recordingInvoker();
    const startAt = new Date('2026-11-22T15:00:00Z');
    const running = startSchedules({
      schedules: [spec('rate(1 minute)')],
      invoker,
      logger: silentLogger,
      region: 'eu-west-1',
      accountId: '123456789012',
      stackName: 'rtp-develop',
      speed: 600,
      startAt,
    });

    // Act
    await waitFor(() => calls.length >= 2);
    running.stop();
    const countAtStop = calls.length;
    // The same schedule started beside it: once it has run three more times, the stopped one would have run too.
    const witness = recordingInvoker();
    const stillRunning = startSchedules({
      schedules: [spec('rate(1 minute)')],
      invoker: witness.invoker,
      logger: silentLogger,
      region: 'eu-west-1',
      accountId: '123456789012',
      speed: 600,
    });
    await waitFor(() => witness.calls.length >= 3);
    stillRunning.stop();

    // Assess
    expect(calls.length).toBe(countAtStop);
    const first = calls[0];
    expect(first?.functionId).toBe('CleanupFunction');
    expect(first?.trigger).toBe('schedule Every');
    expect(first?.event).toEqual({
      version: '0',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '123456789012',
      time: '2026-11-22T15:01:00Z',
      region: 'eu-west-1',
      resources: ['arn:aws:events:eu-west-1:123456789012:rule/rtp-develop-CleanupFunctionEvery'],
      detail: {},
    });
    // The next whole minute after it: 15:02, or a later one when a busy machine held the 100 ms timer past a minute of
    // virtual time (runs missed are skipped, as EventBridge does, not replayed).
    const second = (calls[1]?.event as { time?: string } | undefined)?.time ?? '';
    expect(second).toMatch(/^2026-11-22T15:\d\d:00Z$/);
    expect(second > '2026-11-22T15:01:00Z').toBe(true);
  });

  it('runs cron schedules on their UTC minute with the template Input as the event', async () => {
    // Prepare: 10 s before the minute, at 100× → about 100 ms.
    const { invoker, calls } = recordingInvoker();
    const running = startSchedules({
      schedules: [spec('cron(* * * * ? *)', { input: { job: 'compact' } })],
      invoker,
      logger: silentLogger,
      region: 'eu-west-1',
      accountId: '123456789012',
      speed: 100,
      startAt: new Date('2026-11-22T15:59:50Z'),
    });

    // Act
    await waitFor(() => calls.length >= 1);
    running.stop();

    // Assess
    expect(calls[0]?.event).toEqual({ job: 'compact' });
  });

  it('does not run disabled schedules', async () => {
    const { invoker, calls } = recordingInvoker();
    const running = startSchedules({
      schedules: [
        spec('rate(1 minute)', { enabled: false }),
        // The same rate, enabled: once it has run twice, the disabled one would have run too.
        spec('rate(1 minute)', { functionId: 'WitnessFunction', eventId: 'Tick' }),
      ],
      invoker,
      logger: silentLogger,
      region: 'eu-west-1',
      accountId: '123456789012',
      speed: 6000,
    });
    await waitFor(() => calls.length >= 2);
    running.stop();
    expect(calls.filter((call) => call.functionId !== 'WitnessFunction')).toEqual([]);
  });

  it('retries a failed invocation twice with the same event, as Lambda async invoke does', async () => {
    // Prepare: a failing function, a one-day rate so only the first run happens; retries at +1 and +2 virtual minutes.
    const { invoker, calls } = recordingInvoker(true);
    const errors: string[] = [];
    const running = startSchedules({
      schedules: [spec('rate(1 day)')],
      invoker,
      logger: { ...silentLogger, error: (message) => errors.push(message) },
      region: 'eu-west-1',
      accountId: '123456789012',
      speed: 86_400 / 0.1, // a day in 100 ms
    });

    // Act
    await waitFor(() => errors.length > 0);
    running.stop();

    // Assess
    expect(calls.map((c) => c.trigger)).toEqual([
      'schedule Every',
      'schedule Every (retry 1)',
      'schedule Every (retry 2)',
    ]);
    expect(new Set(calls.map((c) => (c.event as { id: string }).id)).size).toBe(1);
    expect(errors[0]).toContain('giving up after 3 attempts');
  });

  it('refuses to start when any expression is invalid, naming the function and the expression', () => {
    const { invoker } = recordingInvoker();
    expect(() =>
      startSchedules({
        schedules: [
          spec('rate(1 minute)'),
          spec('rate(2 minute)', { functionId: 'ReportFunction', eventId: 'Nightly' }),
        ],
        invoker,
        logger: silentLogger,
        region: 'eu-west-1',
        accountId: '123456789012',
      }),
    ).toThrow(/ReportFunction event Nightly: Invalid schedule expression "rate\(2 minute\)"/);
  });
});
