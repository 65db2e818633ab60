import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readRequestBody } from '../../src/request-body';

// The body reader the HTTP API, the local S3 and the local EventBridge share, against a real HTTP server.

class TooLarge extends Error {}

let server: Server;
let port: number;
const outcomes: Promise<Buffer>[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const reading = readRequestBody(req, 1024, () => new TooLarge('over 1 KB'));
    outcomes.push(reading);
    reading.then(
      (body) => res.end(`read ${body.length}`),
      (error: unknown) => {
        res.writeHead(error instanceof TooLarge ? 413 : 500);
        res.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function send(chunks: Buffer[], headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', method: 'POST', headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

test('a body within the limit is read whole', async () => {
  const answer = await send([Buffer.alloc(600, 'a'), Buffer.alloc(424, 'b')]);
  expect(answer).toEqual({ status: 200, body: 'read 1024' });
});

test('a declared content-length over the limit is refused before the body is read', async () => {
  const answer = await send([Buffer.alloc(2000)], { 'content-length': '2000' });
  expect(answer.status).toBe(413);
});

test('a chunked body that grows past the limit is refused, and the server still answers on the connection', async () => {
  const answer = await send([Buffer.alloc(1000), Buffer.alloc(1000), Buffer.alloc(1000)]);
  expect(answer.status).toBe(413);
});

test('a client that goes away mid-body rejects the read instead of leaving it pending', async () => {
  const before = outcomes.length;
  const req = request({ port, host: '127.0.0.1', method: 'POST', headers: { 'content-length': '1000' } });
  req.on('error', () => undefined);
  req.write(Buffer.alloc(100));
  await new Promise<void>((resolve) => {
    const wait = () => (outcomes.length > before ? resolve() : setImmediate(wait));
    wait();
  });
  req.destroy();
  await expect(outcomes[before]).rejects.toThrow(/abort/);
});
