import fc from 'fast-check';

/**
 * fast-check arbitraries of DynamoDB item images in DynamoDB JSON, as GetRecords and Lambda carry them (binaries as
 * base64 text): every shape a DynamoDB client can write, with the names and values an attacker would pick —
 * `__proto__`, `constructor`, `prototype`, empty and 64 KB names, 32 levels of nesting, sets, binaries, NULL, 38-digit
 * and extreme numbers. Maps are built with defineProperty, so a `__proto__` name is an own attribute, as in
 * JSON.parse's output.
 */

export type AttributeValueJson = Record<string, unknown>;

const HOSTILE_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', ''];

export const attributeName: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 8 }) },
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_NAMES) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
);

/** DynamoDB numbers: up to 38 significant digits, exponents from -130 to +125. */
const dynamoNumber = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e100, max: 1e100 }).map(String),
  fc.constantFrom('99999999999999999999999999999999999999', '-1E-130', '9.9999999999999999999999999999999999999E+125'),
  fc.bigInt({ min: -(10n ** 38n) + 1n, max: 10n ** 38n - 1n }).map(String),
);
const base64 = fc.uint8Array({ maxLength: 16 }).map((bytes) => Buffer.from(bytes).toString('base64'));

/** An object whose own enumerable properties are exactly `entries` (the last of a repeated name wins). */
export function ownEntries(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [name, value] of entries) {
    Object.defineProperty(object, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return object;
}

const mapOf = (value: fc.Arbitrary<unknown>, maxKeys: number) =>
  fc.array(fc.tuple(attributeName, value), { maxLength: maxKeys }).map(ownEntries);

/** One attribute value DynamoDB accepts. */
export const attributeValue: fc.Arbitrary<AttributeValueJson> = fc.letrec<{ value: AttributeValueJson }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.record({ S: fc.string({ maxLength: 12 }) }),
    fc.record({ N: dynamoNumber }),
    fc.record({ BOOL: fc.boolean() }),
    fc.record({ NULL: fc.constant(true) }),
    fc.record({ B: base64 }),
    fc.record({ SS: fc.uniqueArray(fc.string({ maxLength: 6 }), { minLength: 1, maxLength: 3 }) }),
    fc.record({ NS: fc.uniqueArray(dynamoNumber, { minLength: 1, maxLength: 3 }) }),
    fc.record({ BS: fc.uniqueArray(base64, { minLength: 1, maxLength: 3 }) }),
    fc.record({ L: fc.array(tie('value'), { maxLength: 3 }) }),
    fc.record({ M: mapOf(tie('value'), 3) }),
  ),
})).value;

/** A map nested `depth` levels (DynamoDB allows 32). */
export function nestedValue(depth: number): AttributeValueJson {
  let value: AttributeValueJson = { S: 'bottom' };
  for (let level = 0; level < depth; level++) value = { M: { d: value } };
  return value;
}

/**
 * An item image with the key attribute (an S) and itemId, plus hostile attributes; now and then a 64 KB name or 32
 * levels of nesting.
 */
export function itemImage(
  keyAttribute: string,
  key: fc.Arbitrary<string> = fc.string({ minLength: 1, maxLength: 6 }),
): fc.Arbitrary<Record<string, AttributeValueJson>> {
  const special = fc.oneof(
    { weight: 8, arbitrary: fc.constant([] as [string, AttributeValueJson][]) },
    { weight: 1, arbitrary: fc.constant([['deep', nestedValue(32)]] as [string, AttributeValueJson][]) },
    { weight: 1, arbitrary: fc.constant([['n'.repeat(65_536), { S: 'long name' }]] as [string, AttributeValueJson][]) },
  );
  return fc
    .tuple(
      key,
      fc.string({ minLength: 1, maxLength: 6 }),
      fc.array(fc.tuple(attributeName, attributeValue), { maxLength: 5 }),
      special,
    )
    .map(
      ([keyValue, itemId, extra, more]) =>
        // Key and itemId last, so a hostile attribute of the same name cannot replace them.
        ownEntries([...extra, ...more, [keyAttribute, { S: keyValue }], ['itemId', { S: itemId }]]) as Record<
          string,
          AttributeValueJson
        >,
    );
}
