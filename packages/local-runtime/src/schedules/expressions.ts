import { Cron } from 'croner';

/** An EventBridge schedule expression that EventBridge itself would reject; the message names the expression. */
export class ScheduleExpressionError extends Error {
  override name = 'ScheduleExpressionError';
  readonly retryable = false;
  constructor(
    readonly expression: string,
    reason: string,
  ) {
    super(`Invalid schedule expression "${expression}": ${reason}`);
  }
}

/** A parsed `rate(...)` or `cron(...)` expression. */
export type ParsedSchedule =
  | { kind: 'rate'; expression: string; periodMs: number }
  | { kind: 'at'; expression: string; at: Date }
  | { kind: 'cron'; expression: string; cron: Cron };

const unitMs = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/** Parses an EventBridge schedule expression, throwing ScheduleExpressionError for anything EventBridge would refuse. */
export function parseScheduleExpression(expression: string): ParsedSchedule {
  const trimmed = expression.trim();
  const rate = /^rate\((.*)\)$/.exec(trimmed);
  if (rate) return { kind: 'rate', expression, periodMs: parseRate(expression, rate[1] ?? '') };
  const at = /^at\((.*)\)$/.exec(trimmed);
  if (at) return { kind: 'at', expression, at: parseAt(expression, at[1] ?? '') };
  const cron = /^cron\((.*)\)$/.exec(trimmed);
  if (cron) return { kind: 'cron', expression, cron: compileCron(expression, cron[1] ?? '') };
  throw new ScheduleExpressionError(
    expression,
    'expected rate(value unit) or cron(minutes hours day-of-month month day-of-week year)',
  );
}

function parseRate(expression: string, body: string): number {
  const match = /^\s*(\d+)\s+([a-z]+)\s*$/.exec(body);
  if (!match) throw new ScheduleExpressionError(expression, 'expected rate(value unit), e.g. rate(5 minutes)');
  const value = Number(match[1]);
  const unit = match[2] ?? '';
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ScheduleExpressionError(expression, 'the value must be a positive whole number');
  }
  const singular = unit.endsWith('s') ? unit.slice(0, -1) : unit;
  if (!(singular in unitMs)) {
    throw new ScheduleExpressionError(expression, 'the unit must be minute(s), hour(s) or day(s)');
  }
  // EventBridge insists on agreement: "rate(1 minutes)" and "rate(5 minute)" are both rejected at deploy time.
  if (value === 1 && unit !== singular) {
    throw new ScheduleExpressionError(expression, `a value of 1 takes the singular unit: rate(1 ${singular})`);
  }
  if (value > 1 && unit === singular) {
    throw new ScheduleExpressionError(expression, `a value above 1 takes the plural unit: rate(${value} ${singular}s)`);
  }
  return value * unitMs[singular as keyof typeof unitMs];
}

/** EventBridge Scheduler's one-time schedule: at(yyyy-mm-ddThh:mm:ss), in UTC (the default ScheduleExpressionTimezone). */
function parseAt(expression: string, body: string): Date {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(body.trim());
  if (!match) throw new ScheduleExpressionError(expression, 'expected at(yyyy-mm-ddThh:mm:ss)');
  const [, y, mo, d, h, mi, se] = match.map(Number) as number[];
  const date = new Date(Date.UTC(y ?? 0, (mo ?? 1) - 1, d, h, mi, se));
  // Date.UTC rolls 2026-02-30 over into March; a real calendar date must survive the round trip.
  if (
    date.getUTCMonth() !== (mo ?? 1) - 1 ||
    date.getUTCDate() !== d ||
    (h ?? 0) > 23 ||
    (mi ?? 0) > 59 ||
    (se ?? 0) > 59
  ) {
    throw new ScheduleExpressionError(expression, `${body.trim()} is not a valid date and time`);
  }
  return date;
}

interface FieldRule {
  name: string;
  min: number;
  max: number;
  names?: Record<string, number>;
}

const monthNames = Object.fromEntries(
  ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'].map((n, i) => [n, i + 1]),
);
// EventBridge numbers weekdays like Quartz: 1 = SUN … 7 = SAT (croner's alternativeWeekdays mode).
const dayNames = Object.fromEntries(['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'].map((n, i) => [n, i + 1]));

const rules: FieldRule[] = [
  { name: 'minutes', min: 0, max: 59 },
  { name: 'hours', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: monthNames },
  { name: 'day-of-week', min: 1, max: 7, names: dayNames },
  // The years EventBridge accepts.
  { name: 'year', min: 1970, max: 2199 },
];

