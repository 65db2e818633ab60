import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  freePort,
  JWT_AUTHORIZER_FUNCTION,
  type LocalPlatform,
  type LocalPlatformOptions,
  localCredentials,
  readCfnTemplate,
  silentLogger,
  startLocalPlatform,
} from '@real-time-platform/local-runtime';
import { type JWTPayload, SignJWT } from 'jose';
import { type ConnectionTable, connectionTable } from './connection-table';
import { type Frame, openRecordingSocket, type RecordingSocket, type RecordingSocketOptions } from './sockets';

// The whole local platform as the integration suites run it: `npm start` with test defaults (free ports, the run's
// shared DynamoDB Local with tables of its own, quiet functions, a work dir of its own that stop() removes), and
// signed-in users for a platform started with AuthMode=jwt.

const REPOSITORY_ROOT = join(__dirname, '..', '..', '..');

export interface TestPlatformOptions extends Partial<Omit<LocalPlatformOptions, 'workDir'>> {
  /**
   * 'jwt': AuthMode=jwt with a secret of this platform's own, as `npm start -- --auth jwt --jwt-secret …` starts it;
   * `signIn` signs with it. The template's Jwt* parameters (e.g. JwtAudience) go in parameterOverrides as usual.
   */
  auth?: 'none' | 'jwt';
}

/** AWS SDK clients pointed at the platform, as a producer or a backend would use them; stop() destroys them. */
export interface PlatformClients {
  dynamodb: DynamoDBClient;
  documents: DynamoDBDocumentClient;
  management: ApiGatewayManagementApiClient;
}

/** A JSON object the tests read field by field. */
// biome-ignore lint/suspicious/noExplicitAny: replies are JSON the tests read field by field.
export type Json = Record<string, any>;

export interface HttpReply {
  status: number;
  headers: Headers;
  /** The parsed JSON body; undefined when the body is empty. */
  body: Json | undefined;
}

