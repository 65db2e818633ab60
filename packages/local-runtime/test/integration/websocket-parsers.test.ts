import fc from 'fast-check';
import { evaluatePolicy, hasIdentitySources } from '../../src/websocket/authorizer';
import { formatRequestTime, parseQueryString } from '../../src/websocket/events';
import { FrameSizeGuard } from '../../src/websocket/frame-guard';
import { awsStyleId } from '../../src/websocket/ids';
import { compileRouteSelection } from '../../src/websocket/route-selection';

// Property tests for the gateway's parsers: whatever a client sends, they classify it and never throw.

/** A client frame (masked, as clients must send) with the shortest length encoding. */
function frame(opcode: number, payloadLength: number, fin = true): Buffer {
  const lengthBytes = payloadLength < 126 ? 0 : payloadLength < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + lengthBytes + 4);
  header[0] = (fin ? 0x80 : 0) | opcode;
  if (lengthBytes === 0) header[1] = 0x80 | payloadLength;
  else if (lengthBytes === 2) {
    header[1] = 0x80 | 126;
    header.writeUInt16BE(payloadLength, 2);
  } else {
    header[1] = 0x80 | 127;
    header.writeUInt32BE(0, 2);
    header.writeUInt32BE(payloadLength, 6);
  }
  return Buffer.concat([header, Buffer.alloc(payloadLength, 0x61)]);
}

/** Splits bytes at the given cut points, as TCP may. */
function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  chunks.push(bytes.subarray(from));
  return chunks.filter((chunk) => chunk.length > 0);
}

describe('FrameSizeGuard', () => {
  test('flags a stream exactly when one of its data frames is over the limit, however TCP splits it', () => {
    const limit = 300;
    const frames = fc.array(
      fc.record({
        opcode: fc.constantFrom(0x0, 0x1, 0x2, 0x9, 0xa),
        size: fc.oneof(fc.integer({ min: 0, max: 400 }), fc.constantFrom(125, 126, 300, 301, 65535, 65536, 70000)),
      }),
      { maxLength: 6 },
    );
    fc.assert(
      fc.property(frames, fc.array(fc.nat(), { maxLength: 20 }), (spec, cuts) => {
        // Control frames never exceed 125 bytes on the wire.
        const valid = spec.map((f) => (f.opcode >= 8 ? { ...f, size: f.size % 126 } : f));
        const bytes = Buffer.concat(valid.map((f) => frame(f.opcode, f.size)));
        const guard = new FrameSizeGuard(limit);

        const accepted = chunked(bytes, cuts).every((chunk) => guard.feed(chunk));

        expect(accepted).toBe(valid.every((f) => f.opcode >= 8 || f.size <= limit));
      }),
    );
  });

  test('counts frames, not messages: many small continuation frames pass', () => {
    const guard = new FrameSizeGuard(32 * 1024);
    const message = Buffer.concat([
      frame(0x1, 30 * 1024, false),
      frame(0x0, 30 * 1024, false),
      frame(0x0, 30 * 1024, true),
    ]);

    expect(guard.feed(message)).toBe(true);
    expect(guard.feed(frame(0x1, 32 * 1024 + 1))).toBe(false);
  });
});

describe('route selection', () => {
  test('never throws, and selects only string-like values at the path', () => {
    const select = compileRouteSelection('$request.body.action');
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (body) => {
        const route = select(body);
        expect(route === undefined || typeof route === 'string').toBe(true);
      }),
    );
    expect(select('{"action":"subscribe"}')).toBe('subscribe');
    expect(select('{"action":7}')).toBe('7');
    expect(select('{"action":null}')).toBeUndefined();
    expect(select('["action"]')).toBeUndefined();
    expect(select('not json')).toBeUndefined();
  });

  test('supports dotted paths and the braced spelling; rejects what it cannot evaluate', () => {
    expect(compileRouteSelection('$request.body.a.b')('{"a":{"b":"x"}}')).toBe('x');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: API Gateway's own braced expression syntax, not a template.
    expect(compileRouteSelection('${request.body.type}')('{"type":"y"}')).toBe('y');
    expect(() => compileRouteSelection('$request.header.x')).toThrow(/Unsupported RouteSelectionExpression/);
  });
});

