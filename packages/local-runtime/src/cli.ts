/**
 * The local runtime's command line: `npm start` (the whole platform) and `npm run invoke` (one invocation, like
 * `sam local invoke` without Docker).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { buildConsoleAssets } from '@real-time-platform/console';
import { FanoutTail, startConsoleServer } from './admin';
import { DEFAULT_REGION } from './arns';
import { AuthOptionError, type LocalAuth, resolveLocalAuth } from './auth';
import { authLines, tokenCommand } from './auth-banner';
import { DynamoDbLocalStartError } from './dynamodb/dynamodb-local';
import { FunctionBuildError } from './functions';
import { invokeOnce } from './invoke';
import { createConsoleLogger, type LogLevel } from './log';
import { type LocalPlatform, startLocalPlatform } from './platform';
import { DEFAULT_HOST, PORTS, PortInUseError, type PortSetting, publicUrl } from './ports';
import { TemplateError } from './template';
import type { TableSpec, WebSocketApiSpec } from './types';

// The SDK warns once per process that Node 20 support ends in 2027; the runtime supports Node 20 today.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const HELP = `Real Time Platform — local runtime

Usage:
  npm start -- [options]                          run the whole platform of template.yaml on this machine
  npm run invoke -- <LogicalId> [event.json] [options]
                                                  run one invocation of one function and print its result

Options (environment variable in brackets):
  --template FILE              the SAM template (template.yaml)
  --env-vars FILE              per-function environment, as sam local's env.json (only when given, as SAM does)
  --parameter-overrides K=V    a template parameter; repeat or separate with spaces, e.g. RealTimeItemKey=vehicleId
  --auth none|jwt              AuthMode: jwt checks a token on $connect (?token=) and on the user routes
                               (Authorization: Bearer) [RTP_AUTH] (none)
  --jwt-secret SECRET          HS256 secret, at least 32 bytes [RTP_JWT_SECRET]; prefer the variable: npm prints
                               a script's arguments. Without either (and without --jwt-jwks-url) a development
                               secret is generated and kept in .local/jwt-secret
  --jwt-issuer ISS             required iss of tokens (JwtIssuer)
  --jwt-audience AUD           required aud of tokens (JwtAudience)
  --jwt-jwks-url URL           JWKS for RS256/ES256 tokens, e.g. Cognito's (JwtJwksUrl)
  --jwt-user-claim CLAIM       the claim naming the user (JwtUserIdClaim): sub, or cognito:username
  --host HOST                  interface to listen on [RTP_HOST] (127.0.0.1)
  --ws-port N                  WebSocket API and @connections management API [RTP_WS_PORT] (3001)
  --http-port N                HTTP API [RTP_HTTP_PORT] (3000)
  --dynamodb-port N            DynamoDB Local [RTP_DYNAMODB_PORT] (8000)
  --s3-port N                  local S3 for the template's buckets [RTP_S3_PORT] (4569)
  --sqs-port N                 local SQS and SNS for the template's queues and topics [RTP_SQS_PORT] (9324)
  --mqtt-port N                MQTT broker applying the template's IoT rules [RTP_MQTT_PORT] (1883)
  --console-port N             the console web page and its admin API, loopback only; 0 turns it off
                               [RTP_CONSOLE_PORT] (3002)
  --dynamodb-endpoint URL      use a DynamoDB that already runs instead of starting DynamoDB Local [RTP_DYNAMODB_ENDPOINT]
  --persist DIR                keep DynamoDB Local's data in DIR (in memory otherwise) [RTP_PERSIST]
  --work-dir DIR               the functions' bundles, dead letters and local S3 objects; inside the project, so
                               bundles find its node_modules [RTP_WORK_DIR] (.local)
  --region REGION              region the functions and events report [AWS_REGION] (us-east-1)
  --idle-timeout SECONDS       close idle WebSockets after this long (600, as API Gateway)
  --max-connection SECONDS     close any WebSocket after this long (7200, as API Gateway)
  --send-buffer-kb KB          close a WebSocket with 1008 once this much is queued for a client that does not
                               read (1024); 0 lifts the cap (npm run bench:backpressure compares both)
  --quiet                      only warnings and errors; hide the functions' own logs
  --verbose                    debug output of the runtime
  -h, --help                   this text

Examples:
  npm start
  npm start -- --parameter-overrides RealTimeItemKey=vehicleId --persist .local/data
  npm start -- --auth jwt                         then: npm run token -- --user u1
  npm run invoke -- OnConnectLambdaFunction events/connect.json
`;

function stringOptions<const Name extends string>(names: readonly Name[]): Record<Name, { type: 'string' }> {
  return Object.fromEntries(names.map((name) => [name, { type: 'string' }])) as Record<Name, { type: 'string' }>;
}

/** The options of HELP; each named once, so the parsed flags are typed from this list. */
const OPTIONS = {
  template: { type: 'string', default: 'template.yaml' },
  'parameter-overrides': { type: 'string', multiple: true, default: [] as string[] },
  quiet: { type: 'boolean', default: false },
  verbose: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  ...stringOptions([
    'env-vars',
    'auth',
    'jwt-secret',
    'jwt-issuer',
    'jwt-audience',
    'jwt-jwks-url',
    'jwt-user-claim',
    'host',
    'ws-port',
    'http-port',
    'dynamodb-port',
    's3-port',
    'mqtt-port',
    'console-port',
    'sqs-port',
    'dynamodb-endpoint',
    'persist',
    'work-dir',
    'region',
    'idle-timeout',
    'max-connection',
    'send-buffer-kb',
  ]),
} satisfies ParseArgsConfig['options'];

