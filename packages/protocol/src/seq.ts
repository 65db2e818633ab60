/**
 * Stream sequence numbers: decimal strings (DynamoDB Local's are 21 digits, AWS's longer) that order as numbers. They
 * may differ in length, so they are compared by length first, then digit by digit — no BigInt needed.
 */
export function compareSeq(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}
