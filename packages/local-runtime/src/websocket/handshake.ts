import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { headerValue } from './events';

/** The parts of a $connect integration answer API Gateway looks at. */
export function integrationAnswer(result: unknown): {
  statusCode: number;
  body: string;
  contentType: string | undefined;
  protocol: string | undefined;
} {
  if (result === null || typeof result !== 'object') {
    return { statusCode: 200, body: '', contentType: undefined, protocol: undefined };
  }
  const { statusCode, body, headers } = result as { statusCode?: unknown; body?: unknown; headers?: unknown };
  const status = Number(statusCode);
  const headerMap =
    headers !== null && typeof headers === 'object'
      ? (headers as Record<string, string>)
      : ({} as Record<string, string>);
  return {
    // A proxy answer without a status code does not refuse the connection.
    statusCode: statusCode === undefined || !Number.isInteger(status) || status < 100 || status > 599 ? 200 : status,
    body: typeof body === 'string' ? body : body === undefined || body === null ? '' : JSON.stringify(body),
    contentType: headerValue(headerMap, 'content-type'),
    protocol: headerValue(headerMap, 'sec-websocket-protocol'),
  };
}

/** Answers an upgrade request with a plain HTTP response and closes the socket (no WebSocket is opened). */
export function refuse(
  socket: Duplex,
  status: number,
  body: string,
  errorType?: string,
  contentType = 'application/json',
) {
  if (socket.destroyed) return;
  const payload = Buffer.from(body);
  const head =
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n` +
    `Content-Type: ${contentType}\r\nContent-Length: ${payload.length}\r\n` +
    (errorType ? `x-amzn-ErrorType: ${errorType}\r\n` : '') +
    'Connection: close\r\n\r\n';
  socket.end(Buffer.concat([Buffer.from(head), payload]));
}