type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** Thrown for a command line the runtime cannot act on; printed without a stack. */
class UsageError extends Error {
  override name = 'UsageError';
}

function parseCommandLine(argv: string[]): { command: string; positionals: string[]; flags: Flags } {
  const { values: flags, positionals } = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  // `--parameter-overrides A=1 B=2` (as sam deploy takes them): parseArgs sees B=2 as a positional.
  const overrides = positionals.filter((p) => /^[A-Za-z][A-Za-z0-9]*=/.test(p));
  const [command = 'start', ...rest] = positionals.filter((p) => !overrides.includes(p));
  return {
    command,
    positionals: rest,
    flags: { ...flags, 'parameter-overrides': [...flags['parameter-overrides'], ...overrides] },
  };
}

/** A port from its flag, else its environment variable, else its default (all three named in ports.ts). */
function portOption(setting: PortSetting, flagValue: string | undefined): number {
  const value = flagValue ?? (setting.env ? process.env[setting.env] : undefined);
  if (value === undefined || value === '') return setting.defaultPort;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new UsageError(`${setting.flag} must be a port number, got "${value}"`);
  }
  return n;
}

/** What start and invoke both read: each from its flag, else its environment variable, else its default. */
function sharedSettings(flags: Flags) {
  return {
    region: flags.region ?? process.env.AWS_REGION ?? DEFAULT_REGION,
    dynamodbEndpoint: flags['dynamodb-endpoint'] ?? process.env.RTP_DYNAMODB_ENDPOINT,
    dynamodbPort: portOption(PORTS.dynamodb, flags['dynamodb-port']),
    wsPort: portOption(PORTS.webSocket, flags['ws-port']),
  };
}

/** Where local data goes (bundles, dead letters, local S3 objects). */
function workDirOption(flags: Flags): string {
  return flags['work-dir'] ?? (process.env.RTP_WORK_DIR || '.local');
}

function seconds(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`${flag} must be a positive number of seconds, got "${value}"`);
  return n;
}

/** --send-buffer-kb in bytes; 0 means no cap at all (the gateway before backpressure, to measure against). */
function sendBufferOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const kb = Number(value);
  if (!Number.isFinite(kb) || kb < 0) throw new UsageError(`--send-buffer-kb must be 0 or more KB, got "${value}"`);
  return kb === 0 ? Number.POSITIVE_INFINITY : kb * 1024;
}

/** `K=V` pairs, given as repeated flags or space-separated in one (as `sam deploy --parameter-overrides`). */
function parameterOverrides(values: string[]): Record<string, string> {
  const overrides: Record<string, string> = {};
  for (const pair of values.flatMap((v) => v.split(/\s+/)).filter(Boolean)) {
    const match = /^(?:ParameterKey=)?([^=,]+)(?:=|,ParameterValue=)(.*)$/.exec(pair);
    if (!match?.[1]) throw new UsageError(`--parameter-overrides expects Name=Value, got "${pair}"`);
    overrides[match[1]] = match[2] ?? '';
  }
  return overrides;
}

