import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closeServer, listen, PORTS } from '../ports';
import { readRequestBody } from '../request-body';
import type { HttpRouteSpec, InvocationOutcome, Invoker, LocalLogger } from '../types';
import { authorizeHttpRequest, routeArnOf } from './authorizer';
import { type CorsConfig, isPreflight, preflightHeaders, responseCorsHeaders } from './cors';
import { buildHttpApiEvent, buildHttpApiEventV1, newRequestId } from './event';
import { gatewayErrors, type HttpReply, mapOutcome } from './response';
import { compileRoutes, matchRoute } from './routes';

/** API Gateway's request payload limit for HTTP APIs. */
export const maxRequestBodyBytes = 10 * 1024 * 1024;

/** HTTP APIs give up on an integration after 30 seconds (503) whatever the function's own timeout. */
const defaultIntegrationTimeoutMs = 30_000;

export interface HttpApiOptions {
  host: string;
  /** 0 picks a free port (tests); the chosen one is in the returned url. */
  port: number;
  routes: HttpRouteSpec[];
  invoker: Invoker;
  logger: LocalLogger;
  region: string;
  accountId: string;
  /** An AWS-looking API id for requestContext.apiId; default a random 10-character id. */
  apiId?: string;
  /** Default "$default", the stage SAM's implicit HTTP API uses. */
  stage?: string;
  cors?: CorsConfig;
  /** Extra fields for the built-in GET /health answer; a `status` other than "ok" answers 503. */
  health?: () => Record<string, unknown>;
  /** How long to wait for a function before answering 503; default 30 s, as on AWS. */
  integrationTimeoutMs?: number;
}

/** A running HTTP API. */
export interface RunningHttpApi {
  /** e.g. "http://localhost:3000". */
  url: string;
  /** Stops accepting requests and closes every open connection. */
  close(): Promise<void>;
}

class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
}

/** Starts the API Gateway HTTP API (payload format 2.0) emulation for the template's routes, plus GET /health. */
export async function startHttpApi(options: HttpApiOptions): Promise<RunningHttpApi> {
  const routes = compileRoutes(options.routes);
  const apiId = options.apiId ?? randomApiId();
  const stage = options.stage ?? '$default';
  const integrationTimeoutMs = options.integrationTimeoutMs ?? defaultIntegrationTimeoutMs;
  // The built-in health check yields only to a template route written for exactly this path.
  const templateOwnsHealth = routes.some(
    (r) => (r.method === 'GET' || r.method === 'ANY') && r.segments.length === 1 && r.spec.path === '/health',
  );

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const receivedAt = new Date();
    const requestId = newRequestId();
    const method = (req.method ?? 'GET').toUpperCase();
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? '/';
    const lowerHeaders = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]),
    );
    const send = (reply: HttpReply): void => {
      let cors: Record<string, string> = {};
      if (options.cors) {
        // With CORS configured, API Gateway ignores the function's own CORS headers and sends its own.
        reply = { ...reply, headers: withoutCorsHeaders(reply.headers) };
        cors = responseCorsHeaders(options.cors, lowerHeaders);
      }
      writeReply(res, reply, requestId, cors);
      options.logger.debug(`HTTP ${method} ${path} → ${reply.statusCode}`, {
        requestId,
        durationMs: Date.now() - receivedAt.getTime(),
      });
    };

    let body: Buffer;
    try {
      body = await readRequestBody(req, maxRequestBodyBytes, () => new BodyTooLargeError());
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        // Closing the connection stops the client from streaming the rest of an oversized upload.
        res.setHeader('connection', 'close');
        send(gatewayErrors.tooLarge());
        return;
      }
      // The client went away mid-upload: nobody is left to answer.
      options.logger.debug(`HTTP ${method} ${path}: client closed the connection before sending the whole body`);
      res.destroy();
      return;
    }

    if (options.cors && isPreflight(method, lowerHeaders)) {
      writeReply(
        res,
        { statusCode: 204, headers: {}, cookies: [], body: Buffer.alloc(0) },
        requestId,
        preflightHeaders(options.cors, lowerHeaders),
      );
      return;
    }

    if (!templateOwnsHealth && path === '/health' && (method === 'GET' || method === 'HEAD')) {
      send(healthReply(options.health));
      return;
    }

    const match = matchRoute(routes, method, path);
    if (!match) {
      send(gatewayErrors.notFound());
      return;
    }
    const { route, pathParameters } = match;
    const version = route.spec.payloadFormatVersion ?? '2.0';
    const request = {
      method,
      url,
      rawHeaders: req.rawHeaders,
      httpVersion: req.httpVersion,
      sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
      localPort: req.socket.localPort ?? options.port,
      body,
      receivedAt,
    };
    const eventContext = {
      accountId: options.accountId,
      apiId,
      stage,
      routeKey: route.routeKey,
      requestId,
      pathParameters,
    };
    const event = (version === '1.0' ? buildHttpApiEventV1 : buildHttpApiEvent)(request, eventContext);

    if (route.spec.authorizer) {
      const decision = await authorizeHttpRequest({
        invoker: options.invoker,
        logger: options.logger,
        authorizer: route.spec.authorizer,
        event: event.version === '2.0' ? event : buildHttpApiEvent(request, eventContext),
        eventV1: () => (event.version === '1.0' ? event : buildHttpApiEventV1(request, eventContext)),
        routeArn: routeArnOf({ region: options.region, accountId: options.accountId, apiId, stage, method, path }),
      });
      if (!decision.allowed) {
        send(decision.reply);
        return;
      }
      event.requestContext.authorizer = decision.authorizer;
    }

    const outcome = await withTimeout(
      options.invoker.invoke(route.spec.functionId, event, route.routeKey),
      integrationTimeoutMs,
    );
    if (outcome === 'timeout') {
      options.logger.warn(
        `HTTP ${route.routeKey}: ${route.spec.functionId} did not answer within ${integrationTimeoutMs} ms; 503 as API Gateway would`,
        { requestId },
      );
      send(gatewayErrors.unavailable());
      return;
    }
    const mapped = mapOutcome(outcome, version);
    if (!mapped.ok)
      logFailure(options.logger, route.routeKey, route.spec.functionId, requestId, outcome, mapped.problem);
    send(mapped.reply);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // Our own bug, not the function's: answer like API Gateway and keep serving.
      options.logger.error('HTTP API: unexpected error while handling a request', {
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
      if (!res.headersSent) writeReply(res, gatewayErrors.internal(), newRequestId(), {});
      else res.destroy();
    });
  });

  const { url } = await listen(server, { host: options.host, port: options.port, setting: PORTS.httpApi });
  server.on('error', (error) => options.logger.error('HTTP API server error', { error: error.message }));

  return {
    url,
    close: () => closeServer(server),
  };
}

