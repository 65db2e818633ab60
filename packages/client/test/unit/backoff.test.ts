import fc from 'fast-check';
import { backoffDelay, DEFAULT_BACKOFF, rotationDelay, tokenRefreshDelay } from '../../src';

describe('backoffDelay (full jitter)', () => {
  test('the cap doubles from 500 ms and stops at 20 s', () => {
    const almostOne = () => 0.999999;
    const caps = [0, 1, 2, 3, 4, 5, 6, 7, 50].map((attempt) => backoffDelay(attempt, DEFAULT_BACKOFF, almostOne));
    expect(caps).toEqual([499, 999, 1999, 3999, 7999, 15999, 19999, 19999, 19999]);
    expect(backoffDelay(3, DEFAULT_BACKOFF, () => 0)).toBe(0);
  });

  test('every delay lies in [0, min(20 s, 0.5 s · 2^attempt))', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -5, max: 10_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (n, r) => {
          const delay = backoffDelay(n, DEFAULT_BACKOFF, () => r);
          const cap = Math.min(20_000, 500 * 2 ** Math.max(0, Math.min(n, 30)));
          return Number.isInteger(delay) && delay >= 0 && delay < cap;
        },
      ),
    );
  });
});

describe('rotationDelay', () => {
  test("API Gateway's 2 hours: between 10 and 5 minutes before the cut", () => {
    expect(rotationDelay(7_200_000, () => 0)).toBe(6_900_000);
    expect(rotationDelay(7_200_000, () => 0.999999)).toBeGreaterThanOrEqual(6_600_000);
  });

  test('a 5 s test limit: between 3 and 4 s', () => {
    expect(rotationDelay(5000, () => 0)).toBe(4000);
    expect(rotationDelay(5000, () => 0.999999)).toBe(3000);
  });
});

describe('tokenRefreshDelay', () => {
  test('a margin before expiry; half way for short-lived tokens; none once expired', () => {
    expect(tokenRefreshDelay(3_600_000, 0, 60_000)).toBe(3_540_000);
    expect(tokenRefreshDelay(100_000, 0, 60_000)).toBe(50_000);
    expect(tokenRefreshDelay(1000, 1000, 60_000)).toBeUndefined();
    expect(tokenRefreshDelay(500, 1000, 60_000)).toBeUndefined();
  });
});