function envJsonPath(flags: Flags): string | undefined {
  // As SAM: env.json applies only when named, so that --parameter-overrides are never silently overridden by it.
  if (!flags['env-vars']) return undefined;
  if (!existsSync(flags['env-vars'])) throw new UsageError(`--env-vars ${flags['env-vars']}: no such file`);
  return flags['env-vars'];
}

async function start(flags: Flags): Promise<void> {
  const level: LogLevel = flags.verbose ? 'debug' : flags.quiet ? 'warn' : 'info';
  const logger = createConsoleLogger(level);
  const env = process.env;
  // A signal during start-up exits at once; exit handlers stop DynamoDB Local (see dynamodb-local.ts).
  let shutdown: (signal: string) => Promise<void> = async () => process.exit(130);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(signal));
  const idle = seconds('--idle-timeout', flags['idle-timeout']);
  const max = seconds('--max-connection', flags['max-connection']);
  const sendBufferBytes = sendBufferOption(flags['send-buffer-kb']);
  const auth = await localAuth(flags);
  const consolePort = portOption(PORTS.console, flags['console-port']);
  // The page builds while DynamoDB Local starts, so the console adds little to the ready time.
  const consoleAssets = consolePort === 0 ? undefined : buildConsoleAssets();
  const tail = new FanoutTail();
  const platform: LocalPlatform = await startLocalPlatform({
    templatePath: flags.template,
    envJsonPath: envJsonPath(flags),
    parameterOverrides: auth.parameterOverrides,
    ...(auth.functionEnvironment ? { functionEnvironment: auth.functionEnvironment } : {}),
    ...sharedSettings(flags),
    host: flags.host ?? env.RTP_HOST,
    httpPort: portOption(PORTS.httpApi, flags['http-port']),
    s3Port: portOption(PORTS.s3, flags['s3-port']),
    mqttPort: portOption(PORTS.mqtt, flags['mqtt-port']),
    sqsPort: portOption(PORTS.sqs, flags['sqs-port']),
    persistDir: flags.persist ?? env.RTP_PERSIST,
    workDir: workDirOption(flags),
    buildCacheDir: join(workDirOption(flags), 'build-cache'),
    limits: {
      ...(idle ? { idleTimeoutMs: idle * 1000 } : {}),
      ...(max ? { maxConnectionMs: max * 1000 } : {}),
      ...(sendBufferBytes !== undefined ? { sendBufferBytes } : {}),
    },
    quietFunctions: flags.quiet,
    onInvocation: tail.observe,
    onFunctionLog: tail.observeLog,
    logger,
  });
  const platformReady = performance.now();
  const consoleServer = consoleAssets
    ? await startConsoleServer({ platform, tail, port: consolePort, assets: await consoleAssets, logger })
    : undefined;
  // What the console adds to the ready time: its page builds alongside the platform, so only the wait after.
  const consoleMs = Math.round(performance.now() - platformReady);
  if (!flags.quiet)
    process.stdout.write(banner(platform, flags, auth, consoleServer && { url: consoleServer.url, consoleMs }));
  else logger.warn(`ready in ${(platform.startupMs / 1000).toFixed(1)} s: ${platform.urls.webSocket}`);

  let stopping = false;
  shutdown = async (signal: string) => {
    if (stopping) {
      // A second Ctrl-C means "now": the exit handler kills DynamoDB Local's JVM (see dynamodb-local.ts).
      process.exit(130);
    }
    stopping = true;
    logger.info(`${signal}: closing connections (1001), stopping event sources, functions and DynamoDB Local…`);
    await consoleServer?.close();
    await platform.stop();
    logger.info('stopped');
    process.exit(0);
  };
  // If whatever started us (npm, a terminal) goes away without a signal, we are re-parented: stop too, rather
  // than keep ports and a JVM busy with nobody watching.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void shutdown('parent exited');
  }, 1000).unref();
}

