import { z } from 'zod';

// Query-string parameters the user routes share. Query strings arrive as text: each schema parses the text and
// refuses anything else with one message that says what is accepted.

/** `?limit`: an integer from 1 to `max`. */
export function pageLimitParam(max: number) {
  const error = `limit must be an integer from 1 to ${max}`;
  return z
    .string()
    .regex(/^\d{1,3}$/, { error })
    .transform(Number)
    .refine((limit) => limit >= 1 && limit <= max, { error });
}

/** A point in time named `name`, read by `parse` as epoch ms; `accepted` completes "`name` must be …". */
export function instantParam(name: string, parse: (value: string) => number | undefined, accepted: string) {
  return z
    .string()
    .max(64)
    .transform((value, ctx) => {
      const ms = parse(value);
      if (ms !== undefined) return ms;
      ctx.addIssue({ code: 'custom', message: `${name} must be ${accepted}` });
      return z.NEVER;
    });
}
