import fc from 'fast-check';
import {
  DEFAULT_ITEM_ID,
  itemSize,
  MAX_ITEM_BYTES,
  MAX_NESTING_DEPTH,
  numberSize,
  validateItem,
  valueSize,
} from '../../src/domain/items';

const rules = { keyAttribute: 'vehicleId' };
const reasonOf = (raw: unknown) => {
  const result = validateItem(raw, rules);
  return result.ok ? undefined : result.reason;
};
// vehicleId(9) + "v"(1) + itemId(6) + "latest"(6) + blob(4): the bytes around the blob's value.
const OVERHEAD = 26;

describe('validateItem: key and itemId', () => {
  test('a valid item gets itemId "latest" and keeps every attribute', () => {
    const result = validateItem({ vehicleId: '3', lat: 52.1, note: '' }, rules);
    expect(result).toEqual({
      ok: true,
      key: '3',
      itemId: DEFAULT_ITEM_ID,
      item: { vehicleId: '3', lat: 52.1, note: '', itemId: 'latest' },
    });
  });

  test('the caller’s object is not modified', () => {
    const raw = { vehicleId: '3' };
    validateItem(raw, rules);
    expect(raw).toEqual({ vehicleId: '3' });
  });

  test.each([
    [{ lat: 1 }, 'the key attribute "vehicleId" is missing'],
    [{ vehicleId: 3 }, 'the key attribute "vehicleId" must be a string; got a number'],
    [{ vehicleId: null }, 'the key attribute "vehicleId" must be a string; got null'],
    [{ vehicleId: '' }, 'invalid "vehicleId": a key must not be empty'],
    [{ vehicleId: '$connection' }, 'invalid "vehicleId": keys starting with "$" are reserved by the platform'],
    [{ vehicleId: '\ud800' }, 'invalid "vehicleId": a key must be valid Unicode text'],
    [{ vehicleId: '3', itemId: 7 }, '"itemId" must be a string; got a number'],
    [{ vehicleId: '3', itemId: '' }, 'invalid "itemId": an itemId must not be empty'],
    [[{ vehicleId: '3' }], 'an item must be a JSON object; got an array'],
    ['{"vehicleId":"3"}', 'an item must be a JSON object; got a string'],
    [null, 'an item must be a JSON object; got null'],
  ])('%j is rejected: %s', (raw, reason) => {
    expect(reasonOf(raw)).toBe(reason);
  });

  test('keys and itemIds are limited to 1,024 UTF-8 bytes, not characters', () => {
    const euros = '€'.repeat(341); // 1,023 bytes
    expect(reasonOf({ vehicleId: `${euros}a` })).toBeUndefined();
    expect(reasonOf({ vehicleId: `${euros}é` })).toMatch(/at most 1024 bytes \(UTF-8\); got 1025/);
    expect(reasonOf({ vehicleId: '3', itemId: `${euros}a` })).toBeUndefined();
    expect(reasonOf({ vehicleId: '3', itemId: `${euros}😀` })).toMatch(/itemId.*got 1027/);
  });

  test('the key attribute is whatever REAL_TIME_ITEM_KEY names', () => {
    expect(validateItem({ userId: 'u1' }, { keyAttribute: 'userId' })).toMatchObject({ ok: true, key: 'u1' });
    expect(reasonOf({ userId: 'u1' })).toBe('the key attribute "vehicleId" is missing');
  });
});

describe('validateItem: attributes and values', () => {
  test.each([
    [
      { vehicleId: '3', 'aws:rep:updatetime': 1 },
      'attribute "aws:rep:updatetime": attribute names starting with "aws:" are reserved',
    ],
    [{ vehicleId: '3', __internal: 1 }, 'attribute "__internal": attribute names starting with "__" are reserved'],
    [
      JSON.parse('{"vehicleId":"3","__proto__":{"x":1}}'),
      'attribute "__proto__": attribute names starting with "__" are reserved',
    ],
    [{ vehicleId: '3', '': 1 }, 'attribute "": attribute names must not be empty'],
    [{ vehicleId: '3', meta: { __x: 1 } }, 'meta.__x: attribute names starting with "__" are reserved'],
    [{ vehicleId: '3', lat: Number.NaN }, 'lat must be a finite number; got NaN'],
    [{ vehicleId: '3', lat: Number.POSITIVE_INFINITY }, 'lat must be a finite number; got Infinity'],
    [
      { vehicleId: '3', big: 2 ** 53 },
      'big is beyond ±9007199254740991 and cannot be stored exactly; send it as a string',
    ],
    [{ vehicleId: '3', tiny: 5e-324 }, "tiny is smaller than DynamoDB's smallest number (1E-130); got 5e-324"],
    [{ vehicleId: '3', at: new Date(0) }, 'at must be a JSON value; got a Date'],
    [{ vehicleId: '3', gone: undefined }, 'gone must be a JSON value; got a undefined'],
    [{ vehicleId: '3', n: 10n }, 'n must be a JSON value; got a bigint'],
    [{ vehicleId: '3', list: [1, [2, Number.NaN]] }, 'list[1][1] must be a finite number; got NaN'],
    [{ vehicleId: '3', text: 'a\udc00b' }, 'text must be valid Unicode text (it has a lone surrogate)'],
  ])('%j is rejected: %s', (raw, reason) => {
    expect(reasonOf(raw)).toBe(reason);
  });

  test('empty strings, empty lists and maps, null and negative zero are fine outside the key', () => {
    expect(reasonOf({ vehicleId: '3', a: '', b: [], c: {}, d: null, e: -0, f: false })).toBeUndefined();
  });

  test(`lists and maps nest at most ${MAX_NESTING_DEPTH} levels, as in DynamoDB`, () => {
    const nest = (levels: number): unknown =>
      levels === 0 ? 'leaf' : levels % 2 ? { next: nest(levels - 1) } : [nest(levels - 1)];
    expect(reasonOf({ vehicleId: '3', deep: nest(MAX_NESTING_DEPTH) })).toBeUndefined();
    expect(reasonOf({ vehicleId: '3', deep: nest(MAX_NESTING_DEPTH + 1) })).toMatch(/nested deeper than 32 levels/);
  });
});

