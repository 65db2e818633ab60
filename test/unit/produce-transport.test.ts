import { createSigV4Signer, regionOfExecuteApiUrl } from '../../scripts/lib/sigv4';
import {
  createHttpTransport,
  createTransport,
  itemsUrl,
  networkErrorCode,
  TransportAbort,
} from '../../scripts/lib/transport';

type Call = { url: string; init: RequestInit };

/** A fetch that answers from a script of responses (or throws the given errors), recording the requests. */
function scriptedFetch(script: Array<Response | Error>): typeof fetch & { calls: Call[] } {
  const calls: Call[] = [];
  const fake = (async (url: string | URL, init: RequestInit = {}) => {
    calls.push({ url: String(url), init });
    const next = script.shift();
    if (next === undefined) throw new Error('no more scripted responses');
    if (next instanceof Error) throw next;
    return next;
  }) as typeof fetch & { calls: Call[] };
  fake.calls = calls;
  return fake;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const noWait = { retries: 3, backoff: { baseMs: 1, capMs: 1 }, sleep: async () => undefined };
const refused = () => {
  const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3000'), { code: 'ECONNREFUSED' });
  return new TypeError('fetch failed', { cause });
};

describe('HTTP transport', () => {
  test('POSTs the batch as a JSON array to /items and maps 201 results', async () => {
    const fetch = scriptedFetch([
      json(201, {
        results: [
          { index: 0, status: 'written', key: '3', itemId: 'latest' },
          { index: 1, status: 'written', key: '4', itemId: 'a' },
        ],
      }),
    ]);
    const transport = createHttpTransport({ url: 'http://localhost:3000', fetch, retry: noWait });
    const outcomes = await transport.send([{ k: '3' }, { k: '4', itemId: 'a' }]);
    expect(outcomes).toEqual([
      { status: 'written', key: '3', itemId: 'latest' },
      { status: 'written', key: '4', itemId: 'a' },
    ]);
    expect(fetch.calls[0]?.url).toBe('http://localhost:3000/items');
    expect(fetch.calls[0]?.init.method).toBe('POST');
    expect(JSON.parse(String(fetch.calls[0]?.init.body))).toEqual([{ k: '3' }, { k: '4', itemId: 'a' }]);
    expect((fetch.calls[0]?.init.headers ?? {}) as Record<string, string>).toMatchObject({
      'content-type': 'application/json',
    });
  });

  test('207: per-item outcomes by index, with reasons', async () => {
    const fetch = scriptedFetch([
      json(207, {
        results: [
          { index: 1, status: 'rejected', reason: 'the item is too large' },
          { index: 0, status: 'written', key: 'a', itemId: 'latest' },
          { index: 2, status: 'failed', reason: 'not written: throttled; retry later' },
        ],
      }),
    ]);
    // No retries: this is about mapping the answer (re-sending failed items has its own test).
    const outcomes = await createHttpTransport({ url: 'http://h:1/', fetch, retry: { ...noWait, retries: 0 } }).send([
      {},
      {},
      {},
    ]);
    expect(outcomes.map((o) => [o.status, o.reason])).toEqual([
      ['written', undefined],
      ['rejected', 'the item is too large'],
      ['failed', 'not written: throttled; retry later'],
    ]);
  });

  test("a 207's failed items are sent again, alone, and their new outcome counts", async () => {
    const fetch = scriptedFetch([
      json(207, {
        results: [
          { index: 0, status: 'written' },
          { index: 1, status: 'failed', reason: 'not written: throttled; retry later' },
          { index: 2, status: 'rejected', reason: 'bad' },
        ],
      }),
      json(201, { results: [{ index: 0, status: 'written', key: 'b' }] }),
    ]);
    const outcomes = await createHttpTransport({ url: 'http://h:1', fetch, retry: noWait }).send([
      { k: 'a' },
      { k: 'b' },
      { k: 'c' },
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['written', 'written', 'rejected']);
    expect(JSON.parse(String(fetch.calls[1]?.init.body))).toEqual([{ k: 'b' }]);
  });

  test('429 and 5xx are retried (Retry-After respected); success after the retry counts', async () => {
    const sleeps: number[] = [];
    const fetch = scriptedFetch([
      json(429, { message: 'Too Many Requests' }, { 'retry-after': '2' }),
      json(503, { error: { code: 'SERVICE_UNAVAILABLE', message: 'try later' } }),
      json(201, { results: [{ index: 0, status: 'written' }] }),
    ]);
    const transport = createHttpTransport({
      url: 'http://h:1',
      fetch,
      retry: { ...noWait, sleep: async (ms) => void sleeps.push(ms) },
    });
    expect(await transport.send([{ k: '1' }])).toEqual([{ status: 'written' }]);
    expect(fetch.calls).toHaveLength(3);
    expect(sleeps[0]).toBe(2000);
  });

  test('retries exhausted on 5xx: the batch fails with the last reason (the run goes on)', async () => {
    const fetch = scriptedFetch(
      Array.from({ length: 4 }, () => json(500, { error: { code: 'INTERNAL', message: 'boom' } })),
    );
    const outcomes = await createHttpTransport({ url: 'http://h:1', fetch, retry: noWait }).send([{}, {}]);
    expect(outcomes).toEqual([
      { status: 'failed', reason: 'HTTP 500 INTERNAL: boom (gave up after 4 attempts)' },
      { status: 'failed', reason: 'HTTP 500 INTERNAL: boom (gave up after 4 attempts)' },
    ]);
  });

  test('400 (nothing valid): per-item reasons from details when given, else the message for each', async () => {
    const detailed = scriptedFetch([
      json(400, {
        error: {
          code: 'BAD_REQUEST',
          message: 'no valid item',
          details: [
            { index: 0, reason: 'missing key' },
            { index: 1, reason: 'too big' },
          ],
        },
      }),
    ]);
    expect(await createHttpTransport({ url: 'http://h:1', fetch: detailed, retry: noWait }).send([{}, {}])).toEqual([
      { status: 'rejected', reason: 'missing key' },
      { status: 'rejected', reason: 'too big' },
    ]);
    const plain = scriptedFetch([json(400, { error: { code: 'BAD_REQUEST', message: 'body is not JSON' } })]);
    expect(await createHttpTransport({ url: 'http://h:1', fetch: plain, retry: noWait }).send([{}])).toEqual([
      { status: 'rejected', reason: 'HTTP 400 BAD_REQUEST: body is not JSON' },
    ]);
  });

  test('403 without signing aborts the run with the --sign hint; 404 names the URL', async () => {
    const forbidden = scriptedFetch([json(403, { message: 'Forbidden' })]);
    await expect(
      createHttpTransport({ url: 'https://x.example', fetch: forbidden, retry: noWait }).send([{}]),
    ).rejects.toThrow(/HTTP 403 Forbidden — an API with IAM auth needs signed requests: add --sign/);
    const missing = scriptedFetch([json(404, { message: 'Not Found' })]);
    await expect(
      createHttpTransport({ url: 'http://h:1/prod', fetch: missing, retry: noWait }).send([{}]),
    ).rejects.toThrow('POST http://h:1/prod/items: HTTP 404 Not Found');
  });

  test('nothing listening: retried, then the run aborts with a hint', async () => {
    const fetch = scriptedFetch([refused(), refused(), refused(), refused()]);
    const send = createHttpTransport({ url: 'http://localhost:3000', fetch, retry: noWait }).send([{}]);
    await expect(send).rejects.toBeInstanceOf(TransportAbort);
    await expect(send).rejects.toThrow('cannot reach http://localhost:3000 (ECONNREFUSED) — is `npm start` running?');
    expect(fetch.calls).toHaveLength(4);
  });

  test('a connection refused once, then accepted, is just a retry', async () => {
    const fetch = scriptedFetch([refused(), json(201, { results: [{ index: 0, status: 'written' }] })]);
    expect(await createHttpTransport({ url: 'http://h:1', fetch, retry: noWait }).send([{}])).toEqual([
      { status: 'written' },
    ]);
  });

  test('itemsUrl: a base URL gets /items; a URL ending in /items is kept', () => {
    expect(itemsUrl('http://localhost:3000').href).toBe('http://localhost:3000/items');
    expect(itemsUrl('https://a.execute-api.eu-west-1.amazonaws.com/').href).toBe(
      'https://a.execute-api.eu-west-1.amazonaws.com/items',
    );
    expect(itemsUrl('http://h/stage/items').href).toBe('http://h/stage/items');
    expect(() => itemsUrl('nope')).toThrow(/is not a URL/);
  });

  test('networkErrorCode finds the code through fetch causes and AggregateErrors', () => {
    expect(networkErrorCode(refused())).toBe('ECONNREFUSED');
    const aggregate = new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })], 'all failed');
    expect(networkErrorCode(new TypeError('fetch failed', { cause: aggregate }))).toBe('ECONNREFUSED');
    expect(networkErrorCode(new Error('plain'))).toBeUndefined();
  });
});