describe('query strings and request times', () => {
  test('any query string parses into consistent single- and multi-value maps', () => {
    fc.assert(
      fc.property(fc.string(), (query) => {
        const { queryStringParameters: single, multiValueQueryStringParameters: multi } = parseQueryString(query);
        if (single === null || multi === null) {
          expect(single).toBeNull();
          expect(multi).toBeNull();
          return;
        }
        expect(Object.keys(single).sort()).toEqual(Object.keys(multi).sort());
        for (const [name, values] of Object.entries(multi)) expect(single[name]).toBe(values[values.length - 1]);
      }),
    );
    expect(parseQueryString('k=3&k=4&t=a%3Db&bad=%E0%A4%A')).toEqual({
      queryStringParameters: { k: '4', t: 'a=b', bad: '%E0%A4%A' },
      multiValueQueryStringParameters: { k: ['3', '4'], t: ['a=b'], bad: ['%E0%A4%A'] },
    });
  });

  test("requestTime uses API Gateway's format in UTC", () => {
    expect(formatRequestTime(Date.UTC(2026, 10, 22, 15, 50, 52, 345))).toBe('22/Nov/2026:15:50:52 +0000');
    expect(formatRequestTime(Date.UTC(2026, 0, 5, 3, 4, 5))).toBe('05/Jan/2026:03:04:05 +0000');
  });

  test('ids look like API Gateway ids', () => {
    for (let i = 0; i < 5000; i++) expect(awsStyleId()).toMatch(/^[A-Za-z0-9_-]{15}=$/);
  });
});

describe('authorizer policy', () => {
  const arn = 'arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/develop/$connect';
  const statement = (
    Effect: string,
    Resource: string | string[],
    Action: string | string[] = 'execute-api:Invoke',
  ) => ({
    Action,
    Effect,
    Resource,
  });

  test('an explicit Deny wins over an Allow; wildcards match; no match is an implicit deny', () => {
    expect(evaluatePolicy({ Statement: [statement('Allow', arn)] }, arn)).toBe('Allow');
    expect(evaluatePolicy({ Statement: [statement('Allow', 'arn:aws:execute-api:*:*:a1b2c3d4e5/*')] }, arn)).toBe(
      'Allow',
    );
    expect(evaluatePolicy({ Statement: [statement('Allow', '*'), statement('Deny', arn)] }, arn)).toBe('Deny');
    expect(evaluatePolicy({ Statement: [statement('Allow', 'arn:aws:execute-api:*:*:other/*')] }, arn)).toBe(
      'ImplicitDeny',
    );
    expect(evaluatePolicy({ Statement: [statement('Allow', arn, 'execute-api:*')] }, arn)).toBe('Allow');
    expect(evaluatePolicy({ Statement: statement('Allow', [arn]) }, arn)).toBe('Allow');
    expect(evaluatePolicy(undefined, arn)).toBe('Invalid');
    expect(evaluatePolicy({ Version: '2012-10-17' }, arn)).toBe('Invalid');
  });

  test('identity sources are looked up in headers (any case) and the query string', () => {
    const parts = {
      headers: { Authorization: 'Bearer x' },
      multiValueHeaders: { Authorization: ['Bearer x'] },
      queryStringParameters: { token: 'abc', empty: '' },
      multiValueQueryStringParameters: { token: ['abc'], empty: [''] },
    };

    expect(hasIdentitySources(['route.request.header.authorization', 'route.request.querystring.token'], parts)).toBe(
      true,
    );
    expect(hasIdentitySources(['route.request.querystring.empty'], parts)).toBe(false);
    expect(hasIdentitySources(['route.request.header.X-Missing'], parts)).toBe(false);
    expect(hasIdentitySources(['route.request.querystring.token'], { ...parts, queryStringParameters: null })).toBe(
      false,
    );
  });
});
