import {
  checkKeys,
  heartbeatActionSchema,
  keyProblem,
  MAX_KEY_BYTES,
  parseFrameBody,
  subscribeActionSchema,
  validateFrame,
} from '../../src';

describe('key rules', () => {
  test.each([
    ['3', undefined],
    ['presence:u1', undefined],
    ['é'.repeat(MAX_KEY_BYTES / 2), undefined],
  ])('accepts %j', (key, problem) => {
    expect(keyProblem(key)).toBe(problem);
  });

  test('refuses an empty key, a key over 1,024 UTF-8 bytes, a reserved key and broken Unicode', () => {
    expect(keyProblem('')).toMatch(/must not be empty/);
    // 513 two-byte characters = 1,026 bytes although only 513 UTF-16 units.
    expect(keyProblem('é'.repeat(513))).toMatch(/at most 1024 bytes.*got 1026/);
    expect(keyProblem('$connection#abc=')).toMatch(/reserved/);
    expect(keyProblem('\ud800x')).toMatch(/valid Unicode/);
  });

  test('at most 20 distinct keys; repeats collapse and keep their first order', () => {
    expect(checkKeys(['b', 'a', 'b'])).toEqual({ ok: true, keys: ['b', 'a'] });
    expect(checkKeys(Array.from({ length: 20 }, (_, i) => `k${i}`)).ok).toBe(true);
    const tooMany = checkKeys(Array.from({ length: 21 }, (_, i) => `k${i}`));
    expect(tooMany).toEqual({ ok: false, message: 'at most 20 keys per request; got 21' });
  });

  test('names the offending key, shortened, with the parameter label', () => {
    const result = checkKeys(['ok', 'x'.repeat(2000)], 'vehicleId');
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.message).toMatch(/^invalid vehicleId "x{40}…": a key must be at most 1024 bytes/);
      expect(result.message.length).toBeLessThan(200);
    }
  });
});

describe('client frames', () => {
  test('a subscribe frame with keys and snapshot parses, repeats removed', () => {
    const body = parseFrameBody('{"action":"subscribe","keys":["3","3","presence:u1"],"snapshot":true}');
    expect(body.ok).toBe(true);
    if (!body.ok) return;
    expect(validateFrame(subscribeActionSchema, body.frame)).toEqual({
      ok: true,
      frame: { action: 'subscribe', keys: ['3', 'presence:u1'], snapshot: true },
    });
  });

  test.each([
    [{ action: 'subscribe' }, 'keys must be a non-empty array of strings'],
    [{ action: 'subscribe', keys: [] }, 'keys must be a non-empty array of strings'],
    [{ action: 'subscribe', keys: 'abc' }, 'keys must be a non-empty array of strings'],
    [{ action: 'subscribe', keys: [3] }, 'keys[0]: each key must be a string'],
    [{ action: 'subscribe', keys: ['a', ''] }, 'keys[1]: a key must not be empty'],
    [{ action: 'subscribe', keys: ['$connection'] }, 'keys[0]: keys starting with "$" are reserved by the platform'],
    [{ action: 'subscribe', keys: ['a'], snapshot: 'yes' }, 'snapshot must be true or false'],
  ])('%j → %s', (frame, message) => {
    expect(validateFrame(subscribeActionSchema, frame)).toEqual({ ok: false, message });
  });

  test('21 keys are refused', () => {
    const frame = { keys: Array.from({ length: 21 }, (_, i) => `k${i}`) };
    expect(validateFrame(subscribeActionSchema, frame)).toEqual({
      ok: false,
      message: 'keys: at most 20 keys per request',
    });
  });

  test('a heartbeat needs nothing but may carry extra fields', () => {
    expect(validateFrame(heartbeatActionSchema, { action: 'heartbeat', clientTime: 1 }).ok).toBe(true);
  });

  test.each([
    [undefined, /empty/],
    ['', /empty/],
    ['{not json', /not valid JSON/],
    ['[1,2]', /must be a JSON object/],
    ['"hi"', /must be a JSON object/],
    ['null', /must be a JSON object/],
    [`{"action":"subscribe","keys":["${'x'.repeat(70_000)}"]}`, /too large; at most 65536 bytes/],
  ])('body %#: a clear reason', (body, reason) => {
    const result = parseFrameBody(body);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(reason);
  });
});
