/**
 * The local API Gateway WebSocket API: one node:http server carries the WebSocket upgrades (`/{stage}` and `/`)
 * and the @connections management API (`/{stage}/@connections/{id}`), as the execute-api endpoint does.
 *
 * Choices where AWS leaves room:
 * - DeleteConnection closes with 1000 and reports disconnectStatusCode 1000 "Connection Closed Normally" (what
 *   API Gateway logs for it); idle and maximum-duration timeouts and runtime shutdown close with 1001 "Going away".
 * - A connection leaves the registry the moment the server decides to close it, so @connections answers 410 at
 *   once, while the close handshake finishes in the background.
 * - A client that stops reading is closed with 1008 once its queued messages pass `sendBufferBytes`, where API
 *   Gateway would answer 429 and keep it (backpressure.ts says why).
 * - $disconnect is fired once per accepted connection, without waiting for it (best effort, like AWS); close()
 *   is the one place that waits, so the runtime can stop its other services afterwards.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { closeServer, listen, PORTS, publicUrl } from '../ports';
import type { Invoker, LocalLogger, WebSocketApiSpec } from '../types';
import { authorizeConnect } from './authorizer';
import {
  DEFAULT_SEND_BUFFER_BYTES,
  overflowsSendBuffer,
  SLOW_CONSUMER_CLOSE,
  SLOW_CONSUMER_TERMINATE_MS,
} from './backpressure';
import {
  type ConnectRequestParts,
  closeReasonText,
  connectHeaders,
  disconnectHeaders,
  formatRequestTime,
  parseQueryString,
  sourceIpOf,
  type WebSocketConnectEvent,
  type WebSocketDisconnectEvent,
  type WebSocketIdentity,
  type WebSocketMessageEvent,
  type WebSocketRequestContext,
} from './events';
import { FrameSizeGuard } from './frame-guard';
import { integrationAnswer, refuse } from './handshake';
import { awsStyleId } from './ids';
import { createManagementHandler, type ManagedConnection } from './management-api';
import { compileRouteSelection, type RouteSelector } from './route-selection';
import { writeTextFrame } from './text-frame';

/** API Gateway's WebSocket limits; tests shorten the timeouts. */
export interface WebSocketGatewayLimits {
  /** No frame in either direction for this long → close 1001 (AWS: 10 minutes). */
  idleTimeoutMs: number;
  /** Hard maximum connection duration → close 1001 (AWS: 2 hours). */
  maxConnectionMs: number;
  /** Largest single frame a client may send → close 1009 (AWS: 32 KB). */
  frameBytes: number;
  /** Largest message (all frames of it) a client may send, and largest @connections POST body (AWS: 128 KB). */
  messageBytes: number;
  /** Outgoing bytes a connection may have queued; past it the connection closes 1008 (see backpressure.ts). */
  sendBufferBytes: number;
}

/** The limits API Gateway applies. */
export const AWS_WEBSOCKET_LIMITS: Readonly<WebSocketGatewayLimits> = Object.freeze({
  idleTimeoutMs: 600_000,
  maxConnectionMs: 7_200_000,
  frameBytes: 32 * 1024,
  messageBytes: 128 * 1024,
  sendBufferBytes: DEFAULT_SEND_BUFFER_BYTES,
});

/** How to start the gateway: where to listen, which API to serve, and who runs its functions. */
export interface WebSocketGatewayOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  api: WebSocketApiSpec;
  region: string;
  accountId: string;
  invoker: Invoker;
  logger: LocalLogger;
  limits?: Partial<WebSocketGatewayLimits>;
}

/** A running gateway. */
export interface WebSocketGateway {
  /** Where clients connect, e.g. ws://localhost:3001/develop. */
  readonly url: string;
  /** The @connections endpoint for the SDK and the CLI, e.g. http://localhost:3001/develop. */
  readonly managementEndpoint: string;
  readonly port: number;
  /** Connections currently open (accepted by $connect and not yet closed). */
  connectionCount(): number;
  /** The open connections as the console shows them: id, when they connected and their last frame. */
  listConnections(): OpenConnection[];
  /**
   * Closes every open connection with `code` (each fires $disconnect); returns how many. The runtime uses 1012
   * "Service Restart" after an in-memory DynamoDB Local restart lost every subscription, so clients reconnect.
   */
  closeAll(code: number, reason: string): number;
  /** Closes every socket with 1001 "Going away" (firing $disconnect), waits for those invocations, then stops. */
  close(): Promise<void>;
}

