import type { IncomingMessage, ServerResponse } from 'node:http';
import { awsStyleId } from './ids';

/** What the management API needs to know about an open connection. */
export interface ManagedConnection {
  readonly id: string;
  readonly connectedAt: number;
  readonly identity: { sourceIp: string; userAgent: string };
  /** Epoch ms of the last frame in either direction. */
  lastActiveAt: number;
}

/** The gateway operations behind POST, GET and DELETE /{stage}/@connections/{id}. */
export interface ConnectionOperations<C extends ManagedConnection> {
  find(connectionId: string): C | undefined;
  /** Sends one text frame holding `chunks` end to end (`size` bytes); false when the socket can no longer take it. */
  send(connection: C, chunks: readonly Buffer[], size: number): boolean;
  /** Closes the socket the way DeleteConnection does. */
  remove(connection: C): void;
}

const errorHeaders = (errorType: string, length: number, requestId: string) => [
  'Content-Type',
  'application/json',
  'Content-Length',
  String(length),
  'x-amzn-ErrorType',
  errorType,
  'x-amzn-RequestId',
  requestId,
];

function sendError(res: ServerResponse, status: number, errorType: string, message: string): void {
  const body = JSON.stringify({ message });
  res.writeHead(status, errorHeaders(errorType, Buffer.byteLength(body), awsStyleId()));
  res.end(body);
}

// AWS answers 410 with the error type header and an empty body (SDKs report the message as null/unknown).
const GONE_HEADERS = ['Content-Length', '0', 'x-amzn-ErrorType', 'GoneException'];

function sendGone(res: ServerResponse): void {
  res.writeHead(410, [...GONE_HEADERS, 'x-amzn-RequestId', awsStyleId()]);
  res.end();
}

function sendForbidden(res: ServerResponse): void {
  sendError(res, 403, 'ForbiddenException', 'Forbidden');
}

function sendTooLarge(res: ServerResponse, limit: number): void {
  sendError(res, 413, 'PayloadTooLargeException', `Message too long. Max message size is ${limit} bytes`);
}

/**
 * Handles every plain HTTP request on the gateway's port: the @connections management API for the stage,
 * ForbiddenException (403) for anything else, like API Gateway's execute-api endpoint. Any SigV4 signature
 * is accepted; the connection id arrives URL-encoded ("=" as %3D) from the SDK and the CLI.
 */
export function createManagementHandler<C extends ManagedConnection>(options: {
  stage: string;
  messageBytes: number;
  operations: ConnectionOperations<C>;
}): (req: IncomingMessage, res: ServerResponse) => void {
  const { messageBytes, operations } = options;
  const prefixes = [`/${options.stage}/@connections/`, `/${options.stage}/%40connections/`];

  const connectionIdOf = (url: string): string | undefined => {
    for (const prefix of prefixes) {
      if (url.length > prefix.length && url.startsWith(prefix)) {
        let rest = url.slice(prefix.length);
        const query = rest.indexOf('?');
        if (query >= 0) rest = rest.slice(0, query);
        if (rest === '' || rest.includes('/')) return undefined;
        if (!rest.includes('%')) return rest;
        try {
          return decodeURIComponent(rest);
        } catch {
          return undefined;
        }
      }
    }
    return undefined;
  };

  const post = (req: IncomingMessage, res: ServerResponse, connection: C | undefined) => {
    const declared = Number(req.headers['content-length']);
    if (declared > messageBytes) {
      // Node discards the unread body after the response, so the keep-alive connection stays usable.
      sendTooLarge(res, messageBytes);
      return;
    }
    // Kept as they arrived: the socket takes them as one frame without a joined copy (see text-frame.ts).
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= messageBytes) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > messageBytes) {
        sendTooLarge(res, messageBytes);
        return;
      }
      // Looked up again: the socket may have closed while the body was arriving.
      const target = connection === undefined ? undefined : operations.find(connection.id);
      if (target === undefined || !operations.send(target, chunks, size)) {
        sendGone(res);
        return;
      }
      res.writeHead(200, ['Content-Length', '0', 'x-amzn-RequestId', awsStyleId()]);
      res.end();
    });
  };

  return (req, res) => {
    const connectionId = connectionIdOf(req.url ?? '/');
    if (connectionId === undefined) {
      sendForbidden(res);
      return;
    }
    const connection = operations.find(connectionId);
    switch (req.method) {
      case 'POST':
        post(req, res, connection);
        return;
      case 'GET': {
        if (connection === undefined) {
          sendGone(res);
          return;
        }
        const body = JSON.stringify({
          connectedAt: new Date(connection.connectedAt).toISOString(),
          identity: connection.identity,
          lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
        });
        res.writeHead(200, [
          'Content-Type',
          'application/json',
          'Content-Length',
          String(Buffer.byteLength(body)),
          'x-amzn-RequestId',
          awsStyleId(),
        ]);
        res.end(body);
        return;
      }
      case 'DELETE':
        if (connection === undefined) {
          sendGone(res);
          return;
        }
        operations.remove(connection);
        res.writeHead(204, ['x-amzn-RequestId', awsStyleId()]);
        res.end();
        return;
      default:
        sendForbidden(res);
    }
  };
}