describe('validateItem: the 400 KB limit as DynamoDB counts it', () => {
  test('an item of exactly 400 KB is accepted; one byte more is rejected with its size', () => {
    const exact = { vehicleId: 'v', blob: 'x'.repeat(MAX_ITEM_BYTES - OVERHEAD) };
    expect(reasonOf(exact)).toBeUndefined();
    expect(itemSize({ ...exact, itemId: 'latest' })).toBe(MAX_ITEM_BYTES);
    expect(reasonOf({ ...exact, blob: `${exact.blob}x` })).toBe(
      `the item is ${MAX_ITEM_BYTES + 1} bytes as DynamoDB counts them (attribute names + values); the limit is ${MAX_ITEM_BYTES}`,
    );
  });

  test('multi-byte characters count as their UTF-8 bytes', () => {
    const emoji = Math.floor((MAX_ITEM_BYTES - OVERHEAD) / 4); // 4 bytes each
    const rest = MAX_ITEM_BYTES - OVERHEAD - emoji * 4;
    const exact = { vehicleId: 'v', blob: '😀'.repeat(emoji) + 'x'.repeat(rest) };
    expect(reasonOf(exact)).toBeUndefined();
    expect(reasonOf({ ...exact, blob: `${exact.blob}é` })).toMatch(/is 409602 bytes/);
  });

  test('attribute names count, and the default itemId is counted too', () => {
    const name = 'n'.repeat(1000);
    // The 1,000-byte name and its 1-byte value fill what the blob leaves; itemId "latest" is in OVERHEAD.
    const blob = 'x'.repeat(MAX_ITEM_BYTES - OVERHEAD - 1000 - 1);
    expect(reasonOf({ vehicleId: 'v', blob, [name]: 'y' })).toBeUndefined();
    expect(reasonOf({ vehicleId: 'v', blob, [name]: 'yz' })).toMatch(/is 409601 bytes/);
  });

  test('numbers: one byte per pair of significant digits (paired on the decimal point) plus one, +1 if negative, zero 1', () => {
    expect([0, 1, 12, 123, 1234, 1.5, 0.01, 100, 1e20, -1, -123].map(numberSize)).toEqual([
      1, 2, 2, 3, 3, 3, 2, 2, 2, 3, 4,
    ]);
    expect(numberSize(123456789012345)).toBe(9);
  });

  test('lists and maps: 3 bytes, plus 1 per element, plus their contents (map names included)', () => {
    expect(valueSize([])).toBe(3);
    expect(valueSize({})).toBe(3);
    expect(valueSize(['ab', true, null])).toBe(3 + 3 + 2 + 2);
    expect(valueSize({ ab: 'cd', n: 1 })).toBe(3 + (1 + 2 + 2) + (1 + 1 + 2));
  });
});

describe('validateItem: fuzz', () => {
  test('never throws, and what it accepts fits in 400 KB and carries its key and itemId', () => {
    const item = fc.oneof(
      fc.anything(),
      fc.dictionary(fc.string(), fc.jsonValue()).map((rest) => ({ ...rest, vehicleId: 'k' })),
      fc.record({ vehicleId: fc.string(), itemId: fc.option(fc.string(), { nil: undefined }), data: fc.jsonValue() }),
    );
    fc.assert(
      fc.property(item, (raw) => {
        const result = validateItem(raw, rules);
        if (!result.ok) return typeof result.reason === 'string' && result.reason.length > 0;
        return (
          itemSize(result.item) <= MAX_ITEM_BYTES &&
          result.item.vehicleId === result.key &&
          result.item.itemId === result.itemId
        );
      }),
      { numRuns: 500 },
    );
  });

  test('survives objects whose getters throw', () => {
    const hostile = { vehicleId: '3' };
    Object.defineProperty(hostile, 'boom', {
      enumerable: true,
      get() {
        throw new Error('no');
      },
    });
    expect(reasonOf(hostile)).toBe('the item could not be read: no');
  });
});
