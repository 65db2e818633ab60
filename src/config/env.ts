import { z } from 'zod';
import { DOMAIN_ATTRIBUTE_NAMES } from '../domain/keys';
import { ConfigError } from '../lib/errors';

/**
 * The environment the functions read, parsed once at cold start: a missing or invalid variable fails the
 * function's init with the variable's name instead of failing the first request.
 */

const required = z.string({ error: 'is required' }).trim().min(1, { error: 'is required' });
const positiveInt = (fallback: number, max: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be an integer' })
    .min(1, { error: 'must be at least 1' })
    .max(max, { error: `must be at most ${max}` })
    .default(fallback);

const schema = z.object({
  TABLE_NAME: required,
  DATA_TABLE_NAME: required,
  REAL_TIME_ITEM_KEY: required
    // The same rule as template.yaml's AllowedPattern: the IoT rule's SQL uses the name as a bare identifier.
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, {
      error: 'must be an attribute name like vehicleId (letters, digits and _)',
    })
    .refine((name) => !DOMAIN_ATTRIBUTE_NAMES.has(name), {
      error: (issue) =>
        `must not be ${JSON.stringify(issue.input)}: presence, calendar or chat items use that attribute`,
    }),
  // The template passes the strings "true" / "false"; anything else is a typo worth failing on.
  IS_QUERY_PARAM: z
    .enum(['true', 'false', 'TRUE', 'FALSE', 'True', 'False'], { error: 'must be "true" or "false"' })
    .default('true')
    .transform((value) => value.toLowerCase() === 'true'),
  CONNECTION_TTL_SECONDS: positiveInt(7800, 366 * 24 * 3600),
  FANOUT_CONCURRENCY: positiveInt(64, 1024),
  AUTH_MODE: z.enum(['none', 'jwt'], { error: 'must be "none" or "jwt"' }).default('none'),
  PRESENCE_TIMEOUT_SECONDS: positiveInt(180, 7 * 24 * 3600),
  PRESENCE_VISIBILITY: z.enum(['all', 'friends'], { error: 'must be "all" or "friends"' }).default('all'),
  EVENT_BUS_NAME: required,
  WS_ENDPOINT: required.pipe(
    z.url({
      protocol: /^https?$/,
      error: 'must be an http(s) URL like https://{apiId}.execute-api.{region}.amazonaws.com/{stage}',
    }),
  ),
});

type Parsed = z.output<typeof schema>;

/** Environment variable names the functions understand. */
export type EnvName = keyof Parsed;

/** The configuration, named for code. */
export interface Config {
  /** WebSocketConnectionManager table. */
  tableName: string;
  /** RealTimeData table. */
  dataTableName: string;
  /** The item attribute (and query parameter / header) that names a key, e.g. vehicleId. */
  realTimeItemKey: string;
  /** true: keys come from the query string on $connect; false: from the header of the same name. */
  isQueryParam: boolean;
  connectionTtlSeconds: number;
  fanoutConcurrency: number;
  /** Management API base URL, e.g. https://abc.execute-api.eu-west-1.amazonaws.com/develop. */
  wsEndpoint: string;
  /** none: anonymous connections and requests; jwt: the JWT authorizer names a user. */
  authMode: 'none' | 'jwt';
  /** A connection silent for longer than this is closed by the presence sweep. */
  presenceTimeoutSeconds: number;
  /** all: anyone signed in sees anyone's presence; friends: only accepted friends (and the user). */
  presenceVisibility: 'all' | 'friends';
  /** EventBridge bus for presence events. */
  eventBusName: string;
}

const fieldOf = {
  TABLE_NAME: 'tableName',
  DATA_TABLE_NAME: 'dataTableName',
  REAL_TIME_ITEM_KEY: 'realTimeItemKey',
  IS_QUERY_PARAM: 'isQueryParam',
  CONNECTION_TTL_SECONDS: 'connectionTtlSeconds',
  FANOUT_CONCURRENCY: 'fanoutConcurrency',
  WS_ENDPOINT: 'wsEndpoint',
  AUTH_MODE: 'authMode',
  PRESENCE_TIMEOUT_SECONDS: 'presenceTimeoutSeconds',
  PRESENCE_VISIBILITY: 'presenceVisibility',
  EVENT_BUS_NAME: 'eventBusName',
} as const satisfies Record<EnvName, keyof Config>;

/** The Config fields that the given environment variables fill. */
export type ConfigFor<N extends EnvName> = Pick<Config, (typeof fieldOf)[N]>;

/**
 * Parses the named variables only (each function needs a different subset) and throws a ConfigError naming every
 * missing or invalid one.
 */
export function loadConfig<const N extends EnvName>(
  names: readonly N[],
  env: Record<string, string | undefined> = process.env,
): ConfigFor<N> {
  const mask = Object.fromEntries(names.map((name) => [name, true])) as Partial<Record<EnvName, true>>;
  // Empty strings count as missing (a template !Ref that resolved to nothing), so defaults still apply.
  const input = Object.fromEntries(names.map((name) => [name, env[name] === '' ? undefined : env[name]]));
  const result = schema.pick(mask).safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${String(issue.path[0] ?? '?')} ${issue.message}`);
    throw new ConfigError(`Invalid environment: ${problems.join('; ')}`);
  }
  const parsed = result.data as Record<string, unknown>;
  const config: Record<string, unknown> = {};
  for (const name of names) config[fieldOf[name]] = parsed[name];
  return config as ConfigFor<N>;
}
