/**
 * The console server: the console's page and the admin API (`/admin/*`) on one loopback port, plus `/api/*`
 * forwarded to the HTTP API so the page calls it from its own origin. Local only: it is not in template.yaml and
 * answers nothing but loopback callers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { localCredentials } from '../dynamodb/dynamodb-local';
import type { LocalPlatform } from '../platform';
import { closeServer, listen, PORTS } from '../ports';
import { readRequestBody } from '../request-body';
import type { LocalLogger } from '../types';
import { AdminRequestError, type JsonReply, routeAdmin } from './admin-routes';
import { devTokenSigner } from './dev-tokens';
import type { FanoutTail } from './fanout-tail';
import { PlatformView } from './platform-view';
import { VehicleSimulator } from './vehicle-simulator';

/** A file of the page, ready to send (gzip when the browser takes it). */
export interface StaticAsset {
  contentType: string;
  body: Buffer;
  gzip?: Buffer;
}

export interface ConsoleServerOptions {
  platform: LocalPlatform;
  /** The tail given to startLocalPlatform as onInvocation. */
  tail: FanoutTail;
  /** 0 picks a free port. */
  port: number;
  /** The page's files by path ("/" is the page); the admin API alone without them. */
  assets?: ReadonlyMap<string, StaticAsset>;
  logger: LocalLogger;
}

export interface ConsoleServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const LOOPBACK = '127.0.0.1';
const MAX_BODY_BYTES = 256 * 1024;
/** Hop-by-hop and origin headers are not forwarded to the HTTP API. */
const FORWARDED_HEADERS = ['authorization', 'content-type', 'accept', 'if-match', 'if-none-match'];
/** The page loads only its own files and talks only to this server and the local WebSocket API. */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self' ws://localhost:* ws://127.0.0.1:*; frame-ancestors 'none'; base-uri 'none'";

/** Starts the console server on loopback. */
export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const { platform, logger } = options;
  const documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: platform.urls.dynamodb, region: 'us-east-1', credentials: localCredentials }),
  );
  const model = platform.model;
  const keyAttribute = model.parameters.RealTimeItemKey ?? 'realTimeItemKey';
  const dataTable =
    model.tables.find((t) => model.streamSources.some((s) => s.tableLogicalId === t.logicalId)) ?? model.tables[0];
  const connectionTable = model.tables.find((t) => t.logicalId === 'WebSocketConnectionManagerTable');
  const simulator = new VehicleSimulator(documents, dataTable?.tableName ?? '', keyAttribute, logger);
  const deps = {
    platform,
    view: new PlatformView(platform, documents, connectionTable?.tableName),
    tail: options.tail,
    documents,
    dataTable: dataTable?.tableName ?? '',
    keyAttribute,
    simulator,
    signToken: devTokenSigner(model),
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const known = error instanceof AdminRequestError;
      if (!known) logger.error(`console: ${req.method} ${req.url}: ${error instanceof Error ? error.message : error}`);
      const status = known ? error.status : 500;
      const code = known ? error.code : 'INTERNAL';
      const message = known ? error.message : 'the console server failed; see the runtime log';
      if (!res.headersSent) sendJson(res, { status, body: { error: { code, message } } });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    refuseStrangers(req);
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path.startsWith('/admin/')) {
      sendJson(res, await routeAdmin(deps, method, path, await jsonBody(req, method)));
      return;
    }
    if (path === '/api' || path.startsWith('/api/')) {
      await forwardToHttpApi(req, res, platform.urls.httpApi);
      return;
    }
    const asset = options.assets?.get(path === '/index.html' ? '/' : path);
    if (!asset || (method !== 'GET' && method !== 'HEAD')) throw new AdminRequestError(404, 'NOT_FOUND', path);
    const gzip = asset.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip && asset.gzip ? asset.gzip : asset.body;
    res.writeHead(200, {
      'content-type': asset.contentType,
      'content-length': body.length,
      'cache-control': 'no-cache',
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      ...(gzip ? { 'content-encoding': 'gzip', vary: 'accept-encoding' } : {}),
    });
    res.end(method === 'HEAD' ? undefined : body);
  }

  const listening = await listen(server, { host: LOOPBACK, port: options.port, setting: PORTS.console });
  logger.debug(`console at ${listening.url}`);
  return {
    url: `${listening.url}/`,
    port: listening.port,
    async close() {
      simulator.stop();
      server.closeAllConnections();
      await closeServer(server);
      documents.destroy();
    },
  };
}

/**
 * Only this machine may use the admin API: the socket must come from loopback, and the Host must name loopback
 * too, so a web page on another site cannot reach it through DNS rebinding.
 */
function refuseStrangers(req: IncomingMessage): void {
  const remote = req.socket.remoteAddress ?? '';
  const fromLoopback = remote === '::1' || /^(::ffff:)?127\./.test(remote);
  const host = String(req.headers.host ?? '').replace(/:\d+$/, '');
  const loopbackHost = host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
  if (!fromLoopback || !loopbackHost) {
    throw new AdminRequestError(403, 'FORBIDDEN', 'the console answers loopback requests only');
  }
}

async function jsonBody(req: IncomingMessage, method: string): Promise<unknown> {
  if (method === 'GET' || method === 'HEAD') return undefined;
  const raw = await readRequestBody(
    req,
    MAX_BODY_BYTES,
    () => new AdminRequestError(413, 'TOO_LARGE', `bodies are limited to ${MAX_BODY_BYTES} bytes`),
  );
  if (raw.length === 0) return undefined;
  // A JSON content type makes a cross-site form post impossible without a CORS preflight, which is never granted.
  if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) {
    throw new AdminRequestError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send application/json');
  }
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new AdminRequestError(400, 'BAD_REQUEST', 'the body is not valid JSON');
  }
}

async function forwardToHttpApi(req: IncomingMessage, res: ServerResponse, httpApi: string): Promise<void> {
  const method = req.method ?? 'GET';
  const target = new URL((req.url ?? '/').replace(/^\/api/, '') || '/', httpApi);
  const headers = new Headers();
  for (const name of FORWARDED_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string') headers.set(name, value);
  }
  const body =
    method === 'GET' || method === 'HEAD'
      ? undefined
      : await readRequestBody(req, MAX_BODY_BYTES, () => new AdminRequestError(413, 'TOO_LARGE', 'body too large'));
  const response = await fetch(target, { method, headers, ...(body ? { body } : {}) });
  const answer = Buffer.from(await response.arrayBuffer());
  res.writeHead(response.status, {
    'content-type': response.headers.get('content-type') ?? 'application/json',
    'content-length': answer.length,
    ...(response.headers.get('etag') ? { etag: String(response.headers.get('etag')) } : {}),
  });
  res.end(answer);
}

function sendJson(res: ServerResponse, reply: JsonReply): void {
  if (reply.status === 204 || reply.body === undefined) {
    res.writeHead(reply.status).end();
    return;
  }
  const body = Buffer.from(JSON.stringify(reply.body));
  res.writeHead(reply.status, {
    'content-type': 'application/json',
    'content-length': body.length,
    'cache-control': 'no-store',
  });
  res.end(body);
}