describe('SigV4 signing', () => {
  const saved = { ...process.env };
  beforeEach(() => {
    process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  test('the region comes from an execute-api URL', () => {
    expect(regionOfExecuteApiUrl(new URL('https://abc123.execute-api.eu-west-1.amazonaws.com/items'))).toBe(
      'eu-west-1',
    );
    expect(regionOfExecuteApiUrl(new URL('http://localhost:3000'))).toBeUndefined();
  });

  test('signs for execute-api with credentials from the default chain (here: the environment)', async () => {
    const sign = createSigV4Signer('eu-west-1');
    const headers = await sign({
      method: 'POST',
      url: new URL('https://abc123.execute-api.eu-west-1.amazonaws.com/items'),
      headers: { 'content-type': 'application/json' },
      body: '[]',
    });
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(headers).not.toHaveProperty('host');
  });

  test('execute-api URLs are signed by default; signed headers reach the request', async () => {
    const fetch = scriptedFetch([json(201, { results: [{ index: 0, status: 'written' }] })]);
    const transport = createTransport(
      {
        to: 'http',
        url: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
        table: 't',
        keyAttribute: 'k',
        retries: 0,
      },
      { fetch },
    );
    await transport.send([{ k: '1' }]);
    const headers = (fetch.calls[0]?.init.headers ?? {}) as Record<string, string>;
    expect(headers.authorization).toContain('/eu-west-1/execute-api/aws4_request');
    const local = scriptedFetch([json(201, { results: [{ index: 0, status: 'written' }] })]);
    await createTransport(
      { to: 'http', url: 'http://localhost:3000', table: 't', keyAttribute: 'k', retries: 0 },
      { fetch: local },
    ).send([{}]);
    expect(local.calls[0]?.init.headers).not.toHaveProperty('authorization');
  });

  test('--sign on a URL that names no region needs --region', () => {
    expect(() =>
      createTransport({
        to: 'http',
        url: 'https://api.example.com',
        sign: true,
        table: 't',
        keyAttribute: 'k',
        retries: 0,
      }),
    ).toThrow('--sign needs --region');
  });
});