/** AuthMode and the authorizer's secret, from --auth / --jwt-* / --parameter-overrides and RTP_AUTH / RTP_JWT_SECRET. */
function localAuth(flags: Flags): Promise<LocalAuth> {
  return resolveLocalAuth({
    auth: flags.auth,
    secret: flags['jwt-secret'],
    issuer: flags['jwt-issuer'],
    audience: flags['jwt-audience'],
    jwksUrl: flags['jwt-jwks-url'],
    userIdClaim: flags['jwt-user-claim'],
    parameterOverrides: parameterOverrides(flags['parameter-overrides']),
    env: process.env,
  });
}

/** Where DynamoDB's data lives, whether only this machine reaches it, and that it is supervised. */
function dynamodbLine(platform: LocalPlatform, flags: Flags): string {
  const status = platform.dynamodb?.status();
  if (!status) return 'external (--dynamodb-endpoint)';
  const data = status.persistent ? `data in ${flags.persist ?? process.env.RTP_PERSIST}` : 'in memory';
  const reach = status.loopback
    ? 'loopback only'
    : `EVERY INTERFACE (anyone who reaches this machine can read and write it): ${status.exposedBecause}`;
  return `${data}, ${reach}, restarted if it dies (pid ${status.pid ?? '?'})`;
}

function banner(
  platform: LocalPlatform,
  flags: Flags,
  auth: LocalAuth,
  consoleInfo: { url: string; consoleMs: number } | undefined,
): string {
  const { model, urls } = platform;
  const api = model.webSocketApis[0];
  // Examples from the template actually loaded: its key parameter (if it has one), its tables, its routes.
  const keyName = model.parameters.RealTimeItemKey;
  const keyQuery = keyName ? `?${keyName}=3` : '';
  const dataTable =
    model.tables.find((t) => model.streamSources.some((s) => s.tableLogicalId === t.logicalId)) ?? model.tables[0];
  const exampleItem = dataTable ? JSON.stringify(itemOfKeys(dataTable, keyName)) : undefined;
  const action = messageExample(api);
  const routes = api ? api.routes.map((r) => `${r.routeKey} → ${r.functionId}`).join(', ') : 'none';
  const streams = model.streamSources.map((s) => `${s.tableName} → ${s.functionId}`).join(', ') || 'none';
  const httpRoutes = model.httpRoutes.map((r) => `${r.method} ${r.path}`).join(', ');
  const credentials = 'AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1';
  const lines = [
    '',
    `Real Time Platform — local runtime (${flags.template}, stage ${api?.stage ?? '-'})`,
    '',
    consoleInfo
      ? `  Console           ${consoleInfo.url}      open it in a browser (--console-port 0 turns it off)`
      : '  Console           off (--console-port 0)',
    `  WebSocket API     ${urls.webSocket}      routes: ${routes}`,
    `  @connections      ${urls.management}/@connections/{connectionId}`,
    `  HTTP API          ${urls.httpApi}      GET /health${httpRoutes ? `, ${httpRoutes}` : ''}`,
    `  DynamoDB Local    ${urls.dynamodb}      ${dynamodbLine(platform, flags)}`,
    ...(urls.s3
      ? [`  S3                ${urls.s3}      buckets: ${model.buckets.map((b) => b.bucketName).join(', ')}`]
      : []),
    ...(urls.sqs ? [`  SQS / SNS         ${urls.sqs}      ${queueAndTopicNames(model)}`] : []),
    ...(urls.mqtt ? [`  MQTT (IoT rules)  ${urls.mqtt}      ${model.iotRules.map((r) => r.ruleName).join(', ')}`] : []),
    ...(urls.eventBridge ? [`  EventBridge       ${urls.eventBridge}      PutEvents, each event logged`] : []),
    `  Tables            ${model.tables.map((t) => t.tableName).join(', ')}`,
    `  Streams           ${streams}`,
    urls.sqs
      ? `  Dead letters      to the template's queues (aws sqs receive-message --endpoint-url ${urls.sqs}); other destinations in ${platform.deadLetterDir}`
      : `  Dead letters      ${platform.deadLetterDir}`,
    ...authLines(auth),
    ...(model.skipped.length > 0
      ? [
          `  Not run locally   ${model.skipped.map((part) => `${part.id} (${part.type})`).join(', ')} — see the warnings above`,
        ]
      : []),
    '',
    'Try it (in other terminals):',
    ...(api
      ? [
          auth.secret
            ? `  npx wscat -c "${urls.webSocket}${keyQuery}${keyQuery ? '&' : '?'}token=$(${tokenCommand(auth)})"`
            : auth.mode === 'jwt'
              ? `  npx wscat -c "${urls.webSocket}${keyQuery}${keyQuery ? '&' : '?'}token=<jwt>"`
              : `  npx wscat -c "${urls.webSocket}${keyQuery}"`,
          ...(action ? [`    then send: ${action}`] : []),
        ]
      : []),
    ...(dataTable && exampleItem
      ? [
          `  ${credentials} aws dynamodb put-item --endpoint-url ${urls.dynamodb} \\`,
          `    --table-name ${dataTable.tableName} --item '${exampleItem}'`,
        ]
      : []),
    ...(api
      ? [
          `  ${credentials} aws apigatewaymanagementapi --endpoint-url ${urls.management} \\`,
          `    post-to-connection --connection-id ${api.routes.some((r) => r.routeKey === 'heartbeat') ? '<connectionId from {"action":"heartbeat"}>' : '<connectionId>'} --data '{"hello":"world"}'`,
        ]
      : []),
    ...(keyName && model.httpRoutes.some((r) => r.path === '/items')
      ? [
          `  npm run produce --${produceFlags(keyName, urls.httpApi)} '{"${keyName}":"3","speed":43}'      # POST ${urls.httpApi}/items`,
        ]
      : []),
    '',
    `Ready in ${(platform.startupMs / 1000).toFixed(1)} s${consoleInfo ? ` (+${consoleInfo.consoleMs} ms for the console)` : ''}. Ctrl-C stops everything.`,
    '',
  ];
  return `${lines.join('\n')}\n`;
}

