import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the stub answers for one post: a status (200, 410, 413, 429 …), after an optional delay. */
export type StubAnswer = number;

export interface ManagementApiStub {
  /** WS_ENDPOINT for the handlers, e.g. http://127.0.0.1:PORT/develop. */
  endpoint: string;
  /** Messages accepted (200) per connection, in arrival order, parsed as JSON. */
  received: Map<string, Record<string, unknown>[]>;
  /** Every request's status per connection, in order. */
  answers: Map<string, number[]>;
  /** Decides the status of each post; default 200. */
  answer: (connectionId: string, message: Record<string, unknown>, attempt: number) => StubAnswer;
  /** Added to every call. */
  delayMs: number;
  /**
   * A real management API (e.g. the local gateway's `urls.management`): posts answered 200 are forwarded there and
   * answered with its status, so the stub only injects faults in front of real delivery.
   */
  forwardTo?: string;
  requestCount(): number;
  close(): Promise<void>;
}

const ERROR_TYPES: Record<number, string> = {
  410: 'GoneException',
  413: 'PayloadTooLargeException',
  429: 'LimitExceededException',
  403: 'ForbiddenException',
};

/**
 * A real HTTP server standing in for API Gateway's @connections API: `POST /{stage}/@connections/{id}`, answering
 * errors the way AWS does (x-amzn-ErrorType header and a JSON `message`), so the real SDK client parses them into
 * its real exception classes.
 */
export async function startManagementApiStub(stage = 'develop'): Promise<ManagementApiStub> {
  let requests = 0;
  const stub: Omit<ManagementApiStub, 'endpoint' | 'close'> = {
    received: new Map(),
    answers: new Map(),
    answer: () => 200,
    delayMs: 0,
    requestCount: () => requests,
  };
  const prefix = `/${stage}/@connections/`;
  const server: Server = createServer(async (req, res) => {
    requests++;
    const body = await readBody(req);
    const path = decodeURIComponent((req.url ?? '').split('?')[0] ?? '');
    if (req.method !== 'POST' || !path.startsWith(prefix)) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
      return;
    }
    const connectionId = path.slice(prefix.length);
    const message = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    const history = stub.answers.get(connectionId) ?? [];
    const status = stub.answer(connectionId, message, history.length + 1);
    history.push(status);
    stub.answers.set(connectionId, history);
    if (stub.delayMs > 0) await new Promise((r) => setTimeout(r, stub.delayMs));
    if (status === 200 && stub.forwardTo !== undefined) {
      const forwarded = await fetch(`${stub.forwardTo}/@connections/${encodeURIComponent(connectionId)}`, {
        method: 'POST',
        body,
      });
      const errorType = forwarded.headers.get('x-amzn-errortype');
      res
        .writeHead(forwarded.status, {
          'content-type': forwarded.headers.get('content-type') ?? 'application/json',
          ...(errorType === null ? {} : { 'x-amzn-ErrorType': errorType }),
        })
        .end(Buffer.from(await forwarded.arrayBuffer()));
      return;
    }
    if (status === 200) {
      const list = stub.received.get(connectionId) ?? [];
      list.push(message);
      stub.received.set(connectionId, list);
      res.writeHead(200, { 'content-type': 'application/json' }).end();
      return;
    }
    const type = ERROR_TYPES[status] ?? 'InternalServerErrorException';
    res
      .writeHead(status, { 'content-type': 'application/json', 'x-amzn-ErrorType': type })
      .end(JSON.stringify({ message: type }));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(stub, {
    endpoint: `http://127.0.0.1:${port}/${stage}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
