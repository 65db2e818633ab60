import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { freePort, type ManagementApiStub, startManagementApiStub } from '@real-time-platform/test-support';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import { classifyPostError, createConnectionSender } from '../../src/adapters/connection-sender';
import { createSignedPoster } from '../../src/adapters/signed-poster';

// The lean @connections sender against real HTTP servers: the stand-in answering as API Gateway does (status and
// x-amzn-ErrorType), and a server that checks every request's SigV4 signature against what it received on the wire.

jest.setTimeout(30_000);

const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'tok',
};
const sdkClient = (endpoint: string) =>
  new ApiGatewayManagementApiClient({ endpoint, region: 'eu-west-1', credentials, maxAttempts: 1 });

let stub: ManagementApiStub;
beforeAll(async () => {
  stub = await startManagementApiStub();
});
afterAll(async () => stub.close());

function leanSender(endpoint: string, extra: { requestTimeoutMs?: number } = {}) {
  const poster = createSignedPoster({ client: sdkClient(endpoint), endpoint, maxSockets: 8, ...extra });
  return createConnectionSender({ poster, backoff: { baseMs: 1, capMs: 5 }, maxAttempts: 3, ...extra });
}

describe('the signed poster through the sender', () => {
  test('posts the bytes as they are; 410, 413, 429, 5xx and 403 end as the SDK path ends them', async () => {
    const sender = leanSender(stub.endpoint);
    const tries = new Map<string, number>();
    stub.answer = (connectionId) => {
      const attempt = (tries.get(connectionId) ?? 0) + 1;
      tries.set(connectionId, attempt);
      if (connectionId === 'gone=') return 410;
      if (connectionId === 'big=') return 413;
      if (connectionId === 'busy=') return attempt === 1 ? 429 : 200;
      if (connectionId === 'flaky/+=') return attempt < 3 ? 503 : 200;
      if (connectionId === 'denied=') return 403;
      if (connectionId === 'down=') return 500;
      return 200;
    };
    const data = Buffer.from('{"type":"item","seq":"1"}');
    expect(await sender.post('R1kmxc2VNjMCFIA=', data)).toEqual({ status: 'sent', attempts: 1 });
    expect(stub.received.get('R1kmxc2VNjMCFIA=')).toEqual([{ type: 'item', seq: '1' }]);
    expect(await sender.post('gone=', data)).toEqual({ status: 'gone', attempts: 1 });
    expect(await sender.post('big=', data)).toEqual({ status: 'tooLarge', attempts: 1 });
    expect(await sender.post('busy=', data)).toEqual({ status: 'sent', attempts: 2 });
    // The id is encoded into the path like the SDK encodes it ("/" and "+" included) and decoded back by the server.
    expect(await sender.post('flaky/+=', data)).toEqual({ status: 'sent', attempts: 3 });
    const denied = await sender.post('denied=', data);
    expect(denied).toMatchObject({ status: 'failed', attempts: 1, retryable: false });
    expect((denied as { error: Error }).error.name).toBe('ForbiddenException');
    const down = await sender.post('down=', data);
    expect(down).toMatchObject({ status: 'failed', attempts: 3, retryable: true });
    expect(classifyPostError((down as { error: unknown }).error)).toBe('retry');
  });

  test('a refused connection and a server that never answers are retried, then reported as retryable', async () => {
    const closed = leanSender(`http://127.0.0.1:${await freePort()}/develop`);
    const refused = await closed.post('a=', Buffer.from('{}'));
    expect(refused).toMatchObject({ status: 'failed', attempts: 3, retryable: true });
    stub.answer = () => 200;
    stub.delayMs = 500;
    try {
      const slow = await leanSender(stub.endpoint, { requestTimeoutMs: 100 }).post('slow=', Buffer.from('{}'));
      expect(slow).toMatchObject({ status: 'failed', attempts: 3, retryable: true });
      expect((slow as { error: Error }).error.name).toBe('TimeoutError');
    } finally {
      stub.delayMs = 0;
    }
  });
});

describe('SigV4', () => {
  interface Received {
    method: string;
    path: string;
    headers: IncomingHttpHeaders;
    body: Buffer;
  }
  let server: Server;
  let endpoint: string;
  const received: Received[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks),
        });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/develop`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** Re-signs what arrived on the wire (same date, same signed headers) and compares: what AWS does on receipt. */
  async function signatureHolds(request: Received): Promise<boolean> {
    const authorization = String(request.headers.authorization);
    const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';') ?? [];
    const signature = /Signature=([0-9a-f]+)/.exec(authorization)?.[1];
    const amzDate = String(request.headers['x-amz-date']);
    const date = new Date(
      `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
    );
    const headers = Object.fromEntries(signedHeaders.map((name) => [name, String(request.headers[name])]));
    const signer = new SignatureV4({
      credentials,
      region: 'eu-west-1',
      service: 'execute-api',
      sha256: sdkClient(endpoint).config.sha256,
    });
    const resigned = await signer.sign(
      new HttpRequest({
        method: request.method,
        protocol: 'http:',
        hostname: '127.0.0.1',
        path: request.path,
        headers,
        body: request.body,
      }),
      { signingDate: date },
    );
    // The signature covers the payload through x-amz-content-sha256, which must be the hash of the body received.
    const payloadHash = createHash('sha256').update(request.body).digest('hex');
    const payloadHolds = request.headers['x-amz-content-sha256'] === payloadHash;
    return payloadHolds && /Signature=([0-9a-f]+)/.exec(String(resigned.headers.authorization))?.[1] === signature;
  }

  test('the lean request and the SDK request both carry a signature that holds for what was sent', async () => {
    received.length = 0;
    const id = 'R1km/xc2+VNjMCFIA=';
    await createSignedPoster({ client: sdkClient(endpoint), endpoint, maxSockets: 2 })(id, Buffer.from('{"a":1}'));
    await createConnectionSender({ client: sdkClient(endpoint) }).post(id, Buffer.from('{"a":1}'));
    const [lean, sdk] = received as [Received, Received];
    expect(lean.path).toBe(sdk.path);
    expect(lean.path).toBe('/develop/@connections/R1km%2Fxc2%2BVNjMCFIA%3D');
    expect(lean.headers['x-amz-security-token']).toBe('tok');
    expect(await signatureHolds(sdk)).toBe(true);
    expect(await signatureHolds(lean)).toBe(true);
    // The check can fail: another body, or another connection's path, does not hold.
    expect(await signatureHolds({ ...lean, body: Buffer.from('{"a":2}') })).toBe(false);
    expect(await signatureHolds({ ...lean, path: '/develop/@connections/other%3D' })).toBe(false);
  });

  test('one body posted to many connections is signed right for each (its hash is remembered by identity)', async () => {
    received.length = 0;
    const post = createSignedPoster({ client: sdkClient(endpoint), endpoint, maxSockets: 2 });
    const shared = Buffer.from('{"type":"batch","messages":[{"a":1},{"a":2}]}');
    const sameSize = Buffer.from('{"type":"batch","messages":[{"a":3},{"a":4}]}');
    await post('one=', shared);
    await post('two=', sameSize);
    await post('three=', shared);
    expect(received.map((request) => request.body.toString())).toEqual([
      shared.toString(),
      sameSize.toString(),
      shared.toString(),
    ]);
    for (const request of received) expect(await signatureHolds(request)).toBe(true);
  });
});