/** An item with the table's keys (S "3" for the partition key), plus a value when it is the platform's own table. */
function itemOfKeys(table: TableSpec, keyName: string | undefined): Record<string, Record<string, string>> {
  const item: Record<string, Record<string, string>> = {};
  for (const key of table.keySchema) {
    const type = table.attributeDefinitions.find((d) => d.AttributeName === key.AttributeName)?.AttributeType ?? 'S';
    const value = key.KeyType === 'HASH' ? '3' : type === 'S' ? 'latest' : '1';
    item[key.AttributeName] = { [type]: type === 'B' ? Buffer.from(value).toString('base64') : value };
  }
  return key(keyName, table) ? { ...item, speed: { N: '42' } } : item;
}

function key(keyName: string | undefined, table: TableSpec): boolean {
  return keyName !== undefined && table.keySchema.some((k) => k.AttributeName === keyName);
}

/** A frame that selects the API's first own route, e.g. {"action":"sendmessage"}, when routes select on a body field. */
function messageExample(api: WebSocketApiSpec | undefined): string | undefined {
  const field = /^\$request\.body\.([A-Za-z0-9_]+)$/.exec(api?.routeSelectionExpression ?? '')?.[1];
  const route = api?.routes.find((r) => !r.routeKey.startsWith('$'));
  return field && route ? JSON.stringify({ [field]: route.routeKey }) : undefined;
}

/**
 * The producer's flags that make it write where this runtime listens: it checks items against its own
 * --key-attribute and posts to its own --url, whose defaults are those of a plain `npm start`.
 */
function produceFlags(keyName: string, httpApiUrl: string): string {
  const key = keyName === 'realTimeItemKey' ? '' : ` --key-attribute ${keyName}`;
  const url = httpApiUrl === publicUrl(DEFAULT_HOST, PORTS.httpApi.defaultPort) ? '' : ` --url ${httpApiUrl}`;
  return `${key}${url}`;
}