function writeReply(res: ServerResponse, reply: HttpReply, requestId: string, extra: Record<string, string>): void {
  const headers: Record<string, string | string[]> = { ...reply.headers, ...extra, 'apigw-requestid': requestId };
  if (reply.cookies.length > 0) headers['set-cookie'] = reply.cookies;
  // These statuses never carry a body; a content-length for one the client will not get would confuse it.
  const bodiless = reply.statusCode === 204 || reply.statusCode === 304 || reply.statusCode < 200;
  if (bodiless) delete headers['content-length'];
  else headers['content-length'] = String(reply.body.length);
  res.writeHead(reply.statusCode, headers);
  res.end(bodiless ? undefined : reply.body);
}

function withoutCorsHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith('access-control-')));
}

function healthReply(health: (() => Record<string, unknown>) | undefined): HttpReply {
  let extra: Record<string, unknown> = {};
  try {
    extra = health?.() ?? {};
  } catch (error) {
    return {
      statusCode: 500,
      headers: { 'content-type': 'application/json' },
      cookies: [],
      body: Buffer.from(
        JSON.stringify({ status: 'error', message: error instanceof Error ? error.message : String(error) }),
      ),
    };
  }
  const body = { status: 'ok', ...extra };
  return {
    // A part reported down (the platform's health says "degraded") makes the whole answer 503, for load balancers
    // and scripts that only look at the status code.
    statusCode: body.status === 'ok' ? 200 : 503,
    headers: { 'content-type': 'application/json' },
    cookies: [],
    body: Buffer.from(JSON.stringify(body)),
  };
}

function logFailure(
  logger: LocalLogger,
  routeKey: string,
  functionId: string,
  requestId: string,
  outcome: InvocationOutcome,
  problem: string,
): void {
  if (outcome.ok) {
    logger.error(
      `HTTP ${routeKey}: ${functionId} returned a malformed response (${problem}); 500 as API Gateway would`,
      {
        requestId,
      },
    );
    return;
  }
  logger.error(`HTTP ${routeKey}: ${functionId} failed; 500 as API Gateway would`, {
    requestId,
    lambdaRequestId: outcome.requestId,
    errorType: outcome.error.errorType,
    errorMessage: outcome.error.errorMessage,
    stack: outcome.error.stack,
    timedOut: outcome.error.timedOut,
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve('timeout'), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Ten lower-case letters and digits, like a real API id. */
function randomApiId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(10), (b) => alphabet[b % alphabet.length]).join('');
}
