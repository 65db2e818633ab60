/**
 * Every port and address decision of the local runtime, in one place: which service listens where by default,
 * which flag and variable move it, the URL a user on this machine types to reach it, and the one error for a port
 * that is taken.
 */
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { createServer } from 'node:net';

/** A port the runtime listens on, as the command line sets it and a "port in use" message names it. */
export interface PortSetting {
  /** Shown in messages, e.g. "WebSocket API". */
  readonly service: string;
  /** The command-line flag that moves it; absent when the runtime picks the port itself. */
  readonly flag?: string;
  /** The environment variable that moves it when the flag is absent. */
  readonly env?: string;
  readonly defaultPort: number;
}

export const PORTS = {
  webSocket: { service: 'WebSocket API', flag: '--ws-port', env: 'RTP_WS_PORT', defaultPort: 3001 },
  httpApi: { service: 'HTTP API', flag: '--http-port', env: 'RTP_HTTP_PORT', defaultPort: 3000 },
  dynamodb: { service: 'DynamoDB Local', flag: '--dynamodb-port', env: 'RTP_DYNAMODB_PORT', defaultPort: 8000 },
  // 4569 is the port s3rver and serverless-s3-local use.
  s3: { service: 'local S3', flag: '--s3-port', env: 'RTP_S3_PORT', defaultPort: 4569 },
  // 9324 is ElasticMQ's port, where local SQS usually is; the same endpoint answers SNS.
  sqs: { service: 'local SQS/SNS', flag: '--sqs-port', env: 'RTP_SQS_PORT', defaultPort: 9324 },
  mqtt: { service: 'MQTT broker', flag: '--mqtt-port', env: 'RTP_MQTT_PORT', defaultPort: 1883 },
  console: { service: 'console', flag: '--console-port', env: 'RTP_CONSOLE_PORT', defaultPort: 3002 },
  // Only the functions call it, so npm start takes any free port; 4571 is where `npm run invoke` points them.
  eventBridge: { service: 'EventBridge endpoint', defaultPort: 4571 },
} as const satisfies Record<string, PortSetting>;

/** The interface the servers listen on unless --host says otherwise. */
export const DEFAULT_HOST = '127.0.0.1';

/** Interfaces a user on this machine reaches as "localhost", the name the README and the banner use. */
const LOCALHOST_ALIASES = new Set(['127.0.0.1', '0.0.0.0', '::']);

/** The URL a user on this machine types for a service listening on `host`:`port`. */
export function publicUrl(host: string, port: number, scheme = 'http'): string {
  const shown = LOCALHOST_ALIASES.has(host) ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `${scheme}://${shown}:${port}`;
}

/** Where this machine reaches a server listening on `host`: the loopback address for the wildcard interfaces. */
export function loopbackOf(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

/** A port the runtime needs is taken; the message names the service and the flag that moves it. */
export class PortInUseError extends Error {
  override name = 'PortInUseError';
  readonly retryable = false;
  /** `detail`: what holds the port and how to stop it, when the caller found out (see dynamodb/port-holder.ts). */
  constructor(
    readonly port: number,
    readonly setting: PortSetting,
    detail?: string,
  ) {
    super(
      `Port ${port} (${setting.service}) is already in use. Stop whatever holds it (e.g. an earlier npm start), ` +
        (setting.flag ? `or pick another port with ${setting.flag} <port>.` : 'then start again.') +
        (detail ? `\n${detail}` : ''),
    );
  }
}

/** Where a server should listen: 0 as the port picks a free one. */
export interface ListenTarget {
  host: string;
  port: number;
  setting: PortSetting;
}

/** Where a server listens once `listen` has resolved. */
export interface Listening {
  port: number;
  /** The public URL, e.g. "http://localhost:3000". */
  url: string;
}

/** Listens on `target`; a port in use rejects with PortInUseError, any other error as it is. */
export async function listen(server: Server, target: ListenTarget, scheme = 'http'): Promise<Listening> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(target.port, target.setting) : error);
    };
    server.once('error', onError);
    server.listen(target.port, target.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return { port, url: publicUrl(target.host, port, scheme) };
}

/**
 * Fails with PortInUseError when one of the ports is taken; 0 is always free. The start-up calls this before
 * DynamoDB Local's JVM and the bundles, so a taken port is reported in a moment rather than after them.
 */
export async function assertPortsFree(targets: ListenTarget[]): Promise<void> {
  for (const target of targets) {
    if (target.port === 0) continue;
    const probe = createServer();
    await listen(probe, target);
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  }
}

/**
 * Where freePort looks: below Linux's ephemeral range (32768–60999), which the OS also hands to outgoing connections —
 * a port picked there can be taken by any client socket (an SDK call, a test's WebSocket) before the service listens.
 */
const FREE_PORT_RANGE = { from: 20_000, to: 32_000 } as const;
const FREE_PORT_SLICES = 8;

/**
 * The part of FREE_PORT_RANGE this process picks from. Parallel test workers (jest numbers them in JEST_WORKER_ID)
 * each get their own slice: a port one worker picked stays free until its service listens, sometimes for minutes
 * (the README suite stops and starts `npm start` on the same ports), and a random pick by another worker in between
 * took it once in CI.
 */
export function freePortRange(workerId = process.env.JEST_WORKER_ID): { from: number; to: number } {
  const worker = Number(workerId);
  if (!Number.isInteger(worker) || worker < 1) return FREE_PORT_RANGE;
  const size = Math.floor((FREE_PORT_RANGE.to - FREE_PORT_RANGE.from) / FREE_PORT_SLICES);
  const from = FREE_PORT_RANGE.from + ((worker - 1) % FREE_PORT_SLICES) * size;
  return { from, to: from + size };
}

/** A TCP port that was free a moment ago on `host` (for a service the caller starts right after). */
export async function freePort(host = DEFAULT_HOST): Promise<number> {
  const range = freePortRange();
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = range.from + Math.floor(Math.random() * (range.to - range.from));
    if (await canListen(host, port)) return port;
  }
  // The whole range busy: let the OS choose.
  const probe = createServer();
  probe.unref();
  const { port } = await listen(probe, { host, port: 0, setting: { service: 'a free port', defaultPort: 0 } });
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function canListen(host: string, port: number): Promise<boolean> {
  const probe = createServer();
  probe.unref();
  try {
    await listen(probe, { host, port, setting: { service: 'a free port', defaultPort: port } });
  } catch {
    return false;
  }
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return true;
}

/**
 * Stops listening and drops open connections (keep-alive sockets would hold close() open until they time out).
 * A server that is already closed counts as closed.
 */
export function closeServer(server: HttpServer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.close((error?: NodeJS.ErrnoException) =>
      error && error.code !== 'ERR_SERVER_NOT_RUNNING' ? reject(error) : resolve(),
    );
    server.closeAllConnections();
  });
}