async function invoke(positionals: string[], flags: Flags): Promise<number> {
  const [logicalId, eventPath] = positionals;
  if (!logicalId) throw new UsageError('npm run invoke -- <LogicalId> [event.json]: the logical id is missing');
  const logger = createConsoleLogger(flags.verbose ? 'debug' : 'warn');
  const { region, dynamodbEndpoint, dynamodbPort, wsPort } = sharedSettings(flags);
  const endpoints = {
    dynamodb: dynamodbEndpoint ?? publicUrl(DEFAULT_HOST, dynamodbPort),
    webSocketManagement: publicUrl(DEFAULT_HOST, wsPort),
    s3: publicUrl(DEFAULT_HOST, portOption(PORTS.s3, flags['s3-port'])),
  };
  // The function's output goes to stderr as before, and is read for connections refused by the services `npm start`
  // runs: a handler that catches such an error may still "succeed", which would hide that nothing was reached.
  const output = new PassThrough();
  let seen = '';
  output.on('data', (chunk: Buffer) => {
    seen += chunk.toString('utf8');
    process.stderr.write(chunk);
  });
  // The same AuthMode handling as start, so `--auth jwt` invokes JwtAuthorizerFunction with the local secret.
  const auth = await localAuth(flags);
  const outcome = await invokeOnce({
    templatePath: flags.template,
    envJsonPath: envJsonPath(flags),
    parameterOverrides: auth.parameterOverrides,
    ...(auth.functionEnvironment ? { functionEnvironment: auth.functionEnvironment } : {}),
    region,
    endpoints,
    logicalId,
    eventPath,
    logger,
    runner: {
      logger,
      quiet: flags.quiet,
      prefixOutput: false,
      stdout: output,
      stderr: output,
      buildDir: join(workDirOption(flags), 'build'),
      buildCacheDir: join(workDirOption(flags), 'build-cache'),
    },
  });
  const printed = JSON.stringify((outcome.ok ? outcome.result : outcome.error) ?? null, null, 2);
  process.stdout.write(`${printed}\n`);
  const unreachable = refusedService(`${seen}\n${printed}`, endpoints);
  const ok = outcome.ok && unreachable === undefined;
  process.stderr.write(
    `${logicalId}: ${ok ? 'succeeded' : 'failed'} in ${outcome.durationMs.toFixed(1)} ms (request ${outcome.requestId})\n`,
  );
  if (unreachable !== undefined) {
    process.stderr.write(
      `\n✖ ${logicalId} could not reach ${unreachable} (connection refused). npm run invoke runs the handler against ` +
        'the services of a running `npm start`: start it in another terminal first, with the same ' +
        '--parameter-overrides (invoke does not inherit them) and ports.\n',
    );
  }
  return ok ? 0 : 1;
}

/** Which local service a connection was refused by, from `connect ECONNREFUSED host:port` in the text. */
function refusedService(text: string, endpoints: Record<string, string>): string | undefined {
  const match = /ECONNREFUSED(?:\s+[\w.:[\]-]*?:(\d+))?/.exec(text);
  if (match === null) return undefined;
  // Our handlers name the service in their log line ("DynamoDB was unavailable (ECONNREFUSED)").
  const named = /\b(DynamoDB|S3)\b[^\n]*ECONNREFUSED/.exec(text)?.[1];
  const names: Record<string, string> = { dynamodb: 'DynamoDB', webSocketManagement: '@connections', s3: 'S3' };
  for (const [service, url] of Object.entries(endpoints)) {
    if (match[1] !== undefined && new URL(url).port === match[1]) return `${names[service] ?? service} at ${url}`;
  }
  if (named !== undefined) return `${named} at ${named === 'S3' ? endpoints.s3 : endpoints.dynamodb}`;
  return match[1] === undefined ? 'a local service' : `port ${match[1]}`;
}

async function main(argv: string[]): Promise<number> {
  const { command, positionals, flags } = parseCommandLine(argv);
  if (flags.help || command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (command === 'start') {
    await start(flags);
    return -1; // keeps running until a signal
  }
  if (command === 'invoke') return invoke(positionals, flags);
  throw new UsageError(`unknown command "${command}"; use start or invoke (--help)`);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    const known =
      error instanceof UsageError ||
      error instanceof AuthOptionError ||
      error instanceof TemplateError ||
      error instanceof FunctionBuildError ||
      error instanceof PortInUseError ||
      error instanceof DynamoDbLocalStartError ||
      (error instanceof TypeError && (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS'));
    const message = error instanceof Error ? (known ? error.message : (error.stack ?? error.message)) : String(error);
    process.stderr.write(`\n✖ ${message}\n\nRun with --help for the options.\n`);
    process.exit(1);
  },
);

function queueAndTopicNames(model: LocalPlatform['model']): string {
  return [...model.queues.map((q) => q.queueName), ...model.topics.map((t) => t.topicName)].join(', ');
}