/** An open connection as the gateway sees it (its keys and user are in the connection table). */
export interface OpenConnection {
  id: string;
  connectedAt: number;
  lastActiveAt: number;
  sourceIp: string;
}

interface Connection extends ManagedConnection {
  readonly authorizer: Record<string, unknown> | undefined;
  readonly domainName: string;
  readonly socket: WebSocket;
  /** The TCP socket under `socket`, which @connections messages are written to directly (see text-frame.ts). */
  readonly wire: Duplex;
  /** Set once, when the connection leaves the registry and its $disconnect is fired. */
  closed: boolean;
}

/** Data known about a connection before the upgrade is accepted. */
interface PendingConnection {
  id: string;
  connectedAt: number;
  identity: WebSocketIdentity;
  domainName: string;
  authorizer: Record<string, unknown> | undefined;
}

const INTERNAL_ERROR_BODY = '{"message": "Internal server error"}';
const ignore = () => {};

/** Starts the API Gateway WebSocket emulation and its @connections management API on one HTTP server. */
export async function startWebSocketGateway(options: WebSocketGatewayOptions): Promise<WebSocketGateway> {
  const gateway = new LocalWebSocketGateway(options);
  await gateway.listen();
  return gateway;
}

class LocalWebSocketGateway implements WebSocketGateway {
  url = '';
  managementEndpoint = '';
  port = 0;

  private readonly api: WebSocketApiSpec;
  private readonly invoker: Invoker;
  private readonly logger: LocalLogger;
  private readonly limits: WebSocketGatewayLimits;
  private readonly routes: Map<string, string>;
  private readonly defaultFunction: string | undefined;
  private readonly selectRoute: RouteSelector;
  private readonly methodArn: string;
  private readonly upgradePaths: Set<string>;
  private readonly connections = new Map<string, Connection>();
  private readonly sockets = new Set<WebSocket>();
  private readonly upgrading = new Set<Duplex>();
  private readonly pendingInvocations = new Set<Promise<void>>();
  private readonly chosenProtocols = new WeakMap<IncomingMessage, string>();
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private sweepTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private socketsDrained: (() => void) | undefined;