export interface HttpRequestOptions {
  /** Signs the request in as this user (`Authorization: Bearer …`); anonymous when absent. */
  as?: string;
  /** Sent as JSON; a string is sent as it is (to test malformed input). */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface SignedInUser {
  userId: string;
  token: string;
  /** `Authorization: Bearer {token}`, for the HTTP API. */
  headers: { authorization: string };
  /** The handshake URL of this user (the token in the query), subscribing to `keys`. */
  webSocketUrl(keys?: string[]): string;
  /** Opens a recording socket as this user, subscribed to `keys` by the handshake. */
  connect(keys?: string[], options?: RecordingSocketOptions): Promise<RecordingSocket>;
}

export interface TestPlatform extends LocalPlatform {
  /** This platform's work dir (bundles, dead letters, S3 data); stop() removes it. */
  workDir: string;
  /** SDK clients for its DynamoDB and its @connections API. */
  aws: PlatformClients;
  /** The template's tables by logical id, as named for this platform (its prefix and Environment). */
  tableName(logicalId: 'RealTimeDataTable' | 'WebSocketConnectionManagerTable' | (string & {})): string;
  /** What the connection table holds now. */
  connectionTable: ConnectionTable;
  /** The WebSocket URL subscribing to `keys` at the handshake (with the template's RealTimeItemKey). */
  webSocketUrl(keys?: string[]): string;
  /** Opens an anonymous recording socket subscribed to `keys` by the handshake. */
  connect(keys?: string[], options?: RecordingSocketOptions): Promise<RecordingSocket>;
  /** A token for `userId` (as `npm run token -- --user` makes one) and what a signed-in client needs. */
  signIn(userId: string, claims?: JWTPayload): Promise<SignedInUser>;
  /** One request to the HTTP API. */
  http(method: string, path: string, options?: HttpRequestOptions): Promise<HttpReply>;
  /**
   * Resolves once the stream event sources have delivered every change written before the call, and every socket
   * given has received all that was sent to it by then: past this point, a frame that has not arrived will not.
   */
  settled(...sockets: RecordingSocket[]): Promise<void>;
  /** Stops the platform (closing every socket) and its own DynamoDB Local if any, and removes its work dir. */
  stop(): Promise<void>;
}

/**
 * Starts the platform of the repository's template.yaml (or `templatePath`) on free ports against the integration
 * run's DynamoDB Local (DYNAMODB_ENDPOINT), quiet, in a fresh work dir. Every option can be overridden.
 */
export async function startTestPlatform(overrides: TestPlatformOptions = {}): Promise<TestPlatform> {
  const { auth = 'none', ...options } = overrides;
  const dynamodbEndpoint = options.dynamodbEndpoint ?? process.env.DYNAMODB_ENDPOINT;
  if (!dynamodbEndpoint) {
    throw new Error('DYNAMODB_ENDPOINT is not set: run through jest (global setup starts DynamoDB Local)');
  }
  const templatePath = options.templatePath ?? join(REPOSITORY_ROOT, 'template.yaml');
  const jwtSecret = auth === 'jwt' ? randomBytes(32).toString('hex') : undefined;
  // Tables of its own on template.yaml (e.g. t3fa9c1-RealTimeData-develop; stop() deletes them): two platforms on the
  // same tables stream each other's changes, and each one's fan-out, finding the other's connections unknown to its
  // gateway (410), deletes their rows. Fixture templates name their tables per run themselves (and may pass names
  // around as strings, which a prefix would break).
  const ownTables = options.tableNamePrefix === undefined && options.templatePath === undefined;
  const tableNamePrefix = ownTables ? `t${randomBytes(3).toString('hex')}-` : options.tableNamePrefix;
  // As `--auth jwt --jwt-secret …`: AuthMode=jwt, and the secret for the authorizer. A fixture may wire the
  // authorizer without an AuthMode parameter, and a parameter the template lacks is refused.
  const declaresAuthMode = readCfnTemplate(templatePath).Parameters?.AuthMode !== undefined;
  const parameterOverrides = {
    ...(jwtSecret !== undefined && declaresAuthMode ? { AuthMode: 'jwt' } : {}),
    ...options.parameterOverrides,
  };
  const functionEnvironment = mergeFunctionEnvironment(
    jwtSecret === undefined ? {} : { [JWT_AUTHORIZER_FUNCTION]: { JWT_SECRET: jwtSecret } },
    options.functionEnvironment,
  );
  // Bundles keep the template's External packages as imports, so they must live under the repository's
  // node_modules: the work dir goes in .local (git-ignored), not in the system's temporary folder.
  await mkdir(join(REPOSITORY_ROOT, '.local'), { recursive: true });
  const workDir = await mkdtemp(join(REPOSITORY_ROOT, '.local', 'test-'));
  const cleanUp = () => rm(workDir, { recursive: true, force: true });

  let platform: LocalPlatform;
  try {
    platform = await startLocalPlatform({
      wsPort: await freePort(),
      httpPort: await freePort(),
      dynamodbPort: 0,
      s3Port: 0,
      mqttPort: 0,
      sqsPort: 0,
      quietFunctions: true,
      logger: silentLogger,
      // No TTL sweeps (a scan of every table each 10 s) but where a suite is about TTL: the TTL suite turns it on.
      ttlSweepIntervalMs: 0,
      // Bundled once per source state for every platform of the run (and of the next run), not once per platform;
      // apart from `npm start`'s .local/build-cache, which the README test removes when it made it.
      buildCacheDir: join(REPOSITORY_ROOT, '.local', 'test-build-cache'),
      ...options,
      ...(tableNamePrefix === undefined ? {} : { tableNamePrefix }),
      templatePath,
      dynamodbEndpoint,
      workDir,
      parameterOverrides,
      functionEnvironment,
    });
  } catch (error) {
    await cleanUp();
    throw error;
  }

  const aws = platformClients(platform);
  const tableName = (logicalId: string): string => {
    const table = platform.model.tables.find((candidate) => candidate.logicalId === logicalId);
    if (table === undefined) throw new Error(`the template has no table ${logicalId}`);
    return table.tableName;
  };

  const parameters = platform.model.parameters;
  const keyParameter = parameters.RealTimeItemKey ?? 'realTimeItemKey';
  const webSocketUrl = (keys: string[] = [], extra: Record<string, string> = {}): string => {
    const query = new URLSearchParams(keys.map((key): [string, string] => [keyParameter, key]));
    for (const [name, value] of Object.entries(extra)) query.append(name, value);
    const search = query.toString();
    return search === '' ? platform.urls.webSocket : `${platform.urls.webSocket}?${search}`;
  };
  const signIn = async (userId: string, claims: JWTPayload = {}): Promise<SignedInUser> => {
    if (jwtSecret === undefined) throw new Error('signIn needs a platform started with auth: "jwt"');
    const token = await signToken(jwtSecret, {
      [parameters.JwtUserIdClaim || 'sub']: userId,
      ...(parameters.JwtAudience ? { aud: parameters.JwtAudience } : {}),
      ...(parameters.JwtIssuer ? { iss: parameters.JwtIssuer } : {}),
      ...claims,
    });
    const userUrl = (keys: string[] = []) => webSocketUrl(keys, { token });
    return {
      userId,
      token,
      headers: { authorization: `Bearer ${token}` },
      webSocketUrl: userUrl,
      connect: (keys, socketOptions) => openRecordingSocket(userUrl(keys), socketOptions),
    };
  };

  return {
    ...platform,
    workDir,
    aws,
    tableName,
    get connectionTable() {
      return connectionTable(aws.dynamodb, tableName('WebSocketConnectionManagerTable'));
    },
    webSocketUrl: (keys) => webSocketUrl(keys),
    connect: (keys, socketOptions) => openRecordingSocket(webSocketUrl(keys), socketOptions),
    signIn,
    async http(method, path, { as, body, headers = {} } = {}) {
      const authorization = as === undefined ? {} : (await signIn(as)).headers;
      const response = await fetch(`${platform.urls.httpApi}${path}`, {
        method,
        headers: {
          ...authorization,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
    },
    async settled(...sockets) {
      await Promise.all(platform.streams.map((source) => source.idle()));
      await Promise.all(sockets.map(caughtUp));
    },
    async stop() {
      try {
        await platform.stop();
        if (ownTables) await deleteTables(aws.dynamodb, platform.model.tables);
      } finally {
        aws.dynamodb.destroy();
        aws.management.destroy();
        await cleanUp();
      }
    },
  };
}

/** Deletes a stopped platform's tables from the shared DynamoDB Local: nothing streams them any more. */
async function deleteTables(client: DynamoDBClient, tables: readonly { tableName: string }[]): Promise<void> {
  await Promise.all(
    tables.map((table) =>
      client.send(new DeleteTableCommand({ TableName: table.tableName })).catch(() => {
        // Best effort: a table left behind is only memory in DynamoDB Local until the run ends.
      }),
    ),
  );
}

function platformClients(platform: LocalPlatform): PlatformClients {
  const region = 'us-east-1';
  const dynamodb = new DynamoDBClient({ endpoint: platform.urls.dynamodb, region, credentials: localCredentials });
  const management = new ApiGatewayManagementApiClient({
    endpoint: platform.urls.management,
    region,
    credentials: localCredentials,
  });
  // A document client shares its base client: destroying that one is enough.
  return { dynamodb, documents: DynamoDBDocumentClient.from(dynamodb), management };
}

/** An HS256 token with `claims`, valid for ten minutes unless the claims say otherwise. */
export function signToken(secret: string, claims: JWTPayload): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iat: now, exp: now + 600, ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(secret));
}

/**
 * Resolves once the socket has received every frame sent to it before the call: a connection's frames arrive in
 * the order they were sent, so the answer to a no-op of our own (unsubscribing from a key nobody uses) comes after
 * all of them. A heartbeat would not do: a socket that heartbeats by itself gets pongs nobody waits for.
 */
async function caughtUp(socket: RecordingSocket): Promise<void> {
  const marker = `caught-up-${randomUUID()}`;
  const from = socket.frames.length;
  socket.send({ action: 'unsubscribe', keys: [marker] });
  await socket.next((frame: Frame) => frame.type === 'unsubscribed' && frame.keys?.[0] === marker, 10_000, from);
}

function mergeFunctionEnvironment(
  ...sources: (Record<string, Record<string, string>> | undefined)[]
): Record<string, Record<string, string>> {
  const merged: Record<string, Record<string, string>> = {};
  for (const source of sources) {
    for (const [functionId, variables] of Object.entries(source ?? {})) {
      merged[functionId] = { ...merged[functionId], ...variables };
    }
  }
  return merged;
}