function compileCron(expression: string, body: string): Cron {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6) {
    throw new ScheduleExpressionError(
      expression,
      `cron needs 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`,
    );
  }
  const [, , dom, , dow] = fields as [string, string, string, string, string, string];
  // EventBridge: "If you specify a value or a * in one of the fields, you must use a ? in the other."
  if ((dom === '?') === (dow === '?')) {
    throw new ScheduleExpressionError(expression, 'exactly one of day-of-month and day-of-week must be ?');
  }
  const converted = fields.map((field, index) => convertField(expression, field, rules[index] as FieldRule, index));
  // Croner's 7-part form puts seconds first; EventBridge fires on the minute. With one of the two day fields
  // being ? (a wildcard), AND-ing them is exactly EventBridge's meaning.
  const pattern = `0 ${converted.join(' ')}`;
  try {
    return new Cron(pattern, { timezone: 'Etc/UTC', mode: '7-part', domAndDow: true, alternativeWeekdays: true });
  } catch (error) {
    throw new ScheduleExpressionError(expression, error instanceof Error ? error.message : String(error));
  }
}

/** Rewrites one EventBridge cron field into croner's dialect, validating ranges and special characters as AWS does. */
function convertField(expression: string, field: string, rule: FieldRule, index: number): string {
  const fail = (reason: string): never => {
    throw new ScheduleExpressionError(expression, `${rule.name} field "${field}": ${reason}`);
  };
  const isDom = index === 2;
  const isDow = index === 4;
  if (field === '?') {
    if (!isDom && !isDow) fail('? is only allowed in day-of-month and day-of-week');
    return '*';
  }
  const value = (token: string): number => {
    const upper = token.toUpperCase();
    const named = rule.names?.[upper];
    const n = named ?? (/^\d+$/.test(token) ? Number(token) : Number.NaN);
    if (Number.isNaN(n)) fail(`"${token}" is not a valid value`);
    if (n < rule.min || n > rule.max) fail(`${token} is out of range ${rule.min}-${rule.max}`);
    return n;
  };

  if (isDom) {
    if (field === 'L' || field === 'LW') return field;
    const weekday = /^(\d+)W$/.exec(field);
    if (weekday) return `${value(weekday[1] ?? '')}W`;
  }
  if (isDow) {
    // A lone L in day-of-week is the last day of the week (Saturday), as in Quartz.
    if (field === 'L') return '7';
    const last = /^(\w+)L$/.exec(field);
    if (last) return `${value(last[1] ?? '')}#L`;
    const nth = /^(\w+)#(\d)$/.exec(field);
    if (nth) {
      const occurrence = Number(nth[2]);
      if (occurrence < 1 || occurrence > 5) fail('the occurrence after # must be 1-5');
      return `${value(nth[1] ?? '')}#${occurrence}`;
    }
  }
  return field
    .split(',')
    .map((item) => {
      if (item === '') fail('empty list item');
      const [range, step, extra] = item.split('/');
      if (extra !== undefined) fail(`"${item}" has more than one /`);
      let stepText = '';
      if (step !== undefined) {
        if (!/^\d+$/.test(step) || Number(step) === 0) fail(`"${item}" needs a positive step after /`);
        stepText = `/${Number(step)}`;
      }
      if (range === '*') return `*${stepText}`;
      const bounds = (range ?? '').split('-');
      if (bounds.length > 2) fail(`"${item}" is not a valid range`);
      const start = value(bounds[0] ?? '');
      if (bounds.length === 2) {
        const end = value(bounds[1] ?? '');
        if (end < start) fail(`range ${range} runs backwards`);
        return `${start}-${end}${stepText}`;
      }
      // Quartz-style "5/15" means "from 5, every 15"; croner spells that "5-max/15".
      return step === undefined ? `${start}` : `${start}-${rule.max}${stepText}`;
    })
    .join(',');
}

/**
 * The next `count` times the expression fires after `from` (UTC). For `rate(...)` the schedule counts from
 * `from`, as an EventBridge rate rule counts from its creation; `at(...)` fires once.
 */
export function nextRunTimes(expression: string | ParsedSchedule, from: Date, count: number): Date[] {
  const parsed = typeof expression === 'string' ? parseScheduleExpression(expression) : expression;
  if (parsed.kind === 'rate') {
    return Array.from({ length: count }, (_, i) => new Date(from.getTime() + (i + 1) * parsed.periodMs));
  }
  if (parsed.kind === 'at') return parsed.at.getTime() > from.getTime() && count > 0 ? [parsed.at] : [];
  return parsed.cron.nextRuns(count, from);
}