  constructor(private readonly options: WebSocketGatewayOptions) {
    this.api = options.api;
    this.invoker = options.invoker;
    this.logger = options.logger;
    this.limits = { ...AWS_WEBSOCKET_LIMITS, ...options.limits };
    this.routes = new Map(this.api.routes.map((r) => [r.routeKey, r.functionId]));
    this.defaultFunction = this.routes.get('$default');
    this.selectRoute = compileRouteSelection(this.api.routeSelectionExpression);
    this.methodArn = `arn:aws:execute-api:${options.region}:${options.accountId}:${this.api.apiId}/${this.api.stage}/$connect`;
    const stagePath = `/${this.api.stage}`;
    this.upgradePaths = new Set(['/', stagePath, `${stagePath}/`]);

    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: this.limits.messageBytes,
      // API Gateway answers with a subprotocol only when $connect returned a Sec-WebSocket-Protocol header;
      // ws would otherwise pick the client's first one.
      handleProtocols: (protocols, req) => {
        const chosen = this.chosenProtocols.get(req);
        return chosen !== undefined && protocols.has(chosen) ? chosen : false;
      },
    });

    this.server = createServer(
      createManagementHandler<Connection>({
        stage: this.api.stage,
        messageBytes: this.limits.messageBytes,
        operations: {
          find: (id) => this.connections.get(id),
          send: (connection, chunks, size) => {
            // A socket in its closing handshake (the client sent its close frame) cannot take messages: AWS
            // already answers 410 for it.
            if (connection.socket.readyState !== WebSocket.OPEN) return false;
            if (!this.queueFits(connection, size)) return false;
            connection.lastActiveAt = Date.now();
            writeTextFrame(connection.wire, chunks, size);
            return true;
          },
          // DeleteConnection closes normally: AWS reports disconnectStatusCode 1000 "Connection Closed Normally".
          remove: (connection) => this.closeConnection(connection, 1000, closeReasonText(1000)),
        },
      }),
    );
    // Fan-out clients keep connections alive; a longer keep-alive than Node's 5 s avoids reconnect churn and
    // the race where the server drops an idle socket just as the SDK reuses it.
    this.server.keepAliveTimeout = 65_000;
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.onUpgrade(req, socket, head).catch((err: unknown) => {
        this.logger.error('WebSocket upgrade failed', { error: err instanceof Error ? err.message : String(err) });
        refuse(socket, 500, INTERNAL_ERROR_BODY);
      });
    });
  }

  connectionCount(): number {
    return this.connections.size;
  }

  listConnections(): OpenConnection[] {
    return [...this.connections.values()].map((c) => ({
      id: c.id,
      connectedAt: c.connectedAt,
      lastActiveAt: c.lastActiveAt,
      sourceIp: c.identity.sourceIp,
    }));
  }

  closeAll(code: number, reason: string): number {
    const open = [...this.connections.values()];
    for (const connection of open) this.closeConnection(connection, code, reason);
    return open.length;
  }

  async listen(): Promise<void> {
    const { host, port } = this.options;
    const listening = await listen(this.server, { host, port, setting: PORTS.webSocket });
    this.port = listening.port;
    // One port serves both: the upgrade for ws:// and the @connections API over http://.
    this.url = `${publicUrl(host, listening.port, 'ws')}/${this.api.stage}`;
    this.managementEndpoint = `${listening.url}/${this.api.stage}`;
    // One sweep for all sockets instead of a timer per socket: cheap at 10,000+ connections. Short test
    // limits get a proportionally finer sweep.
    const shortest = Math.min(this.limits.idleTimeoutMs, this.limits.maxConnectionMs);
    const every = Math.max(5, Math.min(1000, Math.floor(shortest / 10)));
    this.sweepTimer = setInterval(() => this.sweep(), every);
    this.sweepTimer.unref();
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.sweepTimer);
    for (const connection of this.connections.values()) this.closeConnection(connection, 1001, 'Going away');
    if (this.sockets.size > 0) {
      // Give clients a moment to answer the close frame, then drop whoever did not.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        this.socketsDrained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      for (const socket of this.sockets) socket.terminate();
    }
    for (const socket of this.upgrading) socket.destroy();
    while (this.pendingInvocations.size > 0) await Promise.allSettled([...this.pendingInvocations]);
    await closeServer(this.server);
  }

  private sweep(): void {
    const now = Date.now();
    const { idleTimeoutMs, maxConnectionMs } = this.limits;
    for (const connection of this.connections.values()) {
      if (now - connection.lastActiveAt >= idleTimeoutMs || now - connection.connectedAt >= maxConnectionMs) {
        this.closeConnection(connection, 1001, 'Going away');
      }
    }
  }

  private newConnectionId(): string {
    let id = awsStyleId();
    // A leading "-" would read as an option in `aws apigatewaymanagementapi --connection-id <id>`.
    while (id.startsWith('-') || this.connections.has(id)) id = awsStyleId();
    return id;
  }

  private requestContext(
    connection: PendingConnection,
    routeKey: string,
    eventType: WebSocketRequestContext['eventType'],
    now: number,
    extra?: Pick<WebSocketRequestContext, 'messageId' | 'disconnectStatusCode' | 'disconnectReason'>,
  ): WebSocketRequestContext {
    // API Gateway uses one value for requestId and extendedRequestId on WebSocket events.
    const requestId = awsStyleId();
    const context: WebSocketRequestContext = {
      routeKey,
      ...extra,
      eventType,
      extendedRequestId: requestId,
      requestTime: formatRequestTime(now),
      messageDirection: 'IN',
      stage: this.api.stage,
      connectedAt: connection.connectedAt,
      requestTimeEpoch: now,
      identity: connection.identity,
      requestId,
      domainName: connection.domainName,
      connectionId: connection.id,
      apiId: this.api.apiId,
    };
    if (connection.authorizer !== undefined) context.authorizer = connection.authorizer;
    return context;
  }

  private track(invocation: Promise<void>): void {
    this.pendingInvocations.add(invocation);
    invocation.finally(() => this.pendingInvocations.delete(invocation)).catch(ignore);
  }

  // ------------------------------------------------------------------------------------------ $connect

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // A client that vanishes while $connect runs must not crash the process.
    socket.on('error', ignore);
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    if (!this.upgradePaths.has(path)) {
      refuse(socket, 404, '{"message":"Not Found"}');
      return;
    }
    const version = req.headers['sec-websocket-version'];
    if (
      req.headers.upgrade?.toLowerCase() !== 'websocket' ||
      !req.headers['sec-websocket-key'] ||
      (version !== '13' && version !== '8')
    ) {
      refuse(socket, 400, '{"message":"Bad Request"}');
      return;
    }
    if (this.closing) {
      refuse(socket, 503, '{"message":"Service Unavailable"}');
      return;
    }
    this.upgrading.add(socket);
    // Tracked so that close() waits for in-flight $connect invocations (and the $disconnect they may need).
    const connecting = this.connect(req, socket, head, url, queryAt);
    this.track(connecting.catch(ignore));
    try {
      await connecting;
    } finally {
      this.upgrading.delete(socket);
    }
  }

  private async connect(req: IncomingMessage, socket: Duplex, head: Buffer, url: string, queryAt: number) {
    // Read the socket while $connect runs so that a client giving up (FIN; the HTTP server keeps sockets
    // half-open) is noticed instead of being upgraded into a connection nobody holds. Anything it sends early
    // is handed to ws with the head bytes.
    let gone = false;
    const early: Buffer[] = [];
    const onData = (chunk: Buffer) => early.push(chunk);
    const onGone = () => {
      gone = true;
    };
    socket.on('data', onData);
    socket.on('end', onGone);
    socket.on('close', onGone);
    let watching = true;
    const stopWatching = () => {
      // Once only: after the upgrade the socket belongs to ws and must keep flowing.
      if (!watching) return;
      watching = false;
      socket.off('data', onData);
      socket.off('end', onGone);
      socket.off('close', onGone);
      socket.pause();
    };
    try {
      await this.authorizeAndConnect(req, socket, url, queryAt, () => {
        stopWatching();
        return { gone, head: early.length > 0 ? Buffer.concat([head, ...early]) : head };
      });
    } finally {
      stopWatching();
    }
  }

  private async authorizeAndConnect(
    req: IncomingMessage,
    socket: Duplex,
    url: string,
    queryAt: number,
    settle: () => { gone: boolean; head: Buffer },
  ) {
    const now = Date.now();
    const sourceIp = sourceIpOf(req);
    const pending: PendingConnection = {
      id: this.newConnectionId(),
      connectedAt: now,
      identity: { sourceIp, userAgent: req.headers['user-agent'] ?? '' },
      domainName: req.headers.host ?? 'localhost',
      authorizer: undefined,
    };
    const parts: ConnectRequestParts = {
      ...connectHeaders(req, sourceIp, this.port, now),
      ...parseQueryString(queryAt < 0 ? '' : url.slice(queryAt + 1)),
    };

    if (this.api.authorizer) {
      const decision = await authorizeConnect({
        invoker: this.invoker,
        logger: this.logger,
        functionId: this.api.authorizer.functionId,
        identitySource: this.api.authorizer.identitySource,
        methodArn: this.methodArn,
        parts,
        requestContext: this.requestContext(pending, '$connect', 'CONNECT', now),
      });
      if (!decision.allowed) {
        this.logger.debug('authorizer refused $connect', { status: decision.status, connectionId: pending.id });
        refuse(socket, decision.status, decision.body, decision.errorType);
        return;
      }
      pending.authorizer = decision.context;
    }

    const connectFunction = this.routes.get('$connect');
    let protocol: string | undefined;
    if (connectFunction !== undefined) {
      const event: WebSocketConnectEvent = {
        ...parts,
        requestContext: this.requestContext(pending, '$connect', 'CONNECT', now),
        isBase64Encoded: false,
      };
      const outcome = await this.invoker.invoke(connectFunction, event, 'ws $connect');
      if (!outcome.ok) {
        refuse(socket, 500, INTERNAL_ERROR_BODY, 'InternalServerErrorException');
        return;
      }
      const answer = integrationAnswer(outcome.result);
      if (answer.statusCode < 200 || answer.statusCode > 299) {
        refuse(socket, answer.statusCode, answer.body, undefined, answer.contentType);
        return;
      }
      protocol = answer.protocol;
    }

    const settled = settle();
    if (settled.gone || socket.destroyed || this.closing) {
      // $connect accepted a client that is already gone (or the runtime is stopping): the handler may have
      // stored the connection, so it hears about the end of it as on AWS.
      if (connectFunction !== undefined) {
        this.fireDisconnect(pending, this.closing ? 1001 : 1006, closeReasonText(this.closing ? 1001 : 1006));
      }
      if (settled.gone) socket.destroy();
      else refuse(socket, 503, '{"message":"Service Unavailable"}');
      return;
    }
    if (protocol !== undefined) this.chosenProtocols.set(req, protocol);
    this.wss.handleUpgrade(req, socket, settled.head, (ws) => this.onOpen(pending, ws, socket));
  }

  // ------------------------------------------------------------------------------------------ open sockets

  private onOpen(pending: PendingConnection, ws: WebSocket, raw: Duplex): void {
    const connection: Connection = {
      id: pending.id,
      connectedAt: pending.connectedAt,
      identity: pending.identity,
      domainName: pending.domainName,
      authorizer: pending.authorizer,
      lastActiveAt: Date.now(),
      socket: ws,
      wire: raw,
      closed: false,
    };
    this.connections.set(connection.id, connection);
    this.sockets.add(ws);
    this.logger.debug('WebSocket connected', { connectionId: connection.id });

    // Prepended so an oversize frame is caught before ws hands the same bytes to its parser.
    const guard = new FrameSizeGuard(this.limits.frameBytes);
    let tripped = false;
    raw.prependListener('data', (chunk: Buffer) => {
      if (tripped || guard.feed(chunk)) return;
      tripped = true;
      if (!connection.closed) this.closeConnection(connection, 1009, closeReasonText(1009));
    });

    ws.on('message', (data, isBinary) => this.onMessage(connection, data, isBinary));
    const touch = () => {
      connection.lastActiveAt = Date.now();
    };
    ws.on('ping', touch);
    ws.on('pong', touch);
    ws.on('error', (err: Error & { code?: string }) => {
      // ws has already sent the matching close frame (1009 for an oversize message); report that code.
      const code =
        err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 1009 : err.code === 'WS_ERR_INVALID_UTF8' ? 1007 : 1002;
      this.disconnect(connection, code, closeReasonText(code));
    });
    ws.on('close', (code, reason) => {
      this.sockets.delete(ws);
      this.disconnect(connection, code, reason.length > 0 ? reason.toString() : closeReasonText(code));
      if (this.sockets.size === 0) this.socketsDrained?.();
    });
    // Paused while $connect ran; ws attaches its listeners but does not resume a paused socket.
    raw.resume();
  }

  /** Server-side close: the connection is gone for @connections at once, the close handshake follows. */
  private closeConnection(connection: Connection, code: number, reason: string): void {
    this.disconnect(connection, code, reason);
    connection.socket.close(code, reason);
  }

  /** False (and the connection closed for being slow) when `bytes` more would go past its send buffer cap. */
  private queueFits(connection: Connection, bytes: number): boolean {
    const { socket } = connection;
    if (!overflowsSendBuffer(socket, bytes, this.limits.sendBufferBytes)) return true;
    this.logger.warn('closing a connection that stopped reading', {
      connectionId: connection.id,
      queuedBytes: socket.bufferedAmount,
      capBytes: this.limits.sendBufferBytes,
    });
    this.closeConnection(connection, SLOW_CONSUMER_CLOSE.code, SLOW_CONSUMER_CLOSE.reason);
    setTimeout(() => socket.terminate(), SLOW_CONSUMER_TERMINATE_MS).unref();
    return false;
  }

  private disconnect(connection: Connection, code: number, reason: string): void {
    if (connection.closed) return;
    connection.closed = true;
    this.connections.delete(connection.id);
    this.logger.debug('WebSocket disconnected', { connectionId: connection.id, code, reason });
    this.fireDisconnect(connection, code, reason);
  }

  private fireDisconnect(connection: PendingConnection, code: number, reason: string): void {
    const disconnectFunction = this.routes.get('$disconnect');
    if (disconnectFunction === undefined) return;
    const now = Date.now();
    const requestContext = this.requestContext(connection, '$disconnect', 'DISCONNECT', now, {
      disconnectStatusCode: code,
      disconnectReason: reason,
    });
    const event: WebSocketDisconnectEvent = {
      ...disconnectHeaders(connection.domainName),
      requestContext,
      isBase64Encoded: false,
    };
    // Best effort, like AWS: nobody waits for it except close().
    this.track(
      this.invoker.invoke(disconnectFunction, event, 'ws $disconnect').then(
        (outcome) => {
          if (!outcome.ok) {
            this.logger.debug('$disconnect handler failed', { connectionId: connection.id, error: outcome.error });
          }
        },
        (err: unknown) => {
          this.logger.error('$disconnect invocation failed', {
            connectionId: connection.id,
            error: err instanceof Error ? err.message : String(err),
          });
        },
      ),
    );
  }

  // ------------------------------------------------------------------------------------------ messages

  private onMessage(connection: Connection, data: RawData, isBinary: boolean): void {
    if (connection.closed) return;
    const now = Date.now();
    connection.lastActiveAt = now;
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    let body: string;
    let functionId: string | undefined;
    let routeKey = '$default';
    if (isBinary) {
      // Binary frames are not evaluated by the selection expression; they go to $default base64-encoded.
      body = bytes.toString('base64');
      functionId = this.defaultFunction;
    } else {
      body = bytes.toString('utf8');
      const selected = this.selectRoute(body);
      // Reserved keys ($connect, $disconnect, $default) cannot be selected by a message body.
      const selectedFunction =
        selected === undefined || selected.startsWith('$') ? undefined : this.routes.get(selected);
      if (selectedFunction !== undefined && selected !== undefined) {
        routeKey = selected;
        functionId = selectedFunction;
      } else {
        functionId = this.defaultFunction;
      }
    }
    if (functionId === undefined) {
      this.reply(connection, 'Forbidden', awsStyleId());
      return;
    }
    const requestContext = this.requestContext(connection, routeKey, 'MESSAGE', now, { messageId: awsStyleId() });
    const event: WebSocketMessageEvent = { requestContext, body, isBase64Encoded: isBinary };
    // Invoked concurrently, like AWS (which does not order invocations of one connection). Integration
    // responses are not sent back: without route responses API Gateway drops them; replies use @connections.
    this.track(
      this.invoker.invoke(functionId, event, `ws ${routeKey}`).then(
        (outcome) => {
          if (!outcome.ok) this.reply(connection, 'Internal server error', requestContext.requestId);
        },
        () => this.reply(connection, 'Internal server error', requestContext.requestId),
      ),
    );
  }

  /** API Gateway's own error frame, byte for byte. */
  private reply(connection: Connection, message: string, requestId: string): void {
    if (connection.closed) return;
    const frame = `{"message": "${message}", "connectionId":"${connection.id}", "requestId":"${requestId}"}`;
    if (!this.queueFits(connection, Buffer.byteLength(frame))) return;
    connection.lastActiveAt = Date.now();
    connection.socket.send(frame);
  }
}
